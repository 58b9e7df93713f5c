"""Chance-corrected agreement over a whole campaign: Krippendorff's alpha and Fleiss' kappa.

Both read only `label_counts` (n_items, n_labels); which annotator gave which label does not
enter either figure. Items with fewer than two judgments are dropped as unpairable, and a
table with no pairable item gives NaN (no evidence either way), as does a table whose
pairable judgments all carry one label (expected disagreement 0, so alpha = 0/0).

Alpha follows K. Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011),
https://repository.upenn.edu/asc_papers/43: values are paired within an item, each pair
weighted 1/(m_u - 1), giving the coincidence matrix o (n_labels, n_labels) whose margins
n_c are the pairable values per label, and

    alpha = 1 - (n - 1) * sum_ck o_ck delta2_ck / sum_ck n_c n_k delta2_ck.
"""
from typing import Literal

import numpy as np

from annotate.agreement.judgments import AgreementInputError

Level = Literal["nominal", "ordinal", "interval"]


def _pairable(counts) -> np.ndarray:
    counts = np.asarray(counts)
    if counts.ndim != 2:
        raise AgreementInputError(f"label counts must be (n_items, n_labels), got shape {counts.shape}")
    if counts.size and counts.min() < 0:
        raise AgreementInputError("label counts must be non-negative")
    return counts[counts.sum(axis=1) >= 2].astype(np.float64)


def coincidence_matrix(counts) -> np.ndarray:
    """(n_labels, n_labels) float64: o_ck = sum over pairable items u of
    n_uc (n_uk - [c == k]) / (m_u - 1). Symmetric; it sums to the number of pairable values."""
    pairable = _pairable(counts)
    weighted = pairable / (pairable.sum(axis=1, keepdims=True) - 1.0)
    return weighted.T @ pairable - np.diag(weighted.sum(axis=0))


def _ordinal_ranks(label_values, n_labels: int) -> np.ndarray:
    if label_values is None:
        return np.arange(n_labels)
    values = np.asarray(label_values, dtype=np.float64)
    if values.shape != (n_labels,) or np.unique(values).size != n_labels:
        raise AgreementInputError(f"label_values must be {n_labels} distinct numbers, one per label code")
    return np.argsort(np.argsort(values))


def distance_matrix(margins, *, level: Level = "nominal", label_values=None) -> np.ndarray:
    """(n_labels, n_labels) squared difference delta2 between label codes.

    nominal: 0 on the diagonal, 1 elsewhere. ordinal: labels ranked by `label_values`
    (default: by code) and delta2_ck = (sum of margins n_g from c to k - (n_c + n_k) / 2)^2,
    so a rare label between two common ones separates them little. interval:
    (value_c - value_k)^2 with `label_values` (default: the codes themselves).
    """
    margins = np.asarray(margins, dtype=np.float64)
    n_labels = len(margins)
    if level == "nominal":
        return 1.0 - np.eye(n_labels)
    if level == "ordinal":
        rank = _ordinal_ranks(label_values, n_labels)
        ordered = np.zeros(n_labels)
        ordered[rank] = margins
        through = np.concatenate([[0.0], np.cumsum(ordered)])  # through[r] = sum of ranks < r
        low, high = np.minimum.outer(rank, rank), np.maximum.outer(rank, rank)
        span = through[high + 1] - through[low] - (margins[:, None] + margins[None, :]) / 2.0
        return np.where(low == high, 0.0, span**2)
    if level == "interval":
        values = np.arange(n_labels, dtype=np.float64) if label_values is None else np.asarray(label_values, float)
        if values.shape != (n_labels,):
            raise AgreementInputError(f"label_values must hold {n_labels} numbers, one per label code")
        return np.subtract.outer(values, values) ** 2
    raise AgreementInputError(f"unknown level of measurement {level!r}")


def krippendorff_alpha(counts, *, level: Level = "nominal", label_values=None) -> float:
    """Krippendorff's alpha of a (n_items, n_labels) label-count table.

    level: "nominal", "ordinal" (label order from `label_values`, default the codes) or
    "interval" (`label_values` are the numbers, default the codes). NaN when no item has two
    judgments or when all pairable judgments agree on one label.
    """
    coincidences = coincidence_matrix(counts)
    margins = coincidences.sum(axis=1)
    n_values = margins.sum()
    if n_values == 0:
        return float("nan")
    delta2 = distance_matrix(margins, level=level, label_values=label_values)
    expected = margins @ delta2 @ margins
    if expected == 0:
        return float("nan")
    return float(1.0 - (n_values - 1.0) * np.sum(coincidences * delta2) / expected)


def fleiss_kappa(counts) -> float:
    """Fleiss' kappa of a (n_items, n_labels) label-count table, NaN if undefined.

    Variant for unequal numbers of ratings per item (crowd data has 1-5 votes per pair):
    items with fewer than two ratings are dropped; each remaining item's agreement
    P_i = sum_c n_ic (n_ic - 1) / (m_i (m_i - 1)) (the share of agreeing ordered rating
    pairs) counts equally in P_bar; chance agreement P_e = sum_c p_c^2 with p_c the pooled
    share of label c over those items. With equal m_i this is exactly Fleiss (1971), and
    then 1 - alpha_nominal = (1 - kappa) (N - 1) / N for N pairable ratings.
    """
    pairable = _pairable(counts)
    if len(pairable) == 0:
        return float("nan")
    per_item = pairable.sum(axis=1)
    observed = np.mean((pairable * (pairable - 1.0)).sum(axis=1) / (per_item * (per_item - 1.0)))
    shares = pairable.sum(axis=0) / per_item.sum()
    chance = float(shares @ shares)
    if chance >= 1.0:
        return float("nan")
    return float((observed - chance) / (1.0 - chance))
