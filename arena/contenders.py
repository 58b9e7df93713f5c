"""Registering contenders and turning a row into what a generation backend needs."""
import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from arena.models import Backend, Contender
from worker.backends.base import BackendSpec

# name -> (type, min, max): checked on every write so a worker never meets a bad setting.
GENERATION_PARAMS = {
    "max_new_tokens": (int, 1, 8192),
    "temperature": (float, 0.0, 2.0),
    "top_p": (float, 0.0, 1.0),
    "timeout_s": (float, 1.0, 600.0),
    "seed": (int, 0, 2**31 - 1),
}


API_KEY_ENV = re.compile(r"^[A-Z][A-Z0-9_]*_API_KEY$")


def api_key_env_check(name: str) -> None:
    """Only variables named *_API_KEY: otherwise a contender could name SECRET_KEY or DATABASE_URL
    and the worker would send that secret, as a bearer token, to the contender's base URL."""
    if name and not API_KEY_ENV.match(name):
        raise ValidationError("The API key variable's name must end in _API_KEY, e.g. VLLM_API_KEY.")


def generation_params_check(params: dict) -> dict:
    clean = {}
    for name, value in (params or {}).items():
        if name not in GENERATION_PARAMS:
            raise ValidationError(f"Unknown generation setting {name!r}; known: {', '.join(GENERATION_PARAMS)}")
        kind, low, high = GENERATION_PARAMS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ValidationError(f"{name} must be a number from {low} to {high}")
        clean[name] = kind(value)
    return clean


def contender_register(
    *,
    slug: str,
    display_name: str,
    backend: str,
    model: str,
    base_url: str = "",
    api_key_env: str = "",
    system_prompt: str = "",
    generation: dict | None = None,
    sampling_weight: float = 1.0,
    is_active: bool = True,
) -> Contender:
    """Create or update the contender `slug`. Raises ValidationError and writes nothing on bad input."""
    contender = Contender.objects.filter(slug=slug).first() or Contender(slug=slug)
    contender.display_name = display_name
    contender.backend = backend
    contender.model = model
    contender.base_url = base_url
    contender.api_key_env = api_key_env
    contender.system_prompt = system_prompt
    contender.generation = generation_params_check(generation or {})
    contender.sampling_weight = sampling_weight
    contender.is_active = is_active
    if backend == Backend.OPENAI and not base_url:
        raise ValidationError("An OpenAI-compatible contender needs a base URL.")
    api_key_env_check(api_key_env)
    contender.full_clean()
    contender.save()
    return contender


def contender_spec(contender: Contender) -> BackendSpec:
    """The backend description for a contender. A relative model path is looked up in MODEL_DIR."""
    model = contender.model
    if contender.backend == Backend.TRANSFORMERS and not Path(model).is_absolute():
        local = Path(settings.MODEL_DIR) / model
        if local.exists():
            model = str(local)
    return BackendSpec(
        kind=contender.backend.lower(),
        model=model,
        base_url=contender.base_url,
        api_key_env=contender.api_key_env,
        system_prompt=contender.system_prompt,
        params=tuple(sorted(contender.generation.items())),
    )
