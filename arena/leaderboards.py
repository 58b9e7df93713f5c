"""Leaderboard services: which leaderboards exist, fitting one (single-flight), refits on schedule."""
import dataclasses
import time

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from arena.leaderboard_data import LENGTH_BANDS, last_vote_id, style_rows, vote_filter, vote_rows_between, vote_table
from arena.models import Battle, Leaderboard, LeaderboardSnapshot, Vote
from worker.dispatch import broadcast_on_commit, enqueue_on_commit

LEADERBOARD_GROUP = "leaderboard.updates"
VOTES_SINCE_FIT_KEY = "leaderboard:votes-since-fit"
REFIT_QUEUED_KEY = "leaderboard:refit-queued"
REFIT_DEBOUNCE_S = 10


def category_check(category: str) -> str:
    """A category a leaderboard may filter on: a length band or one that battles carry."""
    category = category.strip() if isinstance(category, str) else None
    if category is None or len(category) > 60:
        raise ValidationError("A category is at most 60 characters.")
    if category and category not in LENGTH_BANDS and not Battle.objects.filter(category=category).exists():
        raise ValidationError(f"No battle has the category {category!r}.")
    return category


def leaderboard_get_or_create(*, style_control: bool = False, category: str = "", include_both_bad: bool = True) -> Leaderboard:
    """Raises ValidationError for an unknown category (a GET must not create boards at will)."""
    category = category_check(category)
    board, _ = Leaderboard.objects.get_or_create(
        style_control=bool(style_control), category=category.strip(), include_both_bad=bool(include_both_bad)
    )
    return board


def leaderboards_default() -> list[Leaderboard]:
    """The two every deployment keeps fresh: plain and style-controlled, all votes."""
    return [leaderboard_get_or_create(), leaderboard_get_or_create(style_control=True)]


def _elo_state(board: Leaderboard, contenders, index, upto_id: int) -> tuple[np.ndarray, dict]:
    """Online Elo continued from the last snapshot over the votes cast since (in vote order)."""
    from arena.ratings import elo_ratings

    last = board.snapshots.order_by("-created_at").values_list("params", flat=True).first() or {}
    state = last.get("elo_state", {"last_vote_id": 0, "ratings": {}})
    start = np.array([state["ratings"].get(str(c.pk), 1000.0) for c in contenders])
    matchups, outcomes = vote_rows_between(board, index, state["last_vote_id"], upto_id)
    elo = elo_ratings(matchups, outcomes, len(contenders), init=start)
    return elo, {"last_vote_id": upto_id, "ratings": {str(c.pk): float(r) for c, r in zip(contenders, elo)}}


def leaderboard_fit(*, leaderboard_id: int, config=None) -> LeaderboardSnapshot | None:
    """Fit now and store an immutable snapshot. Returns None when another fit of this
    leaderboard holds its row (single-flight: SELECT … FOR UPDATE SKIP LOCKED) or no vote counts.
    `config` is a leaderboard_fit.FitConfig (default from settings)."""
    # SciPy is imported here, not at module level: every Django process imports this module
    # (admin, vote service), and only fitting processes need the numerics (~1 s to import).
    from arena.leaderboard_fit import FitConfig, FitInput, StyleRows, fit_leaderboard

    config = config or FitConfig(min_votes=settings.LEADERBOARD["MIN_VOTES"], rounds=settings.LEADERBOARD["BOOTSTRAP_ROUNDS"])
    started = time.monotonic()
    with transaction.atomic():
        board = Leaderboard.objects.select_for_update(skip_locked=True).filter(pk=leaderboard_id).first()
        if board is None:
            return None
        upto = last_vote_id()
        board.seen_vote_id = upto  # also when nothing matches: such a board is not stale again until a vote comes
        board.save(update_fields=["seen_vote_id"])
        table = vote_table(board, upto)
        if table.n_votes == 0:
            return None
        index = {c.pk: i for i, c in enumerate(table.contenders)}
        elo, elo_state = _elo_state(board, table.contenders, index, min(upto, last_vote_id(settled=True)))
        style = StyleRows(*style_rows(board, index, upto)) if board.style_control else None
        if style is not None and len(style.outcomes) == 0:
            return None
        data = FitInput(
            names=[c.display_name for c in table.contenders],
            ids=[c.pk for c in table.contenders],
            matchups=table.matchups,
            outcomes=table.outcomes,
            weights=table.weights,
            elo=elo,
            style=style,
        )
        result = fit_leaderboard(data, config)
        snapshot = LeaderboardSnapshot.objects.create(
            leaderboard=board,
            n_votes=table.n_votes,
            params={**dataclasses.asdict(config), "last_vote_id": upto, "elo_state": elo_state},
            result=result,
            fit_seconds=round(time.monotonic() - started, 3),
        )
        board.fitted_at = snapshot.created_at
        board.save(update_fields=["fitted_at"])
        broadcast_on_commit(LEADERBOARD_GROUP, {"type": "leaderboard.updated", "leaderboard": board.pk, "snapshot": snapshot.pk})
    return snapshot


def leaderboard_fit_request(*, leaderboard_id: int) -> None:
    """Queue a fit (CPU queue) after the current transaction."""
    from worker.tasks import leaderboard_fit_task

    enqueue_on_commit(leaderboard_fit_task, queue="default", leaderboard_id=leaderboard_id)


def leaderboards_refit_stale() -> int:
    """Queue a fit for every leaderboard that has votes it has not seen. Returns how many."""
    leaderboards_default()
    queued = 0
    for board in Leaderboard.objects.filter(seen_vote_id__lt=last_vote_id()):
        # Only a board whose own filter matches an unseen vote: a category nobody voted in
        # since its last fit is left alone.
        if Vote.objects.filter(vote_filter(board), pk__gt=board.seen_vote_id).exists():
            leaderboard_fit_request(leaderboard_id=board.pk)
            queued += 1
    return queued


def vote_counted_for_refit() -> None:
    """Called after each stored vote: every LEADERBOARD_REFIT_EVERY votes, refit what is stale,
    at most once per REFIT_DEBOUNCE_S (at 300 votes/s a refit would otherwise be queued 6 times
    a second; single-flight would skip them, but the queue would fill)."""
    from arena.ratelimit import counter_incr  # one Redis round trip, where add + incr took three

    every = settings.LEADERBOARD["REFIT_EVERY_VOTES"]
    counted = counter_incr(VOTES_SINCE_FIT_KEY, timeout_s=None)
    # Only the vote that reaches a multiple of `every` tries (INCR hands each count to one vote):
    # trying on every vote past `every` cost each vote a second round trip while debounced.
    if counted % every == 0 and cache.add(REFIT_QUEUED_KEY, 1, timeout=REFIT_DEBOUNCE_S):
        cache.decr(VOTES_SINCE_FIT_KEY, counted)  # votes counted meanwhile by others are kept
        from worker.tasks import leaderboards_refit_task

        enqueue_on_commit(leaderboards_refit_task, queue="default")
