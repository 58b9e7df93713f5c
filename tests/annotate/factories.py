"""Campaigns, items and annotators built directly in the database, for tests of the rules that
come after an import (leasing, submitting, the dashboard)."""
import numpy as np
from django.contrib.auth import get_user_model

from annotate.leasing import slot_open
from annotate.models import Annotator, Campaign, Candidate, Item
from annotate.services import annotator_join

PICK_FIRST = {"verdict": "CANDIDATE", "choice": 0, "strength": 2, "rationale": "The first one is clearer.", "time_spent_ms": 1234}


def campaign_make(
    *,
    slug: str = "c",
    n_items: int = 10,
    n_candidates: int = 2,
    n_gold: int = 0,
    seed: int = 0,
    prompt_format: str = "Prompt {position}",
    answer_format: str = "Answer {index} to prompt {position}",
    **fields,
) -> Campaign:
    """A campaign with n_items regular items (then n_gold gold items whose answer is candidate 0).
    Texts come from the formats (fields `position`, 1-based, and `index`, the candidate's)."""
    campaign = Campaign.objects.create(slug=slug, title=f"Campaign {slug}", **fields)
    rng = np.random.default_rng(seed)
    items = []
    for position in range(1, n_items + n_gold + 1):
        gold = position > n_items
        item = Item(
            campaign=campaign,
            position=position,
            prompt=prompt_format.format(position=position),
            is_gold=gold,
            gold="0" if gold else "",
            shuffle_key=int(rng.integers(1 << 62)),
            n_candidates=n_candidates,
        )
        item.is_open = slot_open(item, campaign.overlap)
        items.append(item)
    Item.objects.bulk_create(items)
    Candidate.objects.bulk_create(
        Candidate(item=item, index=i, text=answer_format.format(index=i, position=item.position), model=f"m{i}")
        for item in items
        for i in range(n_candidates)
    )
    return campaign


def annotators_make(campaign: Campaign, n: int, *, prefix: str = "annotator") -> list[Annotator]:
    """n users named prefix0, prefix1, ... (no usable password), each joined to the campaign."""
    users = get_user_model().objects
    return [annotator_join(campaign=campaign, user=users.create_user(f"{prefix}{i}")) for i in range(n)]
