"""Reads for the annotators' pages and API: who may see a campaign, what one item looks like to
the annotator, how far they are.

What leaves here is what the annotator may see. Candidates go out in display order under a
label only: never `Candidate.model` or `meta`, never the candidate index, never `Item.gold`
or `is_gold` (a gold item must look like any other item), never another annotator's data.
"""
import hmac

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q

from annotate import errors
from annotate.models import (
    Annotator,
    AnnotatorStatus,
    Assignment,
    AssignmentState,
    Campaign,
    CampaignStatus,
    Candidate,
    Item,
)
from annotate.questions import questions_from_json
from arena.markdown import render_markdown

MESSAGE_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


class SignedOut(errors.AnnotateError):
    code, status, message = "signed_out", 401, "Your session ended. Open your study link again, or sign in."


class FinishState:
    """Why an annotator has no more work here; `None` means they can go on."""

    QUOTA = "QUOTA"
    NO_ITEMS = "NO_ITEMS"
    CLOSED = "CLOSED"
    PAUSED = "PAUSED"


def campaign_get(*, slug: str, user) -> Campaign:
    """The campaign, if this user may know it exists (drafts are staff-only). Raises CampaignNotFound."""
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None or (campaign.status == CampaignStatus.DRAFT and not user.is_staff):
        raise errors.CampaignNotFound()
    return campaign


def campaign_get_by_invite(*, slug: str, token: str) -> Campaign:
    """The campaign whose invitation token is `token` (compared in constant time). Raises CampaignNotFound."""
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None or not hmac.compare_digest(campaign.invite_token.encode(), token.encode()):
        raise errors.CampaignNotFound()
    return campaign


def annotator_get(*, campaign: Campaign, user) -> Annotator | None:
    """The user's annotator in this campaign, if they joined."""
    if not user.is_authenticated:
        return None
    return Annotator.objects.filter(campaign=campaign, user=user).select_related("campaign").first()


def annotator_for_api(*, slug: str, user) -> Annotator:
    """The requesting user's annotator in campaign `slug`. Raises SignedOut or CampaignNotFound:
    the API never admits anyone who did not join through the page or a link."""
    if not user.is_authenticated:
        raise SignedOut()
    annotator = Annotator.objects.filter(campaign__slug=slug, user=user).select_related("campaign", "user").first()
    if annotator is None or (annotator.campaign.status == CampaignStatus.DRAFT and not user.is_staff):
        raise errors.CampaignNotFound()
    return annotator


def campaigns_for_user(user) -> list[dict]:
    """Campaigns the user joined (closed ones too: their done page has the completion code), then
    those they may join (open to signed-in users; drafts for staff), newest first."""
    joined = {a.campaign_id: a for a in Annotator.objects.filter(user=user).select_related("campaign")}
    visible = Q(status=CampaignStatus.ACTIVE, allow_signed_in=True) | Q(pk__in=joined)
    if user.is_staff:
        visible |= Q(status__in=[CampaignStatus.ACTIVE, CampaignStatus.DRAFT])
    campaigns = list(Campaign.objects.filter(visible).order_by("-created_at"))
    n_items = campaign_item_counts([c.pk for c in campaigns if not c.quota])  # one cache trip for the list
    out = []
    for campaign in campaigns:
        annotator = joined.get(campaign.pk)
        progress = _progress(campaign, annotator, n_items.get(campaign.pk, 0))
        out.append({"campaign": campaign, "annotator": annotator, "progress": progress})
    return out


def _progress(campaign: Campaign, annotator: Annotator | None, n_items: int) -> dict:
    done = annotator.n_submitted if annotator else 0
    total = campaign.quota or n_items
    return {"done": done, "total": total, "quota": campaign.quota, "percent": round(100 * min(done, total) / total) if total else 0}


def campaign_item_counts(campaign_ids: list[int]) -> dict[int, int]:
    """Items per campaign (~12 ms to count 100k rows). Items are created only in the import's
    transaction, before anyone can see the campaign, so a count never changes and is cached
    without expiry: one cache round trip, and one grouped COUNT for the campaigns not cached."""
    keys = {campaign_id: f"annotate:n-items:{campaign_id}" for campaign_id in campaign_ids}
    cached = cache.get_many(list(keys.values()))
    counts = {campaign_id: cached[key] for campaign_id, key in keys.items() if key in cached}
    missing = [campaign_id for campaign_id in campaign_ids if campaign_id not in counts]
    if missing:
        found = dict(Item.objects.filter(campaign_id__in=missing).values("campaign_id").annotate(n=Count("id")).values_list("campaign_id", "n"))
        fresh = {campaign_id: found.get(campaign_id, 0) for campaign_id in missing}
        cache.set_many({keys[campaign_id]: n for campaign_id, n in fresh.items()}, None)
        counts.update(fresh)
    return counts


def progress(annotator: Annotator) -> dict:
    """{done, total, quota, percent}: against the quota, or the campaign's items when it has none."""
    campaign = annotator.campaign
    return _progress(campaign, annotator, 0 if campaign.quota else campaign_item_counts([campaign.pk])[campaign.pk])


def finish_state(annotator: Annotator) -> str | None:
    """A FinishState, or None while the annotator still has (or can get) an item."""
    campaign = annotator.campaign
    if annotator.status == AnnotatorStatus.PAUSED:
        return FinishState.PAUSED
    if annotator.status == AnnotatorStatus.DONE or (campaign.quota and annotator.n_submitted >= campaign.quota):
        return FinishState.QUOTA
    if campaign.status == CampaignStatus.CLOSED:
        return FinishState.CLOSED
    if campaign.status == CampaignStatus.PAUSED:
        return None  # for a while only: the work page says so and offers to check again
    if annotator.assignments.filter(state=AssignmentState.LEASED).exists():
        return None
    had = Assignment.objects.filter(item=OuterRef("pk"), annotator=annotator)
    if Item.objects.filter(campaign=campaign, is_open=True).filter(~Exists(had)).exists():
        return None
    return FinishState.NO_ITEMS


def completion_shown(annotator: Annotator, state: str | None) -> bool:
    """The completion code is earned: the quota, or work done before the items (or campaign) ran out."""
    return state == FinishState.QUOTA or (state in (FinishState.NO_ITEMS, FinishState.CLOSED) and annotator.n_submitted > 0)


def _messages(item: Item) -> list[dict]:
    """The conversation shown above the candidates: chat messages when given, else the prompt."""
    shown = []
    for message in item.messages or []:
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            role = MESSAGE_ROLES.get(message.get("role"), "User")
            shown.append({"role": role, "html": render_markdown(message["content"])})
    return shown or [{"role": "User", "html": render_markdown(item.prompt)}]


def assignment_view(assignment: Assignment, annotator: Annotator) -> dict:
    """Everything the work view needs for one leased item, candidates in display order."""
    texts = dict(Candidate.objects.filter(item_id=assignment.item_id).values_list("index", "text"))
    # Labelled by display position (Response 1, 2, …) so the digit keys match what is shown.
    candidates = [
        {"label": f"Response {position + 1}", "html": render_markdown(texts.get(index, ""))}
        for position, index in enumerate(assignment.order)
    ]
    return {
        "assignment": {
            "id": assignment.pk,
            "expires_at": assignment.expires_at.isoformat(),
            "lease_s": annotator.campaign.lease_s,
            "draft": assignment.draft or {},
        },
        "item": {"messages": _messages(assignment.item), "candidates": candidates},
        "questions": questions_from_json(annotator.campaign.questions).to_json(),
        "progress": progress(annotator),
    }
