"""Generate one side of one turn: claim it, stream tokens to the owner's group, store the result."""
import time

from django.conf import settings

from arena.responses import response_claim, response_finish
from worker.backends import BackendError, get_backend
from worker.publisher import publisher


def response_generate(*, response_id: int) -> None:
    """Raises the backend's errors (BackendError, TransientBackendError) for the task to judge;
    text reaches the database only as a whole, when the backend has finished."""
    job = response_claim(response_id=response_id)
    if job is None:
        return
    base = {"battle": job.battle_id, "turn": job.turn_index, "side": job.side}
    if job.attempt > 1:  # a retry or a redelivery: the client drops what the lost attempt showed
        publisher.send(job.group, {"type": "battle.side_reset", **base})
    started = time.monotonic()
    # A whole-answer deadline, checked as text arrives: Celery's time limits don't exist in the
    # solo pool a GPU worker runs, and an endpoint's timeout_s bounds only each silent gap.
    deadline = started + settings.ARENA["GENERATION_TIME_LIMIT_S"]
    first_token_ms = None

    token_event = {"type": "battle.token", **base}  # one dict: the publisher merges its tokens by identity

    def on_text(chunk: str) -> None:
        nonlocal first_token_ms
        now = time.monotonic()
        if now > deadline:
            raise BackendError(f"no complete answer within {settings.ARENA['GENERATION_TIME_LIMIT_S']} s")
        if first_token_ms is None:
            first_token_ms = int((now - started) * 1000)
        publisher.send_token(job.group, token_event, chunk)

    try:
        result = get_backend(job.spec).generate(job.messages, on_text=on_text)
    finally:
        publisher.flush(timeout=5)
    response_finish(
        response_id=response_id,
        text=result.text,
        n_tokens=result.n_tokens,
        finish_reason=result.finish_reason,
        latency_ms=int((time.monotonic() - started) * 1000),
        first_token_ms=first_token_ms,
    )
    publisher.flush(timeout=5)
