"""Bradley–Terry by maximum likelihood on pairwise counts, with bootstrap and sandwich intervals.

Model: P(i beats j) = sigmoid(params[i] - params[j]); a tie is half a win for each side, so
the log-likelihood of an unordered pair with `wins` points for i out of `totals` battles is
wins * d - totals * softplus(d), d = params[i] - params[j]. Fitted on the pair totals (at most
K(K-1)/2 numbers, whatever the number of battles) with an analytic gradient and L-BFGS.

Identifiability: a ridge term reg/2 * |params|^2 with a tiny `reg` (DEFAULT_REG, in battles).
Because the likelihood's gradient sums to zero over each connected group of models, the ridge
optimum has mean zero in every group: it is the sum-to-zero MLE wherever the MLE exists, and
finite where it does not:
- a model with no battles gets params 0 and rating NaN (it is not ranked);
- groups of models that never met each other (a disconnected comparison graph) are each
  centred on their own; ratings across groups are not comparable (`comparison_components`);
- a model that won (or lost) every battle has no finite MLE; the ridge gives it a large but
  finite rating. Such models have few battles and are flagged by `provisional`.
"""
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.sparse import csr_matrix
from scipy.special import expit
from scipy.stats import norm

from arena.ratings.counts import Counts, battles_per_model, pair_totals
from arena.ratings.scale import RatingFitError, contrast_matrix, to_ratings

# The ridge is measured in battles: 1e-3 shifts a model with 10 battles by < 0.1 Elo point.
DEFAULT_REG = 1e-3


@dataclass(frozen=True)
class BTFit:
    """params (K,) natural scale; ratings (K,) Elo scale, NaN where a model has no battles."""

    params: np.ndarray
    ratings: np.ndarray
    played: np.ndarray
    n_iter: int


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow; four times faster than np.logaddexp(0, x)."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _loss_and_grad(params, first, second, wins, totals, reg, norm_by):
    diff = params[first] - params[second]
    loss = totals @ softplus(diff) - wins @ diff + 0.5 * reg * (params @ params)
    residual = totals * expit(diff) - wins
    n_models = params.shape[0]
    grad = (
        np.bincount(first, weights=residual, minlength=n_models)
        - np.bincount(second, weights=residual, minlength=n_models)
        + reg * params
    )
    return loss / norm_by, grad / norm_by


