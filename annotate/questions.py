"""What a campaign asks, and the check of an annotator's answer against it.

A campaign stores its questions as JSON (`Campaign.questions`); `questions_from_json` validates
that JSON into a `Questions` dataclass (STYLE rule 8). Answers arrive in *display positions*
(what the annotator saw: 0 = first/left) and are stored in *candidate indices* (the row's own
order), translated through the assignment's `order` permutation, so position bias can be
measured and exports name the right response. No Django here.
"""
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ASPECT_KINDS = ("scale", "pairwise")
RATIONALE_MODES = ("off", "optional", "required")
DEFAULT_FLAGS = ("unsafe", "personal_data", "needs_expertise")
MAX_RATIONALE_CHARS = 5000
MAX_FLAG_NAME = 40


class QuestionsInvalid(ValueError):
    """The campaign's question config is malformed; the message says which field and why."""


class AnswerInvalid(ValueError):
    """An annotator's answer doesn't fit the questions; the message is shown to them."""


@dataclass(frozen=True)
class Aspect:
    name: str  # a short key: [a-z0-9_], e.g. "helpfulness"
    label: str = ""
    kind: Literal["scale", "pairwise"] = "scale"  # scale: a score per candidate; pairwise: which is better
    low: int = 1
    high: int = 5

    def __post_init__(self):
        if not self.name or len(self.name) > 40 or not all(c.isalnum() or c == "_" for c in self.name):
            raise QuestionsInvalid(f"aspect name {self.name!r}: use 1–40 letters, digits or _")
        if self.kind not in ASPECT_KINDS:
            raise QuestionsInvalid(f"aspect {self.name}: kind must be one of {', '.join(ASPECT_KINDS)}")
        if self.kind == "scale" and not (isinstance(self.low, int) and isinstance(self.high, int) and self.low < self.high <= self.low + 20):
            raise QuestionsInvalid(f"aspect {self.name}: scale needs integers low < high (at most 21 points)")


@dataclass(frozen=True)
class Questions:
    """Field help: `choice` asks which candidate is better (with `allow_tie` / `allow_both_bad`);
    `strength` adds a 1..len(strength_labels) scale; `aspects` per-aspect ratings; `rationale`
    off | optional | required with `rationale_min_chars`; `flags` are checkboxes; `ranking`
    asks for a full ranking when an item has more than two candidates."""

    choice: bool = True
    allow_tie: bool = True
    allow_both_bad: bool = True
    strength: bool = True
    strength_labels: tuple[str, ...] = ("slight", "clear", "strong")
    aspects: tuple[Aspect, ...] = ()
    rationale: Literal["off", "optional", "required"] = "optional"
    rationale_min_chars: int = 0
    flags: tuple[str, ...] = DEFAULT_FLAGS
    ranking: bool = True

    def __post_init__(self):
        if self.rationale not in RATIONALE_MODES:
            raise QuestionsInvalid(f"rationale must be one of {', '.join(RATIONALE_MODES)}")
        if not isinstance(self.rationale_min_chars, int) or not 0 <= self.rationale_min_chars <= 2000:
            raise QuestionsInvalid("rationale_min_chars must be an integer from 0 to 2000")
        if self.strength and not 2 <= len(self.strength_labels) <= 7:
            raise QuestionsInvalid("strength_labels needs 2 to 7 labels")
        if len({a.name for a in self.aspects}) != len(self.aspects):
            raise QuestionsInvalid("aspect names must be unique")
        if any(not isinstance(f, str) or not f or len(f) > MAX_FLAG_NAME for f in self.flags):
            raise QuestionsInvalid(f"flags must be names of 1–{MAX_FLAG_NAME} characters")
        if not (self.choice or self.aspects or self.rationale != "off" or self.ranking):
            raise QuestionsInvalid("a campaign must ask at least one question")

    def to_json(self) -> dict:
        return asdict(self)


def default_questions() -> dict:
    return Questions().to_json()


ASPECT_FIELDS = tuple(Aspect.__dataclass_fields__)


def _listed(name: str, value) -> list:
    if not isinstance(value, (list, tuple)):
        raise QuestionsInvalid(f"{name} must be a list")
    return list(value)


def _aspect(data) -> Aspect:
    if not isinstance(data, dict) or "name" not in data:
        raise QuestionsInvalid('each aspect is an object with at least a "name"')
    unknown = sorted(set(data) - set(ASPECT_FIELDS))
    if unknown:
        raise QuestionsInvalid(f"aspect {data.get('name')!r}: unknown field(s) {', '.join(map(str, unknown))} (known: {', '.join(ASPECT_FIELDS)})")
    return Aspect(**data)


