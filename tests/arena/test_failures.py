"""A backend that fails or times out fails its side; the user is told without any identity
(issue 2, pinned test 4). Tasks run on threads here; tests/worker covers the Celery process."""
from datetime import timedelta

import pytest
from django.utils import timezone

from arena.contenders import contender_register
from arena.models import Battle, BattleStatus, Response, ResponseStatus, Turn
from arena.responses import battle_expire_stale
from tests.arena.helpers import assert_no_identity, post, start_battle, wait_status
from tests.support.openai_server import serve_openai

pytestmark = pytest.mark.django_db(transaction=True)


def endpoint(url: str, **generation):
    return contender_register(
        slug="endpoint-x", display_name="Endpoint X Model", backend="OPENAI", model="tiny-alpha", base_url=url, generation=generation
    )


def assert_failed_cleanly(client, battle_id, contenders):
    body = client.get(f"/arena/api/battles/{battle_id}")
    assert_no_identity(body.content.decode(), contenders)
    sides = body.json()["battle"]["turns"][0]["sides"].values()
    assert {"status": "FAILED", "message": "This model failed to answer."} in list(sides)
    vote = post(client, f"/arena/api/battles/{battle_id}/vote", {"winner": "A"})
    assert vote.status_code == 409 and vote.json()["message"].endswith("Start a new battle.")
    assert_no_identity(vote.content.decode(), contenders)


def test_endpoint_timeout_fails_the_side_after_retries(alice, contenders, tiny_models):
    with serve_openai(tiny_models["tiny-alpha"], delay_s=20) as url:
        slow = endpoint(url, timeout_s=1)
        contenders[1].is_active = False
        contenders[1].save()
        state = start_battle(alice)
        battle = wait_status(state["id"], BattleStatus.FAILED, timeout=60)
    failed = Response.objects.get(turn__battle=battle, status=ResponseStatus.FAILED)
    assert failed.attempts == 3 and "retries exhausted" in failed.error
    assert_failed_cleanly(alice, state["id"], [contenders[0], slow])


def test_endpoint_client_error_fails_at_once_without_retry(alice, contenders, tiny_models):
    with serve_openai(tiny_models["tiny-alpha"], status=400) as url:
        bad = endpoint(url)
        contenders[1].is_active = False
        contenders[1].save()
        state = start_battle(alice)
        wait_status(state["id"], BattleStatus.FAILED, timeout=60)
    failed = Response.objects.get(turn__battle_id=state["id"], status=ResponseStatus.FAILED)
    assert failed.attempts == 1 and failed.error.startswith("backend error")
    assert_failed_cleanly(alice, state["id"], [contenders[0], bad])


def test_missing_model_folder_fails_the_side(alice, contenders):
    contenders[1].model = "/nonexistent/model-folder"
    contenders[1].save()
    state = start_battle(alice)
    wait_status(state["id"], BattleStatus.FAILED, timeout=60)
    assert_failed_cleanly(alice, state["id"], contenders)


def test_stale_sides_are_failed_by_the_sweep(user, contenders):
    from tests.arena.test_votes import make_battle

    battle = make_battle(user, contenders, status=BattleStatus.GENERATING, side_status=ResponseStatus.PENDING)
    sides = Response.objects.filter(turn__battle=battle)
    assert battle_expire_stale(older_than_s=60) == 0  # queued just now: left alone
    Turn.objects.filter(battle=battle).update(created_at=timezone.now() - timedelta(minutes=3))
    assert battle_expire_stale(older_than_s=60) == 0  # queued 3 min, never started: a backlog, not a lost worker
    sides.filter(side="LEFT").update(started_at=timezone.now() - timedelta(minutes=2))
    assert battle_expire_stale(older_than_s=60) == 1  # started 2 min ago and silent: its worker is gone
    assert Battle.objects.get(pk=battle.pk).status == BattleStatus.FAILED
    queued = make_battle(user, contenders, status=BattleStatus.GENERATING, side_status=ResponseStatus.PENDING)
    Turn.objects.filter(battle=queued).update(created_at=timezone.now() - timedelta(minutes=7))
    assert battle_expire_stale(older_than_s=60) == 2  # never started within 6x the limit
    assert Battle.objects.get(pk=queued.pk).status == BattleStatus.FAILED
