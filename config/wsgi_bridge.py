"""Plain HTTP under the ASGI server, through Django's WSGI handler on a worker thread.

All our HTTP views are synchronous. Under Django's ASGI handler each request hops between the
event loop and threads once per middleware (py-spy put ~75% of the web tier's CPU per vote
there). asgiref's WsgiToAsgi runs the whole chain in one thread, but sends every piece of the
response back through its own AsyncToSync hop (start, each chunk, end: three for a JSON answer)
and spools each body through a temporary file; on the vote path that was ~1 ms of web CPU. Here
the request body is read on the loop, the app runs on one of a fixed set of threads, and an
ordinary response comes back to the loop once, whole. A streaming response (file downloads,
exports) is sent chunk by chunk from the thread, each chunk waiting for the loop to take it,
so a large file never sits in memory. WebSockets stay with Channels (config/asgi.py).
"""
import asyncio
import io
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

# Bodies up to this size stay in memory; larger ones (file uploads) spill to a temporary file.
SPOOL_MAX_BYTES = 64 * 1024
MAX_DUPLICATE_HEADERS = 100


def wsgi_environ(scope: dict, body) -> dict:
    """The WSGI environ of an ASGI HTTP scope (PEP 3333: header values as latin-1 str).
    Raises ValueError for a header repeated more than MAX_DUPLICATE_HEADERS times."""
    script_name = scope.get("root_path", "").encode("utf8").decode("latin1")
    path_info = scope["path"].encode("utf8").decode("latin1")
    if script_name and path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    server = scope.get("server") or ("localhost", 80)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope["query_string"].decode("ascii"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] if server[1] is not None else 0),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"] = scope["client"][0]
    counts: dict[str, int] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        if name not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            name = "HTTP_" + name
        counts[name] = counts.get(name, 0) + 1
        if counts[name] > MAX_DUPLICATE_HEADERS:
            raise ValueError(f"header {name} repeated more than {MAX_DUPLICATE_HEADERS} times")
        value = raw_value.decode("latin1")
        environ[name] = f"{environ[name]},{value}" if name in environ and counts[name] > 1 else value
    return environ


class _Response:
    """Filled by the app's start_response on the worker thread."""

    def __init__(self):
        self.status, self.headers = 500, []

    def start_response(self, status: str, headers: list, exc_info=None):
        if exc_info is not None and self.headers:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]


class WsgiBridge:
    """An ASGI app (HTTP only) running the WSGI app `wsgi_app` on `threads` worker threads."""

    def __init__(self, wsgi_app, threads: int):
        self.wsgi_app = wsgi_app
        # Requests in flight per process; each holds a database connection while it runs.
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

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
            answer = await loop.run_in_executor(self.executor, self._run, environ, loop, send)
            if answer is not None:  # a whole (non-streaming) response: one trip back to the loop
                status, headers, content = answer
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": content})
        finally:
            body.close()

    @staticmethod
    async def _read_body(receive):
        body = io.BytesIO()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body.close()
                return None
            body.write(message.get("body", b""))
            if body.tell() > SPOOL_MAX_BYTES and isinstance(body, io.BytesIO):
                spooled = tempfile.TemporaryFile()
                spooled.write(body.getbuffer())
                body = spooled
            if not message.get("more_body"):
                break
        body.seek(0)
        return body

    @staticmethod
    async def _answer(send, status: int, text: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": text})

    def _run(self, environ: dict, loop, send):
        """On the worker thread: (status, headers, body) of an ordinary response, or None once a
        streaming response has been sent from here. Closes the response (WSGI requires it; it
        sends Django's request_finished, which returns the database connection)."""
        response = _Response()
        result = self.wsgi_app(environ, response.start_response)
        try:
            if not getattr(result, "streaming", False):
                return response.status, response.headers, b"".join(result)
            self._stream(result, response, loop, send)
            return None
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    @staticmethod
    def _stream(result, response: _Response, loop, send) -> None:
        def send_now(message: dict) -> None:
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        send_now({"type": "http.response.start", "status": response.status, "headers": response.headers})
        for chunk in result:
            if chunk:
                send_now({"type": "http.response.body", "body": chunk, "more_body": True})
        send_now({"type": "http.response.body"})
