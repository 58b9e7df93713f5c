"""Campaign-wide figures from coded judgments: progress, throughput, agreement, consensus.

Agreement and consensus read the regular items only: gold items are checks that every
annotator may see (so they would outweigh the work) and are picked to be easy. Gold
judgments count in progress, throughput and the per-annotator figures. Imported judgments
(those that came with the items) count everywhere except throughput: they all carry the
import's time, which says nothing about how fast anyone worked.
"""
import math

import numpy as np

from annotate.agreement import NO_LABEL, fleiss_kappa, item_consensus, item_entropy, krippendorff_alpha, label_counts
from annotate.stats.reading import CampaignJudgments

CONSENSUS_BINS = 10
LOWEST_ITEMS = 15  # lowest-consensus items listed on the dashboard
THROUGHPUT_BINS = 48  # at most this many bars; the bin width grows in whole hours


def number(value, digits: int = 3):
    """A float for JSON: rounded, None for NaN or infinity."""
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def progress(j: CampaignJudgments) -> dict:
    """Items complete (>= overlap judgments), items by number of judgments, judgments vs wanted."""
    overlap = j.campaign.overlap
    regular = ~j.item_is_gold
    per_item = np.bincount(j.items, minlength=len(j.item_ids))
    k = np.minimum(per_item[regular], overlap)
    n_items = int(regular.sum())
    return {
        "items": n_items,
        "gold_items": int(j.item_is_gold.sum()),
        "items_complete": int((per_item[regular] >= overlap).sum()),
        "items_by_judgments": [int(c) for c in np.bincount(k, minlength=overlap + 1)],  # last: >= overlap
        "judgments": int(per_item[regular].sum()),
        "judgments_wanted": n_items * overlap,
        "gold_judgments": int(per_item[j.item_is_gold].sum()),
        "imported_judgments": int(j.imported.sum()),
        "annotators": len(j.annotator_ids),
        "annotators_with_judgments": int(np.unique(j.annotators).size),
    }


def throughput(j: CampaignJudgments, now_s: float) -> dict:
    """Judgments submitted here per hour, in equal bins from the first one to now (whole hours
    per bin); imported judgments are left out."""
    created_s = j.created_s[~j.imported]
    if created_s.size == 0:
        return {"bin_hours": 1, "start_s": None, "per_hour": [], "last_hour": 0, "last_24h": 0}
    start = math.floor(created_s.min() / 3600) * 3600
    hours = max(1, math.ceil((now_s - start) / 3600))
    bin_hours = max(1, math.ceil(hours / THROUGHPUT_BINS))
    n_bins = math.ceil(hours / bin_hours)
    index = np.minimum(((created_s - start) // (bin_hours * 3600)).astype(np.int64), n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    return {
        "bin_hours": bin_hours,
        "start_s": start,
        "per_hour": [number(c / bin_hours, 2) for c in counts],
        "last_hour": int((created_s > now_s - 3600).sum()),
        "last_24h": int((created_s > now_s - 86400).sum()),
    }


def _choice_rows(j: CampaignJudgments) -> np.ndarray:
    return (j.label != NO_LABEL) & ~j.item_is_gold[j.items]


def _reliability(counts: np.ndarray, level: str) -> dict:
    pairable = counts.sum(axis=1) >= 2
    return {
        "alpha": number(krippendorff_alpha(counts, level=level)),
        "kappa": number(fleiss_kappa(counts)) if level == "nominal" else None,
        "level": level,
        "units": int(pairable.sum()),
        "values": int(counts[pairable].sum()),
    }


def _signed_preference(j: CampaignJudgments, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(item codes, ordinal codes, n_labels) for two-candidate items: -s..+s preference for the
    second candidate by strength s (1 when strength is not asked or not given); tie and both
    bad are 0, as in the leaderboard."""
    scale = len(j.questions.strength_labels) if j.questions.strength else 1
    two = rows & (j.item_n_candidates[j.items] == 2)
    label, strength = j.label[two], np.clip(j.strength[two], 1, scale)
    sign = np.where(label == 0, -1, np.where(label == 1, 1, 0))
    return j.items[two], scale + sign * strength, 2 * scale + 1


def _aspect(j: CampaignJudgments, rows: np.ndarray, aspect) -> dict:
    n_max = j.labels.n_candidates
    units, values = [], []
    for index in np.flatnonzero(rows):
        given = j.aspects[index].get(aspect.name)
        if given is None:
            continue
        item = int(j.items[index])
        if aspect.kind == "pairwise":
            units.append(item)
            values.append(n_max if given == "TIE" else int(given))
        else:  # a score per candidate: each (item, candidate) is a unit
            for candidate, score in given.items():
                units.append(item * n_max + int(candidate))
                values.append(int(score) - aspect.low)
    n_labels = n_max + 1 if aspect.kind == "pairwise" else aspect.high - aspect.low + 1
    n_units = len(j.item_ids) * (1 if aspect.kind == "pairwise" else n_max)
    counts = label_counts(units, values, n_items=n_units, n_labels=n_labels)
    figures = _reliability(counts, "nominal" if aspect.kind == "pairwise" else "ordinal")
    return {"name": aspect.name, "label": aspect.label or aspect.name, "kind": aspect.kind, **figures}


def agreement(j: CampaignJudgments) -> dict:
    """Alpha (nominal) and kappa on the choice; ordinal alpha on the strength-signed preference
    and on each scale aspect; nominal alpha and kappa on each pairwise aspect."""
    rows = _choice_rows(j)
    counts = label_counts(j.items[rows], j.label[rows], n_items=len(j.item_ids), n_labels=j.labels.n_labels)
    shares = counts.sum(axis=0)
    items, codes, n_labels = _signed_preference(j, rows)
    preference = label_counts(items, codes, n_items=len(j.item_ids), n_labels=n_labels)
    aspect_rows = ~j.item_is_gold[j.items]
    return {
        "labels": j.labels.names(),
        "label_totals": [int(c) for c in shares],
        "choice": _reliability(counts, "nominal"),
        "preference": _reliability(preference, "ordinal"),
        "aspects": [_aspect(j, aspect_rows, aspect) for aspect in j.questions.aspects],
    }


def consensus(j: CampaignJudgments) -> dict:
    """Per-item consensus and entropy on regular items with two or more choices: their
    histogram, means, and the lowest-consensus items (most split first)."""
    rows = _choice_rows(j)
    counts = label_counts(j.items[rows], j.label[rows], n_items=len(j.item_ids), n_labels=j.labels.n_labels)
    judged = np.flatnonzero((counts.sum(axis=1) >= 2) & ~j.item_is_gold)
    share, entropy = item_consensus(counts[judged]), item_entropy(counts[judged])
    histogram = np.histogram(share, bins=CONSENSUS_BINS, range=(0.0, 1.0))[0] if len(judged) else np.zeros(CONSENSUS_BINS)
    worst = np.lexsort((-counts[judged].sum(axis=1), -entropy, share))[:LOWEST_ITEMS]
    names = j.labels.short_names()
    lowest = [
        {
            "position": int(j.item_positions[judged[i]]),
            "consensus": number(share[i]),
            "entropy": number(entropy[i]),
            "judgments": int(counts[judged[i]].sum()),
            "votes": {names[c]: int(n) for c, n in enumerate(counts[judged[i]]) if n},
        }
        for i in worst
    ]
    return {
        "items": len(judged),
        "mean": number(share.mean()) if len(judged) else None,
        "mean_entropy": number(entropy.mean()) if len(judged) else None,
        "unanimous": int((share == 1.0).sum()),
        "histogram": [int(c) for c in histogram],
        "lowest": lowest,
    }
