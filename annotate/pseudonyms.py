"""Keyed pseudonyms for annotators (DESIGN invariant 5): HMAC-SHA256 with a server secret, so
the same person maps to the same name within a deployment and the name can't be turned back
into a crowd id, username or e-mail without the secret."""
import hashlib
import hmac

from django.conf import settings

PSEUDONYM_CHARS = 16  # 64 bits: collisions are negligible below ~10^8 annotators


def pseudonym(namespace: str, value: str) -> str:
    """E.g. pseudonym("prolific", pid) -> "a3f9…". `namespace` keeps ids of different origins apart."""
    key = settings.PSEUDONYM_KEY.encode()
    digest = hmac.new(key, f"{namespace}\x00{value}".encode(), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_CHARS]
