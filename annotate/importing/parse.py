"""One imported item, checked: a raw row (a dict in the JSONL shape, whatever the file format)
to a `ParsedItem`, or a ValueError whose message says what is wrong. No Django, no I/O.

Values are checked so that writing can't fail half-way: types, lengths against the model's
column sizes and `settings.ANNOTATE`, indices against the row's candidates, and text that
PostgreSQL can't store (NUL characters, lone surrogates from JSON escapes)."""
import json
import math
from dataclasses import dataclass, field

from annotate.questions import MAX_RATIONALE_CHARS, Questions

ROLES = ("system", "user", "assistant")
MAX_ID_CHARS = 200  # Item.external_id
MAX_MODEL_CHARS = 200  # Candidate.model
MAX_ANNOTATOR_CHARS = 200
MAX_META_CHARS = 20_000  # item or candidate meta, as JSON
MAX_JUDGMENTS = 100  # per item
LETTERS = "abcdefghijklmnopqrstuvwxyz"
VERDICT_WORDS = {"tie": "TIE", "both_bad": "BOTH_BAD", "bothbad": "BOTH_BAD", "both bad": "BOTH_BAD"}


@dataclass(frozen=True)
class Limits:
    """From settings.ANNOTATE (MAX_PROMPT_CHARS, MAX_CANDIDATE_CHARS, MAX_CANDIDATES)."""

    max_prompt_chars: int = 50_000
    max_candidate_chars: int = 100_000
    max_candidates: int = 10

    @property
    def max_line_bytes(self) -> int:
        # JSON may escape a character in up to 12 bytes (a surrogate pair as two \uXXXX);
        # 2 MB more covers meta, judgments and rationales.
        return 12 * (self.max_prompt_chars + self.max_candidates * self.max_candidate_chars) + 2_000_000


@dataclass(frozen=True)
class ParsedJudgment:
    annotator: str
    verdict: str  # Verdict value: CANDIDATE | TIE | BOTH_BAD | RANKED
    choice: int | None = None
    ranking: list[int] | None = None
    strength: int | None = None
    aspects: dict = field(default_factory=dict)
    rationale: str = ""


@dataclass(frozen=True)
class ParsedItem:
    prompt: str
    candidates: list[tuple[str, str, dict]]  # (text, model, meta)
    messages: list[dict] | None = None
    meta: dict = field(default_factory=dict)
    external_id: str = ""
    gold: str = ""  # "" | "0", "1", … | "TIE"
    judgments: list[ParsedJudgment] = field(default_factory=list)

    @property
    def n_candidates(self) -> int:
        return len(self.candidates)


def storable_text(value: str, what: str) -> str:
    """`value` if PostgreSQL can store it (no NUL, valid Unicode); ValueError otherwise."""
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode (a lone surrogate escape)") from None
    return value


