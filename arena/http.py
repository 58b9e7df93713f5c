"""Helpers shared by the arena's JSON endpoints: owner lookup, body parsing, error mapping."""
import functools
import hashlib
import hmac
import json

from django.conf import settings
from django.http import JsonResponse

from arena.errors import ArenaError, BadRequest
from arena.owner import Owner, owner_for

MAX_JSON_BYTES = 64 * 1024


def request_owner(request) -> Owner:
    """The request's owner; gives an anonymous visitor a session first (where allowed)."""
    if not request.user.is_authenticated and settings.ARENA["ALLOW_ANONYMOUS"] and not request.session.session_key:
        request.session.save()
    return owner_for(request.user, request.session)


def json_body(request) -> dict:
    if len(request.body) > MAX_JSON_BYTES:
        raise BadRequest("The request is too large.")
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest() from None
    if not isinstance(body, dict):
        raise BadRequest()
    return body


def client_fingerprint(request) -> str:
    """A keyed hash of address and browser: lets an analyst spot vote stuffing without storing either."""
    raw = f"{request.META.get('REMOTE_ADDR', '')}|{request.META.get('HTTP_USER_AGENT', '')}"
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()[:32]


def json_api(view):
    """Turn ArenaError into {"error", "message"} with its status; nothing else leaks."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ArenaError as exc:
            return JsonResponse({"error": exc.code, "message": exc.message}, status=exc.status)

    return wrapper
