"""Annotator competence without gold: Dawid–Skene EM, and majority votes weighted by it.

A. P. Dawid and A. M. Skene, "Maximum Likelihood Estimation of Observer Error-Rates Using
the EM Algorithm" (1979). Each annotator a has a confusion matrix
confusion[a, k, l] = P(a answers l | true label k); items draw their true label from
`priors`. EM alternates item posteriors (E) and priors + confusion matrices (M).

Start: posteriors are the items' vote shares (soft majority vote), so the fit is
deterministic and, like crowd-kit's DawidSkene, begins by trusting everyone equally.
`smoothing` adds a Dirichlet pseudo-count to every confusion cell: without it an annotator
seen on three items gets zeros that veto labels forever (0 reproduces crowd-kit's fit).
"""
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from annotate.agreement.items import NO_LABEL, Ties, majority_labels
from annotate.agreement.judgments import AgreementInputError, check_judgments, label_counts

_FLOOR = 1e-10  # probabilities are floored here before logs, as crowd-kit does (_EPS)


class DawidSkeneError(AgreementInputError):
    """Input that Dawid–Skene can't fit: no judgments, fewer than two labels, bad settings."""


class DawidSkeneConvergenceError(RuntimeError):
    """EM ran `max_iter` iterations without the posteriors settling within `tol`."""


@dataclass(frozen=True)
class DawidSkeneFit:
    """posteriors (n_items, n_labels) P(true label | judgments), the priors for unjudged items;
    priors (n_labels,); confusion (n_annotators, n_labels true, n_labels given), rows sum
    to 1; competence (n_annotators,) P(correct on a random item) = sum_k priors_k
    confusion[a, k, k], NaN for annotators without judgments; judged (n_items,) bool;
    n_iter; log_likelihood of the judgments (natural log) at the fitted parameters."""

    posteriors: np.ndarray
    priors: np.ndarray
    confusion: np.ndarray
    competence: np.ndarray
    judged: np.ndarray
    n_iter: int
    log_likelihood: float

    @property
    def labels(self) -> np.ndarray:
        """(n_items,) most probable label (lowest code on exact ties); NO_LABEL if unjudged."""
        return np.where(self.judged, np.argmax(self.posteriors, axis=1), NO_LABEL).astype(np.int64)


def _m_step(posteriors, items, annotators, labels, judged, n_annotators, n_labels, smoothing):
    priors = np.maximum(posteriors[judged].mean(axis=0), _FLOOR)
    priors /= priors.sum()
    cell = annotators * n_labels + labels
    confusion = np.empty((n_annotators, n_labels, n_labels))
    for true in range(n_labels):
        given = np.bincount(cell, weights=posteriors[items, true], minlength=n_annotators * n_labels)
        confusion[:, true, :] = given.reshape(n_annotators, n_labels)
    confusion = np.maximum(confusion + smoothing, _FLOOR)
    confusion /= confusion.sum(axis=2, keepdims=True)
    return priors, confusion


def _log_joint(priors, confusion, items, annotators, labels, n_items, n_labels):
    """(n_items, n_labels) log P(true = k) + sum of log P(judgment | true = k)."""
    log_given = np.log(confusion)[annotators, :, labels]  # (n, n_labels)
    joint = np.empty((n_items, n_labels))
    for true in range(n_labels):
        joint[:, true] = np.bincount(items, weights=log_given[:, true], minlength=n_items)
    return joint + np.log(priors)


