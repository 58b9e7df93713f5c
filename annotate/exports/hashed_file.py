"""A file written and hashed (sha256) by a thread of its own, beside the build.

Writing 500 MB of JSONL and reading it back for its sha256 took ~1 s of the build's main
thread per 1M rows; both release the GIL, so in a thread they overlap the Python that makes
the next rows. The bytes and their order are the caller's."""
import hashlib
import queue
import threading
from pathlib import Path

WAITING = 2  # chunks handed over and not yet written: bounds the memory they hold
_END = None


class HashedFile:
    """Binary write-only file: `write` hands bytes to the thread, `close` waits for them and
    returns the sha256 (hex) of everything written. An error in the thread is raised by the
    next `write` or by `close`; `abort` stops the thread and keeps no promise about the file."""

    def __init__(self, path: Path):
        self._file = open(path, "wb")
        self._digest = hashlib.sha256()
        self._chunks: queue.Queue = queue.Queue(maxsize=WAITING)
        self._error: BaseException | None = None
        self.closed = False  # pyarrow's output_stream reads it
        self._thread = threading.Thread(target=self._run, name="export-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._chunks.get()) is not _END:
            if self._error is None:
                try:
                    self._file.write(chunk)
                    self._digest.update(chunk)
                except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                    self._error = exc

    def write(self, data) -> int:
        """`data` is written later: bytes, or a view of memory nobody changes (an Arrow buffer)."""
        if self._error is not None:
            raise self._error
        self._chunks.put(data)
        return len(data)

    def _stop(self) -> None:
        if not self.closed:
            self.closed = True
            self._chunks.put(_END)
            self._thread.join()
            self._file.close()

    def close(self) -> None:
        self._stop()
        if self._error is not None:
            raise self._error

    def sha256(self) -> str:
        """The digest of everything written; after close."""
        return self._digest.hexdigest()

    def abort(self) -> None:
        try:
            self._stop()
        except OSError:
            pass
