"""Personal data in free text (annotate/exports/scrub.py): what is replaced and what is not."""
import pytest

from annotate.exports.scrub import Scrubber, luhn_ok


@pytest.mark.parametrize(
    "text, expected, kind",
    [
        ("Mail me at jane.doe+tag@example.co.uk today", "Mail me at [EMAIL] today", "email"),
        ("CAPS@EXAMPLE.ORG.", "[EMAIL].", "email"),
        ("call +44 20 7946 0958 now", "call [PHONE] now", "phone"),
        ("call +1 (555) 123-4567", "call [PHONE]", "phone"),
        ("(555) 123-4567", "[PHONE]", "phone"),
        ("555-123-4567 or 555.123.4567", "[PHONE] or [PHONE]", "phone"),
        ("tel 02079460958", "tel [PHONE]", "phone"),
        ("card 4111 1111 1111 1111 exp", "card [CARD] exp", "card"),
        ("card 4111-1111-1111-1111", "card [CARD]", "card"),
        ("5500005555555559", "[CARD]", "card"),
        ("from 192.168.0.12, then", "from [IP], then", "ip"),
        ("host 2001:db8::8a2e:370:7334 up", "host [IP] up", "ip"),
        ("fe80::1:2 ok", "[IP] ok", "ip"),
        ("https://admin:s3cret@db.example.com/x", "https://[CREDENTIALS]@db.example.com/x", "credentials"),
        ("postgres://u:p@host:5432/db", "postgres://[CREDENTIALS]@host:5432/db", "credentials"),
    ],
)
def test_replaced(text, expected, kind):
    scrub = Scrubber()
    assert scrub(text) == expected
    assert scrub.summary()[kind] == expected.count("[") and sum(scrub.summary().values()) == expected.count("[")


@pytest.mark.parametrize(
    "text",
    [
        "On 2024-01-15 at 12:30:45 we met; 15.01.2024 and 01/15/2024 too.",
        "In 1999, 2000 and 2023 the population was 8,000,000,000.",
        "Upgrade from 1.2.3 to v10.0.0.1 or version 4.3.2.1; Python 3.11.4.",
        "Order id 1700000000 and ISBN 978-3-16-148410-0.",
        "The value 4111 1111 1111 1112 fails the Luhn check.",
        "std::vector and A::B are C++; ratio 3:2:1; time 10:30.",
        "The address 999.1.1.1 is not an IP; nor is 1.2.3.4.5.",
        "Call me at extension 1234. Room 555-1234.",
        "See https://example.com/path?a=1&b=2 and user@ alone.",
        "2 + 2 = 4; 10^9; 3.14159265358979; 1e-10",
        "",
    ],
)
def test_not_replaced(text):
    scrub = Scrubber()
    assert scrub(text) == text
    assert sum(scrub.summary().values()) == 0


def test_counts_add_up_across_texts():
    scrub = Scrubber()
    scrub("a@b.io and c@d.io")
    scrub("10.0.0.1")
    assert scrub.summary() == {"credentials": 0, "email": 2, "card": 0, "ip": 1, "phone": 0}


def test_luhn():
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
