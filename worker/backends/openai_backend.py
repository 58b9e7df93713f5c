"""Streaming client for OpenAI-compatible `/chat/completions` servers (OpenAI, vLLM, llama.cpp...).

Failures are sorted for the caller's retry policy: network trouble, timeouts, HTTP 429 and 5xx
raise TransientBackendError; other 4xx, bad config and malformed streams raise BackendError.
Error messages never contain the API key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import httpx

from worker.backends.base import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TIMEOUT_S,
    DEFAULT_TOP_P,
    FINISH_LENGTH,
    FINISH_STOP,
    BackendError,
    BackendSpec,
    GenerationResult,
    TransientBackendError,
)

ERROR_BODY_CHARS = 300  # enough for an API's error message, short enough for a log line


class OpenAIBackend:
    def __init__(self, spec: BackendSpec):
        if not spec.base_url:
            raise BackendError(f"openai backend for {spec.model!r} has no base_url")
        try:
            self._url = httpx.URL(spec.base_url.rstrip("/") + "/chat/completions")
        except httpx.InvalidURL as exc:
            raise BackendError(f"invalid base_url {spec.base_url!r}: {exc}") from exc
        self.spec = spec
        self._timeout_s = float(spec.param("timeout_s", DEFAULT_TIMEOUT_S))
        # httpx.Client is thread-safe and pools connections; the backend lives as long as the process.
        self._client = httpx.Client(timeout=self._timeout_s)

    def _api_key(self) -> str | None:
        if not self.spec.api_key_env:
            return None
        key = os.environ.get(self.spec.api_key_env)
        if not key:
            raise BackendError(f"environment variable {self.spec.api_key_env} (the API key) is not set")
        return key

    def _body(self, messages: list[dict]) -> dict:
        body = {
            "model": self.spec.model,
            "messages": self.spec.chat(messages),
            "max_tokens": int(self.spec.param("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)),
            "temperature": float(self.spec.param("temperature", DEFAULT_TEMPERATURE)),
            "top_p": float(self.spec.param("top_p", DEFAULT_TOP_P)),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.spec.param("seed") is not None:
            body["seed"] = int(self.spec.param("seed"))
        return body

    def generate(self, messages: list[dict], *, on_text: Callable[[str], None]) -> GenerationResult:
        """See `Backend.generate`. `timeout_s` bounds each wait (connect, or between two chunks)."""
        key = self._api_key()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        where = self.spec.base_url
        try:
            with self._client.stream("POST", self._url, json=self._body(messages), headers=headers) as response:
                if response.status_code != 200:
                    raise self._status_error(response, key)
                content_type = response.headers.get("content-type", "")
                if not content_type.startswith("text/event-stream"):
                    raise BackendError(f"{where} did not stream (content-type {content_type!r})")
                return _read_stream(response, on_text)
        except httpx.TimeoutException as exc:
            message = f"{where} timed out ({type(exc).__name__}, limit {self._timeout_s:g} s)"
            raise TransientBackendError(message) from exc
        except httpx.UnsupportedProtocol as exc:  # a TransportError, but a config mistake
            raise BackendError(f"invalid base_url {where!r}: {exc}") from exc
        except httpx.TransportError as exc:  # refused, reset, DNS, protocol errors mid-stream
            raise TransientBackendError(f"cannot reach {where}: {type(exc).__name__}: {exc}") from exc

    def _status_error(self, response: httpx.Response, key: str | None) -> BackendError:
        response.read()
        detail = response.text
        try:
            detail = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            pass
        detail = detail[:ERROR_BODY_CHARS]
        if key:  # some servers echo the request back
            detail = detail.replace(key, "***")
        status = response.status_code
        message = f"{self.spec.base_url} answered HTTP {status}: {detail}"
        if status == 429 or status >= 500:
            return TransientBackendError(message)
        return BackendError(message)


def _read_stream(response: httpx.Response, on_text: Callable[[str], None]) -> GenerationResult:
    """Consume an SSE stream of `chat.completion.chunk` objects up to `data: [DONE]`."""
    chunks: list[str] = []
    finish_reason = usage_tokens = None
    done = False
    for line in response.iter_lines():
        if not line.startswith("data:"):  # blank separators, ": keep-alive" comments, event:/id:
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            done = True
            break
        try:
            event = json.loads(data)
        except ValueError as exc:
            raise BackendError(f"malformed stream event: {data[:ERROR_BODY_CHARS]!r}") from exc
        if not isinstance(event, dict):
            raise BackendError(f"malformed stream event: {data[:ERROR_BODY_CHARS]!r}")
        if "error" in event:
            raise BackendError(f"server error in stream: {str(event['error'])[:ERROR_BODY_CHARS]}")
        if isinstance(event.get("usage"), dict):  # the last chunk when include_usage is honoured
            usage_tokens = event["usage"].get("completion_tokens")
        for choice in event.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            content = (choice.get("delta") or {}).get("content")
            if content:
                chunks.append(content)
                on_text(content)
            finish_reason = choice.get("finish_reason") or finish_reason
    if not done and finish_reason is None:
        raise TransientBackendError("stream ended before the reply was complete")
    return GenerationResult(
        text="".join(chunks),
        n_tokens=usage_tokens if isinstance(usage_tokens, int) else len(chunks),
        finish_reason=FINISH_LENGTH if finish_reason == FINISH_LENGTH else FINISH_STOP,
    )
