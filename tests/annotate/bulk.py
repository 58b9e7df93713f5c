"""Bulk judgments for the stats and dashboard tests: Annotator(EXTERNAL) / Assignment(SUBMITTED) /
Annotation rows written directly, as if submitted in the app with the given shown order, time
and date (J.source=IMPORTED: as an import of existing judgments would); and big_campaign_make,
a campaign of simulated crowd work for the stats benchmark."""
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.utils import timezone

from annotate.leasing import slot_open
from annotate.models import Annotation, AnnotationSource, Annotator, AnnotatorKind, Assignment, AssignmentState, Campaign, Item
from tests.annotate.factories import campaign_make


@dataclass
class J:
    """One judgment: `choice` a candidate index, or verdict TIE / BOTH_BAD; `order` as shown."""

    position: int
    annotator: str
    choice: int | None = None
    verdict: str = "CANDIDATE"
    order: tuple = (0, 1)
    strength: int | None = None
    rationale: str = ""
    time_ms: int = 10_000
    aspects: dict = field(default_factory=dict)
    created_at: datetime | None = None
    source: str = AnnotationSource.APP
    flags: list = field(default_factory=list)


def judgments_bulk(campaign: Campaign, judgments: list[J], *, batch: int = 5000) -> dict[str, Annotator]:
    """Write the judgments (creating annotators by pseudonym); returns pseudonym -> Annotator."""
    names = sorted({j.annotator for j in judgments})
    Annotator.objects.bulk_create(
        [Annotator(campaign=campaign, kind=AnnotatorKind.EXTERNAL, pseudonym=name) for name in names], batch_size=batch
    )
    people = {a.pseudonym: a for a in Annotator.objects.filter(campaign=campaign)}
    items = dict(Item.objects.filter(campaign=campaign).values_list("position", "id"))
    now = timezone.now()
    assignments = [
        Assignment(
            item_id=items[j.position], annotator=people[j.annotator], order=list(j.order), state=AssignmentState.SUBMITTED,
            leased_at=now - timedelta(minutes=5), expires_at=now + timedelta(minutes=25), ended_at=now,
        )  # fmt: skip
        for j in judgments
    ]
    Assignment.objects.bulk_create(assignments, batch_size=batch)
    annotations = Annotation.objects.bulk_create(
        [
            Annotation(
                assignment=a, verdict=j.verdict, choice=j.choice, strength=j.strength, aspects=j.aspects,
                rationale=j.rationale, flags=j.flags, time_spent_ms=j.time_ms, source=j.source,
            )  # fmt: skip
            for a, j in zip(assignments, judgments)
        ],
        batch_size=batch,
    )
    for annotation, j in zip(annotations, judgments):
        if j.created_at is not None:
            Annotation.objects.filter(pk=annotation.pk).update(created_at=j.created_at)
    # the counters leasing reads, as annotation_submit keeps them
    per_item = Counter(items[j.position] for j in judgments)
    changed = list(Item.objects.filter(pk__in=per_item))
    for item in changed:
        item.n_submitted += per_item[item.pk]
        item.is_open = slot_open(item, campaign.overlap)
    Item.objects.bulk_update(changed, ["n_submitted", "is_open"], batch_size=batch)
    return people


COMMON = ("the first answer is clearer more complete accurate concise explains steps example wrong misses "
          "question detail correct helpful both fine second response better because it covers").split()  # fmt: skip


def _vocabulary(rng, n: int = 5000) -> tuple[list[str], np.ndarray]:
    """Common words plus n made-up ones, with Zipf-like frequencies (as in real rationales)."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = COMMON + ["".join(rng.choice(letters, rng.integers(3, 10))) for _ in range(n)]
    weights = 1.0 / np.arange(1, len(words) + 1)
    return words, weights / weights.sum()


def big_campaign_make(*, slug: str = "big", n_items: int, per_item: int = 3, n_annotators: int = 300, seed: int = 0):
    """A campaign of simulated crowd work: annotators right with probability 0.4-0.95, random
    shown order, strength, time and a rationale of 2-30 words on every judgment."""
    rng = np.random.default_rng(seed)
    campaign = campaign_make(slug=slug, n_items=n_items, overlap=per_item)
    truth = rng.integers(0, 3, n_items)
    skill = rng.uniform(0.4, 0.95, n_annotators)
    words, weights = _vocabulary(rng)
    judgments = []
    for i in range(n_items):
        for a in rng.choice(n_annotators, per_item, replace=False):
            label = truth[i] if rng.random() < skill[a] else rng.integers(0, 3)
            order = (0, 1) if rng.random() < 0.5 else (1, 0)
            text = " ".join(rng.choice(words, rng.integers(2, 30), p=weights))
            kind = {"verdict": "TIE"} if label == 2 else {"choice": int(label), "strength": int(rng.integers(1, 4))}
            judgments.append(J(i + 1, f"w{a:03d}", order=order, rationale=text, time_ms=int(rng.integers(2000, 90000)), **kind))
    judgments_bulk(campaign, judgments)
    return campaign
