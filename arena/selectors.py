"""Arena reads, shaped for the client. Identities appear only once the vote is stored."""
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
        outcome = vote_outcome(battle)
        state.update(vote=outcome["vote"], reveal=outcome["reveal"])
    return state


def vote_outcome(battle: Battle) -> dict:
    """What the client needs right after its vote: the stored vote and the reveal. Cheaper than
    battle_state (no Markdown re-rendering), which matters on the vote hot path."""
    vote = battle.vote
    return {
        "id": str(battle.pk),
        "status": battle.status,
        "vote": {"winner": WINNER_TO_CLIENT[vote.winner], "strength": vote.strength, "rationale": vote.rationale},
        "reveal": {"A": battle.contender_left.display_name, "B": battle.contender_right.display_name},
    }
