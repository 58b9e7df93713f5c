"""campaign_import: a new campaign from a file (or from arena battles), all or nothing.

Two passes over a stream, as arena/battle_import.py does for battles: the first parses and
checks every row and keeps only counts and the first errors; the second, inside one
transaction, parses again and writes in batches. Memory follows the batch, not the file.
A file that changes between the passes rolls the whole import back."""
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from annotate.importing.parse import Limits, ParsedItem, parse_item
from annotate.importing.readers import FileUnreadable, RawRow, format_for, read_rows
from annotate.importing.writers import BATCH, Pending, writer_for
from annotate.models import Annotator, AnnotatorKind, Campaign, CampaignStatus, ItemOrder
from annotate.pseudonyms import pseudonym
from annotate.questions import Questions, QuestionsInvalid, gold_correct, questions_from_json
from arena.battle_import import MAX_ERRORS_SHOWN, ImportRejected
from arena.models import Contender

Progress = Callable[[str, int], None]  # (phase "checked" | "written", rows so far)
PROGRESS_EVERY = 10_000

# Paths under /annotate/ that aren't campaigns (annotate/urls*.py).
RESERVED_SLUGS = frozenset({"api", "exports", "new", "static"})
SLUG_TAKEN = "a campaign with slug {slug!r} already exists"
NO_ITEMS = "the file has no items"
FILE_CHANGED = "the source changed while it was imported; nothing was imported, run it again"


class CampaignImportRejected(ImportRejected):
    """Nothing was imported. `errors` lists the first reasons ("line 3: gold 2 is out of range …"),
    `n_bad` counts the bad rows (or 1 for a problem with the options or the whole file)."""


@dataclass(frozen=True)
class CampaignSpec:
    """The campaign an import creates. Checked on creation; raises CampaignImportRejected."""

    slug: str
    title: str = ""  # default: the slug
    overlap: int = 3  # judgments wanted per item (k); imported judgments count toward it
    lease_s: int = 1800
    gold_rate: float = 0.0
    quota: int = 0
    questions: dict | None = None  # annotate/questions.py JSON; default questions when None
    instructions: str = ""  # Markdown
    item_order: str = ItemOrder.CLOSEST_FIRST
    status: str = CampaignStatus.ACTIVE
    # `questions` parsed, once, by __post_init__ (read it through questions_obj())
    _questions: Questions | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        problems = []
        if not isinstance(self.slug, str) or not self.slug or slugify(self.slug) != self.slug or len(self.slug) > 60:
            problems.append("slug must be 1–60 lower-case letters, digits, - or _")
        elif self.slug in RESERVED_SLUGS:
            problems.append(f"slug {self.slug!r} is a reserved word under /annotate/ (choose another)")
        if len(self.title) > 200:
            problems.append("title is longer than 200 characters")
        if not 1 <= self.overlap <= 1000:
            problems.append("overlap must be from 1 to 1000")
        if self.lease_s < 30:
            problems.append("lease must be at least 30 seconds")
        if not 0.0 <= self.gold_rate <= 1.0:
            problems.append("gold rate must be from 0 to 1")
        if self.quota < 0:
            problems.append("quota must be 0 (no limit) or more")
        if len(self.instructions) > 20_000:
            problems.append("instructions are longer than 20000 characters")
        if self.item_order not in ItemOrder.values:
            problems.append(f"order must be one of {', '.join(ItemOrder.values)}")
        if self.status not in CampaignStatus.values:
            problems.append(f"status must be one of {', '.join(CampaignStatus.values)}")
        try:
            parsed = questions_from_json(self.questions if self.questions is not None else Questions().to_json())
            object.__setattr__(self, "_questions", parsed)  # frozen: set once, here
        except QuestionsInvalid as exc:
            problems.append(f"questions: {exc}")
        if problems:
            raise CampaignImportRejected(problems, len(problems))

    def questions_obj(self) -> Questions:
        return self._questions


@dataclass
class ImportReport:
    campaign_id: int
    n_items: int = 0
    n_gold: int = 0
    n_judgments: int = 0
    n_annotators: int = 0
    n_open: int = 0
    seconds: float = 0.0


def limits_from_settings() -> Limits:
    a = settings.ANNOTATE
    return Limits(
        max_prompt_chars=a["MAX_PROMPT_CHARS"], max_candidate_chars=a["MAX_CANDIDATE_CHARS"], max_candidates=a["MAX_CANDIDATES"]
    )


