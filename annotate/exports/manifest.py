"""manifest.json and the dataset card (README.md): deterministic, so a rebuild of the same
snapshot gives the same bytes; the build and finish times live on the snapshot row only.

Both are built from plain data (`BuildSummary`), without Django."""
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

FIELD_HELP = {
    "prompt": "The prompt: text, or chat messages [{role, content}] in the conversational form. A multi-turn prompt in "
    "the text form is one paragraph per message, \"User: …\" / \"Assistant: …\" / \"System: …\", separated by a blank line.",
    "chosen": "The preferred response (text, or [{role: assistant, content}]).",
    "rejected": "The other response.",
    "completion": "KTO: one response.",
    "label": "KTO: true for a chosen response, false for a rejected one (both-bad: every response false).",
    "model": "KTO: the model that wrote the completion, null when unknown.",
    "rationale": "The annotator's free-text reason (may be empty).",
    "rationales": "The non-empty reasons of the judgments that gave the item's aggregated label.",
    "strength": "How much better chosen is, 1..max_strength (item unit: the mean over agreeing judgments); null when not asked.",
    "margin": "strength / max_strength x item_agreement; 0 when there is no strength.",
    "aspects": "Per aspect [{name, chosen, rejected}]: scale aspects give each response's score; pairwise aspects give 1 to "
    "the response they preferred and 0 to the other (0.5 each for a tie). Item unit: means.",
    "chosen_model": "The model that wrote chosen, null when unknown.",
    "rejected_model": "The model that wrote rejected, null when unknown.",
    "chosen_position": "Where chosen was shown (0 = first/left); null for imported judgments, whose order is unknown.",
    "rejected_position": "Where rejected was shown.",
    "annotator": "Keyed pseudonym of the annotator (item unit: every annotator of the item). Not reversible without the "
    "server's key; the same person has the same pseudonym across this deployment's campaigns and arena.",
    "item_agreement": "Share of the item's judgments that give its most frequent label (candidate, tie or both-bad).",
    "n_votes": "Judgments on the item with an overall label.",
    "n_agree": "Of them, those that gave the aggregated label.",
    "source": "The campaign's slug, or \"arena\".",
    "item_id": "\"<campaign>/<item position>\" or \"arena/<battle id>\": stable across exports.",
    "split": "train or test; decided by a keyed hash of the normalized prompt, so no prompt is in both.",
}
ARENA_TEXT = (
    "Arena battles: a user wrote a prompt, two anonymous models answered side by side (which model went left was random "
    "and recorded), and the user voted for the better answer (or tie / both bad), optionally with a strength (slight, "
    "clear, strong = 1..3) and a reason. Model names were revealed only after the vote. The prompt is the battle's user "
    "turns; chosen and rejected are the two final answers."
)
INSTRUCTIONS_SHOWN = 1500  # characters of a campaign's instructions quoted in the card


@dataclass
class SourceInfo:
    """One source of an export (a campaign, or the arena): what the dataset card says of it."""

    source: str
    title: str
    instructions: str = ""
    questions: dict = field(default_factory=dict)
    max_strength: int = 0
    competence_note: str = ""


@dataclass
class SourceSummary:
    """What a build counted of one source."""

    info: SourceInfo
    judgments: int = 0
    items: int = 0
    names: set = field(default_factory=set, repr=False)  # annotator pseudonyms seen
    items_multi: int = 0  # items with two or more labelled judgments
    agreement_sum: float = 0.0  # over those items

    @property
    def annotators(self) -> int:
        return len(self.names)

    def add(self, *, items: int, judgments: int, names: Iterable, agreements: Iterable[float]) -> None:
        """Counts read items; `agreements`: of those with two or more labelled judgments, in
        item order (added one by one: the same float sum however the items were grouped)."""
        self.items += items
        self.judgments += judgments
        self.names.update(name for name in names if name)
        for agreement in agreements:
            self.items_multi += 1
            self.agreement_sum += agreement

    def to_json(self) -> dict:
        mean = round(self.agreement_sum / self.items_multi, 4) if self.items_multi else None
        note = self.info.competence_note
        return {
            "source": self.info.source, "title": self.info.title, "judgments": self.judgments, "items": self.items,
            "annotators": self.annotators, "items_with_2plus_votes": self.items_multi,
            "mean_item_agreement": mean, **({"note": note} if note else {}),
        }  # fmt: skip


