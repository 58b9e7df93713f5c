"""Production path: a real Celery worker process, Redis broker and channel layer, PostgreSQL,
the real WebSocket consumer. Pins issue 2's invariants 1, 4 and 5 end to end."""
import json
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers

from arena.contenders import contender_register
from arena.models import Battle, BattleStatus, Response, ResponseStatus, Vote
from tests.arena.helpers import assert_no_identity, post, start_battle
from tests.conftest import wait_for
from tests.support.celery import celery_worker, kill_worker, purge_queues
from tests.support.openai_server import serve_openai
from tests.support.ws import collect_until_done, communicator

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LOGS = Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture(autouse=True)
def production_mode(settings):
    settings.EMBEDDED = False  # tasks go to the broker, the worker process runs them
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def queues(*contenders):
    return [c.queue for c in contenders]


async def test_battle_through_worker_and_consumer(alice, contenders):
    purge_queues(*queues(*contenders))
    with celery_worker(queues(*contenders), LOGS / "celery-battle.log"):
        comm = communicator(alice.session.session_key)
        assert (await comm.connect())[0]
        state = await sync_to_async(start_battle)(alice)
        frames = await collect_until_done(comm, state["id"], timeout=90)
        assert_no_identity("\n".join(frames), contenders)
        kinds = [json.loads(f)["type"] for f in frames]
        assert "battle.token" in kinds and kinds.count("battle.side_done") == 2
        battle = await sync_to_async(Battle.objects.get)(pk=state["id"])
        assert battle.status == BattleStatus.READY
        res = await sync_to_async(lambda: post(alice, f"/arena/api/battles/{state['id']}/vote", {"winner": "A"}))()
        assert res.status_code == 201
        await comm.disconnect()


def test_failing_backend_fails_its_side_without_naming_it(alice, contenders, tiny_models):
    broken = contender_register(
        slug="broken-endpoint",
        display_name="Broken Endpoint Model",
        backend="OPENAI",
        model="tiny-alpha",
        base_url="http://127.0.0.1:9/v1",  # nothing listens on the discard port: connection refused
    )
    contenders[1].is_active = False
    contenders[1].save()
    purge_queues(*queues(contenders[0], broken))
    with celery_worker(queues(contenders[0], broken), LOGS / "celery-failure.log"):
        state = start_battle(alice)
        wait_for(lambda: Battle.objects.get(pk=state["id"]).status == BattleStatus.FAILED, timeout=60)
    body = alice.get(f"/arena/api/battles/{state['id']}")
    assert_no_identity(body.content.decode(), [contenders[0], broken])
    failed = [s for s in body.json()["battle"]["turns"][0]["sides"].values() if s["status"] == "FAILED"]
    assert failed == [{"status": "FAILED", "message": "This model failed to answer."}]
    failed_row = Response.objects.get(turn__battle_id=state["id"], status=ResponseStatus.FAILED)
    assert failed_row.attempts == 3  # one try and two retries for a transient error
    vote = post(alice, f"/arena/api/battles/{state['id']}/vote", {"winner": "A"})
    assert vote.status_code == 409 and vote.json()["error"] == "battle_failed"


def test_killed_worker_loses_no_vote_and_shows_nothing_complete(alice, contenders, tiny_models):
    """Kill -9 the worker while a side is mid-generation, then bring a worker back."""
    earlier = Battle.objects.create(owner_id=alice.session["_auth_user_id"], contender_left=contenders[0], contender_right=contenders[1], status=BattleStatus.VOTED)
    Vote.objects.create(battle=earlier, winner="LEFT")
    with serve_openai(tiny_models["tiny-alpha"], delay_s=30) as slow_url:
        slow = contender_register(slug="slow-endpoint", display_name="Slow Endpoint", backend="OPENAI", model="tiny-alpha", base_url=slow_url)
        contenders[1].is_active = False
        contenders[1].save()
        purge_queues(*queues(contenders[0], slow))
        log = LOGS / "celery-kill.log"
        with celery_worker(queues(contenders[0], slow), log, visibility_timeout_s=2) as worker:
            state = start_battle(alice)
            # The slow side is claimed (attempt 1) and waiting on its endpoint: kill now.
            battle = Battle.objects.get(pk=state["id"])
            slow_side = "LEFT" if battle.contender_left_id == slow.pk else "RIGHT"
            claimed = Response.objects.filter(turn__battle=battle, side=slow_side, attempts=1, started_at__isnull=False)
            wait_for(claimed.exists, timeout=60)
            time.sleep(0.5)
            kill_worker(worker)
        pending = Response.objects.filter(turn__battle_id=state["id"]).exclude(status=ResponseStatus.DONE)
        assert pending.exists(), "the side that was cut off must not be complete"
        assert all(r.text == "" for r in pending)
        assert Battle.objects.get(pk=state["id"]).status == BattleStatus.GENERATING
        shown = alice.get(f"/arena/api/battles/{state['id']}").json()["battle"]["turns"][0]["sides"]
        assert "PENDING" in {s["status"] for s in shown.values()}
        refused = post(alice, f"/arena/api/battles/{state['id']}/vote", {"winner": "A"})
        assert refused.status_code == 409 and refused.json()["error"] == "not_ready"
        assert Vote.objects.filter(battle=earlier).count() == 1

    # A new worker gets the unacknowledged task back and finishes the side (attempt 2).
    with serve_openai(tiny_models["tiny-alpha"]) as fast_url:
        contender_register(slug="slow-endpoint", display_name="Slow Endpoint", backend="OPENAI", model="tiny-alpha", base_url=fast_url)
        with celery_worker(queues(contenders[0], slow), LOGS / "celery-kill.log", visibility_timeout_s=2):
            wait_for(lambda: Battle.objects.get(pk=state["id"]).status == BattleStatus.READY, timeout=60)
    redone = Response.objects.get(turn__battle=battle, side=slow_side)
    assert redone.status == ResponseStatus.DONE and redone.attempts >= 2 and redone.text
    assert Vote.objects.filter(battle=earlier).count() == 1
