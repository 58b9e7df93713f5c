"""Style control: Bradley–Terry with style covariates, as Chatbot Arena fits it.

logit P(first wins) = params[first] - params[second] + features @ coefs, where the features
are FastChat's normalised style differences (`style_features`): response length and
markdown header, list and bold counts. ratings then say how the models compare at equal
style; coefs (logit per standard deviation of each feature) say how much style sways voters.

Continuous features rule out collapsing battles into count cells, so this fit runs on one row
per battle, but never builds FastChat's dense (2n, K + p) design: the model part of every
product goes through the integer pair code first * K + second (np.bincount over K^2 bins),
features are float32, and the fit is a damped Newton method (the K + p parameters make the
Hessian tiny; 5-8 passes over the rows from zero, 2-3 from a warm start). The bootstrap
draws multinomial row weights for the same arrays instead of materialising resampled copies.
Ties are half a win, as in bt.py.
"""
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from scipy.stats import norm

from arena.ratings.scale import RatingFitError, contrast_matrix, to_ratings

STYLE_FEATURES = ("length", "headers", "lists", "bold")
# FastChat's compute_style_control: a ridge of 0.5 on ratings and style coefficients alike,
# added to the summed negative log-likelihood; negligible at Chatbot Arena's sizes, enough
# to keep a model that won every battle finite.
STYLE_REG = 0.5


@dataclass(frozen=True)
class StyleFit:
    """ratings (K,) Elo scale at equal style; params (K,) natural; coefs (p,) per feature std."""

    ratings: np.ndarray
    params: np.ndarray
    coefs: np.ndarray
    played: np.ndarray
    n_iter: int


def style_features(features_first, features_second, *, add_one: bool = True) -> np.ndarray:
    """(n, p) float32: (a - b) / (a + b + 1) per feature, then standardised over the battles.

    FastChat's `preprocess_for_style` with every ratio applied (add_one guards a + b = 0). A
    feature that never varies (std 0) stays 0 instead of dividing by zero.
    """
    first, second = np.asarray(features_first), np.asarray(features_second)
    if first.shape != second.shape or first.ndim != 2:
        raise ValueError("features_first and features_second must both be (n, p)")
    features = np.empty(first.shape, dtype=np.float32)
    # One feature at a time in float64: 8 MB temporaries at 1M battles instead of 32 MB.
    for j in range(first.shape[1]):
        a, b = first[:, j].astype(np.float64), second[:, j].astype(np.float64)
        diff = (a - b) / (a + b + (1.0 if add_one else 0.0))
        diff -= diff.mean()
        std = diff.std()
        features[:, j] = diff / std if std > 0 else diff
    return features


