"""Writing checked items in batches: COPY on PostgreSQL, bulk_create elsewhere (SQLite, the
embedded default). Both run inside the import's transaction and write the same rows:
items, candidates, and for each imported judgment a SUBMITTED assignment with its annotation.

Imported judgments were not made in prefarena, so the order the annotator saw is unknown: the
assignment's `order` is the identity permutation and the annotation's source is IMPORTED.
Position-bias figures must therefore use APP annotations only."""
import json
from dataclasses import dataclass

from django.db import connection

from annotate.importing.parse import ParsedItem
from annotate.leasing import slot_open
from annotate.models import (
    Annotation,
    AnnotationSource,
    Assignment,
    AssignmentState,
    Candidate,
    Item,
)

# Items per batch. At ~2 KB an item a batch is ~4 MB of text in Python; one batch is four
# COPY statements (items, candidates, assignments, annotations) and two sequence reads.
BATCH = 2_000


@dataclass(frozen=True)
class Pending:
    position: int
    item: ParsedItem
    shuffle_key: int


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def item_row(campaign_id: int, overlap: int, pending: Pending) -> Item:
    parsed = pending.item
    item = Item(
        campaign_id=campaign_id,
        position=pending.position,
        external_id=parsed.external_id,
        prompt=parsed.prompt,
        messages=parsed.messages,
        meta=parsed.meta,
        is_gold=bool(parsed.gold),
        gold=parsed.gold,
        shuffle_key=pending.shuffle_key,
        n_candidates=parsed.n_candidates,
        n_submitted=len(parsed.judgments),
    )
    item.is_open = slot_open(item, overlap)
    return item


class OrmWriter:
    """bulk_create per batch; primary keys come back on SQLite and PostgreSQL alike."""

    def __init__(self, *, campaign_id: int, overlap: int, now):
        self.campaign_id, self.overlap, self.now = campaign_id, overlap, now

    def write(self, batch: list[Pending], annotator_ids: dict[str, int]) -> int:
        """Writes the batch; returns how many of its items are open (is_open)."""
        items = Item.objects.bulk_create([item_row(self.campaign_id, self.overlap, p) for p in batch])
        Candidate.objects.bulk_create(
            Candidate(item_id=item.pk, index=i, text=text, model=model, meta=meta)
            for item, p in zip(items, batch)
            for i, (text, model, meta) in enumerate(p.item.candidates)
        )
        judged = [(item, j) for item, p in zip(items, batch) for j in p.item.judgments]
        assignments = Assignment.objects.bulk_create(
            Assignment(
                item_id=item.pk,
                annotator_id=annotator_ids[j.annotator],
                order=list(range(item.n_candidates)),
                state=AssignmentState.SUBMITTED,
                leased_at=self.now,
                expires_at=self.now,
                ended_at=self.now,
            )
            for item, j in judged
        )
        Annotation.objects.bulk_create(
            Annotation(
                assignment_id=a.pk,
                verdict=j.verdict,
                choice=j.choice,
                ranking=j.ranking,
                strength=j.strength,
                aspects=j.aspects,
                rationale=j.rationale,
                source=AnnotationSource.IMPORTED,
            )
            for a, (_, j) in zip(assignments, judged)
        )
        return sum(item.is_open for item in items)


ITEM_COLUMNS = (
    "id", "campaign_id", "position", "external_id", "prompt", "messages", "meta", "is_gold", "gold",
    "shuffle_key", "n_candidates", "n_leased", "n_submitted", "is_open", "created_at",
)  # fmt: skip
CANDIDATE_COLUMNS = ("item_id", "index", "text", "model", "meta")
ASSIGNMENT_COLUMNS = (
    "id", "item_id", "annotator_id", "order", "state", "leased_at", "expires_at", "ended_at", "draft", "skip_reason",
)  # fmt: skip
ANNOTATION_COLUMNS = (
    "assignment_id", "verdict", "choice", "ranking", "strength", "aspects", "flags", "rationale",
    "time_spent_ms", "source", "created_at",
)  # fmt: skip


def _copy_sql(model, columns) -> str:
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f'COPY "{model._meta.db_table}" ({quoted}) FROM STDIN'


class CopyWriter:
    """PostgreSQL: ids drawn from the tables' own sequences (so rows can point at each other
    before they exist), then one COPY per table and batch, straight into the tables."""

    def __init__(self, *, campaign_id: int, overlap: int, now):
        self.campaign_id, self.overlap, self.now = campaign_id, overlap, now

    @staticmethod
    def _ids(pg, model, n: int) -> list[int]:
        if not n:
            return []
        pg.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [model._meta.db_table, n]
        )
        return [row[0] for row in pg.fetchall()]

    def write(self, batch: list[Pending], annotator_ids: dict[str, int]) -> int:
        """Writes the batch; returns how many of its items are open (is_open)."""
        now = self.now
        n_open = 0
        with connection.cursor() as cursor:
            pg = cursor.cursor  # the psycopg 3 cursor, for COPY
            item_ids = self._ids(pg, Item, len(batch))
            n_judged = sum(len(p.item.judgments) for p in batch)
            assignment_ids = iter(self._ids(pg, Assignment, n_judged))
            with pg.copy(_copy_sql(Item, ITEM_COLUMNS)) as copy:
                for item_id, p in zip(item_ids, batch):
                    item = item_row(self.campaign_id, self.overlap, p)
                    n_open += item.is_open
                    copy.write_row((
                        item_id, self.campaign_id, item.position, item.external_id, item.prompt,
                        None if item.messages is None else _dumps(item.messages), _dumps(item.meta), item.is_gold,
                        item.gold, item.shuffle_key, item.n_candidates, 0, item.n_submitted, item.is_open, now,
                    ))  # fmt: skip
            with pg.copy(_copy_sql(Candidate, CANDIDATE_COLUMNS)) as copy:
                for item_id, p in zip(item_ids, batch):
                    for i, (text, model, meta) in enumerate(p.item.candidates):
                        copy.write_row((item_id, i, text, model, _dumps(meta)))
            if not n_judged:
                return n_open
            annotations = []
            with pg.copy(_copy_sql(Assignment, ASSIGNMENT_COLUMNS)) as copy:
                for item_id, p in zip(item_ids, batch):
                    order = _dumps(list(range(p.item.n_candidates)))
                    for j in p.item.judgments:
                        assignment_id = next(assignment_ids)
                        copy.write_row((
                            assignment_id, item_id, annotator_ids[j.annotator], order, AssignmentState.SUBMITTED,
                            now, now, now, "{}", "",
                        ))  # fmt: skip
                        annotations.append((assignment_id, j))
            with pg.copy(_copy_sql(Annotation, ANNOTATION_COLUMNS)) as copy:
                for assignment_id, j in annotations:
                    copy.write_row((
                        assignment_id, j.verdict, j.choice, None if j.ranking is None else _dumps(j.ranking), j.strength,
                        _dumps(j.aspects), "[]", j.rationale, 0, AnnotationSource.IMPORTED, now,
                    ))  # fmt: skip
        return n_open


def writer_for(*, campaign_id: int, overlap: int, now, use_copy: bool | None = None):
    use_copy = connection.vendor == "postgresql" if use_copy is None else use_copy
    return (CopyWriter if use_copy else OrmWriter)(campaign_id=campaign_id, overlap=overlap, now=now)