def _parsed(rows: Iterator[RawRow], limits: Limits, questions: Questions) -> Iterator[tuple[str, ParsedItem | ValueError]]:
    """(where, item or the reason it is bad); a file that stops being readable ends the stream."""
    try:
        for row in rows:
            if isinstance(row.data, ValueError):
                yield row.where, row.data
                continue
            try:
                yield row.where, parse_item(row.data, limits=limits, questions=questions, judgment_labels=row.judgment_labels)
            except ValueError as exc:
                yield row.where, exc
            except RecursionError:
                yield row.where, ValueError("nested too deeply")
    except FileUnreadable as exc:
        yield "", exc


def _check(rows: Iterator[RawRow], limits: Limits, questions: Questions, progress: Progress | None, every: int) -> int:
    """First pass: the number of items, or CampaignImportRejected with the first reasons."""
    errors, n_bad, n_items = [], 0, 0
    for where, item in _parsed(rows, limits, questions):
        if isinstance(item, ValueError):
            n_bad += 1
            if len(errors) < MAX_ERRORS_SHOWN:
                errors.append(f"{where}: {item}" if where else str(item))
            continue
        n_items += 1
        if progress and n_items % every == 0:
            progress("checked", n_items)
    if n_bad:
        raise CampaignImportRejected(errors, n_bad)
    if not n_items:
        raise CampaignImportRejected([NO_ITEMS], 1)
    return n_items


class _Annotators:
    """External annotators of one import, created when first met; their counters are summed
    while writing and saved at the end."""

    def __init__(self, campaign: Campaign, namespace: str):
        self.campaign, self.namespace = campaign, namespace
        self.ids: dict[str, int] = {}
        self.counts: dict[str, list[int]] = {}  # name -> [n_submitted, n_gold, n_gold_correct]

    def ensure(self, batch: list[Pending]) -> None:
        new = sorted({j.annotator for p in batch for j in p.item.judgments} - self.ids.keys())
        created = Annotator.objects.bulk_create(
            Annotator(
                campaign=self.campaign,
                kind=AnnotatorKind.EXTERNAL,
                pseudonym=pseudonym(f"external:{self.namespace}", name),
            )
            for name in new
        )
        for name, annotator in zip(new, created):
            self.ids[name] = annotator.pk

    def count(self, item: ParsedItem) -> None:
        for j in item.judgments:
            counts = self.counts.setdefault(j.annotator, [0, 0, 0])
            counts[0] += 1
            if item.gold:
                counts[1] += 1
                counts[2] += gold_correct(gold=item.gold, verdict=j.verdict, choice=j.choice, ranking=j.ranking)

    def save(self) -> None:
        annotators = [
            Annotator(pk=self.ids[name], n_submitted=c[0], n_gold=c[1], n_gold_correct=c[2]) for name, c in self.counts.items()
        ]
        Annotator.objects.bulk_update(annotators, ["n_submitted", "n_gold", "n_gold_correct"], batch_size=1000)


def _write(campaign: Campaign, rows: Iterator[RawRow], *, limits, questions, namespace, rng, use_copy, progress, every) -> ImportReport:
    """Second pass, inside the caller's transaction."""
    report = ImportReport(campaign_id=campaign.pk)
    annotators = _Annotators(campaign, namespace)
    writer = writer_for(campaign_id=campaign.pk, overlap=campaign.overlap, now=timezone.now(), use_copy=use_copy)
    batch: list[Pending] = []

    def flush():
        annotators.ensure(batch)
        report.n_open += writer.write(batch, annotators.ids)
        batch.clear()

    for _, item in _parsed(rows, limits, questions):
        if isinstance(item, ValueError):
            raise CampaignImportRejected([FILE_CHANGED], 1)
        report.n_items += 1
        report.n_gold += bool(item.gold)
        report.n_judgments += len(item.judgments)
        batch.append(Pending(position=report.n_items, item=item, shuffle_key=int(rng.integers(1 << 62))))
        if len(batch) >= BATCH:
            flush()
        annotators.count(item)
        if progress and report.n_items % every == 0:
            progress("written", report.n_items)
    if batch:
        flush()
    annotators.save()
    report.n_annotators = len(annotators.ids)
    return report


