"""Plain HTTP under the ASGI server, through Django's WSGI handler on a worker thread.

All our HTTP views are synchronous. Under Django's ASGI handler each request hops between the
event loop and threads once per middleware (py-spy put ~75% of the web tier's CPU per vote
there). asgiref's WsgiToAsgi runs the whole chain in one thread, but sends every piece of the
response back through its own AsyncToSync hop (start, each chunk, end: three for a JSON answer);
on the vote path that was ~1 ms of web CPU. Here
the request body is read on the loop, the app runs on one of a fixed set of threads, and an
ordinary response comes back to the loop once, whole. A streaming response (file downloads,
exports) is sent chunk by chunk from a stream thread of its own, so that slow readers can't hold
the request threads; each chunk waits for the loop to take it (at most SEND_TIMEOUT_S), so a
large file never sits in memory, and sending stops when the client leaves. WebSockets stay with
Channels (config/asgi.py).
"""
import asyncio
import concurrent.futures
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.wsgi import WsgiToAsgiInstance
from django.db import close_old_connections

# Bodies up to this size stay in memory; larger ones (file uploads) spill to a temporary file.
SPOOL_MAX_BYTES = 64 * 1024
MAX_DUPLICATE_HEADERS = 100
STREAM_THREADS = 32  # downloads sent at once per process
SEND_TIMEOUT_S = 60  # a client that takes no chunk for this long is dropped


def wsgi_environ(scope: dict, body) -> dict:
    """asgiref's WSGI environ of an ASGI HTTP scope (PEP 3333), with the query string decoded as
    latin-1 (asgiref decodes it as ASCII and fails on a raw non-ASCII byte). Raises ValueError
    for a header repeated more than MAX_DUPLICATE_HEADERS times."""
    builder = WsgiToAsgiInstance(None, MAX_DUPLICATE_HEADERS)
    builder.scope = scope  # build_environ reads the headers from its instance's scope
    environ = builder.build_environ({**scope, "query_string": b""}, body)
    environ["QUERY_STRING"] = scope["query_string"].decode("latin1")
    return environ


class _Response:
    """Filled by the app's start_response on the worker thread."""

    def __init__(self):
        self.status, self.headers = 500, []

    def start_response(self, status: str, headers: list, exc_info=None):
        # Nothing is sent before the app returns, so a second call (an error page, with
        # exc_info) simply replaces the first.
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]
        return self._write

    @staticmethod
    def _write(data: bytes) -> None:
        raise NotImplementedError("write() is not supported: return the body (Django never calls it)")


class WsgiBridge:
    """An ASGI app (HTTP only) running the WSGI app `wsgi_app` on `threads` worker threads."""

    def __init__(self, wsgi_app, threads: int):
        self.wsgi_app = wsgi_app
        # Requests in flight per process; each holds a database connection while it runs.
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")
        # Streaming bodies (downloads) are sent from threads of their own, so that slow readers
        # can't take the request threads from everyone else.
        self.stream_executor = ThreadPoolExecutor(max_workers=STREAM_THREADS, thread_name_prefix="http-stream")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"WsgiBridge serves HTTP only, not {scope['type']!r}")
        body = await self._read_body(receive)
        if body is None:  # the client left before sending its request
            return
        try:
            try:
                environ = wsgi_environ(scope, body)
            except ValueError:
                await self._answer(send, 400, b"Bad Request: too many duplicate headers")
                return
            loop = asyncio.get_running_loop()
            response, content = await loop.run_in_executor(self.executor, self._run, environ)
            if isinstance(content, bytes):  # a whole response: one trip back to the loop
                await send({"type": "http.response.start", "status": response.status, "headers": response.headers})
                await send({"type": "http.response.body", "body": content})
                return
            gone = threading.Event()
            watcher = asyncio.create_task(self._watch(receive, gone))
            try:
                await loop.run_in_executor(self.stream_executor, self._stream, content, response, loop, send, gone)
            finally:
                watcher.cancel()
        finally:
            body.close()

    @staticmethod
    async def _read_body(receive):
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)  # in memory up to the limit
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body.close()
                return None
            body.write(message.get("body", b""))
            if not message.get("more_body"):
                break
        body.seek(0)
        return body

    @staticmethod
    async def _answer(send, status: int, text: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": text})

    @staticmethod
    async def _watch(receive, gone: threading.Event) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    def _run(self, environ: dict):
        """On a request thread: (response, body bytes) of an ordinary response, closed as WSGI
        requires (Django's request_finished, which hands the database connection back), or
        (response, the open iterable) of a streaming one."""
        response = _Response()
        result = self.wsgi_app(environ, response.start_response)
        if getattr(result, "streaming", False):
            close_old_connections()  # as request_finished would: the stream is closed on another thread
            return response, result
        try:
            return response, b"".join(result)
        finally:
            _close(result)

    @staticmethod
    def _stream(result, response: _Response, loop, send, gone: threading.Event) -> None:
        """On a stream thread: each chunk waits for the loop to take it (back-pressure), at most
        SEND_TIMEOUT_S; stops when the client has gone. Always closes the response."""

        def send_now(message: dict) -> None:
            future = asyncio.run_coroutine_threadsafe(send(message), loop)
            try:
                future.result(timeout=SEND_TIMEOUT_S)
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise ConnectionAbortedError(f"the client took nothing for {SEND_TIMEOUT_S} s") from None

        try:
            send_now({"type": "http.response.start", "status": response.status, "headers": response.headers})
            for chunk in result:
                if gone.is_set():
                    return
                if chunk:
                    send_now({"type": "http.response.body", "body": chunk, "more_body": True})
            send_now({"type": "http.response.body"})
        finally:
            _close(result)


def _close(result) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()
