"""Local generation with a transformers causal LM, streamed chunk by chunk without a thread.

Imports torch: reach it only through `worker.backends.get_backend`, in a generation worker.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, TextStreamer

from worker.backends.base import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    FINISH_LENGTH,
    FINISH_STOP,
    BackendError,
    BackendSpec,
    GenerationResult,
)


@dataclass
class _LoadedModel:
    model: object
    tokenizer: object
    device: torch.device
    # generate() keeps per-call state on the model (caches, streamer); one call at a time.
    lock: threading.Lock


_loaded: dict[str, _LoadedModel] = {}
_load_lock = threading.Lock()


def _load(name: str) -> _LoadedModel:
    """Load `name` once per process; specs that differ only in prompt or params share weights."""
    with _load_lock:
        if name not in _loaded:
            _loaded[name] = _load_uncached(name)
        return _loaded[name]


def _load_uncached(name: str) -> _LoadedModel:
    looks_local = Path(name).is_absolute() or name.startswith((".", "~"))
    if looks_local and not Path(name).expanduser().is_dir():
        raise BackendError(f"model folder {name!r} does not exist")
    if torch.cuda.is_available():
        device = torch.device("cuda")
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    else:
        device, dtype = torch.device("cpu"), torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype).to(device).eval()
    except Exception as exc:  # OSError, ValueError, safetensors errors...: all mean "unusable"
        raise BackendError(f"cannot load model {name!r}: {exc}") from exc
    if tokenizer.chat_template is None:
        raise BackendError(f"model {name!r} has no chat template")
    return _LoadedModel(model=model, tokenizer=tokenizer, device=device, lock=threading.Lock())


class _CallbackStreamer(TextStreamer):
    """Hands each finalized piece of text to `on_text`; runs inside generate(), no thread needed."""

    def __init__(self, tokenizer, on_text: Callable[[str], None]):
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self._on_text = on_text
        self.chunks: list[str] = []

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:  # TextStreamer emits "" while it holds back an unfinished word
            self.chunks.append(text)
            self._on_text(text)


class TransformersBackend:
    def __init__(self, spec: BackendSpec):
        self.spec = spec
        self._loaded = _load(spec.model)

    def _generation_kwargs(self) -> dict:
        tokenizer = self._loaded.tokenizer
        temperature = float(self.spec.param("temperature", DEFAULT_TEMPERATURE))
        kwargs = {
            "max_new_tokens": int(self.spec.param("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)),
            "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
            "do_sample": temperature > 0,
        }
        if temperature > 0:  # passing them with do_sample=False only earns a warning
            kwargs["temperature"] = temperature
            kwargs["top_p"] = float(self.spec.param("top_p", DEFAULT_TOP_P))
        return kwargs

    @contextlib.contextmanager
    def _seeded(self):
        """Seed sampling for this call only, leaving the process RNG as it was."""
        seed = self.spec.param("seed")
        if seed is None:
            yield
            return
        devices = [self._loaded.device.index or 0] if self._loaded.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(seed))
            yield

    def _encode(self, messages: list[dict]):
        try:
            return self._loaded.tokenizer.apply_chat_template(
                self.spec.chat(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
            ).to(self._loaded.device)
        except Exception as exc:  # a template that rejects the roles, e.g. no system role
            raise BackendError(f"cannot apply the chat template of {self.spec.model!r}: {exc}") from exc

    def generate(self, messages: list[dict], *, on_text: Callable[[str], None]) -> GenerationResult:
        """See `Backend.generate`. Exceptions raised by `on_text` stop generation and propagate."""
        loaded = self._loaded
        inputs = self._encode(messages)
        kwargs = self._generation_kwargs()
        streamer = _CallbackStreamer(loaded.tokenizer, on_text)
        with loaded.lock, self._seeded():
            output = loaded.model.generate(**inputs, **kwargs, streamer=streamer)
        new_ids = output[0, inputs["input_ids"].shape[1] :].tolist()
        # The streamer's chunks, not a fresh decode, so that the text is exactly what was streamed.
        return self._result(new_ids, kwargs["max_new_tokens"], text="".join(streamer.chunks))

    def _result(self, new_ids: list[int], max_new_tokens: int, text: str | None = None) -> GenerationResult:
        """Cut `new_ids` at the first end-of-sequence (padding follows it in a batch) and say why it ended."""
        eos_ids = self._loaded.model.generation_config.eos_token_id
        eos_ids = set(eos_ids if isinstance(eos_ids, list) else [eos_ids])
        end = next((i for i, token in enumerate(new_ids) if token in eos_ids), None)
        if end is not None:
            new_ids = new_ids[:end]
        finish = FINISH_LENGTH if end is None and len(new_ids) >= max_new_tokens else FINISH_STOP
        if text is None:
            text = self._loaded.tokenizer.decode(new_ids, skip_special_tokens=True)
        return GenerationResult(text=text, n_tokens=len(new_ids), finish_reason=finish)

    def generate_batch(self, conversations: list[list[dict]]) -> list[GenerationResult]:
        """Reply to several chats in one left-padded batch (throughput benchmarks); no streaming."""
        loaded = self._loaded
        tokenizer = loaded.tokenizer
        texts = [
            tokenizer.apply_chat_template(self.spec.chat(m), add_generation_prompt=True, tokenize=False)
            for m in conversations
        ]
        # The template writes BOS itself; left padding keeps every prompt's end at the same column.
        inputs = tokenizer(
            texts, add_special_tokens=False, padding=True, padding_side="left", return_tensors="pt"
        ).to(loaded.device)
        kwargs = self._generation_kwargs()
        with loaded.lock, self._seeded():
            output = loaded.model.generate(**inputs, **kwargs)
        new_ids = output[:, inputs["input_ids"].shape[1] :].tolist()
        return [self._result(row, kwargs["max_new_tokens"]) for row in new_ids]
