"""Deterministic file writers: the same rows give byte-identical files.

Rows are tuples in schema order (rows.py builds them so). JSONL: one JSON object per line,
keys in schema order, UTF-8 (ensure_ascii off), "\\n" line ends, the bytes of
json.dumps(dict(zip(names, row)), ensure_ascii=False). Parquet: the explicit Arrow schema,
zstd, one row group per BATCH rows, no timestamps in the metadata (pyarrow writes only the
schema and its own version string). A file is created at its first row, so a (kind, split)
without rows has no file."""
import json
import math
from collections.abc import Callable
from json.encoder import encode_basestring
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

BATCH = 10_000  # rows per Parquet row group / record batch (and JSONL lines per write); ~10 MB at most in memory

# json.dumps(value, ensure_ascii=False) with the encoder built once, for nested values
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def _number_column(values: tuple) -> list[str]:
    """int64 / double / bool values, encoded in one C call: their JSON (numbers, true, false,
    null) never contains ", ", so the array splits back into values."""
    return _ENCODE(list(values))[1:-1].split(", ")


def _few_numbers_column(values: tuple) -> list[str]:
    """_number_column, each distinct value encoded once: a column holds few (strengths,
    margins, agreements repeat), and a float's repr was ~0.5 us a row. Values that are equal
    but print differently (1 and 1.0 and True, 0.0 and -0.0) would share a key, so a batch
    with them is encoded value by value."""
    types = set(map(type, values))
    types.discard(type(None))
    unique = dict.fromkeys(values)
    if len(types) > 1 or (0 in unique and len({math.copysign(1.0, v) for v in values if v == 0}) > 1):
        return _number_column(values)
    keys = list(unique)
    unique.update(zip(keys, _number_column(keys)))
    return list(map(unique.__getitem__, values))


def _string_column(values: tuple) -> list[str]:
    if None in values:
        return ["null" if v is None else encode_basestring(v) for v in values]
    return list(map(encode_basestring, values))


def _nested_column(values: tuple) -> list[str]:
    """Rows of one item share their prompt and completion objects (rows.Shape), so each is
    encoded once per batch; the batch keeps them alive, so their ids are not reused."""
    seen: dict[int, str] = {}
    out = []
    for v in values:
        if not v:  # None, or the empty aspects list of most rows: _ENCODE costs ~2 us even so
            out.append("null" if v is None else "[]" if isinstance(v, list) else _ENCODE(v))
            continue
        text = seen.get(id(v))
        if text is None:
            text = seen[id(v)] = _ENCODE(v)
        out.append(text)
    return out


def _column_encoder(field: pa.Field) -> Callable[[tuple], list[str]]:
    if pa.types.is_string(field.type):
        return _string_column
    if pa.types.is_integer(field.type) or pa.types.is_floating(field.type) or pa.types.is_boolean(field.type):
        return _few_numbers_column
    return _nested_column


class JsonlWriter:
    """Encodes a batch column by column (numbers in one C call per column, strings in one C
    call per value, nested values once per item) and joins each line with one %-format."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.rows = path, 0
        self.encoders = [_column_encoder(field) for field in schema]
        self.line = "{" + ", ".join(_ENCODE(name).replace("%", "%%") + ": %s" for name in schema.names) + "}\n"
        self.file = None
        self.pending: list[tuple] = []

    def write(self, rows: list[tuple]) -> None:
        """Buffers up to BATCH rows: encoding per column costs ~20 us a call, so not per item."""
        self.pending.extend(rows)
        if len(self.pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        if self.file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(self.path, "w", encoding="utf-8", newline="\n")
        columns = [encode(values) for encode, values in zip(self.encoders, zip(*self.pending))]
        self.file.write("".join(map(self.line.__mod__, zip(*columns))))
        self.rows += len(self.pending)
        self.pending = []

    def close(self) -> None:
        self._flush()
        if self.file is not None:
            self.file.close()


class ParquetWriter:
    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.schema, self.rows = path, schema, 0
        self.writer = None
        self.pending: list[tuple] = []

    def write(self, rows: list[tuple]) -> None:
        self.pending.extend(rows)
        while len(self.pending) >= BATCH:
            self._flush(self.pending[:BATCH])
            del self.pending[:BATCH]

    def _flush(self, rows: list[tuple]) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        arrays = [pa.array(values, type=field.type) for field, values in zip(self.schema, zip(*rows))]
        self.writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema), row_group_size=BATCH)
        self.rows += len(rows)

    def close(self) -> None:
        if self.pending:
            self._flush(self.pending)
            self.pending = []
        if self.writer is not None:
            self.writer.close()


WRITERS = {"jsonl": JsonlWriter, "parquet": ParquetWriter}


class FileSet:
    """One writer per (kind, split, format), named `<kind>/<split>.<ext>` under `folder`."""

    def __init__(self, folder: Path, schemas: dict[str, pa.Schema], formats: tuple[str, ...]):
        self.folder, self.schemas, self.formats = folder, schemas, formats
        self.writers: dict[str, JsonlWriter | ParquetWriter] = {}

    def write(self, kind: str, split: str, rows: list[tuple]) -> None:
        if not rows:
            return
        for fmt in self.formats:
            name = f"{kind}/{split}.{fmt}"  # the format names are the file extensions
            writer = self.writers.get(name)
            if writer is None:
                writer = self.writers[name] = WRITERS[fmt](self.folder / name, self.schemas[kind])
            writer.write(rows)

    def close(self) -> dict[str, int]:
        """{file name: rows}, sorted by name."""
        for writer in self.writers.values():
            writer.close()
        return {name: self.writers[name].rows for name in sorted(self.writers)}

    def abort(self) -> None:
        for writer in self.writers.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the folder is removed next; a half file doesn't matter
                pass
