"""Reading an import file as a stream of raw rows in the JSONL shape, one per item, each with
where it came from ("line 12", "rows 4–6"). Python holds one line, one CSV item or one Parquet
record batch at a time. A row that can't be read is yielded as a ValueError; a file that
can't be read past some point ends with a FileUnreadable. Formats: README "Importing a
campaign" and annotate/importing/__init__.py."""
import codecs
import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from annotate.importing.parse import LETTERS, MAX_JUDGMENTS, Limits, finite_float, no_constant

FORMATS = ("jsonl", "csv", "parquet")
PARQUET_BATCH = 512  # rows per record batch: ~1 MB of text at 2 KB a row
JUDGMENT_COLUMNS = ("annotator", "choice", "strength", "rationale", "ranking")


class FileUnreadable(ValueError):
    """The file can't be read on from here (not CSV/Parquet at all, a broken quote, …)."""


class RawRow(NamedTuple):
    where: str  # "line 12", "lines 4–6", "row 7"
    data: object  # a dict in the JSONL shape, or the ValueError saying why there is none
    judgment_labels: list[str] | None = None


def format_for(path: Path, fmt: str | None) -> str:
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    fmt = {"json": "jsonl", "ndjson": "jsonl", "pq": "parquet"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise FileUnreadable(f"unknown file format {fmt[:20]!r}: use .jsonl, .csv or .parquet (or --format)")
    return fmt


def key_hash(*parts) -> int:
    """64-bit digest of an item key: remembering every id seen costs ~70 bytes an item, not the item."""
    digest = hashlib.blake2b(json.dumps(parts, ensure_ascii=False).encode("utf-8", "replace"), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


def _lines(raw, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) with the newline; None for a line longer than max_bytes (skipped
    without holding it)."""
    number = 0
    while True:
        line = raw.readline(max_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = raw.readline(1 << 20)
            yield number, None
            continue
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        yield number, line


def read_jsonl(path: Path, limits: Limits) -> Iterator[RawRow]:
    seen_ids: set[int] = set()
    with open(path, "rb") as raw:
        for number, line in _lines(raw, limits.max_line_bytes):
            where = f"line {number}"
            if line is None:
                yield RawRow(where, ValueError(f"line is longer than {limits.max_line_bytes} bytes"))
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line.decode("utf-8"), parse_float=finite_float, parse_constant=no_constant)
            except UnicodeDecodeError as exc:
                yield RawRow(where, ValueError(f"not valid UTF-8 (byte {exc.start + 1})"))
                continue
            except ValueError as exc:
                yield RawRow(where, ValueError(f"not valid JSON ({str(exc)[:80]})"))
                continue
            except RecursionError:
                yield RawRow(where, ValueError("not valid JSON (nested too deeply)"))
                continue
            if isinstance(row, dict) and isinstance(row.get("id"), (str, int)) and row["id"] != "":
                digest = key_hash(str(row["id"]))
                if digest in seen_ids:
                    yield RawRow(where, ValueError(f"id {str(row['id'])[:40]!r} is used by an earlier row"))
                    continue
                seen_ids.add(digest)
            yield RawRow(where, row)


# ---- CSV and Parquet: flat columns, one judgment per row -------------------------------------


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _flat_columns(columns: list[str]) -> None:
    if len(set(columns)) != len(columns):
        raise FileUnreadable("the header names a column twice")
    if "prompt" not in columns and "messages" not in columns:
        raise FileUnreadable("the header has no prompt column")
    for letter in "ab":
        if f"response_{letter}" not in columns:
            raise FileUnreadable(f"the header has no response_{letter} column")


def _letters(columns, prefix: str) -> list[str]:
    """a, b, c, … while `prefix + letter` is a column."""
    out = []
    for letter in LETTERS:
        if f"{prefix}{letter}" not in columns:
            break
        out.append(letter)
    return out


class FlatLayout:
    """How a flat row (CSV/Parquet columns) maps to the JSONL shape."""

    def __init__(self, columns: list[str]):
        _flat_columns(columns)
        self.letters = _letters(columns, "response_")
        used = {"prompt", "messages", "id", "gold", *JUDGMENT_COLUMNS}
        used |= {f"response_{x}" for x in self.letters} | {f"model_{x}" for x in self.letters}
        self.aspects = [c for c in columns if c.startswith("aspect_")]
        self.meta = [c for c in columns if c not in used and c not in self.aspects]

    def item(self, row: dict) -> dict:
        out = {"candidates": []}
        messages = row.get("messages")
        if not _empty(messages):
            out["prompt"] = json.loads(messages, parse_float=finite_float, parse_constant=no_constant) if isinstance(messages, str) else messages
        else:
            out["prompt"] = row.get("prompt")
        for letter in self.letters:
            text = row.get(f"response_{letter}")
            if _empty(text) and letter not in "ab":
                break  # fewer candidates in this row than columns in the file
            candidate = {"text": "" if text is None else text}
            if not _empty(row.get(f"model_{letter}")):
                candidate["model"] = row[f"model_{letter}"]
            out["candidates"].append(candidate)
        for name in ("id", "gold"):
            if not _empty(row.get(name)):
                out[name] = row[name]
        meta = {c: row[c] for c in self.meta if not _empty(row.get(c))}
        if meta:
            out["meta"] = _json_safe(meta)
        return out

    def judgment(self, row: dict) -> dict | None:
        values = {c: row.get(c) for c in JUDGMENT_COLUMNS if not _empty(row.get(c))}
        aspects = {}
        for column in self.aspects:
            if _empty(row.get(column)):
                continue
            name, _, letter = column[len("aspect_") :].rpartition("_")
            if name and len(letter) == 1 and letter in LETTERS:  # aspect_<name>_<letter>: a score
                aspects.setdefault(name, {})
                if isinstance(aspects[name], dict):
                    aspects[name][str(LETTERS.index(letter))] = _number(row[column])
            else:  # aspect_<name>: which candidate (pairwise)
                aspects[column[len("aspect_") :]] = row[column]
        if aspects:
            values["aspects"] = aspects
        return values or None

    @staticmethod
    def same_item(a: dict, b: dict) -> bool:
        return (a.get("prompt"), a["candidates"], a.get("gold")) == (b.get("prompt"), b["candidates"], b.get("gold"))


def _number(value):
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _json_safe(value):
    """Parquet extra columns may hold timestamps, bytes or NaN; meta must be JSON."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def group_flat(rows: Iterator[tuple[int, dict | ValueError]], layout: FlatLayout, unit: str) -> Iterator[RawRow]:
    """Adjacent rows of one item -> one RawRow. An item is keyed by `id` when given, else by its
    prompt and responses; its rows must be adjacent."""
    seen: set[int] = set()
    current = None  # [key, first number, last number, item, judgments, labels, error]

    def flush():
        key, first, last, item, judgments, labels, error = current
        where = f"{unit} {first}" if first == last else f"{unit}s {first}–{last}"
        if error is not None:
            return RawRow(where, error)
        if judgments:
            item["judgments"] = judgments
        return RawRow(where, item, labels if first != last else None)

    for number, row in rows:
        if isinstance(row, ValueError):
            if current is not None:
                yield flush()
                current = None
            yield RawRow(f"{unit} {number}", row)
            continue
        try:
            item = layout.item(row)
        except ValueError as exc:
            item = ValueError(f"messages is not valid JSON ({str(exc)[:60]})")
        ident = row.get("id")
        key = key_hash("id", str(ident)) if not _empty(ident) else key_hash("content", item if isinstance(item, dict) else number)
        if current is not None and current[0] == key:
            current[2] = number
            if current[6] is None:
                if isinstance(item, ValueError):
                    current[6] = item
                elif not layout.same_item(current[3], item):
                    current[6] = ValueError(f"{unit} {number} has the id of {unit} {current[1]} but a different prompt, responses or gold")
                elif len(current[4]) <= MAX_JUDGMENTS:
                    judgment = layout.judgment(row)
                    if judgment is not None:
                        current[4].append(judgment)
                        current[5].append(f"judgment on {unit} {number}")
            continue
        if current is not None:
            yield flush()
        error = item if isinstance(item, ValueError) else None
        if key in seen:
            error = ValueError(f"an earlier item has the same {'id' if not _empty(ident) else 'prompt and responses'}: rows of one item must be adjacent")
        seen.add(key)
        judgment = None if error else layout.judgment(row)
        current = [key, number, number, item, [judgment] if judgment else [], [f"judgment on {unit} {number}"] if judgment else [], error]
    if current is not None:
        yield flush()


def _csv_lines(raw, limits: Limits, bad: set[int], state: dict) -> Iterator[str]:
    for number, line in _lines(raw, limits.max_line_bytes):
        state["line"] = number
        if line is None:
            raise FileUnreadable(f"line {number} is longer than {limits.max_line_bytes} bytes; stopped reading there")
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            bad.add(number)
            yield line.decode("utf-8", "replace")


def _csv_records(path: Path, limits: Limits) -> Iterator[tuple[int, dict | ValueError]]:
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_line_bytes))
    bad: set[int] = set()
    state = {"line": 0}
    with open(path, "rb") as raw:
        reader = csv.reader(_csv_lines(raw, limits, bad, state))
        try:
            header = next(reader, None)
            if header is None:
                raise FileUnreadable("the file is empty")
            if bad:
                raise FileUnreadable("line 1: the header is not valid UTF-8")
            header = [h.strip() for h in header]
            layout = FlatLayout(header)
            yield 0, layout  # the caller needs the layout first
            start = reader.line_num + 1
            for values in reader:
                number, end = start, reader.line_num
                start = end + 1
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                if bad & set(range(number, end + 1)):
                    bad.clear()
                    yield number, ValueError("not valid UTF-8")
                elif len(values) > len(header):
                    yield number, ValueError(f"{len(values)} values but {len(header)} columns")
                else:
                    yield number, dict(zip(header, values))
        except csv.Error as exc:
            raise FileUnreadable(f"line {state['line']}: not valid CSV ({str(exc)[:80]}); stopped reading there") from None