def dawid_skene(
    items,
    annotators,
    labels,
    *,
    n_items: int | None = None,
    n_annotators: int | None = None,
    n_labels: int | None = None,
    smoothing: float = 0.01,
    tol: float = 1e-6,
    max_iter: int = 1000,
) -> DawidSkeneFit:
    """Fit Dawid–Skene by EM; converged when no posterior moves more than `tol` in one iteration.

    Raises DawidSkeneError (an AgreementInputError) for bad input or settings, and
    DawidSkeneConvergenceError when `max_iter` iterations do not converge. Label codes that
    nobody used still get a prior and confusion rows (near zero / uniform).
    """
    items, annotators, labels, n_items, n_annotators, n_labels = check_judgments(
        items, annotators, labels, n_items=n_items, n_annotators=n_annotators, n_labels=n_labels
    )
    if len(items) == 0:
        raise DawidSkeneError("Dawid–Skene needs at least one judgment")
    if n_labels < 2:
        raise DawidSkeneError(f"Dawid–Skene needs at least two label codes, got {n_labels}")
    if not (smoothing >= 0 and tol > 0 and max_iter >= 1):
        raise DawidSkeneError(f"need smoothing >= 0, tol > 0, max_iter >= 1 (got {smoothing}, {tol}, {max_iter})")

    counts = label_counts(items, labels, n_items=n_items, n_labels=n_labels).astype(np.float64)
    judged = counts.sum(axis=1) > 0
    posteriors = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    priors, confusion = _m_step(posteriors, items, annotators, labels, judged, n_annotators, n_labels, smoothing)
    for n_iter in range(1, max_iter + 1):
        joint = _log_joint(priors, confusion, items, annotators, labels, n_items, n_labels)
        updated = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
        updated[~judged] = priors
        step = float(np.max(np.abs(updated[judged] - posteriors[judged])))
        posteriors = updated
        priors, confusion = _m_step(posteriors, items, annotators, labels, judged, n_annotators, n_labels, smoothing)
        if step < tol:
            break
    else:
        raise DawidSkeneConvergenceError(
            f"Dawid–Skene did not converge in {max_iter} iterations (last step {step:.3g} > tol {tol:g})"
        )
    joint = _log_joint(priors, confusion, items, annotators, labels, n_items, n_labels)
    posteriors = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    posteriors[~judged] = priors
    seen = np.bincount(annotators, minlength=n_annotators) > 0
    competence = np.where(seen, np.einsum("k,akk->a", priors, confusion), np.nan)
    return DawidSkeneFit(
        posteriors=posteriors,
        priors=priors,
        confusion=confusion,
        competence=competence,
        judged=judged,
        n_iter=n_iter,
        log_likelihood=float(logsumexp(joint[judged], axis=1).sum()),
    )


def competence_weights(competence, n_labels: int) -> np.ndarray:
    """(n_annotators,) vote weights log((n_labels - 1) p / (1 - p)): the optimal weights for
    annotators who are right with probability p and otherwise err uniformly (Nitzan and
    Paroush, 1982). At or below chance (p <= 1 / n_labels), or unknown (NaN), the weight is 0:
    a below-chance vote for l does not say which other label is right."""
    p = np.clip(np.nan_to_num(np.asarray(competence, dtype=np.float64), nan=0.0), _FLOOR, 1.0 - 1e-6)
    return np.maximum(np.log((n_labels - 1) * p / (1.0 - p)), 0.0)


def weighted_majority(
    items,
    annotators,
    labels,
    weights,
    *,
    n_items: int | None = None,
    n_labels: int | None = None,
    ties: Ties = "lowest",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """(n_items,) label with the largest total weight of its voters; weights (n_annotators,) >= 0.
    Ties as in `majority_labels`; NO_LABEL for items without a vote of positive weight."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 1 or np.any(~np.isfinite(weights)) or np.any(weights < 0):
        raise AgreementInputError("weights must be a (n_annotators,) array of finite values >= 0")
    items, annotators, labels, n_items, _, n_labels = check_judgments(
        items, annotators, labels, n_items=n_items, n_annotators=len(weights), n_labels=n_labels
    )
    scores = np.bincount(items * n_labels + labels, weights=weights[annotators], minlength=n_items * n_labels)
    return majority_labels(scores.reshape(n_items, n_labels), ties=ties, rng=rng)
