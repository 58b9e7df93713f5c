"""Handing items out: leases with an expiry, at most `overlap` per item at once, never the same
item twice to one annotator (DESIGN invariant 4).

Locks are always taken in the order annotator -> item -> assignment. "Next item" locks the
annotator (one request per annotator at a time, so a double click gets the same item) and
claims an item with `SELECT … FOR UPDATE SKIP LOCKED`: concurrent annotators never wait on
each other's candidate item, and the counters they change are checked again under the lock.
On SQLite (embedded default) FOR UPDATE is a no-op and transactions are IMMEDIATE, i.e.
serial, which gives the same guarantees.
"""
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotate import errors
from annotate.models import (
    Annotator,
    AnnotatorStatus,
    Assignment,
    AssignmentState,
    Campaign,
    CampaignStatus,
    Item,
    ItemOrder,
)

ORDERINGS = {
    ItemOrder.CLOSEST_FIRST: ("-n_submitted", "shuffle_key"),
    ItemOrder.RANDOM: ("shuffle_key",),
    ItemOrder.SEQUENTIAL: ("position",),
}
EXPIRE_BATCH = 500  # leases per sweep transaction batch; one lease costs ~1 ms on PostgreSQL


def slot_open(item: Item, overlap: int) -> bool:
    """Whether `item` can be leased once more. Gold items are checks, not work: every annotator
    may see each one once, so only the "at once" limit applies to them."""
    if item.is_gold:
        return item.n_leased < overlap
    return item.n_leased + item.n_submitted < overlap


def item_counts_save(item: Item, overlap: int) -> None:
    """Recompute `is_open` and save the counters. The caller holds the item's row lock."""
    item.is_open = slot_open(item, overlap)
    item.save(update_fields=["n_leased", "n_submitted", "is_open"])


def annotator_check_can_work(annotator: Annotator, campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.ACTIVE and not (
        campaign.status == CampaignStatus.DRAFT and annotator.user is not None and annotator.user.is_staff
    ):
        raise errors.CampaignClosed()
    if annotator.status == AnnotatorStatus.PAUSED:
        raise errors.AnnotatorPaused()
    if annotator.status == AnnotatorStatus.DONE or (campaign.quota and annotator.n_submitted >= campaign.quota):
        raise errors.QuotaReached()


def _item_claim(annotator: Annotator, campaign: Campaign, *, gold: bool) -> Item | None:
    """Lock and return the first open item in the campaign's order that this annotator never had."""
    had = Assignment.objects.filter(item=OuterRef("pk"), annotator=annotator)
    return (
        Item.objects.select_for_update(skip_locked=True)
        .filter(campaign=campaign, is_gold=gold, is_open=True)
        .filter(~Exists(had))
        .order_by(*ORDERINGS[campaign.item_order])
        .first()
    )


def assignment_live(annotator: Annotator, now: datetime) -> Assignment | None:
    return (
        annotator.assignments.filter(state=AssignmentState.LEASED, expires_at__gt=now)
        .select_related("item")
        .order_by("leased_at")
        .first()
    )


def _campaign_leases_expire(campaign: Campaign, now: datetime) -> int:
    due = Assignment.objects.filter(item__campaign=campaign, state=AssignmentState.LEASED, expires_at__lte=now)
    return sum(
        lease_end(assignment_id=pk, state=AssignmentState.EXPIRED, now=now, only_if_expired=True)
        for pk in due.values_list("pk", flat=True)[:EXPIRE_BATCH]
    )


def assignment_next(*, annotator_id: int, rng: np.random.Generator | None = None, now: datetime | None = None) -> Assignment:
    """The annotator's current item: their live lease if they have one, else a new lease.

    Raises CampaignClosed, AnnotatorPaused, QuotaReached or NoItemsLeft."""
    rng = rng or np.random.default_rng()
    now = now or timezone.now()
    with transaction.atomic():
        annotator = (
            Annotator.objects.select_for_update(of=("self",))
            .select_related("campaign", "user")
            .get(pk=annotator_id)
        )
        campaign = annotator.campaign
        annotator_check_can_work(annotator, campaign)
        live = assignment_live(annotator, now)
        if live is not None:
            return live
        want_gold = campaign.gold_rate > 0 and rng.random() < campaign.gold_rate
        item = _item_claim(annotator, campaign, gold=want_gold)
        if item is None and want_gold:
            item = _item_claim(annotator, campaign, gold=False)
        if item is None and _campaign_leases_expire(campaign, now):
            # The beat sweeps every minute (and never runs in the embedded default): a pool
            # that looks empty may only hold expired leases.
            item = _item_claim(annotator, campaign, gold=False)
        if item is None:
            raise errors.NoItemsLeft()
        item.n_leased += 1
        item_counts_save(item, campaign.overlap)
        return Assignment.objects.create(
            item=item,
            annotator=annotator,
            order=[int(i) for i in rng.permutation(item.n_candidates)],
            leased_at=now,
            expires_at=now + timedelta(seconds=campaign.lease_s),
        )


def lease_end(*, assignment_id: int, state: str, now: datetime, only_if_expired: bool = False, reason: str = "") -> bool:
    """Give a lease's slot back to the pool (EXPIRED or SKIPPED). Returns False when the lease
    had already ended (or, with only_if_expired, has not expired: it was renewed meanwhile)."""
    with transaction.atomic():
        item_id = Assignment.objects.filter(pk=assignment_id).values_list("item_id", flat=True).first()
        if item_id is None:
            return False
        item = Item.objects.select_for_update().select_related("campaign").get(pk=item_id)
        assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
        if assignment.state != AssignmentState.LEASED or (only_if_expired and assignment.expires_at > now):
            return False
        assignment.state, assignment.ended_at, assignment.skip_reason = state, now, reason
        assignment.save(update_fields=["state", "ended_at", "skip_reason"])
        item.n_leased -= 1
        item_counts_save(item, item.campaign.overlap)
    return True


def leases_expire(*, now: datetime | None = None, limit: int = EXPIRE_BATCH) -> int:
    """Return up to `limit` expired leases to the pool; the number returned. Idempotent."""
    now = now or timezone.now()
    due = list(
        Assignment.objects.filter(state=AssignmentState.LEASED, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(lease_end(assignment_id=pk, state=AssignmentState.EXPIRED, now=now, only_if_expired=True) for pk in due)
