"""Annotator writes: join a campaign, submit an answer, skip an item, save a draft.

Every service takes ids, validates before it locks, and holds locks in the order of
`annotate/leasing.py` (annotator -> item -> assignment)."""
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotate import errors
from annotate.leasing import item_counts_update, lease_end
from annotate.live import campaign_changed_on_commit
from annotate.models import (
    Annotation,
    Annotator,
    AnnotatorKind,
    AnnotatorStatus,
    Assignment,
    AssignmentState,
    Campaign,
    CampaignStatus,
    Item,
)
from annotate.pseudonyms import pseudonym
from annotate.questions import AnswerInvalid, CleanAnswer, answer_check, gold_correct, questions_from_json
from arena.owner import CROWD_GROUP
from arena.ratelimit import rate_limit_hit

MAX_DRAFT_BYTES = 20_000
MAX_CROWD_ID_CHARS = 100
MAX_SKIP_REASON_CHARS = 200


@dataclass(frozen=True)
class CrowdIds:
    """Ids a crowd platform puts in the study link (Prolific: PROLIFIC_PID, STUDY_ID, SESSION_ID)."""

    participant: str
    study: str = ""
    session: str = ""

    def __post_init__(self):
        for value in (self.participant, self.study, self.session):
            if not isinstance(value, str) or len(value) > MAX_CROWD_ID_CHARS or not value.isprintable():
                raise errors.BadRequest("The participant id in the link could not be read.")
        if not self.participant.strip():
            raise errors.BadRequest("The link has no participant id.")


def crowd_user(crowd: CrowdIds):
    """The Django user behind a crowd participant (shared by all campaigns; no usable password,
    named by pseudonym only)."""
    name = f"crowd-{pseudonym('crowd', crowd.participant)}"
    user, created = get_user_model().objects.get_or_create(username=name)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=CROWD_GROUP)[0])  # annotation only: no arena
    return user


def crowd_join(*, campaign: Campaign, crowd: CrowdIds, address: str) -> tuple[object, Annotator]:
    """A crowd participant's first (or next) visit through the study link: their pseudonymous
    user and annotator. A study link creates accounts on a GET, so the number of joins per
    client address is limited (ANNOTATE_JOINS_PER_HOUR; a lab behind one NAT shares it)."""
    if rate_limit_hit(key=f"annotate-join:{address}", limit=settings.ANNOTATE["JOINS_PER_HOUR"], window_s=3600):
        raise errors.RateLimited()
    user = crowd_user(crowd)
    return user, annotator_join(campaign=campaign, user=user, crowd=crowd)


def annotator_join(*, campaign: Campaign, user, crowd: CrowdIds | None = None, invited: bool = False) -> Annotator:
    """The annotator for `user` in `campaign`, created on first visit.

    A crowd link (`crowd`) or an invitation (`invited`) admits anyone; otherwise the campaign
    must allow signed-in users, or the user is staff. Raises CampaignNotFound / CampaignClosed."""
    if campaign.status == CampaignStatus.DRAFT and not user.is_staff:
        raise errors.CampaignNotFound()
    if campaign.status == CampaignStatus.CLOSED:
        raise errors.CampaignClosed()
    if not (crowd or invited or campaign.allow_signed_in or user.is_staff):
        raise errors.CampaignNotFound()
    if crowd is not None:
        kind, name = AnnotatorKind.CROWD, pseudonym("crowd", crowd.participant)
        extra = {"platform_study": pseudonym("study", crowd.study), "platform_session": pseudonym("session", crowd.session)}
    else:
        kind, name, extra = AnnotatorKind.USER, pseudonym("user", str(user.pk)), {}
    annotator, _ = Annotator.objects.get_or_create(
        campaign=campaign, user=user, defaults={"kind": kind, "pseudonym": name, **extra}
    )
    return annotator


def _answer_clean(campaign: Campaign, assignment: Assignment, answer) -> CleanAnswer:
    try:
        return answer_check(questions_from_json(campaign.questions), answer, assignment.order)
    except AnswerInvalid as exc:
        raise errors.AnswerRejected(str(exc)) from None


def _annotator_after_submit(annotator_id: int, campaign: Campaign, item: Item, clean: CleanAnswer) -> None:
    """Counters, then pause below the gold threshold or finish at the quota. Locks the
    annotator last (after the item and the assignment)."""
    if not (item.is_gold or campaign.quota or campaign.gold_min_accuracy > 0):
        # Nothing to decide from the counts: one UPDATE instead of a locked read and a write.
        Annotator.objects.filter(pk=annotator_id).update(n_submitted=F("n_submitted") + 1)
        return
    annotator = Annotator.objects.select_for_update().get(pk=annotator_id)
    annotator.n_submitted += 1
    if item.is_gold:
        annotator.n_gold += 1
        annotator.n_gold_correct += int(
            gold_correct(gold=item.gold, verdict=clean.verdict, choice=clean.choice, ranking=clean.ranking)
        )
    fields = ["n_submitted", "n_gold", "n_gold_correct"]
    accuracy = annotator.n_gold_correct / annotator.n_gold if annotator.n_gold else 1.0
    if (
        campaign.gold_min_accuracy > 0
        and annotator.n_gold >= campaign.gold_min_answered
        and accuracy < campaign.gold_min_accuracy
        and annotator.status == AnnotatorStatus.ACTIVE
    ):
        annotator.status = AnnotatorStatus.PAUSED
        annotator.paused_reason = (
            f"gold accuracy {accuracy:.0%} on {annotator.n_gold} items, below {campaign.gold_min_accuracy:.0%}"
        )
        fields += ["status", "paused_reason"]
    elif campaign.quota and annotator.n_submitted >= campaign.quota and annotator.status == AnnotatorStatus.ACTIVE:
        annotator.status = AnnotatorStatus.DONE
        fields.append("status")
    annotator.save(update_fields=fields)


