"""Per-annotator figures: agreement with the others' majority, gold accuracy, position bias.

Each returns, per annotator code, the rate and the number of judgments it rests on, so a
dashboard can hide or grey out rates over a handful of judgments; annotators without a
scorable judgment get NaN.
"""
from typing import NamedTuple

import numpy as np
from scipy.stats import binom

from annotate.agreement.items import NO_LABEL
from annotate.agreement.judgments import AgreementInputError, check_judgments, label_counts


class Rates(NamedTuple):
    """rate (n_annotators,) float64 in [0, 1], NaN where n == 0; n (n_annotators,) int64."""

    rate: np.ndarray
    n: np.ndarray


class PositionBias(NamedTuple):
    """share_first (n_annotators,) share of positional choices that took the first (left)
    candidate, NaN where n == 0; n (n_annotators,) positional choices; p_value
    (n_annotators,) two-sided binomial test of share_first against 1 / n_positions."""

    share_first: np.ndarray
    n: np.ndarray
    p_value: np.ndarray


def _per_annotator(annotators: np.ndarray, scores: np.ndarray, mask: np.ndarray, n_annotators: int) -> Rates:
    n = np.bincount(annotators[mask], minlength=n_annotators)
    total = np.bincount(annotators[mask], weights=scores[mask], minlength=n_annotators)
    with np.errstate(invalid="ignore", divide="ignore"):
        return Rates(np.where(n > 0, total / n, np.nan), n.astype(np.int64))


def leave_one_out_agreement(
    items, annotators, labels, *, n_items=None, n_annotators=None, n_labels=None
) -> Rates:
    """How often each annotator's label matches the majority of the *other* judgments on the
    same item (their own vote removed, so a lone dissenter on a 2-vote item is not rescued by
    it). When the others tie between several labels, a match counts 1 / (number tied): the
    expected agreement under a random tie-break, without drawing one. Judgments on items
    nobody else judged are not scored."""
    items, annotators, labels, n_items, n_annotators, n_labels = check_judgments(
        items, annotators, labels, n_items=n_items, n_annotators=n_annotators, n_labels=n_labels
    )
    rows = np.arange(len(items))
    others = label_counts(items, labels, n_items=n_items, n_labels=n_labels)[items]
    others[rows, labels] -= 1
    top = others.max(axis=1, initial=0)
    tied = (others == top[:, None]) & (top[:, None] > 0)
    n_tied = tied.sum(axis=1)
    scorable = n_tied > 0
    scores = np.where(scorable, tied[rows, labels] / np.maximum(n_tied, 1), 0.0)
    return _per_annotator(annotators, scores, scorable, n_annotators)


def gold_accuracy(items, annotators, labels, gold, *, n_annotators=None, n_labels=None) -> Rates:
    """Share of each annotator's judgments on gold items that give the gold label.
    gold (n_items,) int: the gold label code per item, NO_LABEL (-1) for non-gold items."""
    gold = np.asarray(gold, dtype=np.int64)
    if gold.ndim != 1:
        raise AgreementInputError(f"gold must be (n_items,), got shape {gold.shape}")
    items, annotators, labels, _, n_annotators, _ = check_judgments(
        items, annotators, labels, n_items=len(gold), n_annotators=n_annotators, n_labels=n_labels
    )
    target = gold[items]
    return _per_annotator(annotators, (labels == target).astype(np.float64), target != NO_LABEL, n_annotators)


def chosen_positions(labels, shown) -> np.ndarray:
    """(n,) int64 display position (0 = first/left) of the chosen candidate, NO_LABEL when the
    label is not a candidate (tie, both bad). shown (n, n_positions) int: the label code of the
    candidate displayed at each position, as recorded with the assignment."""
    labels = np.asarray(labels, dtype=np.int64)
    shown = np.asarray(shown, dtype=np.int64)
    if shown.ndim != 2 or len(shown) != len(labels):
        raise AgreementInputError(f"shown must be (n, n_positions) with n = {len(labels)}, got {shown.shape}")
    hit = shown == labels[:, None]
    if np.any(hit.sum(axis=1) > 1):
        raise AgreementInputError("a label code is shown at two positions of one assignment")
    return np.where(hit.any(axis=1), np.argmax(hit, axis=1), NO_LABEL).astype(np.int64)


def position_bias(annotators, positions, *, n_annotators=None, n_positions: int = 2) -> PositionBias:
    """Per annotator, the share of first-position choices among judgments with a positional
    choice (positions >= 0, from `chosen_positions`). Under no bias and random placement it is
    1 / n_positions; p_value doubles the smaller binomial tail (capped at 1), which for two
    positions equals scipy.stats.binomtest's two-sided p-value."""
    annotators = np.asarray(annotators, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.int64)
    if annotators.shape != positions.shape or annotators.ndim != 1:
        raise AgreementInputError("annotators and positions must be (n,) arrays of equal length")
    if n_positions < 2 or (positions.size and positions.max() >= n_positions):
        raise AgreementInputError(f"positions must lie in [0, {n_positions}) with n_positions >= 2")
    if n_annotators is None:
        n_annotators = int(annotators.max()) + 1 if annotators.size else 0
    rates = _per_annotator(annotators, (positions == 0).astype(np.float64), positions >= 0, n_annotators)
    first = np.rint(np.nan_to_num(rates.rate) * rates.n)
    chance = 1.0 / n_positions
    tails = np.minimum(binom.cdf(first, rates.n, chance), binom.sf(first - 1, rates.n, chance))
    p_value = np.where(rates.n > 0, np.minimum(1.0, 2.0 * tails), np.nan)
    return PositionBias(rates.rate, rates.n, p_value)
