"""A whole battle over HTTP with the real generation task (on threads): start, stream, vote, reveal."""
import pytest

from arena.models import Battle, BattleStatus, Response, Vote
from tests.arena.helpers import assert_no_identity, post, start_battle, wait_ready

pytestmark = pytest.mark.django_db(transaction=True)


def test_given_a_prompt_when_both_sides_finish_then_vote_reveals_names(alice, contenders):
    page = alice.get("/arena/")
    assert page.status_code == 200
    assert_no_identity(page.content.decode(), contenders)

    state = start_battle(alice)
    assert state["status"] == "GENERATING" and state["reveal"] is None
    wait_ready(state["id"])

    seen = alice.get(f"/arena/api/battles/{state['id']}")
    current = alice.get("/arena/api/battles/current")
    for res in (page, seen, current):
        assert_no_identity(res.content.decode() + str(dict(res.headers)), contenders)
    turn = seen.json()["battle"]["turns"][0]
    assert {turn["sides"]["A"]["status"], turn["sides"]["B"]["status"]} == {"DONE"}

    voted = post(alice, f"/arena/api/battles/{state['id']}/vote", {"winner": "A", "strength": "clear", "rationale": "more fluent"})
    assert voted.status_code == 201
    battle = Battle.objects.select_related("contender_left", "contender_right").get(pk=state["id"])
    assert voted.json()["battle"]["reveal"] == {"A": battle.contender_left.display_name, "B": battle.contender_right.display_name}
    vote = Vote.objects.get(battle=battle)
    assert (vote.winner, vote.strength, vote.rationale) == ("LEFT", "CLEAR", "more fluent")
    assert battle.status == BattleStatus.VOTED
    # Each finished side counted its style once; the vote summed those counts.
    from arena.responses import style_counts

    for response in Response.objects.filter(turn__battle=battle):
        assert {name: getattr(response, name) for name in style_counts("")} == style_counts(response.text)
        assert getattr(battle, f"len_{response.side.lower()}") == len(response.text)
    assert alice.get("/arena/api/battles/current").json()["battle"] is None


def test_continuing_gives_each_side_its_own_history(alice, contenders):
    from arena.responses import response_claim

    state = start_battle(alice, "First question")
    wait_ready(state["id"])
    res = post(alice, f"/arena/api/battles/{state['id']}/turns", {"prompt": "Second question"})
    assert res.status_code == 201
    wait_ready(state["id"])
    first = {r.side: r.text for r in Response.objects.filter(turn__battle_id=state["id"], turn__index=0)}
    # Re-open the second turn's left side to read the history its worker was given.
    left = Response.objects.get(turn__battle_id=state["id"], turn__index=1, side="LEFT")
    Response.objects.filter(pk=left.pk).update(status="PENDING")
    Battle.objects.filter(pk=state["id"]).update(status="GENERATING")
    job = response_claim(response_id=left.pk)
    assert job.messages == [
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": first["LEFT"]},
        {"role": "user", "content": "Second question"},
    ]
