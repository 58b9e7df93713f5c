"""Lease rules on the services (DESIGN invariant 4); the many-annotator concurrency test is in
test_leasing_concurrency.py."""
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from annotate import errors
from annotate.leasing import assignment_next, leases_expire
from annotate.models import Annotation, Annotator, AnnotatorStatus, Assignment, AssignmentState, Item
from annotate.services import annotation_submit, assignment_skip, draft_save
from tests.annotate.factories import PICK_FIRST, annotators_make, campaign_make

pytestmark = pytest.mark.django_db

def test_an_item_goes_to_at_most_overlap_annotators_and_never_twice_to_one():
    # given one item wanted twice and three annotators
    campaign = campaign_make(n_items=1, overlap=2)
    a, b, c = annotators_make(campaign, 3)
    # when two take it, the third finds nothing
    first, second = assignment_next(annotator_id=a.pk), assignment_next(annotator_id=b.pk)
    assert first.item_id == second.item_id
    with pytest.raises(errors.NoItemsLeft):
        assignment_next(annotator_id=c.pk)
    # asking again returns the live lease, not a second one
    assert assignment_next(annotator_id=a.pk).pk == first.pk
    # and after a submits, a is not offered the item again
    annotation_submit(annotator_id=a.pk, assignment_id=first.pk, answer=PICK_FIRST)
    with pytest.raises(errors.NoItemsLeft):
        assignment_next(annotator_id=a.pk)
    item = Item.objects.get()
    assert (item.n_leased, item.n_submitted, item.is_open) == (1, 1, False)


def test_closest_to_completion_goes_first():
    campaign = campaign_make(n_items=5, overlap=3)
    a, b = annotators_make(campaign, 2)
    first = assignment_next(annotator_id=a.pk)
    annotation_submit(annotator_id=a.pk, assignment_id=first.pk, answer=PICK_FIRST)
    assert assignment_next(annotator_id=b.pk).item_id == first.item_id


def test_expired_lease_returns_to_the_pool_and_late_submit_is_refused():
    campaign = campaign_make(n_items=1, overlap=1, lease_s=60)
    a, b = annotators_make(campaign, 2)
    lease = assignment_next(annotator_id=a.pk)
    later = timezone.now() + timedelta(seconds=61)
    assert leases_expire(now=later) == 1
    assert leases_expire(now=later) == 0  # idempotent
    with pytest.raises(errors.LeaseExpired):
        annotation_submit(annotator_id=a.pk, assignment_id=lease.pk, answer=PICK_FIRST, now=later)
    assert not Annotation.objects.exists()
    taken = assignment_next(annotator_id=b.pk, now=later)
    assert taken.item_id == lease.item_id


def test_draft_renews_the_lease():
    campaign = campaign_make(n_items=1, overlap=1, lease_s=60)
    (a,) = annotators_make(campaign, 1)
    lease = assignment_next(annotator_id=a.pk)
    soon = timezone.now() + timedelta(seconds=50)
    draft_save(annotator_id=a.pk, assignment_id=lease.pk, draft={"rationale": "half a tho"}, now=soon)
    assert leases_expire(now=soon + timedelta(seconds=20)) == 0
    lease.refresh_from_db()
    assert lease.draft == {"rationale": "half a tho"} and lease.state == AssignmentState.LEASED


def test_foreign_double_and_invalid_submissions_store_nothing():
    campaign = campaign_make(n_items=2, overlap=2, questions={"rationale": "required", "rationale_min_chars": 20})
    a, b = annotators_make(campaign, 2)
    lease = assignment_next(annotator_id=a.pk)
    with pytest.raises(errors.AssignmentNotFound):
        annotation_submit(annotator_id=b.pk, assignment_id=lease.pk, answer=PICK_FIRST)
    with pytest.raises(errors.AnswerRejected, match="at least 20"):
        annotation_submit(annotator_id=a.pk, assignment_id=lease.pk, answer={**PICK_FIRST, "rationale": "short"})
    assert not Annotation.objects.exists()
    good = {**PICK_FIRST, "rationale": "The first answer explains the steps."}
    annotation_submit(annotator_id=a.pk, assignment_id=lease.pk, answer=good)
    with pytest.raises(errors.AlreadySubmitted):
        annotation_submit(annotator_id=a.pk, assignment_id=lease.pk, answer=good)
    assert Annotation.objects.count() == 1


def test_choice_is_stored_as_the_candidate_shown_in_that_position():
    campaign = campaign_make(n_items=1, overlap=1)
    (a,) = annotators_make(campaign, 1)
    lease = assignment_next(annotator_id=a.pk, rng=np.random.default_rng(3))
    annotation = annotation_submit(annotator_id=a.pk, assignment_id=lease.pk, answer={"verdict": "CANDIDATE", "choice": 1})
    assert annotation.choice == lease.order[1]


def test_skip_needs_a_reason_and_frees_the_slot():
    campaign = campaign_make(n_items=1, overlap=1)
    a, b = annotators_make(campaign, 2)
    lease = assignment_next(annotator_id=a.pk)
    with pytest.raises(errors.SkipReasonMissing):
        assignment_skip(annotator_id=a.pk, assignment_id=lease.pk, reason=" ")
    assignment_skip(annotator_id=a.pk, assignment_id=lease.pk, reason="Not my language")
    assert Assignment.objects.get(pk=lease.pk).state == AssignmentState.SKIPPED
    assert assignment_next(annotator_id=b.pk).item_id == lease.item_id
    with pytest.raises(errors.NoItemsLeft):
        assignment_next(annotator_id=a.pk)


def test_annotator_below_gold_threshold_is_paused():
    campaign = campaign_make(n_items=0, n_gold=3, overlap=5, gold_rate=1.0, gold_min_accuracy=0.5, gold_min_answered=2)
    (a,) = annotators_make(campaign, 1)
    for _ in range(2):
        lease = assignment_next(annotator_id=a.pk)
        wrong = lease.order.index(1)  # the display position of candidate 1; gold is candidate 0
        annotation_submit(annotator_id=a.pk, assignment_id=lease.pk, answer={"verdict": "CANDIDATE", "choice": wrong})
    annotator = Annotator.objects.get(pk=a.pk)
    assert annotator.status == AnnotatorStatus.PAUSED and "0%" in annotator.paused_reason
    with pytest.raises(errors.AnnotatorPaused):
        assignment_next(annotator_id=a.pk)


def test_quota_ends_the_work():
    campaign = campaign_make(n_items=5, overlap=1, quota=2)
    (a,) = annotators_make(campaign, 1)
    for _ in range(2):
        lease = assignment_next(annotator_id=a.pk)
        annotation_submit(annotator_id=a.pk, assignment_id=lease.pk, answer=PICK_FIRST)
    with pytest.raises(errors.QuotaReached):
        assignment_next(annotator_id=a.pk)


def test_an_expired_lease_is_reclaimed_without_waiting_for_the_sweep():
    # given the only slot leased to a, who walked away
    campaign = campaign_make(n_items=1, overlap=1, lease_s=60)
    a, b = annotators_make(campaign, 2)
    lease = assignment_next(annotator_id=a.pk)
    # when b asks after the lease ran out (no beat in the embedded default)
    taken = assignment_next(annotator_id=b.pk, now=timezone.now() + timedelta(seconds=61))
    # then b gets the item and a's lease is marked expired
    assert taken.item_id == lease.item_id
    assert Assignment.objects.get(pk=lease.pk).state == AssignmentState.EXPIRED
