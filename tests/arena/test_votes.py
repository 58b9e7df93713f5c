"""One vote per battle, only on a finished battle of one's own (DESIGN invariant 2)."""
import threading

import pytest
from django.db import connections

from arena import errors
from arena.models import Battle, BattleStatus, Response, ResponseStatus, Turn, Vote
from arena.owner import Owner
from arena.responses import style_counts
from arena.services import vote_record
from arena.style import style_features
from tests.arena.helpers import post


def answer(turn, side, text, *, counted=True, status=ResponseStatus.DONE) -> Response:
    """A finished side as response_finish writes it (`counted`: with its style counts, which
    lets a vote take the one-statement way) or as an older or bulk-loaded row (without)."""
    return Response.objects.create(turn=turn, side=side, status=status, text=text, **(style_counts(text) if counted else {}))


def make_battle(user, contenders, status=BattleStatus.READY, side_status=ResponseStatus.DONE, counted=True) -> Battle:
    """A battle in a given state without running generation (rules, not models, are tested here)."""
    battle = Battle.objects.create(owner=user, contender_left=contenders[0], contender_right=contenders[1], status=status)
    turn = Turn.objects.create(battle=battle, index=0, user_message="hi")
    for side in ("LEFT", "RIGHT"):
        answer(turn, side, "an answer", counted=counted, status=side_status)
    return battle


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("counted", [True, False], ids=["one-statement", "from-the-texts"])
def test_two_concurrent_votes_store_exactly_one(user, contenders, counted):
    battle = make_battle(user, contenders, counted=counted)
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


@pytest.mark.django_db
@pytest.mark.parametrize("second_turn_counted", [True, False], ids=["one-statement", "from-the-texts"])
def test_vote_stores_each_sides_style_summed_over_turns(alice, user, contenders, second_turn_counted):
    battle = make_battle(user, contenders)
    turn = Turn.objects.create(battle=battle, index=1, user_message="more")
    texts = {"LEFT": "# Title\n\n- one\n- two\n\n**bold** end", "RIGHT": "plain words"}
    for side, text in texts.items():
        answer(turn, side, text, counted=second_turn_counted)

    res = post(alice, f"/arena/api/battles/{battle.pk}/vote", {"winner": "B", "strength": "slight"})

    assert res.status_code == 201
    assert res.json()["battle"] == {
        "id": str(battle.pk),
        "status": "VOTED",
        "vote": {"winner": "B", "strength": "SLIGHT", "rationale": ""},
        "reveal": {"A": contenders[0].display_name, "B": contenders[1].display_name},
    }
    battle.refresh_from_db()
    for side in ("left", "right"):
        expected = style_features("an answer") + style_features(texts[side.upper()])
        stored = (getattr(battle, f"{name}_{side}") for name in ("len", "headers", "lists", "bold"))
        assert tuple(stored) == expected.astuple()
    assert battle.status == BattleStatus.VOTED and Vote.objects.get().voter == user


@pytest.mark.django_db
def test_a_battle_changed_after_it_was_read_is_not_voted_with_the_old_answers(user, contenders):
    from arena import selectors, services

    battle = make_battle(user, contenders)
    seen = selectors.battle_for_vote(owner=Owner(user_id=user.pk), battle_id=battle.pk)
    battle.save(update_fields=["status", "updated_at"])  # e.g. a turn added and answered meanwhile

    vote = {"winner": "LEFT", "strength": "", "rationale": "", "voter_id": user.pk, "fingerprint": ""}
    assert services._vote_insert(target=seen, style=services._style_columns(seen.texts), vote=vote) is False
    assert not Vote.objects.exists()
    assert Battle.objects.get(pk=battle.pk).status == BattleStatus.READY


@pytest.mark.django_db
def test_an_anonymous_session_votes_on_its_own_battle_only(client, user, contenders, settings):
    settings.ARENA = {**settings.ARENA, "ALLOW_ANONYMOUS": True}
    assert client.get("/arena/").status_code == 200
    mine = make_battle(None, contenders)
    mine.owner_session = client.session.session_key
    mine.save()
    someone_elses = make_battle(None, contenders)
    someone_elses.owner_session = "another-session"
    someone_elses.save()

    assert post(client, f"/arena/api/battles/{someone_elses.pk}/vote", {"winner": "A"}).status_code == 404
    assert post(client, f"/arena/api/battles/{mine.pk}/vote", {"winner": "A"}).status_code == 201
    assert list(Vote.objects.values_list("battle_id", "voter_id")) == [(mine.pk, None)]


@pytest.mark.django_db
def test_votes_over_the_hourly_budget_are_refused_and_count_for_refits(alice, user, contenders, settings):
    from django.core.cache import cache

    from arena.leaderboards import VOTES_SINCE_FIT_KEY

    settings.ARENA = {**settings.ARENA, "VOTES_PER_HOUR": 2}
    battles = [make_battle(user, contenders) for _ in range(3)]
    codes = [post(alice, f"/arena/api/battles/{b.pk}/vote", {"winner": "TIE"}).status_code for b in battles]
    assert codes == [201, 201, 429]
    assert Vote.objects.count() == 2
    assert cache.get(VOTES_SINCE_FIT_KEY) == 2  # stored votes only


@pytest.mark.django_db
def test_a_vote_on_counted_answers_is_one_sql_statement(user, contenders):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    battle = make_battle(user, contenders)
    with CaptureQueriesContext(connection) as queries:
        stored = vote_record(owner=Owner(user_id=user.pk), battle_id=battle.pk, winner="RIGHT")

    assert len(queries.captured_queries) == 1
    with connection.cursor() as cursor:  # planned once per connection: a prepared statement
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%INSERT INTO arena_vote%"])
        assert cursor.fetchone()[0] == 1
    assert (stored.left_name, stored.right_name) == (contenders[0].display_name, contenders[1].display_name)
    battle.refresh_from_db()
    assert battle.status == BattleStatus.VOTED and battle.len_left == battle.len_right == len("an answer")
    assert Vote.objects.get(battle=battle).winner == "RIGHT"


@pytest.mark.django_db
def test_refusals_say_why_whichever_way_the_vote_went(user, contenders, django_user_model):
    """The one-statement way stores nothing for a battle that isn't votable; the general way
    then gives the same clear refusal as before."""
    generating = make_battle(user, contenders, status=BattleStatus.GENERATING, side_status=ResponseStatus.PENDING)
    voted = make_battle(user, contenders)
    vote_record(owner=Owner(user_id=user.pk), battle_id=voted.pk, winner="LEFT")
    someone_elses = make_battle(django_user_model.objects.create_user("other", password="pw-long-enough"), contenders)

    with pytest.raises(errors.NotReady):
        vote_record(owner=Owner(user_id=user.pk), battle_id=generating.pk, winner="LEFT")
    with pytest.raises(errors.AlreadyVoted):
        vote_record(owner=Owner(user_id=user.pk), battle_id=voted.pk, winner="LEFT")
    with pytest.raises(errors.BattleNotFound):
        vote_record(owner=Owner(user_id=user.pk), battle_id=someone_elses.pk, winner="LEFT")
    assert Vote.objects.count() == 1
