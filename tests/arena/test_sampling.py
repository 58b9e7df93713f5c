"""Pair sampling math (pure) and its use by battle_start."""
import numpy as np
import pytest

from arena.sampling import sample_pair


def test_pairs_follow_weight_products_and_placement_is_fair():
    rng = np.random.default_rng(7)
    weights = np.array([1.0, 2.0, 3.0])
    n = 60_000
    pairs = [sample_pair(weights, rng) for _ in range(n)]
    counts = {}
    for left, right in pairs:
        assert left != right
        counts[frozenset((left, right))] = counts.get(frozenset((left, right)), 0) + 1
    expected = {frozenset((0, 1)): 2, frozenset((0, 2)): 3, frozenset((1, 2)): 6}
    total = sum(expected.values())
    for pair, w in expected.items():
        assert counts[pair] / n == pytest.approx(w / total, abs=0.01)
    left_first = sum(1 for left, right in pairs if left < right) / n
    assert left_first == pytest.approx(0.5, abs=0.01)


def test_zero_weight_never_sampled_and_too_few_raise():
    rng = np.random.default_rng(1)
    assert all(2 not in sample_pair(np.array([1.0, 1.0, 0.0]), rng) for _ in range(500))
    with pytest.raises(ValueError):
        sample_pair(np.array([1.0, 0.0]), rng)
    with pytest.raises(ValueError):
        sample_pair(np.array([1.0, -1.0, 2.0]), rng)


def test_same_seed_same_pairs():
    w = np.array([1.0, 1.0, 1.0, 5.0])
    a = [sample_pair(w, np.random.default_rng(3)) for _ in range(5)]
    b = [sample_pair(w, np.random.default_rng(3)) for _ in range(5)]
    assert a == b


@pytest.mark.django_db
def test_battle_start_places_each_contender_on_both_sides(user, contenders):
    # Plain db fixture: on_commit never fires, so no generation is queued here.
    from arena.owner import Owner
    from arena.services import battle_start

    rng = np.random.default_rng(11)
    battles = [battle_start(owner=Owner(user_id=user.pk), prompt="hi", rng=rng) for _ in range(20)]
    assert {b.contender_left_id for b in battles} == {c.pk for c in contenders}
    assert all(b.contender_left_id != b.contender_right_id for b in battles)
