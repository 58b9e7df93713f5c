"""Deterministic file writers: the same rows give byte-identical files.

JSONL: one JSON object per line, keys in schema order, UTF-8 (ensure_ascii off), "\\n" line
ends. Parquet: the explicit Arrow schema, zstd, one row group per BATCH rows, no timestamps
in the metadata (pyarrow writes only the schema and its own version string). A file is
created at its first row, so a (kind, split) without rows has no file."""
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

BATCH = 10_000  # rows per Parquet row group / record batch; ~10 MB of short texts at most in memory
EXTENSIONS = {"jsonl": "jsonl", "parquet": "parquet"}


# json.dumps(row, ensure_ascii=False) with the encoder built once: ~5 us for a row of short
# texts. (Encoding each item's shared prompt/responses once and splicing was no faster.)
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


class JsonlWriter:
    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.names, self.rows = path, schema.names, 0
        self.file = None

    def write(self, rows: list[dict]) -> None:
        """Rows are dicts with the schema's keys in schema order (rows.py builds them so)."""
        if not rows:
            return
        if self.file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(self.path, "w", encoding="utf-8", newline="\n")
        self.file.write("".join([_ENCODE(row) + "\n" for row in rows]))
        self.rows += len(rows)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class ParquetWriter:
    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.schema, self.rows = path, schema, 0
        self.writer = None
        self.pending: list[dict] = []

    def write(self, rows: list[dict]) -> None:
        self.pending.extend(rows)
        while len(self.pending) >= BATCH:
            self._flush(self.pending[:BATCH])
            del self.pending[:BATCH]

    def _flush(self, rows: list[dict]) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        columns = {name: [row[name] for row in rows] for name in self.schema.names}
        self.writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=self.schema), row_group_size=BATCH)
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

    def write(self, kind: str, split: str, rows: list[dict]) -> None:
        if not rows:
            return
        for fmt in self.formats:
            name = f"{kind}/{split}.{EXTENSIONS[fmt]}"
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
