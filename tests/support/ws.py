"""WebSocket helpers for tests: a communicator carrying a Django test client's session."""
import json

from channels.testing import WebsocketCommunicator

from config.asgi import application


def communicator(session_key: str | None = None, origin: str = "http://localhost") -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode())]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return WebsocketCommunicator(application, "/ws/arena/", headers=headers)


async def collect_until_done(comm: WebsocketCommunicator, battle_id: str, sides=("A", "B"), timeout=60.0) -> list[dict]:
    """Every frame of a battle turn until each side is done or failed, raw text kept for leak scans."""
    frames, finished = [], set()
    while finished != set(sides):
        raw = await comm.receive_output(timeout=timeout)
        assert raw["type"] == "websocket.send", raw
        frames.append(raw["text"])
        event = json.loads(raw["text"])
        if event.get("battle") == battle_id and event["type"] in ("battle.side_done", "battle.side_failed"):
            finished.add(event["side"])
    return frames
