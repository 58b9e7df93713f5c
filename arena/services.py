"""Arena writes made by users: start a battle, add a turn, vote (STYLE: services decide)."""
import logging
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from arena import errors, selectors
from arena.leaderboard_data import STYLE_COLUMNS
from arena.leaderboards import vote_counted_for_refit
from arena.models import Battle, BattleStatus, Contender, Response, Side, Strength, Turn, Winner
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


def _require_open(status: str) -> None:
    if status == BattleStatus.VOTED:
        raise errors.AlreadyVoted()
    if status in (BattleStatus.FAILED, BattleStatus.ABANDONED):
        raise errors.BattleFailed()
    if status == BattleStatus.GENERATING:
        raise errors.NotReady()


def turn_add(*, owner: Owner, battle_id, prompt: str) -> Battle:
    """Continue the conversation: both sides answer the new message, each with its own history."""
    prompt = prompt_check(prompt)
    _limit(owner, "turn", "TURNS_PER_HOUR")
    with transaction.atomic():
        battle = _battle_lock(owner=owner, battle_id=battle_id)
        _require_open(battle.status)
        n_turns = battle.turns.count()
        if n_turns >= settings.ARENA["MAX_TURNS"]:
            raise errors.TooManyTurns()
        _turn_create(battle=battle, index=n_turns, prompt=prompt)
        battle.status = BattleStatus.GENERATING
        battle.save(update_fields=["status", "updated_at"])
    return battle


WINNERS = frozenset(Winner.values)
STRENGTHS = frozenset(Strength.values)


def vote_check(*, winner, strength, rationale) -> tuple[str, str, str]:
    if not isinstance(winner, str) or winner not in WINNERS:
        raise errors.InvalidVote()
    strength = strength or ""
    if strength and (not isinstance(strength, str) or strength not in STRENGTHS):
        raise errors.InvalidVote("Strength must be slight, clear or strong.")
    if not isinstance(rationale or "", str):
        raise errors.BadRequest()
    rationale = (rationale or "").strip()
    if len(rationale) > settings.ARENA["MAX_RATIONALE_CHARS"]:
        raise errors.RationaleTooLong(f"The reason is too long (at most {settings.ARENA['MAX_RATIONALE_CHARS']} characters).")
    return winner, strength, rationale


@dataclass(frozen=True)
class StoredVote:
    """A vote as stored, with the reveal it unlocks."""

    battle_id: str
    winner: str
    strength: str
    rationale: str
    left_name: str
    right_name: str


def vote_record(
    *, owner: Owner, battle_id, winner: str, strength: str = "", rationale: str = "", fingerprint: str = ""
) -> StoredVote:
    """Store the one vote of a battle, with its style covariates; then (and only then) may
    identities be revealed. Raises BattleNotFound, AlreadyVoted, BattleFailed, NotReady,
    InvalidVote, RationaleTooLong, RateLimited; a refused vote stores nothing."""
    winner, strength, rationale = vote_check(winner=winner, strength=strength, rationale=rationale)
    _limit(owner, "vote", "VOTES_PER_HOUR")
    vote = dict(winner=winner, strength=strength, rationale=rationale, voter_id=owner.user_id, fingerprint=fingerprint)
    names = _vote_in_one_statement(owner=owner, battle_id=battle_id, vote=vote)
    if names is None:
        names = _vote_read_then_write(owner=owner, battle_id=battle_id, vote=vote)
    try:
        vote_counted_for_refit()
    except Exception:  # the vote is stored; a refit is only late (the beat refits anyway)
        log.exception("refit counter unavailable")
    battle_id = str(Battle._meta.pk.to_python(battle_id))
    return StoredVote(battle_id, winner, strength, rationale, *names)


def _vote_read_then_write(*, owner: Owner, battle_id, vote: dict) -> tuple[str, str]:
    """The general way, and the one that says why a vote is refused: read the battle with its
    texts, count their style, store the vote if the battle is unchanged. (left, right) names."""
    for _ in range(3):
        target = selectors.battle_for_vote(owner=owner, battle_id=battle_id)
        if target is None:
            raise errors.BattleNotFound()
        _require_open(target.status)
        if _vote_insert(target=target, style=_style_columns(target.texts), vote=vote):
            return target.left_name, target.right_name
        # The battle changed since it was read: a concurrent vote won (read again: refused as
        # already voted), or in theory a whole new turn was answered in between (new texts).
    raise errors.NotReady()


_SUMS = ", ".join(
    f"SUM(r.style_{name}) FILTER (WHERE r.side = '{side}') AS {name}_{suffix}"
    for name in STYLE_COLUMNS
    for side, suffix in ((Side.LEFT.value, "left"), (Side.RIGHT.value, "right"))
)
_SET_STYLE = ", ".join(f"{name}_{suffix} = style.{name}_{suffix}" for name in STYLE_COLUMNS for suffix in ("left", "right"))


