"""FastChat's leaderboard methods, re-implemented from their description, as benchmark references.

Bradley–Terry: `compute_bt` + `compute_bootstrap_bt` of FastChat's `rating_systems.py`: the
battles (a pandas DataFrame of model names and winners) are deduplicated into unique
(model_a, model_b, outcome) rows with counts (`pd.factorize` + `np.unique(axis=0)`), the
ratings fitted by L-BFGS on the weighted rows (maxiter 100, gtol 1e-6, no regularisation),
and the bootstrap draws multinomial weights over those rows, one L-BFGS fit per round on a
`multiprocessing.Pool` of all CPUs.

Style control: FastChat's original `construct_style_matrices` + `fit_mle_elo` (elo_analysis.py):
every battle duplicated (a tie becomes one win for each side), a dense design matrix
[+-ln(base) one-hot | standardised style differences], scikit-learn's LogisticRegression
without intercept; the bootstrap resamples battles and refits on materialised copies.

pandas and scikit-learn are dev-only dependencies: the app never imports this module.
"""
import math
import multiprocessing as mp
import os
from functools import partial

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

STYLE_ELEMENTS = (
    "sum_assistant_a_tokens",
    "header_count_a",
    "list_count_a",
    "bold_count_a",
    "sum_assistant_b_tokens",
    "header_count_b",
    "list_count_b",
    "bold_count_b",
)


def preprocess_for_bt(df: pd.DataFrame):
    n_rows = len(df)
    model_indices, models = pd.factorize(pd.concat([df["model_a"], df["model_b"]]))
    schedule = np.full((n_rows, 3), fill_value=1, dtype=np.int32)
    schedule[:, 0] = model_indices[:n_rows]
    schedule[:, 1] = model_indices[n_rows:]
    # model_a win -> 2, tie -> 1, model_b win -> 0
    schedule[(df["winner"] == "model_a").to_numpy(), 2] = 2
    schedule[(df["winner"] == "model_b").to_numpy(), 2] = 0
    matchups_outcomes, weights = np.unique(schedule, return_counts=True, axis=0)
    matchups = matchups_outcomes[:, [0, 1]]
    outcomes = matchups_outcomes[:, 2].astype(np.float64) / 2.0
    return matchups, outcomes, list(models), weights.astype(np.float64)


def bt_loss_and_grad(ratings, matchups, outcomes, weights, alpha=1.0):
    matchup_ratings = ratings[matchups]
    logits = alpha * (matchup_ratings[:, 0] - matchup_ratings[:, 1])
    probs = expit(logits)
    loss = -((np.log(probs) * outcomes + np.log(1.0 - probs) * (1.0 - outcomes)) * weights).sum()
    matchups_grads = -alpha * (outcomes - probs) * weights
    model_grad = np.zeros_like(ratings)
    np.add.at(model_grad, matchups[:, [0, 1]], matchups_grads[:, None] * np.array([1.0, -1.0], dtype=np.float64))
    return loss, model_grad


def fit_bt(matchups, outcomes, weights, n_models, alpha, tol=1e-6):
    result = minimize(
        fun=bt_loss_and_grad,
        x0=np.zeros(n_models, dtype=np.float64),
        args=(matchups, outcomes, weights, alpha),
        jac=True,
        method="L-BFGS-B",
        options={"disp": False, "maxiter": 100, "gtol": tol},
    )
    return result["x"]


def scale_and_offset(ratings, scale=400.0, init_rating=1000.0):
    # FastChat anchors mixtral-8x7b-instruct-v0.1 at 1114 when present; absent here.
    return ratings * scale + init_rating


def compute_bt(df, base=10.0, scale=400.0, init_rating=1000.0, tol=1e-6) -> pd.Series:
    matchups, outcomes, models, weights = preprocess_for_bt(df)
    ratings = fit_bt(matchups, outcomes, weights, len(models), math.log(base), tol)
    return pd.Series(scale_and_offset(ratings, scale, init_rating), index=models).sort_values(ascending=False)


