"""Rationale checks: pure text heuristics that flag a judgment for review, never reject it.

Three flags, each with a reason a reviewer can read:
  SHORT        fewer than `min_chars` characters or `min_words` words after normalising;
  COPIED       the same normalised text, or a near-duplicate (Jaccard similarity of word
               shingles >= `near_duplicate`), was written for a different item (short
               texts are left to SHORT);
  CONTRADICTS  the rationale argues for the other response ("B is better", "I prefer the
               first one", "A is worse") than the one chosen.

Rationales talk about what the annotator saw, so the choice is passed as a display
position: 0 = first / left / "A" / "1", 1 = second / right / "B" / "2", NO_LABEL (-1) for
tie, both bad or skip (never flagged as contradicting).
"""
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from annotate.agreement.items import NO_LABEL
from annotate.agreement.judgments import AgreementInputError

SHORT = "SHORT"
COPIED = "COPIED"
CONTRADICTS = "CONTRADICTS"


@dataclass(frozen=True)
class RationaleFlag:
    """One flag on one judgment: code is SHORT, COPIED or CONTRADICTS."""

    index: int
    code: str
    reason: str


def normalize_text(text: str) -> str:
    """Lower case, accents folded, punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9#]+", " ", text).split())


def shingles(text: str, size: int = 3) -> frozenset[str]:
    """Word `size`-grams of the normalised text (the whole text if it has fewer words)."""
    words = normalize_text(text).split()
    if len(words) <= size:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


# --- which response a rationale argues for -------------------------------------------------
_NOUN = r"(?:response|answer|output|option|reply|assistant|model|candidate|completion|text|summary|version|one|side)"
_FIRST = r"(?:(?:{n})\s+(?:a|1|one|#1)|(?:the\s+)?(?:first|left|former)(?:\s+{n})?|a)".format(n=_NOUN)
_SECOND = r"(?:(?:{n})\s+(?:b|2|two|#2)|(?:the\s+)?(?:second|right|latter)(?:\s+{n})?|b)".format(n=_NOUN)
_SIDE = rf"(?P<side>{_FIRST}|{_SECOND})"
# Bare "a" is too often the article ("I prefer a shorter answer"): after a verb or "than"
# only named sides count.
_NAMED_SIDE = _SIDE.replace("|a)", ")")
_ADV = r"(?:(?:much|far|clearly|slightly|a\s+bit|way|definitely|obviously|significantly|somewhat)\s+)?"
# "more verbose" argues against a side and "less verbose" for it.
_FLAWS = (
    r"(?:verbose|wordy|lengthy|confusing|repetitive|vague|general|generic|ambiguous|superficial"
    r"|complicated|convoluted|redundant|misleading|harmful|biased)"
)
_GOOD = (
    r"(?:better|superior|preferable|preferred|stronger|clearer|the\s+(?:best|winner|better\s+\w+)"
    rf"|more\s+(?!{_FLAWS}\b)\w+|less\s+{_FLAWS})"
)
_BAD = (
    r"(?:worse|inferior|weaker|wrong|incorrect|inaccurate|unhelpful|the\s+worse\s+\w+"
    rf"|more\s+{_FLAWS}|less\s+(?!{_FLAWS}\b)\w+)"
)
_CHOOSE = r"(?:prefer|preferred|chose|choose|picked|pick|go\s+with|went\s+with|vote\s+for)"
_VERB = r"(?:is|was|seems|looks|feels|reads|sounds|does|did)\s+"
_GIVES = r"(?:provides|gives|offers|presents|contains|includes|has|makes|does)\s+(?:an?\s+)?"
# (pattern, +1 when it argues for the matched side, -1 when against it)
_PATTERNS = [
    (re.compile(rf"\b{_SIDE}\s+{_VERB}{_ADV}{_GOOD}\b"), +1),
    (re.compile(rf"\b{_SIDE}\s+{_VERB}{_ADV}{_BAD}\b"), -1),
    (re.compile(rf"\b{_CHOOSE}\s+{_NAMED_SIDE}\b"), +1),
    (re.compile(rf"\b{_SIDE}\s+{_GIVES}{_ADV}{_GOOD}\b"), +1),
    (re.compile(rf"\b{_SIDE}\s+wins\b"), +1),
    (re.compile(rf"\b(?:better|superior|preferable|stronger)\s+than\s+{_NAMED_SIDE}\b"), -1),
    (re.compile(rf"\b(?:worse|weaker|inferior)\s+than\s+{_NAMED_SIDE}\b"), +1),
]
_SIDE_WORDS_FIRST = re.compile(rf"^{_FIRST}$")


def argued_position(text: str) -> tuple[int, str]:
    """(position the rationale argues for, the phrase that says so); (NO_LABEL, "") when it
    names no side, or names both equally ("A is better at X, B is better at Y")."""
    normal = normalize_text(text)
    score = [0, 0]
    phrases = {0: "", 1: ""}
    for pattern, sign in _PATTERNS:
        for match in pattern.finditer(normal):
            side = 0 if _SIDE_WORDS_FIRST.match(match.group("side")) else 1
            argued = side if sign > 0 else 1 - side
            score[argued] += 1
            phrases[argued] = phrases[argued] or match.group(0)
    if score[0] == score[1]:
        return NO_LABEL, ""
    winner = 0 if score[0] > score[1] else 1
    return winner, phrases[winner]


def rationale_flags(
    rationales,
    chosen_positions,
    items,
    *,
    min_chars: int = 20,
    min_words: int = 4,
    near_duplicate: float = 0.8,
    shingle_size: int = 3,
    max_shingle_df: int = 50,
) -> list[RationaleFlag]:
    """Flags for n judgments: rationales (n,) str, chosen_positions (n,) int, items (n,) int
    (copies count only across different items). Sorted by judgment index, then code.

    Near-duplicates are found through an inverted index of shingles, skipping shingles used
    by more than `max_shingle_df` rationales (stock phrases like "response a is"), so the
    cost stays near-linear; a copy built only of stock phrases is short and caught anyway.
    """
    texts = [normalize_text(text) for text in rationales]
    chosen = [int(c) for c in chosen_positions]
    items = [int(i) for i in items]
    if not len(texts) == len(chosen) == len(items):
        raise AgreementInputError("rationales, chosen_positions and items differ in length")
    flags: list[RationaleFlag] = []
    short = [len(text) < min_chars or len(text.split()) < min_words for text in texts]
    for index, text in enumerate(texts):
        if short[index]:
            flags.append(RationaleFlag(index, SHORT, f"{len(text.split())} words, {len(text)} characters"))
        if chosen[index] in (0, 1):
            argued, phrase = argued_position(rationales[index])
            if argued not in (NO_LABEL, chosen[index]):
                side = "first/A" if argued == 0 else "second/B"
                flags.append(RationaleFlag(index, CONTRADICTS, f"argues for the {side} response ({phrase!r})"))
    # a short text ("ok", "B") is flagged once, as SHORT, however many items repeat it
    kept = ["" if short[index] else text for index, text in enumerate(texts)]
    flags.extend(_copies(kept, items, near_duplicate, shingle_size, max_shingle_df))
    return sorted(flags, key=lambda flag: (flag.index, flag.code))


def _copies(texts, items, near_duplicate, shingle_size, max_shingle_df) -> list[RationaleFlag]:
    by_text: dict[str, list[int]] = defaultdict(list)
    for index, text in enumerate(texts):
        if text:
            by_text[text].append(index)
    copied: dict[int, str] = {}
    for group in by_text.values():
        first = group[0]
        elsewhere = next((j for j in group if items[j] != items[first]), None)
        if elsewhere is None:
            continue  # one item only: several annotators may well agree word for word
        for index in group:
            other = elsewhere if items[index] == items[first] else first
            copied[index] = f"same text as judgment {other} (item {items[other]})"

    sets = [shingles(text, shingle_size) for text in texts]
    postings: dict[str, list[int]] = defaultdict(list)
    for index, shingle_set in enumerate(sets):
        for shingle in shingle_set:
            postings[shingle].append(index)
    for index, shingle_set in enumerate(sets):
        if index in copied or not shingle_set:
            continue
        shared: dict[int, int] = defaultdict(int)
        for shingle in shingle_set:
            if len(postings[shingle]) <= max_shingle_df:
                for other in postings[shingle]:
                    if items[other] != items[index]:
                        shared[other] += 1
        for other in sorted(shared, key=lambda j: (-shared[j], j)):
            # shared counts only the rarer shingles, so recompute the exact Jaccard
            overlap = len(shingle_set & sets[other])
            similarity = overlap / (len(shingle_set) + len(sets[other]) - overlap)
            if similarity >= near_duplicate:
                copied[index] = f"{similarity:.0%} like judgment {other} (item {items[other]})"
                break
    return [RationaleFlag(index, COPIED, reason) for index, reason in copied.items()]
