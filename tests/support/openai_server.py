"""A small OpenAI-compatible server on loopback, backed by a real TransformersBackend.

Serves POST /v1/chat/completions (SSE stream or one JSON completion) and GET /v1/models for one
tiny local model, whose id is its folder name. Keyword options make it misbehave for failure tests:

    with serve_openai(model_dir, status=503) as base_url:  # "http://127.0.0.1:PORT/v1"
        ...
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from worker.backends import BackendSpec, get_backend


class _AbortStream(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still "hanging" must not block shutdown

    def __init__(self, model_dir: Path, options: dict):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.model_dir = Path(model_dir)
        self.model_id = self.model_dir.name
        self.options = options
        self.stopping = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # HTTP/1.0: the connection closes after each response, so a stream needs no chunked encoding.
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):  # keep pytest output clean
        pass

    def _send_json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str, code: str) -> None:
        self._send_json(status, {"error": {"message": message, "type": "invalid_request_error", "code": code}})

    def do_GET(self):
        if self.path.rstrip("/") != "/v1/models":
            return self._send_error(404, f"no route {self.path}", "not_found")
        model = {"id": self.server.model_id, "object": "model", "created": 0, "owned_by": "prefarena-tests"}
        self._send_json(200, {"object": "list", "data": [model]})

    def do_POST(self):
        options = self.server.options
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._send_error(404, f"no route {self.path}", "not_found")
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        except ValueError:
            return self._send_error(400, "body is not JSON", "invalid_json")
        if options.get("requests") is not None:
            options["requests"].append({"headers": dict(self.headers), "body": body})
        if options.get("delay_s"):
            self.server.stopping.wait(options["delay_s"])  # returns early when the server stops
        if options.get("api_key") and self.headers.get("Authorization") != f"Bearer {options['api_key']}":
            return self._send_error(401, "Incorrect API key provided.", "invalid_api_key")
        if options.get("status"):
            return self._send_error(options["status"], f"told to fail with {options['status']}", "test_failure")
        if body.get("model") != self.server.model_id:
            return self._send_error(404, f"The model {body.get('model')!r} does not exist", "model_not_found")
        if options.get("events") is not None:
            self._stream_verbatim(options["events"])
        elif body.get("stream"):
            self._stream(body)
        else:
            self._complete(body)

    def _backend(self, body: dict):
        params = {"max_new_tokens": body.get("max_tokens", 256), "temperature": body.get("temperature", 1.0)}
        params["top_p"] = body.get("top_p", 1.0)
        if body.get("seed") is not None:
            params["seed"] = body["seed"]
        return get_backend(BackendSpec(kind="transformers", model=str(self.server.model_dir), params=params))

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "id": self._completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.server.model_id,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def _write_event(self, payload) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def _stream(self, body: dict) -> None:
        self._completion_id = f"chatcmpl-test-{time.monotonic_ns()}"
        drop_after = self.server.options.get("drop_after_chunks")
        sent = 0

        def on_text(text: str) -> None:
            nonlocal sent
            if drop_after is not None and sent >= drop_after:
                raise _AbortStream
            self._write_event(self._chunk({"content": text}))
            sent += 1

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            self._write_event(self._chunk({"role": "assistant", "content": ""}))
            result = self._backend(body).generate(body["messages"], on_text=on_text)
            self._write_event(self._chunk({}, result.finish_reason))
            if (body.get("stream_options") or {}).get("include_usage"):
                usage = {"completion_tokens": result.n_tokens}
                self._write_event({**self._chunk({}), "choices": [], "usage": usage})
            self._write_event("[DONE]")
        except (_AbortStream, BrokenPipeError, ConnectionResetError):
            pass  # the connection closes without [DONE], as when a server dies mid-reply

    def _stream_verbatim(self, events: list[str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for event in events:
            self._write_event(event)

    def _complete(self, body: dict) -> None:
        result = self._backend(body).generate(body["messages"], on_text=lambda text: None)
        message = {"role": "assistant", "content": result.text}
        self._send_json(
            200,
            {
                "id": f"chatcmpl-test-{time.monotonic_ns()}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.server.model_id,
                "choices": [{"index": 0, "message": message, "finish_reason": result.finish_reason}],
                "usage": {"completion_tokens": result.n_tokens},
            },
        )


@contextmanager
def serve_openai(
    model_dir: Path,
    *,
    status: int | None = None,
    delay_s: float = 0.0,
    api_key: str | None = None,
    drop_after_chunks: int | None = None,
    events: list[str] | None = None,
    requests: list | None = None,
) -> Iterator[str]:
    """Serve `model_dir` on 127.0.0.1 (free port) and yield the base URL ("http://127.0.0.1:PORT/v1").

    Failure options, for chat completions only:
    - status: answer every request with this HTTP status and an OpenAI-style error body;
    - delay_s: wait this long before answering (cut short when the server stops), e.g. to hang;
    - api_key: answer 401 unless the request carries "Authorization: Bearer <api_key>";
    - drop_after_chunks: close the stream after this many content chunks, without [DONE];
    - events: stream these `data:` payloads verbatim instead of generating (malformed streams);
    - requests: a list that receives {"headers", "body"} of each request, for assertions.
    """
    options = {
        "status": status,
        "delay_s": delay_s,
        "api_key": api_key,
        "drop_after_chunks": drop_after_chunks,
        "events": events,
        "requests": requests,
    }
    server = _Server(model_dir, options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()