def _vote_in_one_statement(*, owner: Owner, battle_id, vote: dict) -> tuple[str, str] | None:
    """PostgreSQL: store the vote in one round trip, the style summed from the responses' own
    counts, and return the contenders' (left, right) names. None when nothing was stored: the
    battle is missing, not the owner's, not READY, changed meanwhile, has an answer without
    its counts (written before they existed, or by a bulk load), or this is not PostgreSQL;
    the caller then takes the general way, which also says why a vote is refused.

    Like _vote_insert, the UPDATE's WHERE is rechecked on the newest row version when it waits
    for a concurrent writer, so of two concurrent votes one stores and the other stores nothing.
    Before, a vote read every text back and then wrote (2 round trips); this saved ~0.4 ms of
    web CPU per vote (BENCHMARKS.md, vote ingestion)."""
    if connection.vendor != "postgresql":
        return None
    owned, owner_param = selectors.owner_clause(owner)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    sql = (
        f"WITH target AS (SELECT b.id, b.updated_at FROM arena_battle b WHERE b.id = %s AND {owned} AND b.status = %s),"
        # Joined from `target` (one row), so the plan walks the turn and response indexes; a
        # subquery for the battle id left the planner guessing and it scanned every response.
        f" style AS (SELECT {_SUMS}, COUNT(*) = COUNT(r.style_len) AS complete FROM target"
        "  JOIN arena_turn t ON t.battle_id = target.id JOIN arena_response r ON r.turn_id = t.id),"
        f" voted AS (UPDATE arena_battle b SET status = %s, updated_at = %s, {_SET_STYLE} FROM target, style"
        "  WHERE b.id = target.id AND b.status = %s AND b.updated_at = target.updated_at AND style.complete"
        "  RETURNING b.id, b.contender_left_id, b.contender_right_id),"
        f" inserted AS (INSERT INTO arena_vote ({_VOTE_COLUMNS}) SELECT id, %s, %s, %s, %s, %s, %s FROM voted)"
        " SELECT cl.display_name, cr.display_name FROM voted"
        " JOIN arena_contender cl ON cl.id = voted.contender_left_id JOIN arena_contender cr ON cr.id = voted.contender_right_id"
    )
    params = [
        Battle._meta.pk.get_db_prep_value(battle_id, connection), owner_param, BattleStatus.READY,
        BattleStatus.VOTED, now, BattleStatus.READY, *_vote_values(vote, now),
    ]  # fmt: skip
    try:
        with _prepared_cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except IntegrityError:  # a vote row without a VOTED battle: never made by this app
        raise errors.AlreadyVoted() from None
    return (row[0], row[1]) if row else None


def _prepared_cursor():
    """A PostgreSQL cursor whose statements are planned once per connection (a prepared
    statement; pooled connections keep it), still wrapped by Django (errors, query logging).

    Django binds parameters on the client, so every statement is planned anew; planning the
    vote statement cost PostgreSQL ~1 ms, as much as running it. A server-side-binding cursor
    with the connection's prepare threshold at 0 prepares on first use; Django's own cursors
    bind on the client and never prepare, so nothing else changes. (Behind PgBouncer in
    transaction mode prepared statements need PgBouncer >= 1.21 with max_prepared_statements.)"""
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    raw.prepare_threshold = 0
    return connection._prepare_cursor(psycopg.Cursor(raw))  # Django's thread check and wrappers


def _vote_insert(*, target: selectors.VoteTarget, style: dict[str, int], vote: dict) -> bool:
    """Mark the battle VOTED with its style columns and insert the vote, both or neither, and only
    if the battle is still READY at the version `target` read. False when it was not.

    No row lock is held across round trips: the UPDATE's WHERE is rechecked on the newest row
    version when it waits for a concurrent writer (READ COMMITTED), so of two concurrent votes
    exactly one updates the row; the one-to-one constraint on Vote.battle backs this up. (SQLite
    takes its write lock when the transaction starts.) On PostgreSQL votes normally take
    _vote_in_one_statement; this is the way for answers stored without style counts."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = ", ".join(f"{name} = %s" for name in style)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE arena_battle SET status = %s, updated_at = %s, {columns}"
                " WHERE id = %s AND status = %s AND updated_at = %s",
                [BattleStatus.VOTED, now, *style.values(), target.battle_id, BattleStatus.READY, target.updated_at],
            )
            if cursor.rowcount != 1:
                return False
            cursor.execute(
                f"INSERT INTO arena_vote ({_VOTE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [target.battle_id, *_vote_values(vote, now)],
            )
            return True
    except IntegrityError:  # a vote row without a VOTED battle: never made by this app
        raise errors.AlreadyVoted() from None


_VOTE_COLUMNS = "battle_id, winner, strength, rationale, voter_id, fingerprint, created_at"


def _vote_values(vote: dict, now) -> list:
    """The vote's values for _VOTE_COLUMNS after battle_id."""
    return [vote["winner"], vote["strength"], vote["rationale"], vote["voter_id"], vote["fingerprint"], now]


def _style_columns(texts: list[tuple[str, str]]) -> dict[str, int]:
    """Each side's style features summed over its turns (style-control covariates), by column."""
    sums = {Side.LEFT: StyleFeatures(), Side.RIGHT: StyleFeatures()}
    for side, text in texts:
        sums[side] += style_features(text)
    return {
        f"{name}_{suffix}": value
        for side, suffix in ((Side.LEFT, "left"), (Side.RIGHT, "right"))
        for name, value in zip(STYLE_COLUMNS, sums[side].astuple())
    }
