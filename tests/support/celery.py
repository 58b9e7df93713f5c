"""Start a real `celery worker` process on the test database and the test Redis."""
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import redis
from django.conf import settings

from tests.support.server import ROOT, child_env


def purge_queues(*queues: str) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    for q in queues:
        client.delete(q)
    client.delete("unacked", "unacked_index")


@contextmanager
def celery_worker(queues: list[str], log_path: Path, *, visibility_timeout_s: int = 600, pool: str = "prefork"):
    """Yield the worker's Popen once it is ready; SIGKILL-able via `kill_worker`."""
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", ",".join(queues), "-n", name]
    cmd += ["--pool", pool, "--concurrency", "1", "--without-gossip", "--without-mingle", "-l", "info"]
    env = child_env(
        REDIS_URL=settings.REDIS_URL,
        PREFARENA_EMBEDDED="0",
        CELERY_VISIBILITY_TIMEOUT=str(visibility_timeout_s),
        CELERY_RESTORE_INTERVAL_S="1",
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        kill_worker(proc, sig=signal.SIGTERM)


def kill_worker(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    """Signal the worker's whole process group (parent and pool children)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except ProcessLookupError:
            pass