@dataclass
class BuildSummary:
    snapshot_id: str
    name: str
    config: dict
    upto_annotation_id: int
    upto_vote_id: int
    files: list[dict]  # [{name, kind, split, format, rows, bytes, sha256}]
    schemas: dict[str, list[dict]]  # kind -> [{name, type}]
    rows: dict[str, dict[str, int]]  # kind -> split -> rows
    skipped: dict[str, dict[str, int]]  # kind -> reason -> count
    scrub: dict[str, int] | None
    sources: list[SourceSummary]
    code_version: str
    package_version: str
    libraries: dict[str, str]


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def manifest_json(summary: BuildSummary, card_file: dict) -> str:
    """The manifest: `files` lists every data file and README.md with sha256 and bytes."""
    config = summary.config
    unit = config.get("unit", "judgment")
    return _dumps({
        "name": summary.name,
        "snapshot_id": summary.snapshot_id,
        "config": config,
        "cutoff": {"upto_annotation_id": summary.upto_annotation_id, "upto_vote_id": summary.upto_vote_id},
        "files": [*summary.files, card_file],
        "rows": summary.rows,
        "skipped": {
            "unit": "items" if unit == "item" else "judgments",
            "note": "other_contenders counts rows (pairs / completions) left out by the contender filter; filters applied "
            "in the database (dates, ties, both-bad, gold, flagged, category, gold accuracy) are not counted here.",
            **summary.skipped,
        },
        "schema": summary.schemas,
        "scrub": {"enabled": summary.scrub is not None, "counts": summary.scrub or {}},
        "sources": [s.to_json() for s in summary.sources],
        "split": {"test_fraction": config.get("test_fraction", 0.0), "method": "HMAC-SHA256 of the normalized prompt (NFKC, case-folded, whitespace collapsed) with a deployment key, first 8 bytes / 2^64 < test_fraction -> test"},
        "margin": "strength / max_strength x item_agreement (0 without strength)",
        "code_version": summary.code_version,
        "prefarena_version": summary.package_version,
        "libraries": summary.libraries,
    })  # fmt: skip


def _questions_text(questions: dict) -> list[str]:
    lines = []
    if questions.get("choice", True):
        options = ["which response is better"]
        if questions.get("allow_tie", True):
            options.append("tie")
        if questions.get("allow_both_bad", True):
            options.append("both/all bad")
        lines.append("Overall choice: " + ", ".join(options) + ".")
    if questions.get("strength", True) and questions.get("choice", True):
        labels = questions.get("strength_labels") or []
        lines.append(f"Strength of the preference: {', '.join(f'{i + 1} = {label}' for i, label in enumerate(labels))}.")
    if questions.get("ranking", True):
        lines.append("Items with more than two responses are ranked best to worst.")
    for aspect in questions.get("aspects") or []:
        if aspect.get("kind") == "pairwise":
            lines.append(f"Aspect {aspect['name']}: which response is better on it (or tie).")
        else:
            lines.append(f"Aspect {aspect['name']}: each response scored {aspect.get('low', 1)}..{aspect.get('high', 5)}.")
    rationale = questions.get("rationale", "optional")
    if rationale != "off":
        lines.append(f"Rationale: {rationale}" + (f" (at least {questions['rationale_min_chars']} characters)." if questions.get("rationale_min_chars") else "."))
    return lines


def _hf_licence(licence: str) -> str:
    """The Hugging Face licence id (lower case, e.g. cc-by-4.0, mit), or "other" when the
    admin's text isn't one; the text itself is in the card's Licence section."""
    value = licence.strip().lower()
    return value if re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", value) else "other"


