"""One vote per battle, only on a finished battle of one's own (DESIGN invariant 2)."""
import threading

import pytest
from django.db import connections

from arena import errors
from arena.models import Battle, BattleStatus, Response, ResponseStatus, Turn, Vote
from arena.owner import Owner
from arena.services import vote_record
from tests.arena.helpers import post


def make_battle(user, contenders, status=BattleStatus.READY, side_status=ResponseStatus.DONE) -> Battle:
    """A battle in a given state without running generation (rules, not models, are tested here)."""
    battle = Battle.objects.create(owner=user, contender_left=contenders[0], contender_right=contenders[1], status=status)
    turn = Turn.objects.create(battle=battle, index=0, user_message="hi")
    for side in ("LEFT", "RIGHT"):
        Response.objects.create(turn=turn, side=side, status=side_status, text="an answer")
    return battle


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_votes_store_exactly_one(user, contenders):
    battle = make_battle(user, contenders)
    barrier = threading.Barrier(8)
    outcomes = []

    def vote(winner):
        barrier.wait()
        try:
            vote_record(owner=Owner(user_id=user.pk), battle_id=battle.pk, winner=winner)
            outcomes.append("stored")
        except errors.AlreadyVoted:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=vote, args=("LEFT" if i % 2 else "RIGHT",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["stored"]
    assert Vote.objects.filter(battle=battle).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status, side_status, code",
    [
        (BattleStatus.GENERATING, ResponseStatus.PENDING, "not_ready"),
        (BattleStatus.FAILED, ResponseStatus.FAILED, "battle_failed"),
    ],
)
def test_vote_refused_when_not_votable(alice, user, contenders, status, side_status, code):
    battle = make_battle(user, contenders, status=status, side_status=side_status)
    res = post(alice, f"/arena/api/battles/{battle.pk}/vote", {"winner": "A"})
    assert res.status_code == 409 and res.json()["error"] == code
    assert res.json()["message"]
    assert not Vote.objects.exists()


@pytest.mark.django_db
def test_vote_on_another_users_battle_is_refused(client, other_user, user, contenders):
    battle = make_battle(user, contenders)
    client.force_login(other_user)
    res = post(client, f"/arena/api/battles/{battle.pk}/vote", {"winner": "B"})
    assert res.status_code == 404 and res.json()["message"] == errors.BattleNotFound.message
    assert client.get(f"/arena/api/battles/{battle.pk}").status_code == 404
    assert not Vote.objects.exists()


@pytest.mark.django_db
def test_second_vote_and_bad_input_change_nothing(alice, user, contenders):
    battle = make_battle(user, contenders)
    url = f"/arena/api/battles/{battle.pk}/vote"
    for body in ({"winner": "C"}, {"winner": 1}, {"winner": "A", "strength": "huge"}, {"winner": "A", "rationale": "x" * 501}):
        res = post(alice, url, body)
        assert res.status_code == 400 and res.json()["message"], body
    assert not Vote.objects.exists()
    assert post(alice, url, {"winner": "TIE"}).status_code == 201
    again = post(alice, url, {"winner": "A"})
    assert again.status_code == 409 and again.json()["error"] == "already_voted"
    assert Vote.objects.get().winner == "TIE"


@pytest.mark.django_db
def test_votes_are_read_only_in_admin(admin_client, user, contenders):
    battle = make_battle(user, contenders)
    vote_record(owner=Owner(user_id=user.pk), battle_id=battle.pk, winner="LEFT")
    vote = Vote.objects.get()
    assert admin_client.post(f"/admin/arena/vote/{vote.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Vote.objects.filter(pk=vote.pk).exists()


def test_csrf_is_enforced_on_votes(db, user, contenders):
    from django.test import Client

    battle = make_battle(user, contenders)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    res = post(client, f"/arena/api/battles/{battle.pk}/vote", {"winner": "A"})
    assert res.status_code == 403
    assert not Vote.objects.exists()
