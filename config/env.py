"""Reads the environment once; settings.py is the only caller (STYLE rule 9)."""
import os

TRUE = {"1", "true", "yes", "on"}


def flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None or value == "" else value.strip().lower() in TRUE


def text(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def integer(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if not value else int(value)


def number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if not value else float(value)


def choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)} (got {value!r})")
    return value


def words(name: str, default: str = "") -> list[str]:
    return [w.strip() for w in os.environ.get(name, default).split(",") if w.strip()]
