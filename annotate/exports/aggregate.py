"""Unit "item": one aggregated verdict per item (pure: no Django, no I/O).

Each judgment with an overall label votes for it (a candidate, TIE or BOTH_BAD; a ranking
votes for its first):
  majority    weight 1;
  strength    a candidate vote weighs its strength (1..max_strength; 1 when none was
              given), a tie or both-bad vote weighs 1: the sum of strengths per side;
  competence  the annotator's weight log((L - 1) p / (1 - p)) from their Dawid–Skene
              competence p over the campaign (annotate.agreement.competence_weights), the
              same sum as annotate.agreement.weighted_majority.
The label with the largest total wins; a tie at the top (or no positive weight) has no
majority and the item is skipped. A winning candidate is chosen over each other candidate
(one row per rejected candidate, in index order). Columns: rationales (the non-empty
rationales of the judgments that gave the winning label), strength (their mean strength),
margin = strength / max_strength x item_agreement, aspects (per aspect, the mean over the
judgments that rated both), annotator (every judge's pseudonym), n_votes (judgments with a
label), n_agree (of them, those that gave the winning label).
"""
import math
from collections.abc import Mapping, Sequence

from annotate.exports.rows import (
    BOTH_BAD,
    SKIP_AGREEMENT,
    SKIP_CONTENDER,
    SKIP_NO_CHOICE,
    SKIP_NO_MAJORITY,
    TIE,
    ItemRecord,
    ItemRows,
    JudgmentRecord,
    RowOptions,
    kto_labels,
    kto_row,
    Shape,
    skip_reason,
    wanted,
    aspect_pair,
    item_agreement,
    item_preference_row,
    label_of,
    margin_of,
    split_of,
)


def vote_weight(judgment: JudgmentRecord, label, aggregation: str, weights: Mapping[str, float]) -> float:
    if aggregation == "strength":
        return float(judgment.strength or 1) if label not in (TIE, BOTH_BAD) else 1.0
    if aggregation == "competence":
        return float(weights.get(judgment.annotator, 0.0))
    return 1.0


def aggregate_label(labels: Sequence, votes: Sequence[float]):
    """The label with the largest total vote, or None when the top is shared or empty."""
    totals: dict = {}
    for label, vote in zip(labels, votes):
        if label is not None:
            totals[label] = totals.get(label, 0.0) + vote
    if not totals:
        return None
    top = max(totals.values())
    winners = [label for label, total in totals.items() if math.isclose(total, top, rel_tol=1e-12, abs_tol=0.0)]
    return winners[0] if len(winners) == 1 and top > 0 else None


def _mean_aspects(judgments: Sequence[JudgmentRecord], chosen: int, rejected: int) -> list[dict]:
    sums: dict[str, list[float]] = {}
    for judgment in judgments:
        for aspect in aspect_pair(judgment.aspects, chosen, rejected):
            total = sums.setdefault(aspect["name"], [0.0, 0.0, 0])
            total[0] += aspect["chosen"]
            total[1] += aspect["rejected"]
            total[2] += 1
    return [{"name": name, "chosen": a / n, "rejected": b / n} for name, (a, b, n) in sorted(sums.items())]


def aggregated_rows(
    item: ItemRecord, judgments: Sequence[JudgmentRecord], options: RowOptions, weights: Mapping[str, float]
) -> ItemRows:
    shape = Shape(item, options.form)
    out = ItemRows(split=split_of(shape.text, key=options.split_key, test_fraction=options.test_fraction))
    labels = [label_of(j) for j in judgments]
    agreement = out.agreement = item_agreement(labels)
    n_votes = out.n_votes = sum(label is not None for label in labels)

    def skip(reason: str) -> ItemRows:
        out.skipped_preference[reason] += 1
        if options.kto:
            out.skipped_kto[reason] += 1
        return out

    if n_votes == 0:
        return skip(SKIP_NO_CHOICE)
    if options.min_item_agreement > 0 and agreement < options.min_item_agreement:
        return skip(SKIP_AGREEMENT)
    winner = aggregate_label(labels, [vote_weight(j, l, options.aggregation, weights) for j, l in zip(judgments, labels)])
    if winner is None:
        return skip(SKIP_NO_MAJORITY)
    annotators = [j.annotator for j in judgments if j.annotator is not None]
    if options.kto:
        marked = kto_labels(winner, len(item.candidates))
        if not marked:
            out.skipped_kto[skip_reason(winner)] += 1
        for candidate, good in marked:
            if wanted(item, options.contenders, candidate):
                out.kto.append(kto_row(shape, item, candidate, good, annotators, out.split))
            else:
                out.skipped_kto[SKIP_CONTENDER] += 1
    if winner in (TIE, BOTH_BAD):
        out.skipped_preference[skip_reason(winner)] += 1
        return out
    agreeing = [j for j, label in zip(judgments, labels) if label == winner]
    strengths = [j.strength for j in agreeing if j.verdict == "CANDIDATE" and j.strength]
    strength = sum(strengths) / len(strengths) if strengths else None
    for rejected in range(len(item.candidates)):
        if rejected == winner:
            continue
        if not wanted(item, options.contenders, winner, rejected):
            out.skipped_preference[SKIP_CONTENDER] += 1
            continue
        out.preference.append(item_preference_row(
            shape, item, winner, rejected,
            rationales=[j.rationale for j in agreeing if j.rationale],
            strength=strength,
            margin=margin_of(strength, item.max_strength, agreement),
            aspects=_mean_aspects(judgments, winner, rejected),
            annotators=annotators,
            agreement=agreement,
            n_votes=n_votes,
            n_agree=len(agreeing),
            split=out.split,
        ))  # fmt: skip
    return out
