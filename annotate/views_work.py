"""Annotators' pages (join, campaign, done) and the work view's JSON API.

Each view parses, makes one service or selector call, and serializes (STYLE rule 1). Pages
take the ordinary Django session; the API is session-authenticated and CSRF-protected like
the arena's, and answers every annotate.errors error as {"error", "message"} with its status.
"""
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from annotate import errors, selectors, services
from annotate.leasing import assignment_next
from annotate.questions import MAX_RATIONALE_CHARS
from annotate.services import CrowdIds
from arena.errors import ArenaError
from arena.http import json_api, json_body
from arena.markdown import render_markdown

# A crowd platform's participant/study/session parameters (Prolific's names).
CROWD_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _message_page(request, error: ArenaError, campaign=None):
    if error.status == 404:
        raise Http404(error.message)
    context = {"campaign": campaign, "message": error.message, "code": error.code}
    return render(request, "annotate/campaign_message.html", context, status=error.status)


@require_GET
def work_index(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return render(request, "annotate/work_index.html", {"rows": selectors.campaigns_for_user(request.user)})


@require_GET
def join(request, slug, token):
    """The study / invitation link. With a participant id the visitor becomes that crowd
    participant (a pseudonymous user, signed in here); without one they must sign in first.
    The ids leave the address bar at once: the redirect drops them."""
    try:
        campaign = selectors.campaign_get_by_invite(slug=slug, token=token)
        if request.GET.get("PROLIFIC_PID"):
            crowd = CrowdIds(*(request.GET.get(name, "") for name in CROWD_PARAMS))
            user, _ = services.crowd_join(campaign=campaign, crowd=crowd, address=request.META.get("REMOTE_ADDR", ""))
            login(request, user, backend=MODEL_BACKEND)
        elif not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        else:
            services.annotator_join(campaign=campaign, user=request.user, invited=True)
    except ArenaError as exc:  # annotate.errors, and BadRequest for an unreadable participant id
        return _message_page(request, exc)
    return redirect("annotate:work-campaign", slug=campaign.slug)


@require_GET
@ensure_csrf_cookie
def campaign_page(request, slug):
    """Instructions, then the work view (annotate/static/annotate/work.js fills it from the API)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        campaign = selectors.campaign_get(slug=slug, user=request.user)
        # Whoever joined through a link keeps their way in even where plain sign-in is off.
        annotator = selectors.annotator_get(campaign=campaign, user=request.user) or services.annotator_join(
            campaign=campaign, user=request.user
        )
    except errors.AnnotateError as exc:
        return _message_page(request, exc)
    if selectors.finish_state(annotator) in (selectors.FinishState.QUOTA, selectors.FinishState.CLOSED):
        return redirect("annotate:work-done", slug=campaign.slug)
    context = {
        "campaign": campaign,
        "instructions_html": render_markdown(campaign.instructions),
        "max_rationale": MAX_RATIONALE_CHARS,
    }
    return render(request, "annotate/work.html", context)


@require_GET
def done(request, slug):
    """The end: thanks, and the completion code / return link once the work is earned."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        campaign = selectors.campaign_get(slug=slug, user=request.user)
    except errors.AnnotateError as exc:
        return _message_page(request, exc)
    annotator = selectors.annotator_get(campaign=campaign, user=request.user)
    state = selectors.finish_state(annotator) if annotator else None
    if state is None:
        return redirect("annotate:work-campaign", slug=campaign.slug)
    context = {
        "campaign": campaign,
        "state": state,
        "earned": selectors.completion_shown(annotator, state),
        "progress": selectors.progress(annotator),
    }
    return render(request, "annotate/done.html", context)


@require_GET
@json_api
def api_current(request, slug):
    """The annotator's current item (their live lease, draft included) or a new one."""
    annotator = selectors.annotator_for_api(slug=slug, user=request.user)
    assignment = assignment_next(annotator_id=annotator.pk)
    return JsonResponse(selectors.assignment_view(assignment, annotator))


@require_POST
@json_api
def api_submit(request, slug, assignment_id):
    """Body: the answer (annotate.questions.answer_check), in display positions."""
    annotator = selectors.annotator_for_api(slug=slug, user=request.user)
    services.annotation_submit(annotator_id=annotator.pk, assignment_id=assignment_id, answer=json_body(request))
    return JsonResponse({"submitted": True}, status=201)


@require_POST
@json_api
def api_skip(request, slug, assignment_id):
    annotator = selectors.annotator_for_api(slug=slug, user=request.user)
    reason = json_body(request).get("reason")
    services.assignment_skip(annotator_id=annotator.pk, assignment_id=assignment_id, reason=reason)
    return JsonResponse({"skipped": True})


@require_POST
@json_api
def api_draft(request, slug, assignment_id):
    annotator = selectors.annotator_for_api(slug=slug, user=request.user)
    draft = json_body(request).get("draft")
    expires_at = services.draft_save(annotator_id=annotator.pk, assignment_id=assignment_id, draft=draft)
    return JsonResponse({"expires_at": expires_at.isoformat()})
