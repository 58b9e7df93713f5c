"""The contract every generation backend meets; no heavy imports here (STYLE rule 7)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

FINISH_STOP = "stop"
FINISH_LENGTH = "length"

# Used by every backend when a spec leaves a setting out, so that kinds behave alike.
DEFAULT_MAX_NEW_TOKENS = 256
DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_P = 1.0
DEFAULT_TIMEOUT_S = 60.0  # openai: longest silence (connect, or between two chunks)


@dataclass(frozen=True)
class BackendSpec:
    """Everything a backend needs, built from a Contender row by the caller.

    Frozen and made of hashable values so that loaded backends can be cached by spec.
    """

    kind: str  # "transformers" | "openai"
    model: str  # local folder or hub id (transformers) / model name (openai)
    base_url: str = ""  # openai only, e.g. "http://127.0.0.1:8000/v1"
    api_key_env: str = ""  # openai only: NAME of the env var holding the key; never the key itself
    system_prompt: str = ""
    # Generation settings as (name, value) pairs: max_new_tokens, temperature, top_p, seed;
    # openai also timeout_s. A dict is accepted too; either is stored sorted, so equal settings
    # give equal (cache-hitting) specs.
    params: tuple[tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        items = self.params.items() if isinstance(self.params, Mapping) else self.params
        object.__setattr__(self, "params", tuple(sorted((str(k), v) for k, v in items)))

    def param(self, name: str, default: object = None) -> object:
        return dict(self.params).get(name, default)

    def chat(self, messages: list[dict]) -> list[dict]:
        """`messages` with the system prompt prepended when one is set."""
        if not self.system_prompt:
            return list(messages)
        return [{"role": "system", "content": self.system_prompt}, *messages]


@dataclass(frozen=True)
class GenerationResult:
    text: str
    n_tokens: int
    finish_reason: str  # FINISH_STOP | FINISH_LENGTH


class BackendError(Exception):
    """Permanent failure: bad config, HTTP 4xx, model missing. Retrying will not help."""


class TransientBackendError(BackendError):
    """Worth a retry: connection refused/reset, timeout, HTTP 429/5xx, truncated stream."""


class Backend(Protocol):
    def generate(self, messages: list[dict], *, on_text: Callable[[str], None]) -> GenerationResult:
        """Generate a reply to the chat `messages` ([{"role": "user"|"assistant", "content": str}]).

        `on_text` is called with each new non-empty chunk of text, in order, as it is produced;
        the chunks concatenate to `result.text`. Raises BackendError / TransientBackendError.
        After a TransientBackendError some chunks may already have been delivered.
        """
        ...
