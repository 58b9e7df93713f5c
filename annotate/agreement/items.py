"""Per-item figures from a (n_items, n_labels) label-count table: consensus, entropy, majority.

Items with no judgment get NaN (consensus, entropy) or NO_LABEL (majority): a dashboard
shows them as "not judged yet" rather than as perfect agreement.
"""
from typing import Literal

import numpy as np

from annotate.agreement.judgments import AgreementInputError

NO_LABEL = -1
Ties = Literal["random", "lowest", "abstain"]


def _counts(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2:
        raise AgreementInputError(f"label counts must be (n_items, n_labels), got shape {counts.shape}")
    return counts


def item_consensus(counts) -> np.ndarray:
    """(n_items,) share of the item's judgments that carry its most frequent label, in
    [1/n_labels, 1]; NaN for items without judgments. One judgment gives 1.0."""
    counts = _counts(counts)
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts.max(axis=1, initial=0.0) / total, np.nan)


def item_entropy(counts) -> np.ndarray:
    """(n_items,) Shannon entropy in bits of the item's label distribution: 0 when all agree,
    log2(n_labels) at most; NaN for items without judgments."""
    counts = _counts(counts)
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / total
        terms = np.where(shares > 0, -shares * np.log2(np.where(shares > 0, shares, 1.0)), 0.0)
    return np.where(total[:, 0] > 0, terms.sum(axis=1), np.nan)


def majority_labels(counts, *, ties: Ties = "lowest", rng: np.random.Generator | None = None) -> np.ndarray:
    """(n_items,) int64 most frequent label per item; NO_LABEL (-1) for items without judgments.

    Works on any non-negative table, so weighted votes (`weighted_majority`) use it too.
    A tie between labels is settled by `ties`:
      "lowest"  the smallest tied label code (deterministic; order codes so that the safe
                answer, e.g. "tie", is lowest if that matters),
      "random"  uniformly among the tied labels with the caller's `rng` (required),
      "abstain" NO_LABEL.
    """
    counts = _counts(counts)
    if counts.shape[1] == 0:
        return np.full(len(counts), NO_LABEL, dtype=np.int64)
    top = counts.max(axis=1, keepdims=True)
    # Votes are counts or sums of float weights; a relative tolerance keeps 0.1 + 0.2 vs 0.3 a tie.
    tied = np.isclose(counts, top, rtol=1e-12, atol=0.0) & (top > 0)
    labels = np.argmax(tied, axis=1).astype(np.int64)
    n_tied = tied.sum(axis=1)
    if ties == "random":
        if rng is None:
            raise AgreementInputError("ties='random' needs an explicit rng (np.random.Generator)")
        several = np.flatnonzero(n_tied > 1)
        pick = np.floor(rng.random(len(several)) * n_tied[several]).astype(np.int64)
        rank = np.cumsum(tied[several], axis=1) - 1
        labels[several] = np.argmax(tied[several] & (rank == pick[:, None]), axis=1)
    elif ties == "abstain":
        labels[n_tied > 1] = NO_LABEL
    elif ties != "lowest":
        raise AgreementInputError(f"unknown tie rule {ties!r}")
    labels[n_tied == 0] = NO_LABEL
    return labels
