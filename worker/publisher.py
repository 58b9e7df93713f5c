"""Channel-layer events from synchronous code (tasks, services), in order and off the caller's thread.

Why not `async_to_sync(layer.group_send)` per event: it runs each call in a fresh event loop,
and channels_redis keeps its connections per loop, so every token would open a connection.
Here one sender coroutine drains a queue on one long-lived loop, and consecutive token events
for the same side are merged while the sender is busy, so a fast model never floods the layer.

With the in-memory layer (embedded default) the receivers' queues belong to the server's event
loop, so the sender must run on that loop: the consumer registers it with `use_loop`.
"""
import asyncio
import json
import logging
import threading

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

# After sending token events the sender waits this long, so the tokens written meanwhile go out
# merged in one event. Without it nearly every token was its own group_send, ~1.4 ms of worker
# CPU per token, and a tiny model streamed at 0.4-0.5 of its own speed; with it, ~45 events per
# 800-token reply and 0.76-0.97 (tests/bench/test_streaming_overhead.py, 2 cores). 25 ms
# (~40 events/s) is below what a reader notices.
TOKEN_FLUSH_INTERVAL_S = 0.025


def _mergeable(a: dict, b: dict) -> bool:
    keys = ("battle", "turn", "side")
    return a["type"] == b["type"] == "battle.token" and all(a.get(k) == b.get(k) for k in keys)


def coalesce(batch: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Merge runs of token events for the same group and side; keeps every other event in order."""
    out: list[tuple[str, dict]] = []
    for group, event in batch:
        if out and out[-1][0] == group and _mergeable(out[-1][1], event):
            out[-1] = (group, {**out[-1][1], "text": out[-1][1]["text"] + event["text"]})
        else:
            out.append((group, event))
    return out


class EventPublisher:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[str, dict]] = []
        self._draining = False
        self._idle = threading.Event()
        self._idle.set()
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None

    def use_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send on this loop from now on (the ASGI server's, for the in-memory layer)."""
        self._server_loop = loop

    def send(self, group: str, event: dict) -> None:
        """Queue one event for `group`; returns at once. The JSON round trip makes a payload
        that could not cross a broker fail here, in tests too."""
        event = json.loads(json.dumps(event))
        with self._lock:
            self._pending.append((group, event))
            if self._draining:
                return
            self._draining = True
            self._idle.clear()
        asyncio.run_coroutine_threadsafe(self._drain(), self._target_loop())

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until every queued event was handed to the layer; False on timeout."""
        return self._idle.wait(timeout)

    def _target_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._server_loop
        if loop is not None and not loop.is_closed() and loop.is_running():
            return loop
        if self._own_loop is None:
            self._own_loop = asyncio.new_event_loop()
            threading.Thread(target=self._own_loop.run_forever, name="event-publisher", daemon=True).start()
        return self._own_loop

    async def _drain(self) -> None:
        layer = get_channel_layer()
        while True:
            with self._lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._draining = False
                    self._idle.set()
                    return
            for group, event in coalesce(batch):
                try:
                    await layer.group_send(group, event)
                except Exception:  # a full or unreachable layer loses a live event, never a stored result
                    log.exception("group_send to %s failed", group)
            if any(event["type"] == "battle.token" for _, event in batch):
                await asyncio.sleep(TOKEN_FLUSH_INTERVAL_S)


publisher = EventPublisher()
