"""Writes made by generation workers: claim a side, finish it, fail it, expire stale ones.

Lock order everywhere: battle row, then response row (STYLE rule 5)."""
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from arena.contenders import contender_spec
from arena.errors import SIDE_FAILED_MESSAGE
from arena.leaderboard_data import STYLE_COLUMNS
from arena.markdown import render_markdown
from arena.models import Battle, BattleStatus, Response, ResponseStatus, Side
from arena.owner import Owner
from arena.style import style_features
from worker.backends.base import BackendSpec
from worker.dispatch import broadcast_on_commit

STYLE_FIELDS = tuple(f"style_{name}" for name in STYLE_COLUMNS)  # Response's style-count fields

CLIENT_SIDE = {Side.LEFT: "A", Side.RIGHT: "B"}


@dataclass(frozen=True)
class GenerationJob:
    response_id: int
    battle_id: str
    turn_index: int
    side: str  # client-facing: "A" | "B"
    attempt: int
    group: str
    spec: BackendSpec
    messages: list[dict]


def _owner_group(battle: Battle) -> str:
    return Owner(user_id=battle.owner_id, session_key=battle.owner_session).group


def _lock(response_id: int) -> tuple[Battle, Response]:
    battle = Battle.objects.select_for_update(of=("self",)).get(turns__responses__pk=response_id)
    response = Response.objects.select_for_update(of=("self",)).select_related("turn").get(pk=response_id)
    return battle, response


def response_claim(*, response_id: int) -> GenerationJob | None:
    """Start (or, after a lost worker, restart) a side. None when there is nothing to do."""
    with transaction.atomic():
        battle, response = _lock(response_id)
        if response.status != ResponseStatus.PENDING or battle.status != BattleStatus.GENERATING:
            return None
        response.attempts += 1
        response.started_at = timezone.now()
        response.save(update_fields=["attempts", "started_at"])
    contender = battle.contender_left if response.side == Side.LEFT else battle.contender_right
    messages = []
    earlier = Response.objects.filter(turn__battle=battle, side=response.side, turn__index__lt=response.turn.index)
    for past in earlier.select_related("turn").order_by("turn__index"):
        messages += [{"role": "user", "content": past.turn.user_message}, {"role": "assistant", "content": past.text}]
    messages.append({"role": "user", "content": response.turn.user_message})
    return GenerationJob(
        response_id=response.pk,
        battle_id=str(battle.pk),
        turn_index=response.turn.index,
        side=CLIENT_SIDE[response.side],
        attempt=response.attempts,
        group=_owner_group(battle),
        spec=contender_spec(contender),
        messages=messages,
    )


def _event(kind: str, battle: Battle, response: Response, **extra) -> dict:
    return {
        "type": kind,
        "battle": str(battle.pk),
        "turn": response.turn.index,
        "side": CLIENT_SIDE[response.side],
        "battle_status": battle.status,
        **extra,
    }


def style_counts(text: str) -> dict[str, int]:
    """A finished side's style-count fields (Response.style_*) for `text`."""
    return dict(zip(STYLE_FIELDS, style_features(text).astuple()))


def response_finish(
    *, response_id: int, text: str, n_tokens: int, finish_reason: str, latency_ms: int, first_token_ms: int | None
) -> bool:
    """Store a side's final text; the battle becomes READY when every side is done.
    False (and nothing written) when the side was already finished or failed."""
    with transaction.atomic():
        battle, response = _lock(response_id)
        if response.status != ResponseStatus.PENDING:
            return False
        response.status = ResponseStatus.DONE
        response.text = text
        response.n_tokens = n_tokens
        response.finish_reason = finish_reason[:20]
        response.latency_ms = latency_ms
        response.first_token_ms = first_token_ms
        response.finished_at = timezone.now()
        for name, value in style_counts(text).items():
            setattr(response, name, value)
        response.save()
        pending = Response.objects.filter(turn__battle=battle).exclude(status=ResponseStatus.DONE).exists()
        if battle.status == BattleStatus.GENERATING and not pending:
            battle.status = BattleStatus.READY
            battle.save(update_fields=["status", "updated_at"])
        broadcast_on_commit(
            _owner_group(battle), _event("battle.side_done", battle, response, html=render_markdown(text))
        )
    return True


def response_fail(*, response_id: int, error: str) -> bool:
    """Mark a side failed and its battle unvotable. The error stays server-side."""
    with transaction.atomic():
        battle, response = _lock(response_id)
        if response.status != ResponseStatus.PENDING:
            return False
        response.status = ResponseStatus.FAILED
        response.error = error[:2000]
        response.finished_at = timezone.now()
        response.save(update_fields=["status", "error", "finished_at"])
        if battle.status in (BattleStatus.GENERATING, BattleStatus.READY):
            battle.status = BattleStatus.FAILED
            battle.save(update_fields=["status", "updated_at"])
        broadcast_on_commit(
            _owner_group(battle), _event("battle.side_failed", battle, response, message=SIDE_FAILED_MESSAGE)
        )
    return True


UNCLAIMED_FACTOR = 6  # a side still queued (never started) gets 6x longer: a backlog is not a lost worker


def battle_expire_stale(*, older_than_s: int) -> int:
    """Fail pending sides whose worker started them more than `older_than_s` ago (a lost worker
    whose task was never redelivered), or that no worker started within 6x that long.
    Returns how many sides were failed."""
    now = timezone.now()
    started_before = now - timedelta(seconds=older_than_s)
    queued_before = now - timedelta(seconds=older_than_s * UNCLAIMED_FACTOR)
    stale = Response.objects.filter(
        Q(started_at__lt=started_before) | Q(started_at__isnull=True, turn__created_at__lt=queued_before),
        status=ResponseStatus.PENDING,
        turn__battle__status=BattleStatus.GENERATING,
    ).values_list("pk", flat=True)
    return sum(response_fail(response_id=pk, error="stale: no result in time") for pk in list(stale))
