"""annotate/exports/hashed_file.py: a file written and hashed by a thread of its own."""
import hashlib
import os
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotate.exports.hashed_file import HashedFile


def writer_threads() -> list:
    return [t for t in threading.enumerate() if t.name == "export-writer"]


def test_the_bytes_written_in_order_and_their_sha256(tmp_path):
    chunks = [os.urandom(n) for n in (0, 1, 70_000, 3, 1 << 20)]
    chunks.append(memoryview(pa.py_buffer(b"an Arrow buffer's bytes"))[3:])
    f = HashedFile(tmp_path / "out.bin")
    assert sum(f.write(c) for c in chunks) == sum(len(c) for c in chunks)
    f.close()
    data = (tmp_path / "out.bin").read_bytes()
    assert data == b"".join(bytes(c) for c in chunks)
    assert f.sha256() == hashlib.sha256(data).hexdigest()
    assert not writer_threads()


def test_parquet_through_it_is_the_file_pyarrow_writes_itself(tmp_path):
    table = pa.table({"x": list(range(50_000)), "s": [f"row {i}" for i in range(50_000)]})
    pq.write_table(table, tmp_path / "direct.parquet", compression="zstd")
    f = HashedFile(tmp_path / "threaded.parquet")
    stream = pa.output_stream(f, buffer_size=1 << 16)
    pq.write_table(table, stream, compression="zstd")
    stream.close()
    f.close()
    direct = (tmp_path / "direct.parquet").read_bytes()
    assert (tmp_path / "threaded.parquet").read_bytes() == direct
    assert f.sha256() == hashlib.sha256(direct).hexdigest()


def test_a_write_error_in_the_thread_is_raised_to_the_caller():
    f = HashedFile(Path("/dev/full"))  # Linux: every write fails with ENOSPC
    with pytest.raises(OSError) as raised:
        for _ in range(10):  # the error surfaces at the next write, or at close
            f.write(b"x" * 100_000)
        f.close()
    assert raised.value.errno == 28  # ENOSPC
    f.abort()
    assert not writer_threads()


def test_abort_stops_the_thread(tmp_path):
    f = HashedFile(tmp_path / "half.bin")
    f.write(b"half")
    f.abort()
    f.abort()  # twice is harmless
    assert f.closed and not writer_threads()
