"""config/wsgi_bridge.py driven through the ASGI protocol directly (the live-server and browser
tests run it under uvicorn with the whole app)."""
import asyncio
import time

import pytest

from config import wsgi_bridge
from config.wsgi_bridge import MAX_DUPLICATE_HEADERS, SPOOL_MAX_BYTES, WsgiBridge


def scope(**extra) -> dict:
    base = {
        "type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/a/b", "root_path": "",
        "query_string": b"x=1", "server": ("127.0.0.1", 8000), "client": ("10.0.0.7", 5555),
        "headers": [(b"content-type", b"application/json"), (b"x-thing", b"yes")],
    }  # fmt: skip
    return {**base, **extra}


def call(app, scope: dict, messages: list[dict], *, then_disconnect: bool = False) -> list[dict]:
    """Run one request; after `messages` the client stays (receive waits) unless then_disconnect."""
    sent = []
    incoming = list(messages)

    async def receive():
        if incoming:
            return incoming.pop(0)
        if not then_disconnect:
            await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


class Streaming:
    """What Django's StreamingHttpResponse / FileResponse look like to a WSGI server."""

    streaming = True

    def __init__(self, chunks):
        self.chunks, self.closed = chunks, False

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        self.closed = True


class Body(list):
    """An ordinary response body that records being closed (Django's close() hands the
    database connection back)."""

    closed = False

    def close(self):
        self.closed = True


def test_an_ordinary_response_comes_back_whole_with_the_request_as_sent():
    seen = {}

    def app(environ, start_response):
        seen.update(environ, body=environ["wsgi.input"].read())
        start_response("201 Created", [("Content-Type", "application/json"), ("X-One", "1")])
        return body

    body = Body([b'{"ok": ', b"true}"])
    sent = call(WsgiBridge(app, threads=2), scope(), [{"type": "http.request", "body": b'{"a": 1}'}])

    assert sent == [
        {"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"application/json"), (b"x-one", b"1")]},
        {"type": "http.response.body", "body": b'{"ok": true}'},
    ]
    assert (seen["REQUEST_METHOD"], seen["PATH_INFO"], seen["QUERY_STRING"]) == ("POST", "/a/b", "x=1")
    assert (seen["CONTENT_TYPE"], seen["HTTP_X_THING"], seen["REMOTE_ADDR"]) == ("application/json", "yes", "10.0.0.7")
    assert (seen["SERVER_NAME"], seen["SERVER_PORT"], seen["body"]) == ("127.0.0.1", "8000", b'{"a": 1}')
    assert body.closed


def test_a_streaming_response_is_sent_chunk_by_chunk_and_closed():
    response = Streaming([b"one", b"", b"two"])

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return response

    sent = call(WsgiBridge(app, threads=2), scope(method="GET"), [{"type": "http.request", "body": b""}])

    assert [m.get("body") for m in sent] == [None, b"one", b"two", None]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, False]
    assert response.closed


def test_a_large_body_in_pieces_reaches_the_app_whole():
    piece = b"x" * (SPOOL_MAX_BYTES // 2 + 1)
    got = {}

    def app(environ, start_response):
        got["body"] = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [b""]

    messages = [{"type": "http.request", "body": piece, "more_body": True}] * 3 + [{"type": "http.request", "body": b"end"}]
    call(WsgiBridge(app, threads=2), scope(), messages)

    assert got["body"] == piece * 3 + b"end"


def test_too_many_duplicate_headers_get_400_and_never_reach_the_app():
    def app(environ, start_response):
        raise AssertionError("must not be called")

    headers = [(b"x-dup", b"v")] * (MAX_DUPLICATE_HEADERS + 1)
    sent = call(WsgiBridge(app, threads=2), scope(headers=headers), [{"type": "http.request", "body": b""}])

    assert sent[0]["status"] == 400


def test_a_client_gone_before_its_body_runs_nothing():
    def app(environ, start_response):
        raise AssertionError("must not be called")

    assert call(WsgiBridge(app, threads=2), scope(), [{"type": "http.disconnect"}]) == []


def test_repeated_headers_are_joined_as_asgiref_did():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    call(WsgiBridge(app, threads=2), scope(headers=[(b"accept", b"a"), (b"accept", b"b")]), [{"type": "http.request"}])

    assert seen["HTTP_ACCEPT"] == "a,b"


def test_websocket_scopes_are_refused():
    with pytest.raises(ValueError):
        call(WsgiBridge(lambda e, s: [], threads=1), {"type": "websocket"}, [])


def test_a_stream_stops_when_the_client_leaves_and_is_closed():
    def chunks():
        yield b"one"
        time.sleep(0.3)  # the client's disconnect arrives meanwhile
        yield b"two"
        yield b"three"

    response = Streaming(chunks())

    def app(environ, start_response):
        start_response("200 OK", [])
        return response

    sent = call(WsgiBridge(app, threads=1), scope(method="GET"), [{"type": "http.request"}], then_disconnect=True)

    bodies = [m.get("body") for m in sent if m["type"] == "http.response.body"]
    assert bodies in ([], [b"one"])  # nothing after the client left, not even the end of the body
    assert response.closed


def test_a_client_that_takes_nothing_is_dropped_after_the_send_timeout(monkeypatch):
    monkeypatch.setattr(wsgi_bridge, "SEND_TIMEOUT_S", 0.2)
    response = Streaming([b"one", b"two"])

    def app(environ, start_response):
        start_response("200 OK", [])
        return response

    requests = [{"type": "http.request"}]

    async def receive():
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected

    async def stuck_send(message):
        if message["type"] == "http.response.body":
            await asyncio.Event().wait()  # and never reads: the transport never drains

    with pytest.raises(ConnectionAbortedError):
        asyncio.run(WsgiBridge(app, threads=1)(scope(method="GET"), receive, stuck_send))
    assert response.closed


def test_the_query_string_may_hold_any_byte():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [])
        return []

    call(WsgiBridge(app, threads=1), scope(query_string=b"q=caf\xe9"), [{"type": "http.request"}])

    assert seen["QUERY_STRING"] == "q=caf\xe9"