def bt_fit(
    counts: Counts,
    *,
    reg: float = DEFAULT_REG,
    base: float = 10.0,
    scale: float = 400.0,
    init: float = 1000.0,
    anchor: int | None = None,
    anchor_rating: float = 1000.0,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> BTFit:
    """Maximum-likelihood Bradley–Terry ratings from a `Counts`; raises RatingFitError.

    `tol` bounds the largest gradient component of the per-battle log-likelihood (at 1M
    battles the ratings then agree with a Newton-polished optimum to 1e-5 Elo points).
    Ratings have mean `init` over the played models, or `anchor_rating` for the model
    `anchor`. With no battles at all every rating is NaN.
    """
    pairs, wins, totals = pair_totals(counts)
    played = battles_per_model(counts) > 0
    n_models = counts.n_models
    norm_by = max(counts.n_battles, 1.0)
    params = np.zeros(n_models)
    n_iter = 0
    if len(totals):
        result = minimize(
            _loss_and_grad,
            params,
            args=(pairs[:, 0], pairs[:, 1], wins, totals, reg, norm_by),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxcor": 20},
        )
        # L-BFGS-B reports an "abnormal" line search when it is already at the optimum to
        # machine precision; the gradient, not the status, decides.
        grad_max = float(np.abs(result.jac).max())
        if not (result.success or grad_max <= 100 * tol):
            raise RatingFitError(f"Bradley-Terry fit did not converge: {result.message} (|grad| {grad_max:.2e})")
        params, n_iter = result.x, int(result.nit)
    ratings = to_ratings(
        params, played=played, base=base, scale=scale, init=init, anchor=anchor, anchor_rating=anchor_rating
    )
    return BTFit(params=params, ratings=ratings, played=played, n_iter=n_iter)


def _incidence(pairs: np.ndarray, n_models: int) -> csr_matrix:
    """(P, K) sparse: +1 at the pair's first model, -1 at its second."""
    n_pairs = len(pairs)
    rows = np.repeat(np.arange(n_pairs), 2)
    return csr_matrix((np.tile([1.0, -1.0], n_pairs), (rows, pairs.ravel())), shape=(n_pairs, n_models))


def newton_pairs(pairs, wins, totals, params, *, reg: float, tol: float = 1e-9, max_iter: int = 50) -> np.ndarray:
    """Solve many Bradley–Terry fits on the same pairs at once: wins, totals (R, P) -> params (R, K).

    Damped Newton, vectorised over the R problems (one batched K x K solve per step), started
    from `params` (R, K). Used for the bootstrap: from the full-data fit each resample
    converges in 3-4 steps. Raises RatingFitError if a problem has not converged.
    """
    n_rounds, n_models = params.shape
    first, second = pairs[:, 0], pairs[:, 1]
    incidence = _incidence(pairs, n_models)
    diagonal = np.arange(n_models)

    def loss(theta):
        diff = theta[:, first] - theta[:, second]
        return (totals * softplus(diff) - wins * diff).sum(axis=1) + 0.5 * reg * (theta * theta).sum(axis=1)

    current = loss(params)
    for _ in range(max_iter):
        diff = params[:, first] - params[:, second]
        prob = expit(diff)
        grad = (incidence.T @ (totals * prob - wins).T).T + reg * params
        curvature = totals * prob * (1.0 - prob)
        hessian = np.zeros((n_rounds, n_models, n_models))
        hessian[:, first, second] = -curvature
        hessian[:, second, first] = -curvature
        hessian[:, diagonal, diagonal] = (abs(incidence).T @ curvature.T).T + reg
        step = np.linalg.solve(hessian, grad[..., None])[..., 0]
        size = np.ones(n_rounds)
        for _ in range(40):
            trial = params - size[:, None] * step
            trial_loss = loss(trial)
            worse = trial_loss > current + 1e-12 * np.abs(current)
            if not worse.any():
                break
            size[worse] *= 0.5
        # A round still worse after 40 halvings is at its optimum to rounding: it stays put.
        params = np.where(worse[:, None], params, trial)
        current = np.where(worse, current, trial_loss)
        if np.abs(np.where(worse[:, None], 0.0, size[:, None] * step)).max() < tol:
            return params
    raise RatingFitError(f"batched Newton did not converge in {max_iter} steps")


def _unordered_cells(counts: Counts):
    """Merge cells that differ only in sides: (pairs (P, 2) i < j, pair_of_cell, score of i, weights).

    Sides do not enter the likelihood, and merging categories of a multinomial gives the
    multinomial of the merged categories, so resampling these cells draws the same pair
    totals and wins as resampling the original ones, with half the categories to draw.
    """
    first, second = counts.matchups[:, 0], counts.matchups[:, 1]
    swap = first > second
    low, high = np.where(swap, second, first), np.where(swap, first, second)
    level = np.rint(2.0 * np.where(swap, 1.0 - counts.outcomes, counts.outcomes)).astype(np.int64)
    cell_codes, cell_of_row = np.unique((low * counts.n_models + high) * 3 + level, return_inverse=True)
    weights = np.bincount(cell_of_row, weights=counts.weights, minlength=len(cell_codes))
    pair_codes, pair_of_cell = np.unique(cell_codes // 3, return_inverse=True)
    pairs = np.column_stack(np.divmod(pair_codes, counts.n_models))
    return pairs, pair_of_cell, (cell_codes % 3) / 2.0, weights


def bootstrap_bt(
    counts: Counts,
    *,
    rounds: int = 100,
    rng: np.random.Generator,
    params: np.ndarray | None = None,
    reg: float = DEFAULT_REG,
    base: float = 10.0,
    scale: float = 400.0,
    init: float = 1000.0,
    anchor: int | None = None,
    anchor_rating: float = 1000.0,
    chunk: int = 100,
) -> np.ndarray:
    """(rounds, K) ratings refitted on multinomial resamples of the counts.

    As FastChat's `compute_bootstrap_bt`: each round draws the n battles over the unique
    (pair, outcome) cells with the observed probabilities (sides merged, `_unordered_cells`;
    n rounded to an integer if the counts were weighted),
    then all rounds are fitted at once (`newton_pairs`), warm-started from `params` (the
    full-data fit). Ratings are centred (or anchored) within each round, and are NaN for
    models with no battles in the full data.
    """
    played = battles_per_model(counts) > 0
    if not played.any():
        return np.full((rounds, counts.n_models), np.nan)
    if params is None:
        params = bt_fit(counts, reg=reg).params
    pairs, pair_of_cell, score_of_cell, cell_weights = _unordered_cells(counts)
    n_total = int(round(counts.n_battles))
    resampled = rng.multinomial(n_total, cell_weights / cell_weights.sum(), size=rounds).astype(np.float64)
    # Cells -> pair totals and wins is linear in the cell counts: one sparse product for all rounds.
    n_cells, n_pairs = len(cell_weights), len(pairs)
    to_pair = csr_matrix((np.ones(n_cells), (np.arange(n_cells), pair_of_cell)), shape=(n_cells, n_pairs))
    to_wins = csr_matrix((score_of_cell, (np.arange(n_cells), pair_of_cell)), shape=(n_cells, n_pairs))
    totals = (to_pair.T @ resampled.T).T
    wins = (to_wins.T @ resampled.T).T
    # Chunks bound the (chunk, K, K) Hessian stack: 100 x 50 x 50 floats is 2 MB.
    samples = []
    for start in range(0, rounds, chunk):
        block = slice(start, start + chunk)
        warm = np.repeat(params[None, :], len(totals[block]), axis=0)
        samples.append(newton_pairs(pairs, wins[block], totals[block], warm, reg=reg))
    return to_ratings(
        np.concatenate(samples),
        played=played,
        base=base,
        scale=scale,
        init=init,
        anchor=anchor,
        anchor_rating=anchor_rating,
    )


def bt_sandwich_cov(counts: Counts, params: np.ndarray, *, reg: float = DEFAULT_REG) -> np.ndarray:
    """(K, K) robust (Huber–White) covariance of params: H^-1 B H^-1.

    H is the Hessian of the penalised negative log-likelihood, B the sum over battles of the
    outer products of their scores, (y - p)^2 x x^T with x = e_first - e_second, collected
    per (pair, outcome) cell. Ties make the plain inverse Fisher information too wide; the
    sandwich is not. Along the unidentified direction (all params shifted) the variance is
    zero, so any centred contrast of it is meaningful.
    """
    n_models = counts.n_models
    first, second = counts.matchups[:, 0], counts.matchups[:, 1]
    prob = expit(params[first] - params[second])
    hessian = _laplacian(first, second, counts.weights * prob * (1.0 - prob), n_models)
    hessian[np.diag_indices(n_models)] += reg
    meat = _laplacian(first, second, counts.weights * (counts.outcomes - prob) ** 2, n_models)
    bread = np.linalg.inv(hessian)
    return bread @ meat @ bread


def _laplacian(first, second, edge_weights, n_models) -> np.ndarray:
    """sum_e w_e (e_first - e_second)(e_first - e_second)^T as a dense (K, K) matrix."""
    flat = np.bincount(first * n_models + second, weights=edge_weights, minlength=n_models * n_models)
    matrix = flat.reshape(n_models, n_models)
    matrix = matrix + matrix.T
    return np.diag(matrix.sum(axis=1)) - matrix


def sandwich_intervals(
    counts: Counts,
    params: np.ndarray,
    *,
    level: float = 0.95,
    reg: float = DEFAULT_REG,
    base: float = 10.0,
    scale: float = 400.0,
    init: float = 1000.0,
    anchor: int | None = None,
    anchor_rating: float = 1000.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(ci_low, ci_high) Elo-scale normal intervals from the sandwich covariance, as LMArena reports."""
    played = battles_per_model(counts) > 0
    ratings = to_ratings(
        params, played=played, base=base, scale=scale, init=init, anchor=anchor, anchor_rating=anchor_rating
    )
    if not played.any():
        return ratings, ratings.copy()
    contrast = contrast_matrix(counts.n_models, played, anchor) * (scale / math.log(base))
    cov = contrast @ bt_sandwich_cov(counts, params, reg=reg) @ contrast.T
    half = norm.ppf(0.5 + level / 2.0) * np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return ratings - half, ratings + half