def import_rows(
    *,
    spec: CampaignSpec,
    rows: Callable[[], Iterator[RawRow]],
    namespace: str,
    limits: Limits,
    seed: int | None = None,
    progress: Progress | None = None,
    progress_every: int = PROGRESS_EVERY,
    use_copy: bool | None = None,
) -> ImportReport:
    """Check every row of `rows()`, then create the campaign and write them all in one
    transaction. `rows` is called twice (one stream per pass). External annotators are named
    pseudonym("external:" + namespace, name). Raises CampaignImportRejected; then nothing is written."""
    started = timezone.now()
    questions = spec.questions_obj()
    if Campaign.objects.filter(slug=spec.slug).exists():
        raise CampaignImportRejected([SLUG_TAKEN.format(slug=spec.slug)], 1)
    n_items = _check(rows(), limits, questions, progress, progress_every)
    rng = np.random.default_rng(seed)
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(
                slug=spec.slug,
                title=spec.title or spec.slug,
                overlap=spec.overlap,
                lease_s=spec.lease_s,
                gold_rate=spec.gold_rate,
                quota=spec.quota,
                questions=questions.to_json(),
                instructions=spec.instructions,
                item_order=spec.item_order,
                status=spec.status,
            )
            report = _write(
                campaign, rows(), limits=limits, questions=questions, namespace=namespace, rng=rng,
                use_copy=use_copy, progress=progress, every=progress_every,
            )  # fmt: skip
            if report.n_items != n_items:
                raise CampaignImportRejected([FILE_CHANGED], 1)
    except IntegrityError:
        if Campaign.objects.filter(slug=spec.slug).exists():
            raise CampaignImportRejected([SLUG_TAKEN.format(slug=spec.slug)], 1) from None
        raise
    report.seconds = (timezone.now() - started).total_seconds()
    return report


def campaign_import(
    *,
    path: Path,
    spec: CampaignSpec,
    fmt: str | None = None,
    source: str = "",
    seed: int | None = None,
    progress: Progress | None = None,
    progress_every: int = PROGRESS_EVERY,
    use_copy: bool | None = None,
) -> ImportReport:
    """A new campaign from a JSONL, CSV or Parquet file (format from the extension unless `fmt`).

    `source` names where the judgments come from, so the same external annotator gets the same
    pseudonym in every campaign imported from that source (default: the campaign's slug).
    Raises CampaignImportRejected with per-line reasons; then nothing is written."""
    path = Path(path)
    try:
        fmt = format_for(path, fmt)
        size = path.stat().st_size
    except FileUnreadable as exc:
        raise CampaignImportRejected([str(exc)], 1) from None
    except OSError as exc:
        raise CampaignImportRejected([f"can't read {path.name}: {exc.strerror}"], 1) from None
    if size > settings.ANNOTATE["MAX_IMPORT_BYTES"]:
        raise CampaignImportRejected([f"the file is larger than {settings.ANNOTATE['MAX_IMPORT_BYTES']} bytes"], 1)
    limits = limits_from_settings()
    return import_rows(
        spec=spec,
        rows=lambda: read_rows(path, fmt, limits),
        namespace=source or spec.slug,
        limits=limits,
        seed=seed,
        progress=progress,
        progress_every=progress_every,
        use_copy=use_copy,
    )


def campaign_import_from_arena(
    *,
    spec: CampaignSpec,
    since: datetime | None = None,
    until: datetime | None = None,
    contenders: tuple[str, ...] = (),
    category: str = "",
    include_unvoted: bool = False,
    seed: int | None = None,
    progress: Progress | None = None,
    progress_every: int = PROGRESS_EVERY,
) -> ImportReport:
    """A new campaign with one item per voted arena battle (READY ones too with
    `include_unvoted`), oldest first; each vote becomes an imported judgment. The battles are
    those that match when the import starts (`until` defaults to then)."""
    from annotate.importing.arena_rows import battles_for_import, read_battles

    unknown = sorted(set(contenders) - set(Contender.objects.filter(slug__in=contenders).values_list("slug", flat=True)))
    if unknown:
        raise CampaignImportRejected([f"unknown contender {', '.join(unknown)}"], 1)
    battles = battles_for_import(
        since=since, until=until or timezone.now(), contenders=contenders, category=category, include_unvoted=include_unvoted
    )
    max_strength = len(spec.questions_obj().strength_labels)
    return import_rows(
        spec=spec,
        rows=lambda: read_battles(battles, max_strength),
        namespace="arena",
        limits=limits_from_settings(),
        seed=seed,
        progress=progress,
        progress_every=progress_every,
    )
