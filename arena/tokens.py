"""API tokens for scripts: `Authorization: Bearer <token>`. Only a SHA-256 of the token is stored."""
import hashlib
import secrets

from django.utils import timezone

from arena.models import ApiToken

PREFIX = "pfa_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(*, user, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the token itself, which is never shown again."""
    unknown = set(scopes) - set(ApiToken.Scope.values)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(user=user, name=name, prefix=token[:12], key_hash=_hash(token), scopes=sorted(set(scopes)))
    return row, token


def token_user(*, header: str, scope: str):
    """The active user behind a bearer header with `scope`, or None."""
    if not header.startswith("Bearer "):
        return None
    token = header[len("Bearer ") :].strip()
    row = ApiToken.objects.select_related("user").filter(key_hash=_hash(token), revoked_at__isnull=True).first()
    if row is None or scope not in row.scopes or not row.user.is_active:
        return None
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return row.user
