"""Channel-layer events from synchronous code (tasks, services), in order and off the caller's thread.

Why not `async_to_sync(layer.group_send)` per event: it runs each call in a fresh event loop,
and channels_redis keeps its connections per loop, so every token would open a connection.
Here one sender coroutine drains a queue on one long-lived loop, and consecutive tokens for the
same side are merged while the sender is busy, so a fast model never floods the layer.

With the in-memory layer (embedded default) the receivers' queues belong to the server's event
loop, so the sender must run on that loop: the consumer registers it with `use_loop`.
"""
import asyncio
import json
import logging
import threading
from dataclasses import dataclass

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

# After sending token events the sender waits this long, so the tokens written meanwhile go out
# merged in one event. Without it nearly every token was its own group_send (~700 per 800-token
# reply) and a tiny model streamed at 0.4-0.5 of its own speed. Each group_send is 4 Redis round
# trips of Python on this process's second thread, which takes the GIL from generation: in
# process, a tiny model at ~1,300 tokens/s kept ~0.85-0.91 of its speed at 25 ms (~40 events/s)
# and ~0.95 at 50 ms (tests/bench/test_streaming_overhead.py, /tmp A/B runs, 2 cores). 50 ms
# (20 updates/s) still reads as a continuous stream; the first token goes out at once, and
# flush() cuts the wait short, so the end of a reply doesn't wait either.
TOKEN_FLUSH_INTERVAL_S = 0.05


def _checked(event: dict) -> dict:
    """The event as a broker would deliver it: a payload that can't cross one fails here, in tests too."""
    return json.loads(json.dumps(event))


@dataclass
class _Queued:
    group: str
    event: dict
    texts: list[str] | None = None  # a run of token texts, sent as one event with their concatenation
    source: dict | None = None  # the caller's token event dict, to recognise the run's next token

    def payload(self) -> dict:
        return self.event if self.texts is None else {**self.event, "text": "".join(self.texts)}


class EventPublisher:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Queued] = []
        self._draining = False
        self._idle = threading.Event()
        self._idle.set()
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # where the running drain runs
        self._pause: asyncio.Future | None = None  # the drain's wait between token sends
        self._hurry = False  # flush() was called: no more waits until the queue is empty

    def use_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send on this loop from now on (the ASGI server's, for the in-memory layer)."""
        self._server_loop = loop

    def send(self, group: str, event: dict) -> None:
        """Queue one event for `group`; returns at once."""
        self._queue(lambda: self._pending.append(_Queued(group, _checked(event))))

    def send_token(self, group: str, event: dict, text: str) -> None:
        """Queue `text` for the token event `event` (type battle.token, without its text); returns
        at once. Consecutive tokens of one `event` dict are merged into one event as they are
        queued: per token this is a list append, where a dict, a JSON round trip and a later merge
        were ~2% of a tiny model's generation time (py-spy, tests/bench/test_streaming_overhead.py)."""

        def queue() -> None:
            last = self._pending[-1] if self._pending else None
            if last is not None and last.source is event and last.group == group:
                last.texts.append(text)
            else:
                self._pending.append(_Queued(group, _checked({**event, "text": ""}), [text], event))

        self._queue(queue)

    def flush(self, timeout: float = 10.0) -> bool:
        """Send what is queued now (cutting the wait between token events short) and block until
        every queued event was handed to the layer; False on timeout."""
        with self._lock:
            self._hurry = self._draining
            loop, pause = self._loop, self._pause
        if pause is not None:
            loop.call_soon_threadsafe(_resolve, pause)
        return self._idle.wait(timeout)

    def _queue(self, add) -> None:
        with self._lock:
            add()
            if self._draining:
                return
            self._draining = True
            self._idle.clear()
            self._loop = self._target_loop()
        asyncio.run_coroutine_threadsafe(self._drain(), self._loop)

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
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._draining = self._hurry = False
                    self._idle.set()
                    return
            for queued in batch:
                try:
                    await layer.group_send(queued.group, queued.payload())
                except Exception:  # a full or unreachable layer loses a live event, never a stored result
                    log.exception("group_send to %s failed", queued.group)
            if any(queued.texts is not None for queued in batch):
                with self._lock:
                    if self._hurry:
                        continue
                    self._pause = pause = loop.create_future()
                timer = loop.call_later(TOKEN_FLUSH_INTERVAL_S, _resolve, pause)
                await pause
                timer.cancel()
                with self._lock:
                    self._pause = None


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


publisher = EventPublisher()
