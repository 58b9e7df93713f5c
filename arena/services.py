"""Arena writes made by users: start a battle, add a turn, vote (STYLE: services decide)."""
import logging

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction

from arena import errors
from arena.leaderboard_data import STYLE_COLUMNS
from arena.leaderboards import vote_counted_for_refit
from arena.models import Battle, BattleStatus, Contender, Response, Side, Turn, Vote, Winner, Strength
from arena.owner import Owner
from arena.ratelimit import rate_limit_hit
from arena.pair_choice import pair_choose
from arena.style import StyleFeatures, style_features
from worker.dispatch import enqueue_on_commit

HOUR = 3600
log = logging.getLogger(__name__)


def prompt_check(prompt) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise errors.PromptEmpty()
    if len(prompt) > settings.ARENA["MAX_PROMPT_CHARS"]:
        raise errors.PromptTooLong(f"That prompt is too long (at most {settings.ARENA['MAX_PROMPT_CHARS']} characters).")
    return prompt.strip()


def _limit(owner: Owner, what: str, setting: str) -> None:
    if rate_limit_hit(key=f"{what}:{owner.group}", limit=settings.ARENA[setting], window_s=HOUR):
        raise errors.RateLimited()


def _turn_create(*, battle: Battle, index: int, prompt: str) -> Turn:
    """Create a turn and its two pending responses, and queue both generations on commit."""
    from worker.tasks import response_generate_task

    turn = Turn.objects.create(battle=battle, index=index, user_message=prompt)
    for side, contender in ((Side.LEFT, battle.contender_left), (Side.RIGHT, battle.contender_right)):
        response = Response.objects.create(turn=turn, side=side)
        enqueue_on_commit(response_generate_task, queue=contender.queue, response_id=response.pk)
    return turn


def battle_start(*, owner: Owner, prompt: str, category: str = "", rng: np.random.Generator | None = None) -> Battle:
    """Start a battle between two weighted-random active contenders with random placement."""
    prompt = prompt_check(prompt)
    contenders = list(Contender.objects.filter(is_active=True).order_by("pk"))
    if len(contenders) < 2:
        raise errors.NoContenders()
    _limit(owner, "battle", "BATTLES_PER_HOUR")
    left, right = pair_choose(contenders, rng or np.random.default_rng())
    with transaction.atomic():
        battle = Battle.objects.create(
            owner_id=owner.user_id,
            owner_session=owner.session_key,
            contender_left=contenders[left],
            contender_right=contenders[right],
            category=category[:60],
            prompt_chars=len(prompt),
        )
        _turn_create(battle=battle, index=0, prompt=prompt)
    return battle


def _battle_lock(*, owner: Owner, battle_id) -> Battle:
    """Lock and return the owner's battle (caller is inside transaction.atomic)."""
    battle = (
        # of=self: the contenders are joined for the reveal, and without it FOR UPDATE locked their
        # rows too, so every vote and turn in the arena queued on the same two or three rows.
        Battle.objects.select_for_update(of=("self",))
        .select_related("contender_left", "contender_right")
        .filter(owner.filter(), pk=battle_id)
        .first()
    )
    if battle is None:
        raise errors.BattleNotFound()
    return battle


def _require_open(battle: Battle) -> None:
    if battle.status == BattleStatus.VOTED:
        raise errors.AlreadyVoted()
    if battle.status in (BattleStatus.FAILED, BattleStatus.ABANDONED):
        raise errors.BattleFailed()
    if battle.status == BattleStatus.GENERATING:
        raise errors.NotReady()


def turn_add(*, owner: Owner, battle_id, prompt: str) -> Battle:
    """Continue the conversation: both sides answer the new message, each with its own history."""
    prompt = prompt_check(prompt)
    _limit(owner, "turn", "TURNS_PER_HOUR")
    with transaction.atomic():
        battle = _battle_lock(owner=owner, battle_id=battle_id)
        _require_open(battle)
        n_turns = battle.turns.count()
        if n_turns >= settings.ARENA["MAX_TURNS"]:
            raise errors.TooManyTurns()
        _turn_create(battle=battle, index=n_turns, prompt=prompt)
        battle.status = BattleStatus.GENERATING
        battle.save(update_fields=["status", "updated_at"])
    return battle


def vote_check(*, winner, strength, rationale) -> tuple[str, str, str]:
    if not isinstance(winner, str) or winner not in Winner.values:
        raise errors.InvalidVote()
    strength = strength or ""
    if strength and (not isinstance(strength, str) or strength not in Strength.values):
        raise errors.InvalidVote("Strength must be slight, clear or strong.")
    if not isinstance(rationale or "", str):
        raise errors.BadRequest()
    rationale = (rationale or "").strip()
    if len(rationale) > settings.ARENA["MAX_RATIONALE_CHARS"]:
        raise errors.RationaleTooLong(f"The reason is too long (at most {settings.ARENA['MAX_RATIONALE_CHARS']} characters).")
    return winner, strength, rationale


def vote_record(
    *, owner: Owner, battle_id, winner: str, strength: str = "", rationale: str = "", fingerprint: str = ""
) -> Battle:
    """Store the one vote of a battle, then (and only then) may identities be revealed.

    Locks the battle row, so of two concurrent votes exactly one is stored; the one-to-one
    constraint on Vote.battle backs this up where row locks don't exist (SQLite)."""
    winner, strength, rationale = vote_check(winner=winner, strength=strength, rationale=rationale)
    _limit(owner, "vote", "VOTES_PER_HOUR")
    with transaction.atomic():
        battle = _battle_lock(owner=owner, battle_id=battle_id)
        _require_open(battle)
        try:
            with transaction.atomic():
                Vote.objects.create(
                    battle=battle,
                    winner=winner,
                    strength=strength,
                    rationale=rationale,
                    voter_id=owner.user_id,
                    fingerprint=fingerprint,
                )
        except IntegrityError:
            raise errors.AlreadyVoted() from None
        battle.status = BattleStatus.VOTED
        battle.save(update_fields=["status", "updated_at", *_battle_style_set(battle)])
    try:
        vote_counted_for_refit()  # after the row lock is released: it talks to Redis
    except Exception:  # the vote is stored; a refit is only late (the beat refits anyway)
        log.exception("refit counter unavailable")
    return battle


def _battle_style_set(battle: Battle) -> list[str]:
    """Sum each side's style features over its turns onto the battle (style-control covariates).
    Returns the fields set."""
    sums = {Side.LEFT: StyleFeatures(), Side.RIGHT: StyleFeatures()}
    for side, text in Response.objects.filter(turn__battle=battle).values_list("side", "text"):
        sums[side] += style_features(text)
    fields = []
    for side, suffix in ((Side.LEFT, "left"), (Side.RIGHT, "right")):
        for name, value in zip(STYLE_COLUMNS, sums[side].astuple()):
            setattr(battle, f"{name}_{suffix}", value)
            fields.append(f"{name}_{suffix}")
    return fields
