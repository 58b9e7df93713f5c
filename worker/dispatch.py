"""The one way to start tasks and broadcast live events: both only after the transaction
that made them true has committed (STYLE rule 3)."""
import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connections, transaction

from worker.publisher import publisher

log = logging.getLogger(__name__)
# Embedded default: tasks run on threads of the web process, never eagerly inside a request
# or consumer (that would block the socket that should stream the tokens; DESIGN "Embedded").
_inline_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="inline-task")


def _run_inline(task, kwargs: dict) -> None:
    try:
        task.apply(kwargs=kwargs, throw=False)
    except Exception:
        log.exception("inline task %s failed", task.name)
    finally:
        connections.close_all()  # this thread's connections; a pool thread may idle for hours


def enqueue_on_commit(task, *, queue: str, **kwargs) -> None:
    """Send `task(**kwargs)` to `queue` once the current transaction commits."""

    def send() -> None:
        if settings.EMBEDDED:
            _inline_pool.submit(_run_inline, task, kwargs)
        else:
            task.apply_async(kwargs=kwargs, queue=queue)

    transaction.on_commit(send)


def broadcast_on_commit(group: str, event: dict) -> None:
    """Send a live event to a channel-layer group once the current transaction commits."""
    transaction.on_commit(lambda: publisher.send(group, event))