def _own_assignment(annotator_id: int, assignment_id) -> Assignment:
    assignment = (
        Assignment.objects.select_related("annotator__campaign", "item")
        .filter(pk=assignment_id, annotator_id=annotator_id)
        .first()
        if isinstance(assignment_id, int)
        else None
    )
    if assignment is None:
        raise errors.AssignmentNotFound()
    return assignment


def _require_live(assignment: Assignment, now: datetime) -> None:
    """Raises AlreadySubmitted, ItemSkipped (skipped, e.g. in another tab) or LeaseExpired."""
    if assignment.state == AssignmentState.SUBMITTED:
        raise errors.AlreadySubmitted()
    if assignment.state == AssignmentState.SKIPPED:
        raise errors.ItemSkipped()
    if assignment.state != AssignmentState.LEASED or assignment.expires_at <= now:
        raise errors.LeaseExpired()


def annotation_submit(*, annotator_id: int, assignment_id: int, answer, now: datetime | None = None) -> Annotation:
    """Store the annotator's answer to their leased item. Immutable afterwards.

    Raises AssignmentNotFound (not theirs), AlreadySubmitted, ItemSkipped, LeaseExpired,
    AnswerRejected, CampaignClosed or RateLimited; in every case nothing is stored."""
    now = now or timezone.now()
    draft = _own_assignment(annotator_id, assignment_id)
    campaign = draft.annotator.campaign
    clean = _answer_clean(campaign, draft, answer)  # before any lock: validation is the slow part
    if rate_limit_hit(key=f"annotate:{annotator_id}", limit=settings.ANNOTATE["SUBMITS_PER_HOUR"], window_s=3600):
        raise errors.RateLimited()
    if campaign.status == CampaignStatus.CLOSED:
        raise errors.CampaignClosed()
    with transaction.atomic():
        # Lock order assignment -> item -> annotator (annotate/leasing.py).
        assignment = Assignment.objects.select_for_update().get(pk=draft.pk)
        _require_live(assignment, now)
        item_counts_update(item_id=draft.item_id, overlap=campaign.overlap, leased=-1, submitted=1)
        annotation = Annotation.objects.create(
            assignment=assignment,
            verdict=clean.verdict,
            choice=clean.choice,
            ranking=clean.ranking,
            strength=clean.strength,
            aspects=clean.aspects,
            flags=clean.flags,
            rationale=clean.rationale,
            time_spent_ms=clean.time_spent_ms,
        )
        assignment.state, assignment.ended_at, assignment.draft = AssignmentState.SUBMITTED, now, {}
        assignment.save(update_fields=["state", "ended_at", "draft"])
        _annotator_after_submit(annotator_id, campaign, draft.item, clean)
        campaign_changed_on_commit(campaign.pk)
    return annotation


def assignment_skip(*, annotator_id: int, assignment_id: int, reason, now: datetime | None = None) -> None:
    """Give the item back with a reason; this annotator won't get it again."""
    now = now or timezone.now()
    if not isinstance(reason, str) or not reason.strip():
        raise errors.SkipReasonMissing()
    assignment = _own_assignment(annotator_id, assignment_id)
    _require_live(assignment, now)
    if not lease_end(assignment_id=assignment.pk, state=AssignmentState.SKIPPED, now=now, reason=reason.strip()[:MAX_SKIP_REASON_CHARS]):
        raise errors.LeaseExpired()
    campaign_changed_on_commit(assignment.annotator.campaign_id)


def draft_save(*, annotator_id: int, assignment_id: int, draft, now: datetime | None = None) -> datetime:
    """Keep what the annotator typed so far and renew the lease (typing is activity).
    Returns the new expiry."""
    now = now or timezone.now()
    if not isinstance(draft, dict) or len(json.dumps(draft)) > MAX_DRAFT_BYTES:
        raise errors.DraftTooLarge()
    assignment = _own_assignment(annotator_id, assignment_id)
    expires_at = now + timedelta(seconds=assignment.annotator.campaign.lease_s)
    updated = Assignment.objects.filter(
        pk=assignment.pk, state=AssignmentState.LEASED, expires_at__gt=now
    ).update(draft=draft, expires_at=expires_at)
    if not updated:
        assignment.refresh_from_db(fields=["state", "expires_at"])
        _require_live(assignment, now)
    return expires_at


def annotator_resume(*, annotator_id: int, campaign_id: int) -> None:
    """Staff: let a paused annotator work again (after reviewing their gold answers). The gold
    counters restart, so the threshold judges only what comes next; the dashboard's gold
    accuracy is computed from the annotations and keeps the whole history."""
    Annotator.objects.filter(pk=annotator_id, campaign_id=campaign_id, status=AnnotatorStatus.PAUSED).update(
        status=AnnotatorStatus.ACTIVE, paused_reason="", n_gold=0, n_gold_correct=0
    )
    campaign_changed_on_commit(campaign_id)

