"""Import existing battles (e.g. a Chatbot Arena dump) as votes: validate every row first, then
stream them in with COPY in one transaction, so a bad file imports nothing and memory stays flat.

Rows (JSONL objects or CSV columns): model_a, model_b, winner in {model_a, model_b, tie,
tie (bothbad)}; optional category, turn, language; for style control optional len_a/len_b,
header_count_a/b, list_count_a/b, bold_count_a/b (or FastChat's nested `conv_metadata` with
sum_assistant_a_tokens, header_count_a: {...} and so on)."""
import csv
import io
import itertools
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from arena.models import Backend, Battle, BattleSource, BattleStatus, Contender, Vote

WINNERS = {"model_a": "LEFT", "model_b": "RIGHT", "tie": "TIE", "tie (bothbad)": "BOTH_BAD"}
MAX_NAME = 120
MAX_CATEGORY = 60
MAX_LINE_BYTES = 1_000_000  # a dump line with whole conversations can be large; beyond this is not a battle
MAX_ERRORS_SHOWN = 50
STYLE_KEYS = ("len", "header_count", "list_count", "bold_count")
ORM_BATCH = 10_000  # rows per bulk_create on SQLite: a few MB, keeps memory flat


class ImportRejected(Exception):
    def __init__(self, errors: list[str], n_bad: int):
        self.errors, self.n_bad = errors, n_bad
        super().__init__(f"{n_bad} bad row(s); nothing was imported")


@dataclass
class ImportReport:
    n_rows: int = 0
    created_contenders: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParsedRow:
    model_a: str
    model_b: str
    winner: str  # Vote.winner value
    category: str
    style: tuple  # (len_a, len_b, headers_a, headers_b, lists_a, lists_b, bold_a, bold_b) or all None


def _count(value, what: str):
    if type(value) is int and value >= 0:  # the common case first: a million rows pass here
        return value
    if value is None or value == "":
        return None
    if isinstance(value, dict):  # FastChat: {"h1": 2, "h2": 0, ...}
        value = sum(value.values()) if all(type(v) is int for v in value.values()) else -1
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer")
    return value


# (row key, FastChat conv_metadata key) per stored field, in the battle's column order:
# len_a, len_b, headers_a, headers_b, lists_a, lists_b, bold_a, bold_b.
STYLE_SOURCES = tuple(
    (f"{key}_{side}", f"sum_assistant_{side}_tokens" if key == "len" else f"{key}_{side}")
    for key in STYLE_KEYS
    for side in ("a", "b")
)


def _style(row: dict) -> tuple:
    meta = row.get("conv_metadata")
    if not isinstance(meta, dict):
        meta = {}
    get = row.get
    return tuple(_count(get(name, meta.get(fallback)), name) for name, fallback in STYLE_SOURCES)


def parse_row(row) -> ParsedRow:
    """One raw row to a ParsedRow; ValueError with the reason when it is not a valid battle."""
    if not isinstance(row, dict):
        raise ValueError("not an object")
    names = []
    for key in ("model_a", "model_b"):
        value = row.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key} is missing")
        if len(value) > MAX_NAME:
            raise ValueError(f"{key} is longer than {MAX_NAME} characters")
        names.append(value.strip())
    if names[0] == names[1]:
        raise ValueError("model_a and model_b are the same model")
    winner = row.get("winner")
    if winner not in WINNERS:
        raise ValueError(f"winner must be one of {', '.join(WINNERS)} (got {str(winner)[:40]!r})")
    category = row.get("category") or ""
    if not isinstance(category, str) or len(category) > MAX_CATEGORY:
        raise ValueError(f"category must be text of at most {MAX_CATEGORY} characters")
    _count(row.get("turn"), "turn")  # checked only: raises for anything but a count or empty
    return ParsedRow(names[0], names[1], WINNERS[winner], category, _style(row))


