"""Personal data in free text, replaced by placeholders (pure: no Django, no I/O).

Kinds, in the order they are replaced (earlier kinds protect their text from later ones):
  credentials  user:password@ in a URL            -> scheme://[CREDENTIALS]@host/…
  email        name@domain.tld                    -> [EMAIL]
  card         13–19 digits, optionally grouped by single spaces or hyphens, passing the
               Luhn check                         -> [CARD]
  ip           IPv4 (four octets 0–255, not part of a longer dotted run, not after "v" or
               "version") and IPv6 with three or more groups that `ipaddress` accepts -> [IP]
  phone        +<country> and 8–15 digits; (555) 123-4567; 555-123-4567 / 555.123.4567 /
               555 123 4567; 0 and 9–10 more digits (national trunk prefix)   -> [PHONE]
Dates (2024-01-15, 15.01.2024), years, times, version numbers (1.2.3, v10.0.0.1) and plain
long numbers (ids, unix times) are left alone: tests/annotate/test_export_scrub.py pins them.
"""
import ipaddress
import re
from collections import Counter

KINDS = ("credentials", "email", "card", "ip", "phone")

_CREDENTIALS = re.compile(r"\b([a-z][a-z0-9+.-]{1,15}://)[^\s/@:]+:[^\s/@]*@", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w-]|\.\d)")
_IPV4 = re.compile(
    r"(?<![\w.])(?<!version )(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)",
    re.IGNORECASE,
)
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", re.IGNORECASE)
_PHONE = re.compile(
    r"(?<![\w+.-])(?:"
    r"\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}"  # international
    r"|\(\d{3}\)[ ]?\d{3}[ .-]\d{4}"  # (555) 123-4567
    r"|\d{3}([ .-])\d{3}\1\d{4}"  # 555-123-4567, the same separator twice
    r"|0\d{9,10}"  # national, unseparated
    r")(?![\w-]|\.\d)"
)
PLACEHOLDERS = {"email": "[EMAIL]", "card": "[CARD]", "ip": "[IP]", "phone": "[PHONE]"}


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _card(match: re.Match) -> bool:
    digits = _digits(match.group(0))
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_ok(digits)


def _ipv6(match: re.Match) -> bool:
    text = match.group(0)
    if sum(bool(g) for g in text.split(":")) < 3:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _phone(match: re.Match) -> bool:
    return 8 <= len(_digits(match.group(0))) <= 15


class Scrubber:
    """Replaces personal data and counts what it replaced (`counts`, kind -> n)."""

    def __init__(self):
        self.counts: Counter = Counter()

    def _sub(self, pattern: re.Pattern, kind: str, text: str, check=None) -> str:
        def replace(match: re.Match) -> str:
            if check is not None and not check(match):
                return match.group(0)
            self.counts[kind] += 1
            return PLACEHOLDERS[kind]

        return pattern.sub(replace, text)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if "://" in text:
            text, n = _CREDENTIALS.subn(r"\1[CREDENTIALS]@", text)
            self.counts["credentials"] += n
        if "@" in text:
            text = self._sub(_EMAIL, "email", text)
        if not any(ch.isdigit() for ch in text):
            return text
        text = self._sub(_CARD, "card", text, _card)
        text = self._sub(_IPV4, "ip", text)
        if "::" in text or text.count(":") >= 3:
            text = self._sub(_IPV6, "ip", text, _ipv6)
        return self._sub(_PHONE, "phone", text, _phone)

    def summary(self) -> dict[str, int]:
        return {kind: int(self.counts.get(kind, 0)) for kind in KINDS}
