"""Generation backends, looked up by spec and cached per process.

Importing this package must not import torch (the web process and CPU workers import it for the
types): the transformers backend is imported only when a spec asks for it.
"""

from __future__ import annotations

import threading

from worker.backends.base import (
    Backend,
    BackendError,
    BackendSpec,
    GenerationResult,
    TransientBackendError,
)

__all__ = [
    "Backend",
    "BackendError",
    "BackendSpec",
    "GenerationResult",
    "TransientBackendError",
    "get_backend",
]

_cache: dict[BackendSpec, Backend] = {}
# Held while loading so that two threads asking for the same model load it once.
_cache_lock = threading.Lock()


def get_backend(spec: BackendSpec) -> Backend:
    """The backend for `spec`, created on first use and kept for the life of the process.

    Raises BackendError for an unknown kind or a model that cannot be loaded (not cached, so a
    later call retries).
    """
    with _cache_lock:
        backend = _cache.get(spec)
        if backend is None:
            backend = _cache[spec] = _create(spec)
        return backend


def _create(spec: BackendSpec) -> Backend:
    if spec.kind == "transformers":
        from worker.backends.transformers_backend import TransformersBackend

        return TransformersBackend(spec)
    if spec.kind == "openai":
        from worker.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(spec)
    raise BackendError(f"unknown backend kind {spec.kind!r}; expected 'transformers' or 'openai'")
