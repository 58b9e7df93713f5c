"""What a leaderboard fit reads from the database: counts by SQL aggregation (never one row per
vote in Python), and for style control the per-battle covariates, streamed."""
from dataclasses import dataclass

import numpy as np
from datetime import timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from arena.models import BattleSource, Contender, Leaderboard, Vote

OUTCOME = {"LEFT": 1.0, "RIGHT": 0.0, "TIE": 0.5, "BOTH_BAD": 0.5}  # both-bad counts as a tie
# Length bands of the first prompt, as categories "len:short" etc. (characters).
LENGTH_BANDS = {"len:short": (0, 200), "len:medium": (200, 1000), "len:long": (1000, None)}
STYLE_COLUMNS = ("len", "headers", "lists", "bold")
STREAM_CHUNK = 20_000  # rows per fetch when streaming style covariates


@dataclass(frozen=True)
class VoteTable:
    """Aggregated votes: contenders[i] is model index i; rows are (left, right, outcome, n)."""

    contenders: list[Contender]
    matchups: np.ndarray  # (m, 2) int
    outcomes: np.ndarray  # (m,) float
    weights: np.ndarray  # (m,) float, votes per row
    n_votes: int


def vote_filter(leaderboard: Leaderboard) -> Q:
    q = Q()
    if not leaderboard.include_both_bad:
        q &= ~Q(winner="BOTH_BAD")
    if leaderboard.category in LENGTH_BANDS:
        low, high = LENGTH_BANDS[leaderboard.category]
        # Imported battles carry no prompt, so they belong to no length band.
        q &= Q(battle__source=BattleSource.ARENA, battle__prompt_chars__gte=low)
        q &= Q(battle__prompt_chars__lt=high) if high else Q()
    elif leaderboard.category:
        q &= Q(battle__category=leaderboard.category)
    return q


def _index(contender_ids) -> tuple[list[Contender], dict[int, int]]:
    contenders = list(Contender.objects.filter(pk__in=set(contender_ids)).order_by("pk"))
    return contenders, {c.pk: i for i, c in enumerate(contenders)}


SETTLE_S = 5  # a vote older than this has committed: ids below it have no gaps left to fill


def last_vote_id(*, settled: bool = False) -> int:
    """Reads of one fit stop at this id, so counts and style rows see the same votes. With
    `settled`, only votes older than SETTLE_S: ids are drawn before commit, so a slower
    transaction can still add a lower id; the online Elo, which never re-reads, waits for it."""
    votes = Vote.objects.filter(created_at__lt=timezone.now() - timedelta(seconds=SETTLE_S)) if settled else Vote.objects
    return votes.aggregate(last=Max("pk"))["last"] or 0


def vote_table(leaderboard: Leaderboard, upto_id: int) -> VoteTable:
    """SELECT left, right, winner, COUNT(*) … GROUP BY left, right, winner."""
    rows = list(
        Vote.objects.filter(vote_filter(leaderboard), pk__lte=upto_id)
        .values_list("battle__contender_left_id", "battle__contender_right_id", "winner")
        .annotate(n=Count("id"))
        .order_by()
    )
    contenders, index = _index([r[0] for r in rows] + [r[1] for r in rows])
    matchups = np.array([(index[a], index[b]) for a, b, _, _ in rows], dtype=np.int64).reshape(-1, 2)
    outcomes = np.array([OUTCOME[w] for _, _, w, _ in rows], dtype=np.float64)
    weights = np.array([n for *_, n in rows], dtype=np.float64)
    return VoteTable(contenders, matchups, outcomes, weights, int(weights.sum()))


def vote_rows_between(leaderboard: Leaderboard, index: dict[int, int], after_id: int, upto_id: int):
    """Votes with after_id < id <= upto_id in the order they were stored, for the online Elo:
    (matchups, outcomes). A refit reads only what came since the last one."""
    qs = Vote.objects.filter(vote_filter(leaderboard), pk__gt=after_id, pk__lte=upto_id).order_by("pk")
    values = qs.values_list("battle__contender_left_id", "battle__contender_right_id", "winner")
    matchups, outcomes = [], []
    for a, b, w in values.iterator(chunk_size=STREAM_CHUNK):
        matchups.append((index[a], index[b]))
        outcomes.append(OUTCOME[w])
    return np.array(matchups, dtype=np.int64).reshape(-1, 2), np.array(outcomes, dtype=np.float64)


def style_rows(leaderboard: Leaderboard, index: dict[int, int], upto_id: int):
    """Per-vote (matchups, outcomes, features_left (n, 4), features_right (n, 4)) for the votes that
    have style covariates (arena votes, and imports that carried them)."""
    cols = [f"battle__{name}_{side}" for side in ("left", "right") for name in STYLE_COLUMNS]
    qs = (
        Vote.objects.filter(
            vote_filter(leaderboard), pk__lte=upto_id, battle__len_left__isnull=False, battle__len_right__isnull=False
        )
        .values_list("battle__contender_left_id", "battle__contender_right_id", "winner", *cols)
        .order_by()
    )
    matchups, outcomes, feats = [], [], []
    for a, b, w, *f in qs.iterator(chunk_size=STREAM_CHUNK):
        matchups.append((index[a], index[b]))
        outcomes.append(OUTCOME[w])
        feats.append([v or 0 for v in f])
    feats = np.array(feats, dtype=np.float64).reshape(-1, 8)
    return (
        np.array(matchups, dtype=np.int64).reshape(-1, 2),
        np.array(outcomes, dtype=np.float64),
        feats[:, :4],
        feats[:, 4:],
    )