def dataset_card(summary: BuildSummary) -> str:
    """README.md: Hugging Face front matter (licence, one config per kind), fields, how the
    labels were collected, annotators and agreement, privacy, how to load it."""
    config = summary.config
    by_kind: dict[str, list[dict]] = {}
    for f in summary.files:
        if f["format"] == "parquet" or not any(g["format"] == "parquet" for g in summary.files):
            by_kind.setdefault(f["kind"], []).append(f)
    front = ["---", f"license: {_hf_licence(config.get('licence', 'other'))}"] + (["configs:"] if by_kind else [])  # none: no row matched
    for kind, files in sorted(by_kind.items()):
        front += [f"- config_name: {kind}", "  data_files:"]
        for f in files:
            front += [f"  - split: {f['split']}", f"    path: {f['name']}"]
    front.append("---")
    out = front + ["", f"# {summary.name}", "",
        f"Human preference data exported from prefarena (snapshot `{summary.snapshot_id}`), in TRL's preference format "
        f"(`prompt` / `chosen` / `rejected`, {config.get('form', 'text')} form)"
        + (", with unpaired KTO rows (`prompt` / `completion` / `label`)" if config.get("kto") else "")
        + f". Unit: one row per {'item, aggregated by ' + config.get('aggregation', 'majority') if config.get('unit') == 'item' else 'judgment'}.",
        "", "## Files", "", "| file | rows | sha256 |", "|---|---|---|"]  # fmt: skip
    out += [f"| `{f['name']}` | {f['rows']} | `{f['sha256'][:16]}…` |" for f in summary.files]
    out += ["", "Checksums, counts, what was skipped and why, and the schema are in `manifest.json`.", "", "## Fields", ""]
    for kind, schema in summary.schemas.items():
        out += [f"`{kind}` files:", "", "| column | type | meaning |", "|---|---|---|"]
        out += [f"| `{c['name']}` | `{c['type']}` | {FIELD_HELP.get(c['name'], '')} |" for c in schema]
        out.append("")
    out += ["## How the labels were collected", ""]
    for source in (s.info for s in summary.sources):
        if source.source == "arena":
            out += ["### Arena", "", ARENA_TEXT, ""]
            continue
        out += [f"### Campaign `{source.source}`: {source.title}", ""]
        instructions = source.instructions.strip()
        if instructions:
            shown = instructions[:INSTRUCTIONS_SHOWN] + ("…" if len(instructions) > INSTRUCTIONS_SHOWN else "")
            out += ["Instructions given to annotators:", "", *[f"> {line}" for line in shown.splitlines()], ""]
        out += [f"- {line}" for line in _questions_text(source.questions)]
        out += ["- Each annotator saw the responses in a random order (recorded per judgment); judgments imported "
                "with the items have no recorded order.", ""]  # fmt: skip
    out += ["## Annotators and agreement", "", "| source | judgments | items | annotators | mean item agreement (items with 2+ votes) |", "|---|---|---|---|---|"]
    for s in summary.sources:
        j = s.to_json()
        agreement = "–" if j["mean_item_agreement"] is None else f"{j['mean_item_agreement']:.3f} ({j['items_with_2plus_votes']} items)"
        out.append(f"| {s.info.source} | {s.judgments} | {s.items} | {s.annotators} | {agreement} |")
    out += ["", "## Privacy", "",
        "Annotators appear only as keyed pseudonyms (HMAC-SHA256 with a server secret): no usernames, e-mail addresses, "
        "crowd platform ids or IP addresses."]  # fmt: skip
    if summary.scrub is not None:
        counts = ", ".join(f"{k}: {v}" for k, v in summary.scrub.items())
        out.append(f"E-mail addresses, phone numbers, IP addresses, card numbers and URL credentials in prompts, responses "
                   f"and rationales were replaced by placeholders such as `[EMAIL]` ({counts}).")  # fmt: skip
    else:
        out.append("Free text (prompts, responses, rationales) was not scrubbed of personal data.")
    out += ["", "## Licence", "", f"{config.get('licence')}, as chosen by the exporting administrator.", "",
        "## Loading", "", "```python", "from datasets import load_dataset", ""]  # fmt: skip
    for kind, files in sorted(by_kind.items()):
        fmt = "parquet" if files[0]["format"] == "parquet" else "json"
        data_files = ", ".join(f'"{f["split"]}": "{f["name"]}"' for f in files)
        out.append(f'{kind} = load_dataset("{fmt}", data_files={{{data_files}}})')
    out += ["```", "", "Or load the folder: `load_dataset(\"path/to/this/folder\", \"preference\")`.", "",
        "## Reproducibility", "",
        f"Data cut-off: annotations up to id {summary.upto_annotation_id}, arena votes up to id {summary.upto_vote_id}. "
        f"Code version `{summary.code_version}`. Rebuilding this snapshot gives byte-identical files.", ""]  # fmt: skip
    return "\n".join(out)
