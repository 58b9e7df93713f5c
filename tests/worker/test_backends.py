import subprocess
import sys
from pathlib import Path

import pytest

from worker.backends import BackendError, BackendSpec, get_backend

ROOT = Path(__file__).resolve().parents[2]


def test_importing_backends_does_not_import_torch():
    code = "import sys, worker.backends; assert 'torch' not in sys.modules, 'torch imported'"

    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_params_are_normalised_so_equal_settings_give_equal_specs():
    a = BackendSpec(kind="openai", model="m", params={"temperature": 0.5, "max_new_tokens": 10})
    b = BackendSpec(kind="openai", model="m", params=(("max_new_tokens", 10), ("temperature", 0.5)))

    assert a == b and hash(a) == hash(b)
    assert a.param("temperature") == 0.5 and a.param("top_p", 1.0) == 1.0


def test_system_prompt_goes_first():
    spec = BackendSpec(kind="openai", model="m", system_prompt="Be kind.")

    assert spec.chat([{"role": "user", "content": "hi"}]) == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "hi"},
    ]


def test_backends_are_cached_per_spec(tiny_model):
    spec = BackendSpec(kind="transformers", model=str(tiny_model), params={"max_new_tokens": 8})
    same = BackendSpec(kind="transformers", model=str(tiny_model), params={"max_new_tokens": 8})
    other = BackendSpec(kind="transformers", model=str(tiny_model))

    assert get_backend(spec) is get_backend(same)
    assert get_backend(spec) is not get_backend(other)


def test_unknown_kind_is_a_backend_error():
    with pytest.raises(BackendError, match="unknown backend kind"):
        get_backend(BackendSpec(kind="ollama", model="m"))
