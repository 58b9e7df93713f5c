"""Leaderboards from stored votes: SQL aggregation, fit, snapshots, single-flight, pages, API, live updates."""
import csv
import json
from datetime import timedelta
import threading
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.utils import timezone

from arena.leaderboards import leaderboard_fit, leaderboard_get_or_create
from arena.models import Battle, Contender, Leaderboard, LeaderboardSnapshot, Vote
from arena.ratings import bt_fit, count_table, elo_ratings
from arena.tokens import token_create

DATA = Path(__file__).resolve().parents[1] / "data" / "llmfao" / "crowd-comparisons.csv"
WINNER = {"left": "model_a", "right": "model_b", "tie": "tie"}


def llmfao_jsonl(tmp_path, limit=None) -> Path:
    rows = list(csv.DictReader(DATA.open()))[:limit]
    path = tmp_path / "llmfao.jsonl"
    path.write_text("\n".join(json.dumps({"model_a": r["left"], "model_b": r["right"], "winner": WINNER[r["winner"]]}) for r in rows))
    return path


def synthetic(tmp_path, rows) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    call_command("import_battles", str(path))


@pytest.mark.django_db
def test_real_crowd_votes_fit_matches_a_direct_fit(tmp_path, capsys):
    call_command("import_battles", str(llmfao_jsonl(tmp_path)))
    capsys.readouterr()
    call_command("fit_leaderboard", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 59 and set(rows[0]) >= {"name", "rating", "ci_low", "ci_high", "battles"}
    assert rows[0]["name"] == "GPT 4" and all(r["ci_low"] <= r["rating"] <= r["ci_high"] for r in rows)
    # Independent of the database path: fit the CSV directly and compare every rating.
    raw = list(csv.DictReader(DATA.open()))
    names = sorted({r["left"] for r in raw} | {r["right"] for r in raw})
    idx = {n: i for i, n in enumerate(names)}
    matchups = np.array([(idx[r["left"]], idx[r["right"]]) for r in raw])
    outcomes = np.array([{"left": 1.0, "right": 0.0, "tie": 0.5}[r["winner"]] for r in raw])
    direct = bt_fit(count_table(matchups, outcomes, len(names))).ratings
    for r in rows:
        assert r["rating"] == pytest.approx(direct[idx[r["name"]]], abs=0.01)
    assert sum(r["battles"] for r in rows) == 2 * len(raw)


@pytest.mark.django_db
def test_filters_both_bad_and_categories(tmp_path):
    synthetic(tmp_path, [
        {"model_a": "a", "model_b": "b", "winner": "model_a", "category": "code"},
        {"model_a": "a", "model_b": "b", "winner": "tie (bothbad)", "category": "code"},
        {"model_a": "b", "model_b": "c", "winner": "model_b", "category": "chat"},
    ])  # fmt: skip
    everything = leaderboard_fit(leaderboard_id=leaderboard_get_or_create().pk)
    no_both_bad = leaderboard_fit(leaderboard_id=leaderboard_get_or_create(include_both_bad=False).pk)
    code = leaderboard_fit(leaderboard_id=leaderboard_get_or_create(category="code").pk)
    assert (everything.n_votes, no_both_bad.n_votes, code.n_votes) == (3, 2, 2)
    assert {m["name"] for m in code.result["models"]} == {"a", "b"}


@pytest.mark.django_db(transaction=True)
def test_single_flight_second_fit_skips_while_one_holds_the_row(tmp_path):
    synthetic(tmp_path, [{"model_a": "a", "model_b": "b", "winner": "model_a"}] * 3)
    board = leaderboard_get_or_create()
    held, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            Leaderboard.objects.select_for_update().get(pk=board.pk)
            held.set()
            release.wait(10)
        connections.close_all()

    t = threading.Thread(target=hold)
    t.start()
    held.wait(10)
    assert leaderboard_fit(leaderboard_id=board.pk) is None  # skip-locked: someone else is fitting
    release.set()
    t.join()
    assert leaderboard_fit(leaderboard_id=board.pk) is not None
    assert LeaderboardSnapshot.objects.count() == 1


@pytest.mark.django_db
def test_online_elo_continues_across_refits(tmp_path):
    rng = np.random.default_rng(3)
    rows = [{"model_a": a, "model_b": b, "winner": rng.choice(["model_a", "model_b", "tie"])}
            for a, b in rng.choice(["a", "b", "c", "d"], size=(60, 2)) if a != b]  # fmt: skip
    settle = lambda: Vote.objects.update(created_at=timezone.now() - timedelta(seconds=60))  # noqa: E731
    synthetic(tmp_path, rows[:30])
    settle()
    board = leaderboard_get_or_create()
    first = leaderboard_fit(leaderboard_id=board.pk)
    synthetic(tmp_path, rows[30:])
    fresh = leaderboard_fit(leaderboard_id=board.pk)
    assert fresh.n_votes == len(rows)  # counts see every vote at once
    elo_of = lambda snap: {m["id"]: m["elo"] for m in snap.result["models"]}  # noqa: E731
    assert elo_of(fresh) == elo_of(first)  # the unsettled votes wait for the next fit
    settle()
    snapshot = leaderboard_fit(leaderboard_id=board.pk)
    ids = {c.display_name: c.pk for c in Contender.objects.all()}
    votes = Vote.objects.order_by("pk").values_list("battle__contender_left_id", "battle__contender_right_id", "winner")
    order = sorted(ids.values())
    pos = {pk: i for i, pk in enumerate(order)}
    matchups = np.array([(pos[a], pos[b]) for a, b, _ in votes])
    outcomes = np.array([{"LEFT": 1.0, "RIGHT": 0.0, "TIE": 0.5}[w] for *_, w in votes])
    expected = elo_ratings(matchups, outcomes, len(order))
    got = {m["id"]: m["elo"] for m in snapshot.result["models"]}
    for pk, i in pos.items():
        assert got[pk] == pytest.approx(expected[i], abs=0.01)
    assert snapshot.params["last_vote_id"] == Vote.objects.order_by("-pk").first().pk


@pytest.mark.django_db
def test_style_control_finds_a_planted_length_preference(tmp_path):
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(3000):
        a, b = rng.choice(["m1", "m2", "m3"], size=2, replace=False)
        la, lb = rng.integers(50, 2000, size=2)
        p_a = 1 / (1 + np.exp(-1.5 * (la - lb) / (la + lb + 1) * 3))  # the longer answer tends to win
        rows.append({"model_a": a, "model_b": b, "winner": "model_a" if rng.random() < p_a else "model_b",
                     "len_a": int(la), "len_b": int(lb), "header_count_a": 0, "header_count_b": 0,
                     "list_count_a": 0, "list_count_b": 0, "bold_count_a": 0, "bold_count_b": 0})  # fmt: skip
    synthetic(tmp_path, rows)
    snapshot = leaderboard_fit(leaderboard_id=leaderboard_get_or_create(style_control=True).pk)
    coefs = snapshot.result["style_coefficients"]
    assert coefs["length"]["value"] > 0.5 and coefs["length"]["value"] > 5 * coefs["length"]["se"]
    ratings = [m["rating"] for m in snapshot.result["models"]]
    assert max(ratings) - min(ratings) < 40  # equal models once length is controlled for


@pytest.mark.django_db
def test_page_access_api_tokens_and_downloads(tmp_path, client, user, admin_user, settings):
    synthetic(tmp_path, [{"model_a": "<b>x</b>", "model_b": "y", "winner": "model_a"}] * 2)
    leaderboard_fit(leaderboard_id=leaderboard_get_or_create().pk)
    assert client.get("/arena/leaderboard/").status_code == 302
    client.force_login(user)
    assert client.get("/arena/leaderboard/").status_code == 302  # not staff
    assert client.get("/arena/api/leaderboard.json").status_code == 403
    client.force_login(admin_user)
    page = client.get("/arena/leaderboard/?ci=sandwich")
    assert page.status_code == 200 and b"<svg" in page.content
    assert b"<b>x</b>" not in page.content and b"&lt;b&gt;x&lt;/b&gt;" in page.content  # names escaped everywhere
    csv_body = client.get("/arena/api/leaderboard.csv").content.decode()
    assert csv_body.splitlines()[0].startswith("id,name,rating,ci_low,ci_high")

    client.logout()
    _, token = token_create(user=admin_user, name="ci", scopes=["LEADERBOARD_READ"])
    res = client.get("/arena/api/leaderboard.json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert res.status_code == 200 and {m["name"] for m in res.json()["models"]} == {"<b>x</b>", "y"}
    _, export_only = token_create(user=admin_user, name="x", scopes=["EXPORT"])
    assert client.get("/arena/api/leaderboard.json", HTTP_AUTHORIZATION=f"Bearer {export_only}").status_code == 403
    assert client.get("/arena/api/leaderboard.json", HTTP_AUTHORIZATION="Bearer pfa_wrong").status_code == 403

    settings.LEADERBOARD = {**settings.LEADERBOARD, "PUBLIC": True}
    assert client.get("/arena/leaderboard/").status_code == 200
    boards = Leaderboard.objects.count()
    assert client.get("/arena/leaderboard/?category=made-up").status_code == 400  # a GET creates no board
    assert client.get("/arena/api/leaderboard.json?category=made-up").status_code == 400
    assert Leaderboard.objects.count() == boards


@pytest.mark.django_db
def test_anchor_puts_the_chosen_contender_at_1000(tmp_path, admin_client):
    synthetic(tmp_path, [{"model_a": "a", "model_b": "b", "winner": "model_a"}] * 5 + [{"model_a": "b", "model_b": "a", "winner": "model_a"}] * 2)
    leaderboard_fit(leaderboard_id=leaderboard_get_or_create().pk)
    b = Contender.objects.get(display_name="b")
    rows = admin_client.get(f"/arena/api/leaderboard.json?anchor={b.pk}").json()["models"]
    anchored = {r["name"]: r for r in rows}
    assert anchored["b"]["rating"] == 1000.0 and anchored["a"]["rating"] > 1000.0
    assert anchored["a"]["ci_low"] <= anchored["a"]["rating"] <= anchored["a"]["ci_high"]


@pytest.mark.django_db(transaction=True)
def test_votes_trigger_a_refit(alice, contenders, settings):
    from tests.arena.helpers import post, start_battle, wait_ready
    from tests.conftest import wait_for

    settings.LEADERBOARD = {**settings.LEADERBOARD, "REFIT_EVERY_VOTES": 2}
    for _ in range(2):
        state = start_battle(alice)
        wait_ready(state["id"])
        assert post(alice, f"/arena/api/battles/{state['id']}/vote", {"winner": "A"}).status_code == 201
    snapshot = wait_for(lambda: LeaderboardSnapshot.objects.filter(leaderboard__style_control=False).first(), timeout=30)
    assert snapshot.n_votes == 2
    battle = Battle.objects.filter(status="VOTED").first()
    assert battle.len_left is not None and battle.len_right is not None  # style covariates stored with the vote


@pytest.mark.django_db
def test_active_sampling_favours_the_uncertain_contender(tmp_path, user, contenders, tiny_models, settings):
    from arena.contenders import contender_register
    from arena.owner import Owner
    from arena.services import battle_start

    third = contender_register(slug="tiny-gamma", display_name="Gamma", backend="TRANSFORMERS", model=str(tiny_models["tiny-gamma"]))
    a, b = contenders
    rows = [{"model_a": a.slug, "model_b": b.slug, "winner": "model_a"}] * 300 + [{"model_a": b.slug, "model_b": a.slug, "winner": "model_a"}] * 300
    synthetic(tmp_path, rows)
    leaderboard_fit(leaderboard_id=leaderboard_get_or_create().pk)
    rng = np.random.default_rng(0)
    settings.ARENA = {**settings.ARENA, "BATTLES_PER_HOUR": 10_000}
    battles = [battle_start(owner=Owner(user_id=user.pk), prompt="hi", rng=rng) for _ in range(200)]
    with_new = sum(third.pk in (x.contender_left_id, x.contender_right_id) for x in battles) / len(battles)
    assert with_new > 0.8  # uniform would give 2/3: the unrated contender gets the votes
    settings.ARENA = {**settings.ARENA, "SAMPLING": "weighted"}
    battles = [battle_start(owner=Owner(user_id=user.pk), prompt="hi", rng=rng) for _ in range(300)]
    uniform = sum(third.pk in (x.contender_left_id, x.contender_right_id) for x in battles) / len(battles)
    assert uniform == pytest.approx(2 / 3, abs=0.08)


@pytest.mark.django_db(transaction=True)
async def test_open_leaderboard_pages_hear_about_new_fits(tmp_path, admin_user, user):
    from asgiref.sync import sync_to_async
    from channels.layers import channel_layers
    from channels.testing import WebsocketCommunicator
    from django.test import Client

    from config.asgi import application

    channel_layers.backends.clear()

    async def socket_for(u):
        client = Client()
        await sync_to_async(client.force_login)(u)
        headers = [(b"origin", b"http://localhost"), (b"cookie", f"sessionid={client.session.session_key}".encode())]
        comm = WebsocketCommunicator(application, "/ws/leaderboard/", headers=headers)
        return comm, await comm.connect()

    outsider, (ok, code) = await socket_for(user)
    assert not ok and code == 4401
    await outsider.disconnect()  # as a server would (tests/arena/test_consumer.py says why)
    staff, (ok, _) = await socket_for(admin_user)
    assert ok
    await sync_to_async(synthetic)(tmp_path, [{"model_a": "a", "model_b": "b", "winner": "model_a"}] * 3)
    board = await sync_to_async(leaderboard_get_or_create)()
    snapshot = await sync_to_async(leaderboard_fit)(leaderboard_id=board.pk)
    event = await staff.receive_json_from(timeout=10)
    assert event == {"type": "leaderboard.updated", "leaderboard": board.pk, "snapshot": snapshot.pk}
    await staff.disconnect()
    channel_layers.backends.clear()


@pytest.mark.django_db
def test_refit_queues_only_boards_with_unseen_votes_of_their_own(tmp_path):
    from arena.leaderboards import leaderboards_refit_stale

    synthetic(tmp_path, [{"model_a": "a", "model_b": "b", "winner": "model_a", "category": "code"}] * 2)
    for board in [*Leaderboard.objects.all(), leaderboard_get_or_create(), leaderboard_get_or_create(category="code")]:
        leaderboard_fit(leaderboard_id=board.pk)
    assert leaderboards_refit_stale() == 1  # the new style-controlled default board, never fitted
    leaderboard_fit(leaderboard_id=leaderboard_get_or_create(style_control=True).pk)
    assert leaderboards_refit_stale() == 0
    synthetic(tmp_path, [{"model_a": "a", "model_b": "b", "winner": "tie", "category": "chat"}])
    stale = leaderboards_refit_stale()
    assert stale == 2  # the two all-votes boards; the "code" board saw nothing new


def test_a_board_without_votes_says_so_and_queues_nothing(client, admin_user):
    # given no vote at all
    client.force_login(admin_user)
    # when staff open the leaderboard
    page = client.get("/arena/leaderboard/").content.decode()
    # then the page says there are no votes (not that a fit is on its way), and no fit was queued
    assert "No votes for this view yet" in page and "data-pending-fit" not in page
    assert not LeaderboardSnapshot.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_refit_is_tried_only_at_each_multiple_of_the_vote_count(settings):
    """Past the threshold, a debounced refit must not cost every later vote a second Redis
    round trip: only the vote that reaches a multiple of REFIT_EVERY_VOTES tries."""
    from django.core.cache import cache

    from arena.leaderboards import REFIT_QUEUED_KEY, VOTES_SINCE_FIT_KEY, vote_counted_for_refit

    settings.LEADERBOARD = {**settings.LEADERBOARD, "REFIT_EVERY_VOTES": 3}
    cache.delete_many([REFIT_QUEUED_KEY, VOTES_SINCE_FIT_KEY])
    for _ in range(3):
        vote_counted_for_refit()
    assert cache.get(REFIT_QUEUED_KEY) == 1 and cache.get(VOTES_SINCE_FIT_KEY) == 0  # tried, queued, counted down
    for _ in range(6):  # debounced: counted, not queued
        vote_counted_for_refit()
    assert cache.get(VOTES_SINCE_FIT_KEY) == 6
    cache.delete(REFIT_QUEUED_KEY)  # the debounce window ends
    vote_counted_for_refit()
    assert cache.get(REFIT_QUEUED_KEY) is None  # 7 is no multiple of 3: no try (a try would set the key)
    vote_counted_for_refit()
    vote_counted_for_refit()
    assert cache.get(REFIT_QUEUED_KEY) == 1 and cache.get(VOTES_SINCE_FIT_KEY) == 0
    cache.delete_many([REFIT_QUEUED_KEY, VOTES_SINCE_FIT_KEY])
