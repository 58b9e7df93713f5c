"""Leaderboard page, live partial, refit button, and the CSV/JSON API (session or bearer token)."""
import csv
import io

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from arena import plots
from arena.leaderboard_view import CI_METHODS, leaderboard_rows, matrices_in_order
from arena.leaderboards import leaderboard_fit_request, leaderboard_get_or_create
from arena.models import ApiToken, Battle, Contender, Vote
from arena.leaderboard_data import LENGTH_BANDS, vote_filter
from arena.tokens import token_user

HISTORY = 30  # snapshots drawn in "ratings over time"
MATRIX_MODELS = 25  # heatmaps show the top models only: 25² cells stay readable (and the page small)


def _allowed(request) -> bool:
    if settings.LEADERBOARD["PUBLIC"] or (request.user.is_authenticated and request.user.is_staff):
        return True
    user = token_user(header=request.headers.get("Authorization", ""), scope=ApiToken.Scope.LEADERBOARD_READ)
    return user is not None and user.is_staff


def _options(request) -> dict:
    """Query parameters, validated; bad values fall back to the defaults."""
    get = request.GET
    anchor = get.get("anchor", "")
    return {
        "style_control": get.get("style") == "1",
        "category": get.get("category", "")[:60],
        "include_both_bad": get.get("both_bad", "1") != "0",
        "ci": get.get("ci") if get.get("ci") in CI_METHODS else "bootstrap",
        "anchor": int(anchor) if anchor.isdigit() else None,
    }


def _board(opts: dict):
    """The leaderboard the query asks for; ValidationError for an unknown category."""
    return leaderboard_get_or_create(style_control=opts["style_control"], category=opts["category"], include_both_bad=opts["include_both_bad"])


def _board_context(opts: dict) -> dict:
    board = _board(opts)
    snapshot = board.snapshots.order_by("-created_at").first()
    context = {"board": board, "snapshot": snapshot, "opts": opts}
    if snapshot is None:
        context["has_votes"] = Vote.objects.filter(vote_filter(board)).exists()
        if context["has_votes"]:
            leaderboard_fit_request(leaderboard_id=board.pk)
        return context
    rows = leaderboard_rows(snapshot.result, ci=opts["ci"], anchor_id=opts["anchor"])
    matrices = matrices_in_order(snapshot.result, rows[:MATRIX_MODELS])
    # Only each snapshot's model rows: whole results carry matrices and bootstrap samples.
    history = list(board.snapshots.order_by("-created_at").values_list("created_at", "result__models")[:HISTORY])
    series, top = {}, {r["name"] for r in rows[:10]}  # ten lines are as many as a reader can follow
    for created_at, models in history:
        for m in models:
            if m["rating"] is not None and m["name"] in top:
                series.setdefault(m["name"], []).append((created_at.timestamp(), m["rating"]))
    context.update(
        rows=rows,
        style=snapshot.result.get("style_coefficients") or {},
        ratings_svg=mark_safe(plots.ratings_chart(rows)),  # plots escape every label
        observed_svg=mark_safe(plots.heatmap(matrices["names"], matrices["observed"], "Observed win rate (row beats column)")),
        predicted_svg=mark_safe(plots.heatmap(matrices["names"], matrices["predicted"], "Predicted win rate (row beats column)")),
        counts_svg=mark_safe(plots.heatmap(matrices["names"], matrices["counts"], "Battles between each pair", percent=False)),
        timeline_svg=mark_safe(plots.timeline(series)),
    )
    return context


@require_GET
def leaderboard_page(request):
    if not _allowed(request):
        return redirect_to_login(request.get_full_path())
    try:
        context = _board_context(_options(request))
    except ValidationError as exc:
        return HttpResponse(exc.messages[0], status=400, content_type="text/plain")
    categories = sorted(c for c in Battle.objects.exclude(category="").values_list("category", flat=True).distinct()[:100])
    context.update(categories=categories, length_bands=list(LENGTH_BANDS), contenders=Contender.objects.order_by("display_name"))
    return render(request, "arena/leaderboard.html", context)


@require_GET
def leaderboard_partial(request):
    if not _allowed(request):
        return HttpResponse(status=403)
    try:
        return render(request, "arena/_leaderboard_board.html", _board_context(_options(request)))
    except ValidationError as exc:
        return HttpResponse(exc.messages[0], status=400, content_type="text/plain")


@staff_member_required
@require_POST
def leaderboard_refit(request):
    opts = _options(request)
    try:
        board = _board(opts)
    except ValidationError as exc:
        return HttpResponse(exc.messages[0], status=400, content_type="text/plain")
    leaderboard_fit_request(leaderboard_id=board.pk)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "arena:leaderboard"
    return redirect(target)


@require_GET
def leaderboard_api(request, fmt: str):
    """GET /arena/api/leaderboard.json|csv?style=1&category=…&both_bad=0&ci=sandwich&anchor=ID"""
    if not _allowed(request):
        return JsonResponse({"error": "forbidden", "message": "Staff session or a token with leaderboard scope required."}, status=403)
    opts = _options(request)
    try:
        board = _board(opts)
    except ValidationError as exc:
        return JsonResponse({"error": "bad_request", "message": exc.messages[0]}, status=400)
    snapshot = board.snapshots.order_by("-created_at").first()
    if snapshot is None:
        leaderboard_fit_request(leaderboard_id=board.pk)
        return JsonResponse({"error": "not_fitted", "message": "No fit yet; one has been queued."}, status=404)
    rows = leaderboard_rows(snapshot.result, ci=opts["ci"], anchor_id=opts["anchor"])
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["name"])
        writer.writeheader()
        writer.writerows(rows)
        response = HttpResponse(out.getvalue(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="leaderboard-{snapshot.pk}.csv"'
        return response
    return JsonResponse(
        {
            "leaderboard": str(board), "snapshot": snapshot.pk, "fitted_at": snapshot.created_at.isoformat(),
            "n_votes": snapshot.n_votes, "ci": opts["ci"], "models": rows,
            "style_coefficients": snapshot.result.get("style_coefficients") or {},
        }  # fmt: skip
    )