def compute_bootstrap_bt(battles, num_round, base=10.0, scale=400.0, init_rating=1000.0, tol=1e-6, num_cpu=None):
    matchups, outcomes, models, weights = preprocess_for_bt(battles)
    rng = np.random.default_rng(seed=0)
    idxs = rng.multinomial(n=len(battles), pvals=weights / weights.sum(), size=num_round)
    boot_weights = idxs.astype(np.float64) / len(battles)
    bt_fn = partial(fit_bt, matchups, outcomes, n_models=len(models), alpha=np.log(base), tol=tol)
    with mp.Pool(num_cpu if num_cpu else os.cpu_count()) as pool:
        results = pool.map(bt_fn, boot_weights)
    scaled = scale_and_offset(np.array(results), scale, init_rating)
    df = pd.DataFrame(scaled, columns=models)
    return df[df.median().sort_values(ascending=False).index]


def construct_style_matrices(df: pd.DataFrame, base=10.0, add_one=True):
    models = pd.concat([df["model_a"], df["model_b"]]).unique()
    models = pd.Series(np.arange(len(models)), index=models)
    df = pd.concat([df, df], ignore_index=True)
    p = len(models.index)
    n = df.shape[0]
    k = len(STYLE_ELEMENTS) // 2
    X = np.zeros([n, p + k])
    X[np.arange(n), models[df["model_a"]].to_numpy()] = +math.log(base)
    X[np.arange(n), models[df["model_b"]].to_numpy()] = -math.log(base)
    style_vector = np.array([df[element].to_numpy() for element in STYLE_ELEMENTS])
    style_diff = (style_vector[:k] - style_vector[k:]).astype(float)
    style_sum = (style_vector[:k] + style_vector[k:]).astype(float)
    if add_one:
        style_sum = style_sum + np.ones(style_diff.shape)
    style_diff /= style_sum
    style_mean = np.mean(style_diff, axis=1)
    style_std = np.std(style_diff, axis=1)
    X[:, -k:] = ((style_diff - style_mean[:, np.newaxis]) / style_std[:, np.newaxis]).T
    # one A win => two A wins; one tie => one A win + one B win
    Y = np.zeros(n)
    Y[(df["winner"] == "model_a").to_numpy()] = 1.0
    tie_idx = ((df["winner"] == "tie") | (df["winner"] == "tie (bothbad)")).to_numpy().copy()
    tie_idx[len(tie_idx) // 2 :] = False
    Y[tie_idx] = 1.0
    return X, Y, models


def fit_mle_elo(X, Y, models, scale=400.0, init_rating=1000.0):
    from sklearn.linear_model import LogisticRegression

    p = len(models.index)
    lr = LogisticRegression(fit_intercept=False)
    lr.fit(X, Y)
    elo_scores = scale * lr.coef_[0] + init_rating
    return pd.Series(elo_scores[:p], index=models.index), lr.coef_[0][p:]


def compute_style_control(df, base=10.0):
    X, Y, models = construct_style_matrices(df, base=base)
    return fit_mle_elo(X, Y, models)


def bootstrap_style_rounds(X, Y, models, ties, num_round, seed=0):
    """FastChat's `get_bootstrap_result_style_control` after `construct_style_matrices`:
    resample battles (keeping each battle's two duplicated rows together), materialise X, Y
    for the round and refit. `ties` (n,) marks the battles that were ties."""
    rng = np.random.default_rng(seed)
    k = X.shape[0] // 2
    ratings, coefs = [], []
    for _ in range(num_round):
        indices = rng.integers(0, k, k)
        nontie = indices[~ties[indices]]
        tie = np.concatenate([indices[ties[indices]], indices[ties[indices]] + k])
        _X = np.concatenate([X[nontie], X[nontie], X[tie]])
        _Y = np.concatenate([Y[nontie], Y[nontie], Y[tie]])
        elo, coef = fit_mle_elo(_X, _Y, models)
        ratings.append(elo)
        coefs.append(coef)
    return pd.DataFrame(ratings), np.array(coefs)


def bootstrap_style_control(df, num_round, base=10.0, seed=0):
    X, Y, models = construct_style_matrices(df, base=base)
    ties = ((df["winner"] == "tie") | (df["winner"] == "tie (bothbad)")).to_numpy()
    return bootstrap_style_rounds(X, Y, models, ties, num_round, seed)
