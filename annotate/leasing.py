"""Handing items out: leases with an expiry, at most `overlap` per item at once, never the same
item twice to one annotator (DESIGN invariant 4).

"Next item" locks the annotator (one request per annotator at a time, so a double click gets
the same item) and claims an item with `SELECT … FOR UPDATE SKIP LOCKED`: concurrent
annotators never wait on each other's candidate item, and the counters they change are
checked again under the lock. Everything else that ends a lease (submit, skip, expiry) locks
assignment -> item -> annotator, and nobody waits for anything while holding an annotator, so
no two requests can wait on each other in a cycle.
On SQLite (embedded default) FOR UPDATE is a no-op and transactions are IMMEDIATE, i.e.
serial, which gives the same guarantees.
"""
from datetime import datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Exists, F, OuterRef, Q, When
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


def item_counts_update(*, item_id: int, overlap: int, leased: int, submitted: int = 0) -> None:
    """Change the item's counters in one UPDATE (it takes the row lock), with `is_open`
    recomputed from the new values as slot_open() would."""
    new_leased, new_submitted = F("n_leased") + leased, F("n_submitted") + submitted
    Item.objects.filter(pk=item_id).update(
        n_leased=new_leased,
        n_submitted=new_submitted,
        is_open=Case(
            When(is_gold=True, then=Q(n_leased__lt=overlap - leased)),
            default=Q(n_leased__lt=overlap - leased - new_submitted),
            output_field=BooleanField(),
        ),
    )


def annotator_check_can_work(annotator: Annotator, campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.ACTIVE and not (
        campaign.status == CampaignStatus.DRAFT and annotator.user is not None and annotator.user.is_staff
    ):
        raise errors.CampaignClosed()
    if annotator.status == AnnotatorStatus.PAUSED:
        raise errors.AnnotatorPaused()
    if annotator.status == AnnotatorStatus.DONE or (campaign.quota and annotator.n_submitted >= campaign.quota):
        raise errors.QuotaReached()


def _claimable(annotator: Annotator, campaign: Campaign, *, gold: bool):
    """Open items in the campaign's order that this annotator never had, locked as they are read
    (FOR UPDATE SKIP LOCKED: a row another request is claiming is passed over, never waited on)."""
    had = Assignment.objects.filter(item=OuterRef("pk"), annotator=annotator)
    return (
        Item.objects.select_for_update(skip_locked=True)
        .filter(campaign=campaign, is_gold=gold, is_open=True)
        .filter(~Exists(had))
        .order_by(*ORDERINGS[campaign.item_order])
    )


# One statement claims the item and counts the lease (PostgreSQL): half the round trips of a
# locked SELECT then an UPDATE, which was ~1 ms of web CPU each (tests/bench/test_annotate_bench.py).
CLAIM_SQL = """
UPDATE annotate_item SET n_leased = n_leased + 1,
    is_open = CASE WHEN is_gold THEN n_leased + 1 < %s ELSE n_leased + 1 + n_submitted < %s END
WHERE id = ({claimable}) RETURNING id, n_candidates
"""


def _item_claim(annotator: Annotator, campaign: Campaign, *, gold: bool) -> tuple[int, int] | None:
    """Claim one slot of the first claimable item: (item id, number of candidates), or None.
    The caller is inside a transaction."""
    claimable = _claimable(annotator, campaign, gold=gold)
    if connection.vendor != "postgresql":  # SQLite: transactions are serial, FOR UPDATE is a no-op
        item = claimable.first()
        if item is None:
            return None
        item_counts_update(item_id=item.pk, overlap=campaign.overlap, leased=1)
        return item.pk, item.n_candidates
    inner, params = claimable.values("pk")[:1].query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL.format(claimable=inner), [campaign.overlap, campaign.overlap, *params])
        return cursor.fetchone()


def assignment_next(*, annotator_id: int, rng: np.random.Generator | None = None, now: datetime | None = None) -> Assignment:
    """The annotator's current item: their live lease if they have one, else a new lease.

    Raises CampaignClosed, AnnotatorPaused, QuotaReached or NoItemsLeft."""
    rng = rng or np.random.default_rng()
    now = now or timezone.now()
    try:
        return _assignment_next(annotator_id, rng, now)
    except errors.NoItemsLeft:
        # The beat sweeps every minute (and never runs in the embedded default): a pool that
        # looks empty may only hold expired leases. Swept outside the annotator's lock, so no
        # request ever waits for an item while holding an annotator (annotate/services.py
        # takes item -> assignment -> annotator).
        campaign_id = Annotator.objects.values_list("campaign_id", flat=True).get(pk=annotator_id)
        if not leases_expire(now=now, campaign_id=campaign_id):
            raise
        return _assignment_next(annotator_id, rng, now)


def _assignment_next(annotator_id: int, rng: np.random.Generator, now: datetime) -> Assignment:
    with transaction.atomic():
        annotator = (
            Annotator.objects.select_for_update(of=("self",))
            .select_related("campaign", "user")
            .get(pk=annotator_id)
        )
        campaign = annotator.campaign
        annotator_check_can_work(annotator, campaign)
        # Read after the lock, in its own statement: a subquery in the locking statement would
        # use a snapshot from before the wait and miss the lease a concurrent request just made.
        live = (
            annotator.assignments.filter(state=AssignmentState.LEASED, expires_at__gt=now)
            .select_related("item")
            .order_by("leased_at")
            .first()
        )
        if live is not None:
            return live
        want_gold = campaign.gold_rate > 0 and rng.random() < campaign.gold_rate
        claimed = _item_claim(annotator, campaign, gold=want_gold)
        if claimed is None and want_gold:
            claimed = _item_claim(annotator, campaign, gold=False)
        if claimed is None:
            raise errors.NoItemsLeft()
        item_id, n_candidates = claimed
        return Assignment.objects.create(
            item_id=item_id,
            annotator=annotator,
            order=[int(i) for i in rng.permutation(n_candidates)],
            leased_at=now,
            expires_at=now + timedelta(seconds=campaign.lease_s),
        )


def lease_end(*, assignment_id: int, state: str, now: datetime, only_if_expired: bool = False, reason: str = "") -> bool:
    """Give a lease's slot back to the pool (EXPIRED or SKIPPED). Returns False when the lease
    had already ended (or, with only_if_expired, has not expired: it was renewed meanwhile)."""
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update(of=("self",))
            .select_related("item__campaign")
            .filter(pk=assignment_id)
            .first()
        )
        if assignment is None or assignment.state != AssignmentState.LEASED:
            return False
        if only_if_expired and assignment.expires_at > now:
            return False
        assignment.state, assignment.ended_at, assignment.skip_reason = state, now, reason
        assignment.save(update_fields=["state", "ended_at", "skip_reason"])
        item_counts_update(item_id=assignment.item_id, overlap=assignment.item.campaign.overlap, leased=-1)
    return True


def leases_expire(*, now: datetime | None = None, limit: int = EXPIRE_BATCH, campaign_id: int | None = None) -> int:
    """Return up to `limit` expired leases (of one campaign, or all) to the pool; the number
    returned. Idempotent."""
    now = now or timezone.now()
    due = Assignment.objects.filter(state=AssignmentState.LEASED, expires_at__lte=now)
    if campaign_id is not None:
        due = due.filter(item__campaign_id=campaign_id)
    due = list(due.order_by("expires_at").values_list("pk", flat=True)[:limit])
    return sum(lease_end(assignment_id=pk, state=AssignmentState.EXPIRED, now=now, only_if_expired=True) for pk in due)
