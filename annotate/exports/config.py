"""What an export contains: a validated dataclass stored as JSON with the snapshot (STYLE rule 8),
so any export can be rebuilt from its row."""
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

UNITS = ("judgment", "item")
AGGREGATIONS = ("majority", "strength", "competence")
FORMATS = ("jsonl", "parquet")
FORMS = ("text", "conversational")
MAX_LIST = 200


class ExportConfigInvalid(ValueError):
    """The message names the field and says why."""


def _date(name: str, value) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ExportConfigInvalid(f"{name}: use a date like 2026-11-30") from None


def _names(name: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LIST or not all(isinstance(v, str) and 0 < len(v.strip()) <= 200 for v in value):
        raise ExportConfigInvalid(f"{name}: a list of up to {MAX_LIST} names")
    return tuple(sorted({v.strip() for v in value}))


@dataclass(frozen=True)
class ExportConfig:
    """Field help.

    Sources: `campaigns` (slugs) and/or `arena` (votes). Filters: `since`/`until` (dates,
    inclusive, on when the judgment was made), `contenders` (rows whose chosen or rejected
    response came from one of these models), `categories` (arena category or item meta
    "category"), `min_item_agreement` (share of the item's judgments that agree with its
    majority, 0–1), `min_gold_accuracy` (annotator's accuracy on gold items; annotators without
    gold answers pass), `exclude_ties`, `exclude_both_bad`, `exclude_gold` (gold items),
    `exclude_flagged` (judgments with a flag such as unsafe or personal data).
    Unit: `judgment` (one row per judgment) or `item` (one row per item, aggregated by
    `aggregation`: majority, strength-weighted, or weighted by estimated annotator competence).
    Files: `formats` (jsonl, parquet), `form` (text: prompt/chosen/rejected strings;
    conversational: messages), `kto` (also unpaired prompt/completion/label rows),
    `test_fraction` (split by prompt: no prompt in both), `scrub_pii` (e-mail addresses, phone
    numbers and similar replaced in free text), `licence` (goes into the dataset card)."""

    name: str = "export"
    campaigns: tuple[str, ...] = ()
    arena: bool = False
    since: str | None = None
    until: str | None = None
    contenders: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_item_agreement: float = 0.0
    min_gold_accuracy: float = 0.0
    exclude_ties: bool = False
    exclude_both_bad: bool = False
    exclude_gold: bool = False
    exclude_flagged: bool = False
    unit: str = "judgment"
    aggregation: str = "majority"
    formats: tuple[str, ...] = ("jsonl", "parquet")
    form: str = "text"
    kto: bool = False
    test_fraction: float = 0.0
    scrub_pii: bool = False
    licence: str = "CC-BY-4.0"
    extra: dict = field(default_factory=dict, compare=False)  # reserved; must stay empty

    def __post_init__(self):
        if not self.campaigns and not self.arena:
            raise ExportConfigInvalid("choose at least one source: campaigns and/or arena")
        if not isinstance(self.name, str) or not 0 < len(self.name) <= 100:
            raise ExportConfigInvalid("name: 1–100 characters")
        if self.unit not in UNITS:
            raise ExportConfigInvalid(f"unit: one of {', '.join(UNITS)}")
        if self.aggregation not in AGGREGATIONS:
            raise ExportConfigInvalid(f"aggregation: one of {', '.join(AGGREGATIONS)}")
        if not self.formats or any(f not in FORMATS for f in self.formats):
            raise ExportConfigInvalid(f"formats: one or more of {', '.join(FORMATS)}")
        if self.form not in FORMS:
            raise ExportConfigInvalid(f"form: one of {', '.join(FORMS)}")
        for name in ("min_item_agreement", "min_gold_accuracy", "test_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ExportConfigInvalid(f"{name}: a number from 0 to 1")
        if self.test_fraction >= 1:
            raise ExportConfigInvalid("test_fraction: must be below 1 (something must be left to train on)")
        if self.since and self.until and self.since > self.until:
            raise ExportConfigInvalid(f"until: must be on or after since ({self.since})")
        if not isinstance(self.licence, str) or not 0 < len(self.licence) <= 100:
            raise ExportConfigInvalid("licence: 1–100 characters, e.g. CC-BY-4.0")
        if self.extra:
            raise ExportConfigInvalid(f"unknown field(s): {', '.join(sorted(self.extra))}")

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("extra")
        return data


BOOLEANS = {f.name for f in fields(ExportConfig) if f.type in (bool, "bool")}


def export_config_from_json(data: Any) -> ExportConfig:
    """Validate a JSON object (the admin form, the API, the command) into an ExportConfig."""
    if not isinstance(data, dict):
        raise ExportConfigInvalid("the export settings must be a JSON object")
    known = {f.name for f in fields(ExportConfig)} - {"extra"}
    values = {k: v for k, v in data.items() if k in known}
    extra = {k: v for k, v in data.items() if k not in known}
    for name in BOOLEANS & set(values):
        if not isinstance(values[name], bool):
            raise ExportConfigInvalid(f"{name}: true or false")
    for name in ("campaigns", "contenders", "categories", "formats"):
        if name in values:
            values[name] = _names(name, values[name])
    for name in ("since", "until"):
        if name in values:
            values[name] = _date(name, values[name])
    return ExportConfig(**values, extra=extra)