def _text(value, what: str, max_chars: int, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text (got {type(value).__name__})")
    if len(value) > max_chars:
        raise ValueError(f"{what} is longer than {max_chars} characters ({len(value)})")
    return storable_text(value, what)


def _meta(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object")
    try:
        dumped = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} can't be stored as JSON ({str(exc)[:60]})") from None
    if len(dumped) > MAX_META_CHARS:
        raise ValueError(f"{what} is larger than {MAX_META_CHARS} characters as JSON")
    if "\\u0000" in dumped:  # jsonb refuses NUL even escaped
        raise ValueError(f"{what} contains a NUL character")
    storable_text(dumped, what)
    return value


def _index(value, n: int, what: str, *, words: bool = False) -> int | str:
    """A candidate index from an int, a digit string or a letter (a = 0); with `words`, also
    "tie" / "both_bad" as "TIE" / "BOTH_BAD"."""
    given = value
    if isinstance(value, str):
        key = value.strip().lower()
        if words and key in VERDICT_WORDS:
            return VERDICT_WORDS[key]
        if key.isdigit() and len(key) < 4:
            value = int(key)
        elif len(key) == 1 and key in LETTERS:
            value = LETTERS.index(key)
        else:
            allowed = "a candidate index" + (', "tie" or "both_bad"' if words else "")
            raise ValueError(f"{what} must be {allowed} (got {value[:40]!r})")
    elif isinstance(value, float) and value.is_integer():  # Parquet/CSV readers may give 1.0
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be a candidate index (got {type(value).__name__})")
    if not 0 <= value < n:
        shown = repr(given[:10]) if isinstance(given, str) else value
        raise ValueError(f"{what} {shown} is out of range: the row has {n} candidates (0–{n - 1})")
    return value


def _prompt(raw: dict, limits: Limits) -> tuple[str, list[dict] | None]:
    if "prompt" not in raw or raw["prompt"] is None:
        raise ValueError("prompt is missing")
    prompt = raw["prompt"]
    if isinstance(prompt, str):
        if not prompt.strip():
            raise ValueError("prompt is empty")
        return _text(prompt, "prompt", limits.max_prompt_chars), None
    if not isinstance(prompt, list) or not prompt:
        raise ValueError("prompt must be text or a non-empty list of {role, content} messages")
    messages, total, last_user = [], 0, None
    for i, message in enumerate(prompt):
        if not isinstance(message, dict) or set(message) - {"role", "content"}:
            raise ValueError(f"prompt message {i}: must be an object with role and content only")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise ValueError(f"prompt message {i}: role must be one of {', '.join(ROLES)}")
        content = _text(content, f"prompt message {i} content", limits.max_prompt_chars)
        total += len(content)
        if role == "user":
            last_user = content
        messages.append({"role": role, "content": content})
    if total > limits.max_prompt_chars:
        raise ValueError(f"prompt messages are longer than {limits.max_prompt_chars} characters in all ({total})")
    if last_user is None or not last_user.strip():
        raise ValueError("prompt messages have no user message")
    return last_user, messages


def _candidates(raw: dict, limits: Limits) -> list[tuple[str, str, dict]]:
    given = raw.get("candidates")
    if given is None:
        raise ValueError("candidates are missing")
    if not isinstance(given, list):
        raise ValueError("candidates must be a list")
    if len(given) < 2:
        raise ValueError(f"an item needs at least two candidates (got {len(given)})")
    if len(given) > limits.max_candidates:
        raise ValueError(f"an item has at most {limits.max_candidates} candidates (got {len(given)})")
    out = []
    for i, candidate in enumerate(given):
        if isinstance(candidate, str):
            candidate = {"text": candidate}
        if not isinstance(candidate, dict):
            raise ValueError(f"candidate {i} must be an object with text")
        unknown = set(candidate) - {"text", "model", "meta"}
        if unknown:
            raise ValueError(f"candidate {i}: unknown field {sorted(unknown)[0][:40]!r}")
        if "text" not in candidate:
            raise ValueError(f"candidate {i}: text is missing")
        text = _text(candidate["text"], f"candidate {i} text", limits.max_candidate_chars)
        model = _text(candidate.get("model"), f"candidate {i} model", MAX_MODEL_CHARS, required=False)
        out.append((text, model.strip(), _meta(candidate.get("meta"), f"candidate {i} meta")))
    return out


def _strength(value, questions: Questions, what: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    top = len(questions.strength_labels)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise ValueError(f"{what} strength must be an integer from 1 to {top}")
    return value


def _aspects(value, questions: Questions, n: int, what: str) -> dict:
    """Stored like annotate.questions.answer_check stores them: scale aspects as
    {"0": score, "1": score, …} (every candidate), pairwise ones as a candidate index or "TIE"."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{what} aspects must be an object")
    known = {a.name: a for a in questions.aspects}
    out = {}
    for name, given in value.items():
        aspect = known.get(name)
        if aspect is None:
            raise ValueError(f"{what} aspect {str(name)[:40]!r} is not one of the campaign's questions")
        if aspect.kind == "pairwise":
            index = _index(given, n, f"{what} aspect {name}", words=True)
            if index == "BOTH_BAD":
                raise ValueError(f"{what} aspect {name} must be a candidate index or tie")
            out[name] = index
            continue
        if isinstance(given, list):
            given = {str(i): s for i, s in enumerate(given)}
        if not isinstance(given, dict) or sorted(given) != sorted(str(i) for i in range(n)):
            raise ValueError(f"{what} aspect {name} needs a score for each of the {n} candidates")
        scores = {}
        for key, score in given.items():
            if isinstance(score, float) and score.is_integer():
                score = int(score)
            if isinstance(score, bool) or not isinstance(score, int) or not aspect.low <= score <= aspect.high:
                raise ValueError(f"{what} aspect {name} scores must be integers from {aspect.low} to {aspect.high}")
            scores[key] = score
        out[name] = dict(sorted(scores.items(), key=lambda kv: int(kv[0])))
    return out


def _ranking(value, n: int, what: str) -> list[int]:
    if isinstance(value, str):  # CSV: "b>a>c" or "1,0,2"
        value = [v for v in value.replace(">", ",").split(",") if v.strip()]
    if not isinstance(value, list):
        raise ValueError(f"{what} ranking must be a list of candidate indices, best first")
    ranking = [_index(v, n, f"{what} ranking") for v in value]
    if sorted(ranking) != list(range(n)):
        raise ValueError(f"{what} ranking must name each of the {n} candidates once")
    return ranking


def parse_judgment(raw, n: int, questions: Questions, what: str) -> ParsedJudgment:
    if not isinstance(raw, dict):
        raise ValueError(f"{what} must be an object")
    unknown = set(raw) - {"annotator", "choice", "strength", "rationale", "ranking", "aspects"}
    if unknown:
        raise ValueError(f"{what}: unknown field {sorted(unknown)[0][:40]!r}")
    annotator = raw.get("annotator")
    if isinstance(annotator, int) and not isinstance(annotator, bool):
        annotator = str(annotator)
    if not isinstance(annotator, str) or not annotator.strip():
        raise ValueError(f"{what}: annotator is missing")
    annotator = _text(annotator.strip(), f"{what} annotator", MAX_ANNOTATOR_CHARS)
    choice, ranking = raw.get("choice"), raw.get("ranking")
    if ranking not in (None, "", []):
        ranking = _ranking(ranking, n, what)
        if choice not in (None, "") and _index(choice, n, f"{what} choice") != ranking[0]:
            raise ValueError(f"{what}: choice and the first of ranking differ")
        verdict, choice = "RANKED", None
    elif choice is None or choice == "":
        raise ValueError(f"{what}: choice is missing")
    else:
        choice = _index(choice, n, f"{what} choice", words=True)
        verdict, choice = ("CANDIDATE", choice) if isinstance(choice, int) else (choice, None)
    rationale = _text(raw.get("rationale"), f"{what} rationale", MAX_RATIONALE_CHARS, required=False).strip()
    return ParsedJudgment(
        annotator=annotator,
        verdict=verdict,
        choice=choice,
        ranking=ranking if verdict == "RANKED" else None,
        strength=_strength(raw.get("strength"), questions, what) if verdict == "CANDIDATE" else None,
        aspects=_aspects(raw.get("aspects"), questions, n, what),
        rationale=rationale,
    )


def parse_item(raw, *, limits: Limits, questions: Questions, judgment_labels: list[str] | None = None) -> ParsedItem:
    """Check one row; ValueError with the reason when it can't be imported as it is.

    `judgment_labels` names judgments in messages (e.g. their CSV lines); by default
    "judgment 1", "judgment 2", …"""
    if not isinstance(raw, dict):
        raise ValueError("a row must be an object")
    unknown = set(raw) - {"prompt", "candidates", "gold", "meta", "id", "judgments"}
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0][:40]!r}")
    prompt, messages = _prompt(raw, limits)
    candidates = _candidates(raw, limits)
    n = len(candidates)
    external_id = raw.get("id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    external_id = _text(external_id, "id", MAX_ID_CHARS, required=False).strip()
    gold = raw.get("gold")
    if gold is None or gold == "":
        gold = ""
    else:
        gold = _index(gold, n, "gold", words=True)
        if gold == "BOTH_BAD":
            raise ValueError('gold must be a candidate index or "tie"')
        gold = str(gold)
    judgments = raw.get("judgments") or []
    if not isinstance(judgments, list):
        raise ValueError("judgments must be a list")
    if len(judgments) > MAX_JUDGMENTS:
        raise ValueError(f"an item has at most {MAX_JUDGMENTS} judgments")
    labels = judgment_labels or [f"judgment {i + 1}" for i in range(len(judgments))]
    parsed = [parse_judgment(j, n, questions, label) for j, label in zip(judgments, labels)]
    seen = set()
    for judgment, label in zip(parsed, labels):
        if judgment.annotator in seen:
            raise ValueError(f"{label}: annotator {judgment.annotator[:40]!r} judges this item twice")
        seen.add(judgment.annotator)
    return ParsedItem(
        prompt=prompt,
        messages=messages,
        candidates=candidates,
        meta=_meta(raw.get("meta"), "meta"),
        external_id=external_id,
        gold=gold,
        judgments=parsed,
    )


def finite_float(text: str) -> float:
    """json.loads(parse_float=…): 1e999 parses to inf, which no JSON column can store."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def no_constant(name: str):
    """json.loads(parse_constant=…): NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not valid JSON")
