"""Arena reads, shaped for the client. Identities appear only once the vote is stored."""
from dataclasses import dataclass

from django.db import connection

from arena.errors import SIDE_FAILED_MESSAGE, BattleNotFound
from arena.markdown import render_markdown
from arena.models import Battle, BattleStatus, ResponseStatus
from arena.owner import Owner
from arena.responses import CLIENT_SIDE

WINNER_TO_CLIENT = {"LEFT": "A", "RIGHT": "B", "TIE": "TIE", "BOTH_BAD": "BOTH_BAD"}


def battle_get_for_owner(*, owner: Owner, battle_id) -> Battle:
    battle = Battle.objects.filter(owner.filter(), pk=battle_id).first()
    if battle is None:
        raise BattleNotFound()
    return battle


@dataclass(frozen=True)
class VoteTarget:
    """A battle as a vote finds it. `updated_at` is the row's version: the vote is stored only if
    the battle is still READY at that version, so `texts` are still all of its answers."""

    battle_id: object
    status: str
    updated_at: object  # as the database driver returned it, to be compared back
    left_name: str
    right_name: str
    texts: list[tuple[str, str]]  # (side, text) of every response


def owner_clause(owner: Owner) -> tuple[str, object]:
    """(SQL condition on arena_battle as `b`, its parameter): the battle is `owner`'s."""
    if owner.user_id is not None:
        return "b.owner_id = %s", owner.user_id
    return "b.owner_id IS NULL AND b.owner_session = %s", owner.session_key


def battle_for_vote(*, owner: Owner, battle_id) -> VoteTarget | None:
    """The owner's battle with its contenders' names and every answer, in one query. None when
    it does not exist or is not the owner's.

    Raw SQL because this is the vote hot path: the ORM spent ~1.5 ms of CPU per vote building
    queries and models (py-spy, tests/bench/test_vote_ingestion.py)."""
    owned, owner_param = owner_clause(owner)
    pk = Battle._meta.pk.get_db_prep_value(battle_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.id, b.status, b.updated_at, cl.display_name, cr.display_name, r.side, r.text"
            " FROM arena_battle b"
            " JOIN arena_contender cl ON cl.id = b.contender_left_id"
            " JOIN arena_contender cr ON cr.id = b.contender_right_id"
            " LEFT JOIN arena_turn t ON t.battle_id = b.id"
            " LEFT JOIN arena_response r ON r.turn_id = t.id"
            f" WHERE b.id = %s AND {owned}",
            [pk, owner_param],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    battle_pk, status, updated_at, left_name, right_name, _, _ = rows[0]
    texts = [(side, text) for *_, side, text in rows if side is not None]
    return VoteTarget(battle_pk, status, updated_at, left_name, right_name, texts)


def battle_current_for_owner(*, owner: Owner) -> Battle | None:
    """The owner's latest battle if it still awaits a vote (restores the page after a reload)."""
    return (
        Battle.objects.filter(owner.filter(), status__in=[BattleStatus.GENERATING, BattleStatus.READY])
        .order_by("-created_at")
        .first()
    )


def _side_state(response) -> dict:
    if response.status == ResponseStatus.DONE:
        return {"status": "DONE", "html": render_markdown(response.text)}
    if response.status == ResponseStatus.FAILED:
        return {"status": "FAILED", "message": SIDE_FAILED_MESSAGE}
    return {"status": "PENDING"}


def battle_state(battle: Battle) -> dict:
    """Everything the arena page shows for a battle. Contender names only after the vote."""
    turns = []
    for turn in battle.turns.prefetch_related("responses").order_by("index"):
        sides = {CLIENT_SIDE[r.side]: _side_state(r) for r in turn.responses.all()}
        turns.append({"index": turn.index, "prompt": turn.user_message, "sides": sides})
    state = {"id": str(battle.pk), "status": battle.status, "turns": turns, "reveal": None, "vote": None}
    if battle.status == BattleStatus.VOTED:
        vote = battle.vote
        state.update(
            vote=_vote_shape(vote.winner, vote.strength, vote.rationale),
            reveal=_reveal_shape(battle.contender_left.display_name, battle.contender_right.display_name),
        )
    return state


def vote_outcome(stored) -> dict:
    """What the client needs right after its vote (a services.StoredVote): the stored vote and
    the reveal. Cheaper than battle_state (no query, no Markdown), which matters on the vote hot path."""
    return {
        "id": stored.battle_id,
        "status": BattleStatus.VOTED.value,
        "vote": _vote_shape(stored.winner, stored.strength, stored.rationale),
        "reveal": _reveal_shape(stored.left_name, stored.right_name),
    }


def _vote_shape(winner: str, strength: str, rationale: str) -> dict:
    return {"winner": WINNER_TO_CLIENT[winner], "strength": strength, "rationale": rationale}


def _reveal_shape(left_name: str, right_name: str) -> dict:
    return {"A": left_name, "B": right_name}
