"""Deterministic file writers: the same rows give byte-identical files.

Rows are tuples in schema order (rows.py builds them so) or Arrow record batches in the
schema. JSONL: one JSON object per line, keys in schema order, UTF-8 (ensure_ascii off),
"\\n" line ends, the bytes of json.dumps(dict(zip(names, row)), ensure_ascii=False), encoded
column by column in Arrow (json_columns.py). Parquet: the explicit Arrow schema,
zstd, one row group per BATCH rows, no timestamps in the metadata (pyarrow writes only the
schema and its own version string). A file is created at its first row, so a (kind, split)
without rows has no file. Files are written, and their sha256 computed, by a thread each
(hashed_file.py)."""
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from annotate.exports.columns import record_batch
from annotate.exports.hashed_file import HashedFile
from annotate.exports.json_columns import jsonl_lines

BATCH = 10_000  # rows per Parquet row group / record batch (and JSONL lines per write); ~10 MB at most in memory


class JsonlWriter:
    """JSON lines encoded column by column in Arrow (json_columns.jsonl_lines), written as the
    rows come: lines don't depend on how rows are batched."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.rows, self.file = path, 0, None

    def write_batch(self, batch: pa.RecordBatch) -> None:
        if self.file is None:
            self.file = _created(self.path)
        for start in range(0, batch.num_rows, BATCH):  # bounds the text held at once
            self.file.write(jsonl_lines(batch.slice(start, BATCH)))
        self.rows += batch.num_rows

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class ParquetWriter:
    """Row groups of exactly BATCH rows however the rows came (the same rows give the same
    file); dictionary columns are cast to the schema's plain types."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.schema, self.rows = path, schema, 0
        self.writer = self.file = self.stream = None
        self.batches: list[pa.RecordBatch] = []
        self.n_batched = 0

    def write_batch(self, batch: pa.RecordBatch) -> None:
        if batch.schema != self.schema:
            batch = batch.cast(self.schema)
        self.batches.append(batch)
        self.n_batched += batch.num_rows
        if self.n_batched >= BATCH:
            self._drain(final=False)

    def _drain(self, *, final: bool) -> None:
        if not self.batches:
            return
        table = pa.Table.from_batches(self.batches, schema=self.schema)
        while table.num_rows >= BATCH or (final and table.num_rows):
            if self.writer is None:
                self.file = _created(self.path)
                # buffered: pyarrow writes a Parquet file in many small pieces
                self.stream = pa.output_stream(self.file, buffer_size=1 << 20)
                self.writer = pq.ParquetWriter(self.stream, self.schema, compression="zstd")
            self.writer.write_table(table.slice(0, BATCH), row_group_size=BATCH)
            self.rows += min(BATCH, table.num_rows)
            table = table.slice(BATCH)
        self.batches, self.n_batched = table.to_batches(), table.num_rows

    def close(self) -> None:
        self._drain(final=True)
        if self.writer is not None:
            self.writer.close()
            self.stream.close()
            self.file.close()


def _created(path: Path) -> HashedFile:
    path.parent.mkdir(parents=True, exist_ok=True)
    return HashedFile(path)


WRITERS = {"jsonl": JsonlWriter, "parquet": ParquetWriter}


class FileSet:
    """One writer per (kind, split, format), named `<kind>/<split>.<ext>` under `folder`. Row
    tuples are buffered per (kind, split) and turned into a record batch once for all formats."""

    def __init__(self, folder: Path, schemas: dict[str, pa.Schema], formats: tuple[str, ...]):
        self.folder, self.schemas, self.formats = folder, schemas, formats
        self.writers: dict[str, JsonlWriter | ParquetWriter] = {}
        self.pending: dict[tuple[str, str], list[tuple]] = {}

    def write(self, kind: str, split: str, rows: list[tuple]) -> None:
        if rows:
            pending = self.pending.setdefault((kind, split), [])
            pending.extend(rows)
            if len(pending) >= BATCH:
                self._convert(kind, split)

    def write_batch(self, kind: str, split: str, batch: pa.RecordBatch) -> None:
        """Rows as an Arrow record batch in the kind's schema."""
        if batch.num_rows:
            self._convert(kind, split)  # rows written before it go first
            self._send(kind, split, batch)

    def _convert(self, kind: str, split: str) -> None:
        rows = self.pending.pop((kind, split), None)
        if rows:
            self._send(kind, split, record_batch(rows, self.schemas[kind]))

    def _send(self, kind: str, split: str, batch: pa.RecordBatch) -> None:
        for fmt in self.formats:
            name = f"{kind}/{split}.{fmt}"  # the format names are the file extensions
            writer = self.writers.get(name)
            if writer is None:
                writer = self.writers[name] = WRITERS[fmt](self.folder / name, self.schemas[kind])
            writer.write_batch(batch)

    def close(self) -> dict[str, tuple[int, str]]:
        """{file name: (rows, sha256)}, sorted by name."""
        for kind, split in list(self.pending):
            self._convert(kind, split)
        for writer in self.writers.values():
            writer.close()
        return {name: (self.writers[name].rows, self.writers[name].file.sha256()) for name in sorted(self.writers)}

    def abort(self) -> None:
        """Stops every file's thread; the folder is removed next, so half files don't matter."""
        self.pending.clear()
        for writer in self.writers.values():
            if writer.file is not None:
                writer.file.abort()
