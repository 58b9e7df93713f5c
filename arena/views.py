"""Arena pages and JSON endpoints. Each parses input, makes one service call, serializes."""
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from arena import selectors, services
from arena.http import client_fingerprint, json_api, json_body, request_owner
from arena.owner import AnnotationOnly, NotSignedIn, arena_access_check
from arena.selectors import WINNER_TO_CLIENT

WINNER_FROM_CLIENT = {client: stored for stored, client in WINNER_TO_CLIENT.items()}


@require_GET
def index(request):
    try:
        request_owner(request)
        arena_access_check(request.user)
    except NotSignedIn:
        return redirect_to_login(request.get_full_path())
    except AnnotationOnly as exc:
        return HttpResponseForbidden(exc.message)
    limits = {"max_prompt_chars": settings.ARENA["MAX_PROMPT_CHARS"], "max_rationale_chars": settings.ARENA["MAX_RATIONALE_CHARS"]}
    return render(request, "arena/index.html", limits)


@require_POST
@json_api
def battle_create(request):
    body = json_body(request)
    arena_access_check(request.user)
    battle = services.battle_start(owner=request_owner(request), prompt=body.get("prompt"))
    return JsonResponse({"battle": selectors.battle_state(battle)}, status=201)


@require_GET
@json_api
def battle_current(request):
    battle = selectors.battle_current_for_owner(owner=request_owner(request))
    return JsonResponse({"battle": selectors.battle_state(battle) if battle else None})


@require_GET
@json_api
def battle_detail(request, battle_id):
    battle = selectors.battle_get_for_owner(owner=request_owner(request), battle_id=battle_id)
    return JsonResponse({"battle": selectors.battle_state(battle)})


@require_POST
@json_api
def turn_create(request, battle_id):
    body = json_body(request)
    battle = services.turn_add(owner=request_owner(request), battle_id=battle_id, prompt=body.get("prompt"))
    return JsonResponse({"battle": selectors.battle_state(battle)}, status=201)


@require_POST
@json_api
def vote_create(request, battle_id):
    body = json_body(request)
    strength = body.get("strength") or ""
    winner = body.get("winner")
    stored = services.vote_record(
        owner=request_owner(request),
        battle_id=battle_id,
        winner=WINNER_FROM_CLIENT.get(winner, "?") if isinstance(winner, str) else "?",
        strength=strength.upper() if isinstance(strength, str) else strength,
        rationale=body.get("rationale") or "",
        fingerprint=client_fingerprint(request),
    )
    return JsonResponse({"battle": selectors.vote_outcome(stored)}, status=201)
