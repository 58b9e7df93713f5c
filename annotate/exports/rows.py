"""From judgments to dataset rows (pure: no Django, no I/O).

The build hands over one item at a time (`ItemRecord` + its `JudgmentRecord`s, in annotation
id order) and gets back the rows for that item: TRL preference rows (`prompt`/`chosen`/
`rejected` plus the extra columns in `columns.py`), optional KTO rows (`prompt`/`completion`/
`label`) and what was skipped and why. Item aggregation lives in `aggregate.py`.

Conventions (the README's "Exporting datasets" repeats them):
- labels: a candidate index 0..n-1, or TIE / BOTH_BAD; a ranking's label is its first;
- rankings expand into every ordered pair, each candidate over each lower-ranked one; a
  single choice among n > 2 candidates gives the chosen one over each other;
- ties and both-bad give no preference pair (skipped, counted); in KTO both-bad gives every
  candidate as a negative, a tie gives nothing;
- item_agreement = share of the item's judgments with an overall label that give its most
  frequent label (annotate.agreement.item_consensus); margin = strength / max_strength x
  item_agreement, 0 when there is no strength;
- split: HMAC-SHA256(split key, normalized text prompt) mapped to [0, 1); below
  test_fraction -> "test". The same prompt text always lands in the same split.
"""
import hashlib
import hmac
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

TIE = "TIE"
BOTH_BAD = "BOTH_BAD"
# skip reasons, as counted in the manifest
SKIP_TIE = "tie"
SKIP_BOTH_BAD = "both_bad"
SKIP_NO_CHOICE = "no_overall_choice"
SKIP_NO_MAJORITY = "no_majority"
SKIP_AGREEMENT = "below_min_item_agreement"
SKIP_CONTENDER = "other_contenders"
# Row tuples are in these column orders, the schemas' (columns.py; a test checks they agree).
PREFERENCE_COLUMNS = (
    "prompt", "chosen", "rejected", "rationale", "strength", "margin", "aspects", "chosen_model", "rejected_model",
    "chosen_position", "rejected_position", "annotator", "item_agreement", "n_votes", "source", "item_id", "split",
)  # fmt: skip
ITEM_PREFERENCE_COLUMNS = (
    "prompt", "chosen", "rejected", "rationales", "strength", "margin", "aspects", "chosen_model", "rejected_model",
    "annotator", "item_agreement", "n_votes", "n_agree", "source", "item_id", "split",
)  # fmt: skip
KTO_COLUMNS = ("prompt", "completion", "label", "model", "annotator", "source", "item_id", "split")
ROLE_NAMES = {"system": "System", "user": "User", "assistant": "Assistant"}


@dataclass(frozen=True)
class ItemRecord:
    """One item as exported. messages: the prompt as chat messages ({role, content}, the last
    one from the user); candidates / models by candidate index ("" when the model is unknown);
    max_strength: the top of the strength scale, 0 when none was asked."""

    source: str
    item_id: str
    messages: tuple[dict, ...]
    candidates: tuple[str, ...]
    models: tuple[str, ...]
    max_strength: int = 0


@dataclass(slots=True)
class JudgmentRecord:
    """One judgment in candidate indices. order: the display permutation (order[p] = candidate
    shown at position p), None when unknown (imported judgments). Treated as immutable; not
    frozen because a frozen dataclass costs ~1 us more to build (x 1M judgments)."""

    annotator: str | None
    verdict: str  # CANDIDATE | TIE | BOTH_BAD | RANKED | NONE
    choice: int | None = None
    ranking: tuple[int, ...] | None = None
    strength: int | None = None
    aspects: Mapping = field(default_factory=dict)
    rationale: str = ""
    order: tuple[int, ...] | None = None


@dataclass(frozen=True)
class RowOptions:
    unit: str = "judgment"  # judgment | item
    aggregation: str = "majority"  # majority | strength | competence (unit item)
    form: str = "text"  # text | conversational
    kto: bool = False
    test_fraction: float = 0.0
    split_key: bytes = b""
    contenders: frozenset = frozenset()
    min_item_agreement: float = 0.0


@dataclass
class ItemRows:
    """One item's rows: tuples in column order from item_row_tuples, dicts from item_rows."""

    preference: list = field(default_factory=list)
    kto: list = field(default_factory=list)
    skipped_preference: Counter = field(default_factory=Counter)
    skipped_kto: Counter = field(default_factory=Counter)
    split: str = "train"
    agreement: float | None = None  # item_agreement over the item's judgments
    n_votes: int = 0  # judgments with an overall label


# --- prompts --------------------------------------------------------------------------------
def prompt_text(messages: Sequence[dict]) -> str:
    """The text form of a prompt. A single user message is its content as is; anything else
    is rendered one message per paragraph as "User: …", "Assistant: …", "System: …",
    separated by a blank line, with no trailing cue for the answer."""
    if len(messages) == 1 and messages[0]["role"] == "user":
        return messages[0]["content"]
    return "\n\n".join(f"{ROLE_NAMES.get(m['role'], m['role'])}: {m['content']}" for m in messages)