def read_csv(path: Path, limits: Limits) -> Iterator[RawRow]:
    records = _csv_records(path, limits)
    _, layout = next(records)
    yield from group_flat(records, layout, "line")


def _parquet_file(path: Path):
    import pyarrow.parquet as pq  # heavy import, only for Parquet files

    try:
        # Unbuffered, page by page: memory follows the record batch, not the row group.
        return pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, … for a file that isn't Parquet
        raise FileUnreadable(f"not a readable Parquet file ({str(exc)[:80]})") from None


def _parquet_rows(parquet) -> Iterator[tuple[int, dict]]:
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH):
            for row in batch.to_pylist():
                number += 1
                yield number, row
    except (UnicodeDecodeError, OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
        raise FileUnreadable(f"row {number + 1}: not readable ({str(exc)[:80]}); stopped reading there") from None


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def read_parquet(path: Path, limits: Limits) -> Iterator[RawRow]:
    """Flat columns like CSV; or, when there is a `candidates` column, the JSONL shape in
    nested columns (lists of structs)."""
    parquet = _parquet_file(path)
    columns = parquet.schema_arrow.names
    if "candidates" in columns:
        for number, row in _parquet_rows(parquet):
            yield RawRow(f"row {number}", _json_safe(_drop_none(row)))
        return
    yield from group_flat(_parquet_rows(parquet), FlatLayout(columns), "row")


def read_rows(path: Path, fmt: str, limits: Limits) -> Iterator[RawRow]:
    reader = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}[fmt]
    return reader(path, limits)
