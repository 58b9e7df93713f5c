"""Per-annotator figures and rationale flags from coded judgments (pseudonyms only).

Agreement with the majority (leave-one-out) and Dawid–Skene competence use every judgment
with a choice, gold items included: more overlap, better estimates; competence is
estimated without looking at the gold answers. Position bias reads two-candidate items:
the share of candidate choices that took the one shown first (chance: 50%).

Imported judgments (AnnotationSource.IMPORTED) count in every figure but position bias and
median time: nobody knows the order they were shown in (the stored one is the identity) and
their time is 0. The rationale checks still read them in file order, since an imported
rationale's "A" and "B" name the file's columns.
"""
import re

import numpy as np

from annotate.agreement import (
    NO_LABEL,
    DawidSkeneConvergenceError,
    chosen_positions,
    dawid_skene,
    gold_accuracy,
    leave_one_out_agreement,
    position_bias,
    rationale_flags,
)
from annotate.stats.figures import number
from annotate.stats.reading import CampaignJudgments

DS_TOL = 1e-3  # posteriors to 0.1%: plenty for a dashboard; 300k judgments: ~1 s instead of ~4 s at 1e-6
DS_MAX_ITER = 300
RATIONALE_EXCERPT = 200
_JUDGMENT = re.compile(r"judgment (\d+)")
RECENT_FLAGS = 100
# Rationale checks cost ~20 us per text plus the near-duplicate search, ~10 s for 300k
# rationales: only the newest WINDOW are checked (copies looked for among them), so a big
# campaign's dashboard stays within seconds; older flags drop off the list, having been
# listed while they were new.
RATIONALE_WINDOW = 30_000  # flagged rationales listed on the dashboard, newest first


def group_median(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups,) median of `values` per group code, NaN for empty groups."""
    out = np.full(n_groups, np.nan)
    if len(values) == 0:
        return out
    order = np.lexsort((values, groups))
    groups, values = groups[order], values[order].astype(np.float64)
    starts = np.searchsorted(groups, np.arange(n_groups), side="left")
    ends = np.searchsorted(groups, np.arange(n_groups), side="right")
    has = ends > starts
    low = values[np.minimum((starts + ends - 1) // 2, len(values) - 1)]
    high = values[np.minimum((starts + ends) // 2, len(values) - 1)]
    out[has] = ((low + high) / 2.0)[has]
    return out


def shown_positions(j: CampaignJudgments) -> np.ndarray:
    """(n,) display position of the chosen candidate on two-candidate items, else NO_LABEL."""
    shown = np.stack([j.first_shown, j.second_shown], axis=1)
    labels = np.where(j.first_shown == NO_LABEL, NO_LABEL - 1, j.label)  # never matches NO_LABEL padding
    return chosen_positions(labels, shown)


def _competence(j: CampaignJudgments, rows: np.ndarray) -> tuple[np.ndarray, str]:
    n_annotators = len(j.annotator_ids)
    if not rows.any():
        return np.full(n_annotators, np.nan), ""
    try:
        fit = dawid_skene(
            j.items[rows], j.annotators[rows], j.label[rows], n_items=len(j.item_ids), n_annotators=n_annotators,
            n_labels=j.labels.n_labels, tol=DS_TOL, max_iter=DS_MAX_ITER,
        )  # fmt: skip
    except DawidSkeneConvergenceError as exc:
        return np.full(n_annotators, np.nan), str(exc)
    return fit.competence, ""


def annotators(j: CampaignJudgments) -> dict:
    """Rows per annotator, most judgments first, and a note if Dawid–Skene did not converge."""
    n_annotators = len(j.annotator_ids)
    rows = j.label != NO_LABEL
    items, people, labels = j.items[rows], j.annotators[rows], j.label[rows]
    agree = leave_one_out_agreement(items, people, labels, n_items=len(j.item_ids), n_annotators=n_annotators, n_labels=j.labels.n_labels)
    gold = gold_accuracy(items, people, labels, j.item_gold, n_annotators=n_annotators, n_labels=j.labels.n_labels)
    positions = np.where(j.imported, NO_LABEL, shown_positions(j))
    bias = position_bias(j.annotators, positions, n_annotators=n_annotators)
    competence, note = _competence(j, rows)
    judgments = np.bincount(j.annotators, minlength=n_annotators)
    timed = ~j.imported
    time_s = group_median(j.annotators[timed], j.time_ms[timed] / 1000.0, n_annotators)
    lengths = np.array([len(r) for r in j.rationales], dtype=np.int64)
    written = lengths > 0
    rationale = group_median(j.annotators[written], lengths[written], n_annotators)
    out = []
    for a, row in enumerate(j.annotator_rows):
        out.append({
            "id": row["id"], "pseudonym": row["pseudonym"], "kind": row["kind"],
            "status": row["status"], "paused_reason": row["paused_reason"],
            "judgments": int(judgments[a]),
            "gold_n": int(gold.n[a]), "gold_accuracy": number(gold.rate[a]),
            "agreement_n": int(agree.n[a]), "agreement": number(agree.rate[a]),
            "first_n": int(bias.n[a]), "first_share": number(bias.share_first[a]),
            "first_p": number(bias.p_value[a], 4),
            "median_time_s": number(time_s[a], 1), "median_rationale_chars": number(rationale[a], 0),
            "competence": number(competence[a]),
        })  # fmt: skip
    out.sort(key=lambda r: (-r["judgments"], r["pseudonym"]))
    return {"rows": out, "competence_note": note}


def flags(j: CampaignJudgments) -> dict:
    """Rationales flagged for review (SHORT, COPIED, CONTRADICTS): counts per code, the newest
    flagged judgments, and every flag keyed by annotation id (for the item page)."""
    written = np.flatnonzero([bool(r) for r in j.rationales])
    total, checked = len(written), min(len(written), RATIONALE_WINDOW)
    written = written[len(written) - checked :]
    if not len(written):
        return {"counts": {}, "judgments": 0, "checked": 0, "written": 0, "recent": [], "by_annotation": {}}
    # Item positions (not codes) go in, so a COPIED reason names the item as staff know it;
    # its "judgment <index>" is rewritten to the annotation id below.
    found = rationale_flags([j.rationales[i] for i in written], shown_positions(j)[written], j.item_positions[j.items[written]])
    annotation = lambda m: f"annotation {int(j.annotation_ids[written[int(m[1])]])}"  # noqa: E731
    counts: dict[str, int] = {}
    by_annotation: dict[str, list] = {}
    for flag in found:
        index = written[flag.index]
        counts[flag.code] = counts.get(flag.code, 0) + 1
        reason = _JUDGMENT.sub(annotation, flag.reason)
        by_annotation.setdefault(str(int(j.annotation_ids[index])), []).append({"code": flag.code, "reason": reason})
    recent = []
    for key in sorted(by_annotation, key=int, reverse=True)[:RECENT_FLAGS]:
        index = int(np.searchsorted(j.annotation_ids, int(key)))
        recent.append({
            "annotation": int(key),
            "position": int(j.item_positions[j.items[index]]),
            "pseudonym": j.annotator_rows[j.annotators[index]]["pseudonym"],
            "rationale": j.rationales[index][:RATIONALE_EXCERPT],
            "flags": by_annotation[key],
        })  # fmt: skip
    return {"counts": counts, "judgments": len(by_annotation), "checked": checked, "written": total, "recent": recent, "by_annotation": by_annotation}