def questions_from_json(data: Any) -> Questions:
    if not isinstance(data, dict):
        raise QuestionsInvalid("questions must be a JSON object")
    known = set(Questions.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise QuestionsInvalid(f"unknown question field(s): {', '.join(unknown)}")
    values = dict(data)
    values["aspects"] = tuple(_aspect(a) for a in _listed("aspects", data.get("aspects", ())))
    for name in ("strength_labels", "flags"):
        if name in values:
            values[name] = tuple(_listed(name, values[name]))
    for name in ("choice", "allow_tie", "allow_both_bad", "strength", "ranking"):
        if name in values and not isinstance(values[name], bool):
            raise QuestionsInvalid(f"{name} must be true or false")
    return Questions(**values)


def gold_correct(*, gold: str, verdict: str, choice: int | None, ranking: list[int] | None) -> bool:
    """Whether a judgment matches a gold item's answer `gold` ("TIE", or a candidate index as a
    string): a tie for "TIE", else the candidate chosen (CANDIDATE) or ranked first (RANKED).
    The export's SQL copy is annotate.exports.reading.gold_excluded."""
    if gold == "TIE":
        return verdict == "TIE"
    picked = choice if verdict == "CANDIDATE" else (ranking[0] if ranking else None)
    return picked is not None and str(picked) == gold


@dataclass
class CleanAnswer:
    """An answer in candidate indices, ready to store as an Annotation."""

    verdict: str  # CANDIDATE | TIE | BOTH_BAD | RANKED | NONE (no overall choice asked)
    choice: int | None = None
    ranking: list[int] | None = None
    strength: int | None = None
    aspects: dict = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    rationale: str = ""
    time_spent_ms: int = 0


def _position(value, n: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
        raise AnswerInvalid(f"{what}: pick one of the responses.")
    return value


def _verdict(q: Questions, answer: dict, order: list[int]) -> tuple[str, int | None, list[int] | None]:
    n = len(order)
    verdict = answer.get("verdict")
    if q.ranking and n > 2:
        if verdict in ("TIE", "BOTH_BAD") and (q.allow_tie if verdict == "TIE" else q.allow_both_bad):
            return verdict, None, None
        ranking = answer.get("ranking")
        if not isinstance(ranking, list) or sorted(r for r in ranking if isinstance(r, int) and not isinstance(r, bool)) != list(range(n)):
            raise AnswerInvalid("Rank every response once, best first.")
        return "RANKED", None, [order[p] for p in ranking]
    if not q.choice:
        return "NONE", None, None
    if verdict == "CANDIDATE":
        return "CANDIDATE", order[_position(answer.get("choice"), n, "Choice")], None
    if verdict == "TIE" and q.allow_tie:
        return "TIE", None, None
    if verdict == "BOTH_BAD" and q.allow_both_bad:
        return "BOTH_BAD", None, None
    return _bad_verdict(q)


def _bad_verdict(q: Questions):
    options = ["a response"]
    if q.allow_tie:
        options.append("tie")
    if q.allow_both_bad:
        options.append("all bad")
    raise AnswerInvalid(f"Choose {' or '.join(options)}.")


def _aspects(q: Questions, given: Any, order: list[int]) -> dict:
    given = given or {}
    if not isinstance(given, dict):
        raise AnswerInvalid("Aspect ratings could not be read.")
    unknown = set(given) - {a.name for a in q.aspects}
    if unknown:
        raise AnswerInvalid(f"Unknown aspect: {sorted(unknown)[0][:40]}.")
    n, out = len(order), {}
    for aspect in q.aspects:
        value = given.get(aspect.name)
        label = aspect.label or aspect.name
        if aspect.kind == "pairwise":
            if value == "TIE":
                out[aspect.name] = "TIE"
            else:
                out[aspect.name] = order[_position(value, n, label)]
            continue
        if not isinstance(value, list) or len(value) != n:
            raise AnswerInvalid(f"Rate every response on {label}.")
        scores = {}
        for position, score in enumerate(value):
            if isinstance(score, bool) or not isinstance(score, int) or not aspect.low <= score <= aspect.high:
                raise AnswerInvalid(f"{label}: use a score from {aspect.low} to {aspect.high}.")
            scores[str(order[position])] = score
        out[aspect.name] = dict(sorted(scores.items(), key=lambda kv: int(kv[0])))
    return out


def answer_check(questions: Questions, answer: Any, order: list[int]) -> CleanAnswer:
    """Validate `answer` (display positions) against `questions`; return it in candidate indices.

    Raises AnswerInvalid with a message for the annotator."""
    if not isinstance(answer, dict):
        raise AnswerInvalid("The answer could not be read.")
    verdict, choice, ranking = _verdict(questions, answer, order)
    strength = answer.get("strength")
    if questions.strength and verdict == "CANDIDATE" and strength is not None:
        if isinstance(strength, bool) or not isinstance(strength, int) or not 1 <= strength <= len(questions.strength_labels):
            raise AnswerInvalid(f"Strength must be from 1 to {len(questions.strength_labels)}.")
    else:
        strength = None
    flags = answer.get("flags") or []
    if not isinstance(flags, list) or any(f not in questions.flags for f in flags):
        raise AnswerInvalid("Unknown flag.")
    rationale = answer.get("rationale") or ""
    if not isinstance(rationale, str):
        raise AnswerInvalid("The rationale could not be read.")
    rationale = rationale.strip()
    if questions.rationale == "off":
        rationale = ""
    if len(rationale) > MAX_RATIONALE_CHARS:
        raise AnswerInvalid(f"The rationale is too long (at most {MAX_RATIONALE_CHARS} characters).")
    if questions.rationale == "required" and len(rationale) < max(1, questions.rationale_min_chars):
        raise AnswerInvalid(f"Write a rationale of at least {max(1, questions.rationale_min_chars)} characters.")
    if questions.rationale == "optional" and rationale and len(rationale) < questions.rationale_min_chars:
        raise AnswerInvalid(f"Write a rationale of at least {questions.rationale_min_chars} characters, or none.")
    spent = answer.get("time_spent_ms") or 0
    if isinstance(spent, bool) or not isinstance(spent, int) or spent < 0:
        spent = 0
    return CleanAnswer(
        verdict=verdict,
        choice=choice,
        ranking=ranking,
        strength=strength,
        aspects=_aspects(questions, answer.get("aspects"), order),
        flags=sorted(set(flags)),
        rationale=rationale,
        time_spent_ms=min(spent, 24 * 3600 * 1000),
    )