class _Design:
    """The per-battle arrays in the compact form every pass reads, and scratch buffers.

    Passes write into preallocated row buffers: at 1M battles a fresh temporary costs a
    page-faulting 8 MB allocation, which made up a third of a Newton step.
    """

    def __init__(self, matchups, outcomes, features, n_models, weights):
        matchups = np.asarray(matchups)
        if matchups.ndim != 2 or matchups.shape[0] == 0:
            raise ValueError("style control needs at least one battle, matchups (n, 2)")
        if np.any(matchups[:, 0] == matchups[:, 1]) or matchups.min() < 0 or matchups.max() >= n_models:
            raise ValueError("matchups must pair two different models in [0, n_models)")
        self.n_models = n_models
        self.code = matchups[:, 0].astype(np.intp) * n_models + matchups[:, 1].astype(np.intp)
        self.outcomes = np.asarray(outcomes, dtype=np.float64)
        # (p, n): each feature contiguous, so per-feature products stream through memory.
        self.features = np.ascontiguousarray(np.asarray(features, dtype=np.float32).T)
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        n_rows = self.code.shape[0]
        if self.features.shape[1] != n_rows or self.outcomes.shape != self.code.shape:
            raise ValueError("matchups, outcomes and features must have the same number of rows")
        played = np.bincount(self.code, weights=self.weights, minlength=n_models * n_models).reshape(n_models, -1)
        self.played = (played.sum(axis=0) + played.sum(axis=1)) > 0
        self._rows = [np.empty(n_rows) for _ in range(3)]
        self._rows32 = np.empty(n_rows, dtype=np.float32)
        self._scaled = np.empty_like(self.features)

    def logits(self, theta, out):
        n_models = self.n_models
        table = (theta[:n_models, None] - theta[None, :n_models]).ravel()
        np.take(table, self.code, out=out)
        np.dot(theta[n_models:].astype(np.float32), self.features, out=self._rows32)
        out += self._rows32
        return out

    def loss(self, logits, weights, reg, theta):
        row, scratch = self._rows[0], self._rows[1]
        # softplus(z) - y z, with softplus(z) = max(z, 0) + log1p(exp(-|z|)).
        np.abs(logits, out=row)
        np.negative(row, out=row)
        np.exp(row, out=row)
        np.log1p(row, out=row)
        np.maximum(logits, 0.0, out=scratch)
        row += scratch
        np.multiply(self.outcomes, logits, out=scratch)
        row -= scratch
        total = row.sum() if weights is None else row @ weights
        return total + 0.5 * reg * (theta @ theta)

    def gradient_hessian(self, logits, weights, reg, theta, *, meat: bool = False):
        """Gradient and Hessian of the penalised loss; with meat=True, the sum of per-row
        score outer products in place of the Hessian (for the sandwich)."""
        n_models, bins = self.n_models, self.n_models * self.n_models
        residual, curvature, scratch = self._rows
        expit(logits, out=residual)
        if meat:
            np.subtract(residual, self.outcomes, out=residual)
            np.multiply(residual, residual, out=curvature)
        else:
            np.subtract(1.0, residual, out=curvature)
            curvature *= residual
            np.subtract(residual, self.outcomes, out=residual)
        if weights is not None:
            residual *= weights
            curvature *= weights
        grad = np.empty_like(theta)
        by_pair = np.bincount(self.code, weights=residual, minlength=bins).reshape(n_models, -1)
        grad[:n_models] = by_pair.sum(axis=1) - by_pair.sum(axis=0)
        self._rows32[:] = residual
        grad[n_models:] = self.features @ self._rows32
        grad += reg * theta
        size = theta.shape[0]
        hessian = np.zeros((size, size))
        pair = np.bincount(self.code, weights=curvature, minlength=bins).reshape(n_models, -1)
        pair = pair + pair.T
        hessian[:n_models, :n_models] = np.diag(pair.sum(axis=1)) - pair
        for j in range(size - n_models):
            np.multiply(curvature, self.features[j], out=scratch)
            cross = np.bincount(self.code, weights=scratch, minlength=bins).reshape(n_models, -1)
            hessian[:n_models, n_models + j] = cross.sum(axis=1) - cross.sum(axis=0)
        hessian[n_models:, :n_models] = hessian[:n_models, n_models:].T
        self._rows32[:] = curvature
        np.multiply(self.features, self._rows32, out=self._scaled)
        hessian[n_models:, n_models:] = (self._scaled @ self.features.T).astype(np.float64)
        if not meat:
            hessian[np.diag_indices(size)] += reg
        return grad, hessian


def _newton(design: _Design, theta, weights, reg, tol, max_iter):
    n_rows = design.code.shape[0]
    logits, trial_logits = np.empty(n_rows), np.empty(n_rows)
    design.logits(theta, out=logits)
    current = design.loss(logits, weights, reg, theta)
    for n_iter in range(1, max_iter + 1):
        grad, hessian = design.gradient_hessian(logits, weights, reg, theta)
        step = np.linalg.solve(hessian, grad)
        if np.abs(step).max() < tol:
            return theta, n_iter
        size = 1.0
        for _ in range(30):
            trial = theta - size * step
            design.logits(trial, out=trial_logits)
            trial_loss = design.loss(trial_logits, weights, reg, trial)
            # The slack covers float32 rounding in the logits (about 1e-11 of the loss),
            # which would otherwise reject the last, tiny Newton steps.
            if trial_loss <= current + 1e-9 * abs(current):
                break
            size *= 0.5
        improved = current - trial_loss
        theta, current = trial, trial_loss
        logits, trial_logits = trial_logits, logits
        # On small data float32 rounding keeps the step near 1e-7 forever; once steps are
        # tiny and the loss no longer moves, the fit is as good as float32 allows.
        if np.abs(step).max() < 1e-4 and improved <= 1e-12 * abs(current):
            return theta, n_iter
    raise RatingFitError(f"style-control fit did not converge in {max_iter} Newton steps")


