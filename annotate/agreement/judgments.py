"""Judgments as integer-indexed arrays, and the two tables every agreement figure reads.

A campaign's judgments arrive as three aligned (n,) integer arrays:

    items       item code in [0, n_items)
    annotators  annotator code in [0, n_annotators)
    labels      label code in [0, n_labels)   (e.g. 0 = A better, 1 = B better, 2 = tie)

The caller maps database ids to codes (`np.unique(ids, return_inverse=True)`). One
annotator judges an item at most once (campaign leases never hand an item to the same
annotator twice), so a repeated (item, annotator) pair is an input error, not a weight.

From them: `label_counts` (n_items, n_labels), the only table that alpha, kappa, consensus
and entropy need, and `reliability_matrix` (n_annotators, n_items) with NaN where an
annotator did not judge an item: Krippendorff's "reliability data" layout.
"""
import numpy as np


class AgreementInputError(ValueError):
    """Judgment arrays that can't be read: shapes differ, codes out of range, repeated pairs."""


def _codes(name: str, values, n: int | None) -> tuple[np.ndarray, int]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise AgreementInputError(f"{name} must be a 1-d array, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.issubdtype(array.dtype, np.floating) or not np.all(array == np.round(array)):
            raise AgreementInputError(f"{name} must hold integer codes, got dtype {array.dtype}")
    array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise AgreementInputError(f"{name} has a negative code ({array.min()})")
    inferred = int(array.max()) + 1 if array.size else 0
    if n is None:
        n = inferred
    elif inferred > n:
        raise AgreementInputError(f"{name} has code {inferred - 1}, outside [0, {n})")
    return array, int(n)


def check_judgments(
    items,
    annotators,
    labels,
    *,
    n_items: int | None = None,
    n_annotators: int | None = None,
    n_labels: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int]:
    """Validated int64 copies of the three arrays and the three sizes (inferred as max + 1
    where not given). Raises AgreementInputError on unequal lengths, non-integer or
    out-of-range codes, or an (item, annotator) pair that occurs twice."""
    items, n_items = _codes("items", items, n_items)
    annotators, n_annotators = _codes("annotators", annotators, n_annotators)
    labels, n_labels = _codes("labels", labels, n_labels)
    if not len(items) == len(annotators) == len(labels):
        raise AgreementInputError(
            f"items, annotators and labels differ in length ({len(items)}, {len(annotators)}, {len(labels)})"
        )
    if len(items):
        pairs, repeats = np.unique(items * n_annotators + annotators, return_counts=True)
        if np.any(repeats > 1):
            first = int(pairs[np.argmax(repeats > 1)])
            raise AgreementInputError(
                f"annotator {first % n_annotators} judged item {first // n_annotators} more than once"
            )
    return items, annotators, labels, n_items, n_annotators, n_labels


def label_counts(items, labels, *, n_items: int | None = None, n_labels: int | None = None) -> np.ndarray:
    """(n_items, n_labels) int64: how many judgments gave item i label c. The caller
    guarantees one judgment per (item, annotator); `check_judgments` verifies it."""
    items, n_items = _codes("items", items, n_items)
    labels, n_labels = _codes("labels", labels, n_labels)
    if len(items) != len(labels):
        raise AgreementInputError(f"items and labels differ in length ({len(items)}, {len(labels)})")
    flat = np.bincount(items * n_labels + labels, minlength=n_items * n_labels)
    return flat.reshape(n_items, n_labels)


def reliability_matrix(
    items,
    annotators,
    labels,
    *,
    n_items: int | None = None,
    n_annotators: int | None = None,
) -> np.ndarray:
    """(n_annotators, n_items) float64 of label codes, NaN where the annotator gave none."""
    items, annotators, labels, n_items, n_annotators, _ = check_judgments(
        items, annotators, labels, n_items=n_items, n_annotators=n_annotators
    )
    matrix = np.full((n_annotators, n_items), np.nan)
    matrix[annotators, items] = labels
    return matrix


def judgments_from_matrix(matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of `reliability_matrix`: (items, annotators, labels) int64 for the non-NaN
    cells of an (n_annotators, n_items) matrix of integer label codes."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise AgreementInputError(f"reliability data must be 2-d, got shape {matrix.shape}")
    annotators, items = np.nonzero(~np.isnan(matrix))
    values = matrix[annotators, items]
    if np.any(values != np.round(values)) or np.any(values < 0):
        raise AgreementInputError("reliability data must hold non-negative integer label codes")
    return items.astype(np.int64), annotators.astype(np.int64), values.astype(np.int64)
