"""The arena WebSocket: session auth, origin check, owner-only events, no identity before the vote."""
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers

from arena.models import Response
from tests.arena.helpers import assert_no_identity, post, start_battle
from tests.support.ws import collect_until_done, communicator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_layer():
    # A Redis layer reused across event loops lost the first message (STACK.md): one per test.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


# After a refused connection the server sends websocket.disconnect, which ends the consumer;
# the tests do too: a consumer left running is cancelled with its Redis receive when the test's
# event loop closes, and one suite run hung there (teardown waiting on the cancelled tasks).
async def test_signed_out_socket_is_closed():
    comm = communicator()
    connected, code = await comm.connect()
    assert not connected and code == 4401
    await comm.disconnect()


async def test_foreign_origin_is_refused(alice):
    comm = communicator(alice.session.session_key, origin="http://evil.example")
    connected, _ = await comm.connect()
    assert not connected
    await comm.disconnect()


async def test_owner_sees_tokens_then_done_and_nothing_names_a_contender(alice, client, other_user, contenders):
    comm = communicator(alice.session.session_key)
    assert (await comm.connect())[0]
    other = client.__class__()
    await sync_to_async(other.force_login)(other_user)
    bystander = communicator(other.session.session_key)
    assert (await bystander.connect())[0]

    state = await sync_to_async(start_battle)(alice)
    frames = await collect_until_done(comm, state["id"])

    events = [json.loads(f) for f in frames]
    assert_no_identity("\n".join(frames), contenders)
    streamed = {"A": "", "B": ""}
    for e in events:
        if e["type"] == "battle.token":
            streamed[e["side"]] += e["text"]
    texts = await sync_to_async(lambda: {r.side: r.text for r in Response.objects.filter(turn__battle_id=state["id"])})()
    assert streamed == {"A": texts["LEFT"], "B": texts["RIGHT"]}
    assert all(t for t in streamed.values()), "tiny models produced text"
    assert events[-1]["battle_status"] == "READY"
    assert await bystander.receive_nothing(timeout=0.3)

    body = await sync_to_async(lambda: post(alice, f"/arena/api/battles/{state['id']}/vote", {"winner": "BOTH_BAD"}))()
    assert body.status_code == 201 and body.json()["battle"]["reveal"]
    await comm.disconnect()
    await bystander.disconnect()


@pytest.mark.slow
def test_idle_sockets_stay_open_on_the_redis_layer(alice, settings, tmp_path):
    """Regression: redis-py's 5 s read timeout raced channels_redis's 5 s blocking pop and closed
    idle sockets about every 5 s. A real server, a real client, 12 s of silence."""
    import asyncio

    import websockets

    from tests.support.server import asgi_server

    async def idle_then_ping(url: str) -> dict:
        headers = {"Cookie": f"sessionid={alice.session.session_key}", "Origin": "http://localhost"}
        async with websockets.connect(url.replace("http", "ws") + "/ws/arena/", additional_headers=headers) as ws:
            await asyncio.sleep(12)
            await ws.send(json.dumps({"type": "ping"}))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    with asgi_server(tmp_path / "server.log", REDIS_URL=settings.REDIS_URL) as url:
        assert asyncio.run(idle_then_ping(url)) == {"type": "pong"}