def style_fit(
    matchups,
    outcomes,
    features,
    n_models: int,
    *,
    weights=None,
    reg: float = STYLE_REG,
    base: float = 10.0,
    scale: float = 400.0,
    init: float = 1000.0,
    anchor: int | None = None,
    anchor_rating: float = 1000.0,
    tol: float = 1e-7,
    max_iter: int = 50,
) -> StyleFit:
    """Fit ratings and style coefficients jointly on per-battle rows; raises RatingFitError.

    matchups (n, 2), outcomes (n,) in {0, 0.5, 1}, features (n, p) from `style_features`,
    optional weights (n,). `tol` bounds the last Newton step in natural units (1e-7 is
    two hundred-thousandths of an Elo point).
    """
    design = _Design(matchups, outcomes, features, n_models, weights)
    theta, n_iter = _newton(design, np.zeros(n_models + design.features.shape[0]), design.weights, reg, tol, max_iter)
    return _as_fit(design, theta, n_iter, base, scale, init, anchor, anchor_rating)


def _as_fit(design, theta, n_iter, base, scale, init, anchor, anchor_rating):
    n_models = design.n_models
    ratings = to_ratings(
        theta[:n_models],
        played=design.played,
        base=base,
        scale=scale,
        init=init,
        anchor=anchor,
        anchor_rating=anchor_rating,
    )
    return StyleFit(
        ratings=ratings, params=theta[:n_models], coefs=theta[n_models:], played=design.played, n_iter=n_iter
    )


def bootstrap_style(
    matchups,
    outcomes,
    features,
    n_models: int,
    *,
    rounds: int = 100,
    rng: np.random.Generator,
    fit: StyleFit | None = None,
    weights=None,
    reg: float = STYLE_REG,
    base: float = 10.0,
    scale: float = 400.0,
    init: float = 1000.0,
    anchor: int | None = None,
    anchor_rating: float = 1000.0,
    tol: float = 1e-7,
    max_iter: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """(ratings (rounds, K), coefs (rounds, p)) refitted on bootstrap resamples of the battles.

    Each round draws n battles with replacement, as FastChat's bootstrap does, but as
    multinomial row weights (a bincount of n uniform indices) on the same arrays, warm-started
    from `fit` (the full-data fit, computed if not given).
    """
    design = _Design(matchups, outcomes, features, n_models, weights)
    if fit is None:
        fit = style_fit(matchups, outcomes, features, n_models, weights=weights, reg=reg, tol=tol, max_iter=max_iter)
    start = np.concatenate([fit.params, fit.coefs])
    n_rows = design.code.shape[0]
    thetas = []
    for _ in range(rounds):
        draws = np.bincount(rng.integers(0, n_rows, n_rows), minlength=n_rows).astype(np.float64)
        if design.weights is not None:
            draws *= design.weights
        theta, _ = _newton(design, start.copy(), draws, reg, tol, max_iter)
        thetas.append(theta)
    thetas = np.array(thetas)
    ratings = to_ratings(
        thetas[:, :n_models],
        played=design.played,
        base=base,
        scale=scale,
        init=init,
        anchor=anchor,
        anchor_rating=anchor_rating,
    )
    return ratings, thetas[:, n_models:]


def style_sandwich_intervals(
    matchups,
    outcomes,
    features,
    n_models: int,
    fit: StyleFit,
    *,
    level: float = 0.95,
    weights=None,
    reg: float = STYLE_REG,
    base: float = 10.0,
    scale: float = 400.0,
    anchor: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ci_low, ci_high, coef_se): sandwich intervals for the style-controlled ratings, and
    the robust standard errors of the style coefficients."""
    design = _Design(matchups, outcomes, features, n_models, weights)
    theta = np.concatenate([fit.params, fit.coefs])
    logits = design.logits(theta, out=np.empty(design.code.shape[0]))
    _, hessian = design.gradient_hessian(logits, design.weights, reg, theta)
    _, meat = design.gradient_hessian(logits, design.weights, reg, theta, meat=True)
    bread = np.linalg.inv(hessian)
    cov = bread @ meat @ bread
    contrast = contrast_matrix(n_models, design.played, anchor) * (scale / math.log(base))
    rating_var = np.diag(contrast @ cov[:n_models, :n_models] @ contrast.T)
    half = norm.ppf(0.5 + level / 2.0) * np.sqrt(np.clip(rating_var, 0.0, None))
    coef_se = np.sqrt(np.clip(np.diag(cov)[n_models:], 0.0, None))
    return fit.ratings - half, fit.ratings + half, coef_se
