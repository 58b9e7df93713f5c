"""Celery tasks: thin, keyword ids only, heavy imports inside (STYLE rule 4)."""
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from worker.backends.base import BackendError, TransientBackendError

GENERATION_LIMIT_S = settings.ARENA["GENERATION_TIME_LIMIT_S"]
MAX_RETRIES = 2


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,  # a killed worker's side is redelivered, never left half-written
    soft_time_limit=GENERATION_LIMIT_S,
    time_limit=GENERATION_LIMIT_S + 15,
    max_retries=MAX_RETRIES,
)
def response_generate_task(self, *, response_id: int) -> None:
    from arena.responses import response_fail
    from worker.generation import response_generate

    try:
        response_generate(response_id=response_id)
    except TransientBackendError as exc:
        if self.request.retries < MAX_RETRIES:
            raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
        response_fail(response_id=response_id, error=f"transient error, retries exhausted: {exc}")
    except SoftTimeLimitExceeded:
        response_fail(response_id=response_id, error=f"timed out after {GENERATION_LIMIT_S}s")
    except BackendError as exc:
        response_fail(response_id=response_id, error=f"backend error: {exc}")
    except Exception as exc:  # a bug must not leave the side pending until the stale sweep
        response_fail(response_id=response_id, error=f"unexpected {type(exc).__name__}: {exc}")
        raise


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def battle_expire_stale_task() -> int:
    from arena.responses import battle_expire_stale

    return battle_expire_stale(older_than_s=settings.ARENA["STALE_AFTER_S"])


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def leaderboard_fit_task(*, leaderboard_id: int) -> None:
    from arena.leaderboards import leaderboard_fit

    leaderboard_fit(leaderboard_id=leaderboard_id)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def leaderboards_refit_task() -> int:
    from arena.leaderboards import leaderboards_refit_stale

    return leaderboards_refit_stale()


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def leases_expire_task() -> int:
    from annotate.leasing import leases_expire

    return leases_expire()


@shared_task(acks_late=True, soft_time_limit=3600, time_limit=3700)
def export_build_task(*, snapshot_id: str) -> None:
    from annotate.exports.build import export_build

    export_build(snapshot_id=snapshot_id)
