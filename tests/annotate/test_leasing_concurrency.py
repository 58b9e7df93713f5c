"""Many annotators at once against PostgreSQL: the lease rules hold under real row locks
(DESIGN invariant 4). Threads each hold their own database connection; PostgreSQL does the
locking, so the interleavings are real."""
import threading
from collections import Counter

import numpy as np
import pytest
from django.db import connection, connections
from django.db.models import Count

from annotate import errors
from annotate.leasing import assignment_next
from annotate.models import Annotation, Annotator, Assignment, AssignmentState, Item
from annotate.services import annotation_submit, assignment_skip
from tests.annotate.factories import annotators_make, campaign_make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

N_ANNOTATORS = 24
N_ITEMS = 40
OVERLAP = 3


def run_all(target, n):
    barrier = threading.Barrier(n)
    failures = []

    def body(i):
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # surfaced below: a thread's exception must fail the test
            failures.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures[:3]


def test_many_annotators_fill_every_slot_exactly_once():
    assert connection.vendor == "postgresql"
    campaign = campaign_make(n_items=N_ITEMS, overlap=OVERLAP)
    annotators = annotators_make(campaign, N_ANNOTATORS, prefix="crowd")
    leased_at_once = Counter()
    lock = threading.Lock()

    def work(i):
        rng = np.random.default_rng(i)
        me = annotators[i].pk
        while True:
            try:
                lease = assignment_next(annotator_id=me, rng=rng)
            except errors.NoItemsLeft:
                return
            live = Assignment.objects.filter(item_id=lease.item_id, state=AssignmentState.LEASED).count()
            with lock:
                leased_at_once[lease.item_id] = max(leased_at_once[lease.item_id], live)
            if rng.random() < 0.1:  # some annotators skip; the slot must go back to the pool
                assignment_skip(annotator_id=me, assignment_id=lease.pk, reason="unsure")
            else:
                annotation_submit(annotator_id=me, assignment_id=lease.pk, answer={"verdict": "TIE"})

    run_all(work, N_ANNOTATORS)

    # every slot filled once: k annotations per item, no more, none twice by one annotator
    per_item = dict(Annotation.objects.values_list("assignment__item_id").annotate(n=Count("id")))
    assert len(per_item) == N_ITEMS and set(per_item.values()) == {OVERLAP}
    pairs = Counter(Assignment.objects.values_list("item_id", "annotator_id"))
    assert max(pairs.values()) == 1
    assert max(leased_at_once.values()) <= OVERLAP
    # the counters agree with the rows, and nothing is left leased
    for item in Item.objects.all():
        assert (item.n_leased, item.n_submitted, item.is_open) == (0, per_item[item.pk], False)
    assert not Assignment.objects.filter(state=AssignmentState.LEASED).exists()
    submitted = Counter(Annotation.objects.values_list("assignment__annotator_id", flat=True))
    assert {a.pk: a.n_submitted for a in Annotator.objects.all()} == {a.pk: submitted.get(a.pk, 0) for a in annotators}


def test_one_annotator_clicking_twice_at_once_gets_one_lease():
    campaign = campaign_make(n_items=5, overlap=1)
    me = annotators_make(campaign, 1, prefix="double")[0].pk
    got = []
    run_all(lambda i: got.append(assignment_next(annotator_id=me).pk), 8)
    assert len(set(got)) == 1
    assert Assignment.objects.count() == 1