def normalize_prompt(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: prompts that differ only so share a split."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def split_of(text: str, *, key: bytes, test_fraction: float) -> str:
    if test_fraction <= 0:
        return "train"
    digest = hmac.new(key, normalize_prompt(text).encode(), hashlib.sha256).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < test_fraction else "train"


def _assistant(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def _messages(messages: Sequence[dict]) -> list[dict]:
    return [{"role": m["role"], "content": m["content"]} for m in messages]


# --- labels ---------------------------------------------------------------------------------
def label_of(judgment: JudgmentRecord) -> int | str | None:
    """A candidate index, TIE, BOTH_BAD, or None (no overall choice)."""
    if judgment.verdict == "CANDIDATE":
        return judgment.choice
    if judgment.verdict == "RANKED":
        return judgment.ranking[0] if judgment.ranking else None
    if judgment.verdict in (TIE, BOTH_BAD):
        return judgment.verdict
    return None


def item_agreement(labels: Sequence) -> float | None:
    """Share of the labels (None left out) equal to the most frequent one; None without labels.
    Equals annotate.agreement.item_consensus on the item's label counts."""
    counts: dict = {}
    for label in labels:
        if label is not None:
            counts[label] = counts.get(label, 0) + 1
    return max(counts.values()) / sum(counts.values()) if counts else None


def margin_of(strength: float | None, max_strength: int, agreement: float | None) -> float:
    if not strength or not max_strength or agreement is None:
        return 0.0
    return strength / max_strength * agreement


def judgment_pairs(judgment: JudgmentRecord, n_candidates: int) -> list[tuple[int, int]]:
    """(chosen, rejected) candidate index pairs: a ranking gives every ordered pair."""
    if judgment.verdict == "RANKED" and judgment.ranking:
        ranking = judgment.ranking
        return [(ranking[i], ranking[j]) for i in range(len(ranking)) for j in range(i + 1, len(ranking))]
    if judgment.verdict == "CANDIDATE" and judgment.choice is not None:
        return [(judgment.choice, other) for other in range(n_candidates) if other != judgment.choice]
    return []


def aspect_pair(aspects: Mapping, chosen: int, rejected: int) -> list[dict]:
    """[{name, chosen, rejected}] sorted by name: a scale aspect gives each candidate's score; a
    pairwise aspect gives 1 to the candidate it preferred and 0 to the other, 0.5 each for a
    tie, and is left out when it preferred neither of the two."""
    out = []
    for name in sorted(aspects):
        value = aspects[name]
        if isinstance(value, dict):
            a, b = value.get(str(chosen)), value.get(str(rejected))
            if a is None or b is None:
                continue
            out.append({"name": name, "chosen": float(a), "rejected": float(b)})
        elif value == TIE:
            out.append({"name": name, "chosen": 0.5, "rejected": 0.5})
        elif value in (chosen, rejected):
            win = 1.0 if value == chosen else 0.0
            out.append({"name": name, "chosen": win, "rejected": 1.0 - win})
    return out


def _position(order: tuple[int, ...] | None, candidate: int) -> int | None:
    if order is None or candidate not in order:
        return None
    return order.index(candidate)


# --- rows -----------------------------------------------------------------------------------
class Shape:
    """The prompt and completions of one item in the chosen form, computed once per item."""

    def __init__(self, item: ItemRecord, form: str):
        self.text = prompt_text(item.messages)
        self.conversational = form == "conversational"
        self.prompt = _messages(item.messages) if self.conversational else self.text
        self.completions = [_assistant(t) for t in item.candidates] if self.conversational else item.candidates

    def completion(self, candidate: int):
        """The same object for every row of the item (the JSONL writer encodes it once)."""
        return self.completions[candidate]


def wanted(item: ItemRecord, contenders: frozenset, *candidates: int) -> bool:
    return not contenders or any(item.models[c] in contenders for c in candidates)


def kto_labels(label, n_candidates: int) -> list[tuple[int, bool]]:
    if label == BOTH_BAD:
        return [(c, False) for c in range(n_candidates)]
    if label is None or label == TIE:
        return []
    return [(c, c == label) for c in range(n_candidates)]


def kto_row(shape: Shape, item: ItemRecord, candidate: int, label: bool, annotator, split: str) -> tuple:
    """A KTO row, in KTO_COLUMNS order."""
    return (shape.prompt, shape.completion(candidate), label, item.models[candidate] or None, annotator, item.source, item.item_id, split)


def skip_reason(label) -> str:
    return {TIE: SKIP_TIE, BOTH_BAD: SKIP_BOTH_BAD, None: SKIP_NO_CHOICE}.get(label, SKIP_NO_CHOICE)


def judgment_rows(item: ItemRecord, judgments: Sequence[JudgmentRecord], options: RowOptions) -> ItemRows:
    """Rows with one judgment each (unit "judgment"), in judgment order, pairs in pair order;
    rows as tuples in column order (PREFERENCE_COLUMNS, KTO_COLUMNS): the build writes
    them as they are (a dict per row cost ~1 us of the ~10 us a row allowed)."""
    shape = Shape(item, options.form)
    out = ItemRows(split=split_of(shape.text, key=options.split_key, test_fraction=options.test_fraction))
    labels = [label_of(j) for j in judgments]
    agreement = out.agreement = item_agreement(labels)
    n_votes = out.n_votes = sum(label is not None for label in labels)
    if options.min_item_agreement > 0 and (agreement is None or agreement < options.min_item_agreement):
        out.skipped_preference[SKIP_AGREEMENT] += len(judgments)
        if options.kto:
            out.skipped_kto[SKIP_AGREEMENT] += len(judgments)
        return out
    n = len(item.candidates)
    prompt, completions, contenders = shape.prompt, shape.completions, options.contenders
    models = [model or None for model in item.models]
    source, item_id, split, max_strength = item.source, item.item_id, out.split, item.max_strength
    fast = n == 2 and not contenders
    append = out.preference.append
    for judgment, label in zip(judgments, labels):
        if fast and judgment.verdict == "CANDIDATE" and (chosen := judgment.choice) in (0, 1):
            # The common case, two candidates and one chosen, without the generic per-pair
            # work (1.6 -> 1.4 us a judgment, measured alone); the values the loop below gives.
            rejected = 1 - chosen
            strength, order, aspects = judgment.strength, judgment.order, judgment.aspects
            append((
                prompt, completions[chosen], completions[rejected], judgment.rationale, strength,
                margin_of(strength, max_strength, agreement),
                aspect_pair(aspects, chosen, rejected) if aspects else [], models[chosen], models[rejected],
                None if order is None or chosen not in order else order.index(chosen),
                None if order is None or rejected not in order else order.index(rejected),
                judgment.annotator, agreement, n_votes, source, item_id, split,
            ))  # fmt: skip
            if options.kto:
                _kto_append(out, shape, item, label, judgment.annotator, options)
            continue
        pairs = judgment_pairs(judgment, n)
        if not pairs:
            out.skipped_preference[skip_reason(label)] += 1
        strength = judgment.strength if judgment.verdict == "CANDIDATE" else None
        margin = margin_of(strength, max_strength, agreement)
        aspects, order = judgment.aspects, judgment.order
        for chosen, rejected in pairs:
            if contenders and not wanted(item, contenders, chosen, rejected):
                out.skipped_preference[SKIP_CONTENDER] += 1
                continue
            append((
                prompt, completions[chosen], completions[rejected], judgment.rationale, strength, margin,
                aspect_pair(aspects, chosen, rejected) if aspects else [], models[chosen], models[rejected],
                _position(order, chosen), _position(order, rejected), judgment.annotator, agreement, n_votes,
                source, item_id, split,
            ))  # fmt: skip
        if options.kto:
            _kto_append(out, shape, item, label, judgment.annotator, options)
    return out


def _kto_append(out: ItemRows, shape: Shape, item: ItemRecord, label, annotator, options: RowOptions) -> None:
    marked = kto_labels(label, len(item.candidates))
    if not marked:
        out.skipped_kto[skip_reason(label)] += 1
    for candidate, good in marked:
        if not wanted(item, options.contenders, candidate):
            out.skipped_kto[SKIP_CONTENDER] += 1
            continue
        out.kto.append(kto_row(shape, item, candidate, good, annotator, out.split))


def item_row_tuples(
    item: ItemRecord, judgments: Sequence[JudgmentRecord], options: RowOptions, weights: Mapping[str, float] | None = None
) -> ItemRows:
    """The rows of one item in the unit `options.unit`, as tuples in column order (what the
    writers take); weights (annotator -> competence weight) are used by the competence
    aggregation only."""
    if options.unit == "judgment":
        return judgment_rows(item, judgments, options)
    from annotate.exports.aggregate import aggregated_rows

    return aggregated_rows(item, judgments, options, weights or {})


def item_rows(
    item: ItemRecord, judgments: Sequence[JudgmentRecord], options: RowOptions, weights: Mapping[str, float] | None = None
) -> ItemRows:
    """item_row_tuples with each row as a dict {column: value}."""
    out = item_row_tuples(item, judgments, options, weights)
    names = PREFERENCE_COLUMNS if options.unit == "judgment" else ITEM_PREFERENCE_COLUMNS
    out.preference = [dict(zip(names, row)) for row in out.preference]
    out.kto = [dict(zip(KTO_COLUMNS, row)) for row in out.kto]
    return out


def item_preference_row(shape: Shape, item: ItemRecord, chosen: int, rejected: int, **extra) -> tuple:
    """A preference row of unit "item", in ITEM_PREFERENCE_COLUMNS order."""
    return (
        shape.prompt, shape.completion(chosen), shape.completion(rejected), extra["rationales"], extra["strength"],
        extra["margin"], extra["aspects"], item.models[chosen] or None, item.models[rejected] or None,
        extra["annotators"], extra["agreement"], extra["n_votes"], extra["n_agree"], item.source, item.item_id,
        extra["split"],
    )  # fmt: skip