def read_rows(path: Path, fmt: str) -> Iterator[tuple[int, object]]:
    """(line number, raw row) pairs, streamed. Undecodable lines yield a ValueError as the row."""
    with open(path, "rb") as raw:
        if fmt == "jsonl":
            for number, line in enumerate(raw, start=1):
                if not line.strip():
                    continue
                if len(line) > MAX_LINE_BYTES:
                    yield number, ValueError("line is too long")
                    continue
                try:
                    yield number, json.loads(line.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    yield number, ValueError(f"not valid UTF-8 JSON ({str(exc)[:60]})")
        else:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            try:
                reader = csv.DictReader(text)
                for row in reader:
                    yield reader.line_num, row
            except (UnicodeDecodeError, csv.Error) as exc:
                yield -1, ValueError(f"the file is not valid UTF-8 CSV ({str(exc)[:80]})")


def _validate(path: Path, fmt: str) -> tuple[int, set[str]]:
    errors, n_bad, n_rows, names = [], 0, 0, set()
    for number, row in read_rows(path, fmt):
        try:
            if isinstance(row, ValueError):
                raise row
            parsed = parse_row(row)
            names.update((parsed.model_a, parsed.model_b))
            n_rows += 1
        except ValueError as exc:
            n_bad += 1
            if len(errors) < MAX_ERRORS_SHOWN:
                errors.append(f"line {number}: {exc}" if number > 0 else str(exc))
    if n_bad:
        raise ImportRejected(errors, n_bad)
    if not n_rows:
        raise ImportRejected(["the file has no battles"], 1)
    return n_rows, names


def _contenders_for(names: set[str]) -> tuple[dict[str, int], list[str]]:
    """Map model names to contender ids, creating unknown ones inactive."""
    by_name = {}
    for c in Contender.objects.all():
        by_name.setdefault(c.slug, c.pk)
        by_name.setdefault(c.display_name, c.pk)
    created = []
    for name in sorted(names - by_name.keys()):
        slug = base = slugify(name)[:50] or "model"
        n = 1
        while Contender.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        c = Contender.objects.create(slug=slug, display_name=name, backend=Backend.TRANSFORMERS, model=name, is_active=False)
        by_name[name] = c.pk
        created.append(name)
    return by_name, created


def _battle_values(parsed: ParsedRow, ids: dict[str, int], now, battle_id) -> tuple:
    """Values in BATTLE_COLUMNS order (the style tuple is already len_a, len_b, headers_a, ...)."""
    return (battle_id, ids[parsed.model_a], ids[parsed.model_b], parsed.category, *parsed.style, now)


BATTLE_COLUMNS = (
    "id", "contender_left_id", "contender_right_id", "category",
    "len_left", "len_right", "headers_left", "headers_right", "lists_left", "lists_right", "bold_left", "bold_right",
    "created_at",
)  # fmt: skip
STAGE_TYPES = "uuid, integer, integer, text" + ", integer" * 8 + ", timestamptz, text"


def ordered_uuids():
    """UUIDv7-style ids: millisecond time, then a counter. Rows inserted in id order fill the
    primary-key index from its right edge; random uuid4 keys touch a random page per row, which
    made the battle and vote inserts several times slower at a million rows."""
    start = (int(time.time() * 1000) << 80) | (0x7 << 76) | (secrets.randbits(12) << 64) | (0b10 << 62)
    return (uuid.UUID(int=start | i) for i in itertools.count())


def _write_postgres(path: Path, fmt: str, ids: dict[str, int]) -> int:
    """COPY every row into a temporary staging table, then two INSERT … SELECT: battles and votes
    are written by PostgreSQL itself, and Python holds one row at a time."""
    now, n = timezone.now(), 0
    cols = ", ".join(BATTLE_COLUMNS)
    stage_cols = ", ".join(f"{c} {t}" for c, t in zip((*BATTLE_COLUMNS, "winner"), STAGE_TYPES.split(", ")))
    new_id = ordered_uuids()
    with connection.cursor() as cursor:
        pg = cursor.cursor  # the psycopg 3 cursor, for COPY
        pg.execute(f"CREATE TEMP TABLE import_stage ({stage_cols}) ON COMMIT DROP")
        with pg.copy(f"COPY import_stage ({cols}, winner) FROM STDIN") as copy:
            for _, row in read_rows(path, fmt):
                parsed = parse_row(row)
                copy.write_row((*_battle_values(parsed, ids, now, next(new_id)), parsed.winner))
                n += 1
        pg.execute(
            f"INSERT INTO {Battle._meta.db_table} ({cols}, updated_at, status, source, owner_session, prompt_chars) "
            f"SELECT {cols}, created_at, %s, %s, '', 0 FROM import_stage ORDER BY id",
            [BattleStatus.VOTED, BattleSource.IMPORT],
        )
        pg.execute(
            f"INSERT INTO {Vote._meta.db_table} (battle_id, winner, strength, rationale, fingerprint, created_at) "
            "SELECT id, winner, '', '', '', created_at FROM import_stage ORDER BY id"
        )
        pg.execute("DROP TABLE import_stage")  # also inside an outer transaction (ON COMMIT waits for it)
    return n


def _write_orm(path: Path, fmt: str, ids: dict[str, int]) -> int:
    """SQLite (embedded default): the same rows through bulk_create."""
    now, n, battles, votes = timezone.now(), 0, [], []
    new_id = ordered_uuids()
    for _, row in read_rows(path, fmt):
        parsed = parse_row(row)
        values = dict(zip(BATTLE_COLUMNS, _battle_values(parsed, ids, now, next(new_id))))
        battles.append(Battle(status=BattleStatus.VOTED, source=BattleSource.IMPORT, **values))
        votes.append(Vote(battle_id=values["id"], winner=parsed.winner))
        n += 1
        if len(battles) >= ORM_BATCH:
            Battle.objects.bulk_create(battles)
            Vote.objects.bulk_create(votes)
            battles, votes = [], []
    Battle.objects.bulk_create(battles)
    Vote.objects.bulk_create(votes)
    return n


def battles_import(*, path: Path, fmt: str | None = None) -> ImportReport:
    """Validate the whole file, then import it in one transaction. Raises ImportRejected
    (with per-line reasons) and imports nothing if any row is bad."""
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    n_rows, names = _validate(path, fmt)
    with transaction.atomic():
        ids, created = _contenders_for(names)
        write = _write_postgres if connection.vendor == "postgresql" else _write_orm
        written = write(path, fmt, ids)
        if written != n_rows:  # raising here rolls the whole import back
            raise ImportRejected(["the file changed while it was imported"], 1)
    return ImportReport(n_rows=written, created_contenders=created)
