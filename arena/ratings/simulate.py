"""Battles drawn from known strengths, for tests, benchmarks and the sampling simulation."""
import numpy as np
from scipy.special import expit


def simulate_battles(
    params: np.ndarray,
    n_battles: int,
    rng: np.random.Generator,
    *,
    tie_rate: float = 0.0,
    pair_probabilities: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(matchups (n, 2), outcomes (n,)) with E[outcome] = sigmoid(params[first] - params[second]).

    Pairs are uniform over ordered pairs of different models, or drawn from the (K, K)
    `pair_probabilities`. A share `tie_rate` of the mass becomes ties, taken evenly from
    both sides' wins so the expected score stays Bradley–Terry (needs tie_rate / 2 <= the
    smallest win probability, clipped otherwise).
    """
    n_models = len(params)
    if pair_probabilities is None:
        first = rng.integers(0, n_models, n_battles)
        second = (first + rng.integers(1, n_models, n_battles)) % n_models
    else:
        flat = rng.choice(n_models * n_models, size=n_battles, p=np.ravel(pair_probabilities))
        first, second = np.divmod(flat, n_models)
    prob = expit(params[first] - params[second])
    win = np.clip(prob - tie_rate / 2.0, 0.0, 1.0)
    tie = np.clip(tie_rate, 0.0, 1.0 - win)
    draw = rng.random(n_battles)
    outcomes = np.where(draw < win, 1.0, np.where(draw < win + tie, 0.5, 0.0))
    return np.column_stack([first, second]), outcomes


def simulate_style_battles(
    params: np.ndarray,
    coefs: np.ndarray,
    n_battles: int,
    rng: np.random.Generator,
    *,
    verbosity: np.ndarray | None = None,
    tie_rate: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(matchups, outcomes, features_first, features_second) with a planted style effect.

    Raw features per side are (tokens, headers, lists, bold): tokens log-normal around
    400 * exp(verbosity[model]) (verbose models win more votes unless style is controlled),
    markdown counts Poisson. The outcome logit is params[first] - params[second] +
    style_features(...) @ coefs, so `style_fit` should recover params and coefs.
    """
    from arena.ratings.style import style_features

    n_models = len(params)
    verbosity = np.zeros(n_models) if verbosity is None else np.asarray(verbosity, dtype=float)
    first = rng.integers(0, n_models, n_battles)
    second = (first + rng.integers(1, n_models, n_battles)) % n_models
    sides = []
    for model in (first, second):
        tokens = np.rint(400.0 * np.exp(verbosity[model] + 0.5 * rng.standard_normal(n_battles)))
        markdown = rng.poisson(np.exp(verbosity[model])[:, None] * np.array([1.0, 3.0, 2.0]), (n_battles, 3))
        sides.append(np.column_stack([tokens, markdown]).astype(np.int32))
    logits = params[first] - params[second] + style_features(sides[0], sides[1]) @ np.asarray(coefs, np.float32)
    prob = expit(logits)
    win = np.clip(prob - tie_rate / 2.0, 0.0, 1.0)
    tie = np.clip(tie_rate, 0.0, 1.0 - win)
    draw = rng.random(n_battles)
    outcomes = np.where(draw < win, 1.0, np.where(draw < win + tie, 0.5, 0.0))
    return np.column_stack([first, second]), outcomes, sides[0], sides[1]
