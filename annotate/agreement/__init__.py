"""Agreement math for annotation campaigns: pure NumPy/SciPy, no Django, no I/O, explicit RNG
(STYLE rule 6).

Typical dashboard refresh (codes from `np.unique(ids, return_inverse=True)`):

    counts = label_counts(items, labels, n_items=n_items, n_labels=n_labels)
    alpha = krippendorff_alpha(counts)                  # level="ordinal" for strength scales
    kappa = fleiss_kappa(counts)
    consensus, entropy = item_consensus(counts), item_entropy(counts)
    loo = leave_one_out_agreement(items, annotators, labels)
    gold = gold_accuracy(items, annotators, labels, gold_labels)
    bias = position_bias(annotators, chosen_positions(labels, shown))
    fit = dawid_skene(items, annotators, labels)         # competence without gold
    aggregated = weighted_majority(items, annotators, labels, competence_weights(fit.competence, n_labels))
    flags = rationale_flags(rationales, chosen_positions(labels, shown), items)

Modules: judgments (validation, count table, reliability matrix), reliability (alpha,
kappa), items (consensus, entropy, majority), annotators (leave-one-out agreement, gold
accuracy, position bias), dawid_skene (EM competence, weighted majority), rationales
(short / copied / contradicting rationale flags).
"""
from annotate.agreement.annotators import (
    PositionBias,
    Rates,
    chosen_positions,
    gold_accuracy,
    leave_one_out_agreement,
    position_bias,
)
from annotate.agreement.dawid_skene import (
    DawidSkeneConvergenceError,
    DawidSkeneError,
    DawidSkeneFit,
    competence_weights,
    dawid_skene,
    weighted_majority,
)
from annotate.agreement.items import NO_LABEL, item_consensus, item_entropy, majority_labels
from annotate.agreement.judgments import (
    AgreementInputError,
    check_judgments,
    judgments_from_matrix,
    label_counts,
    reliability_matrix,
)
from annotate.agreement.rationales import (
    CONTRADICTS,
    COPIED,
    SHORT,
    RationaleFlag,
    argued_position,
    normalize_text,
    rationale_flags,
    shingles,
)
from annotate.agreement.reliability import coincidence_matrix, distance_matrix, fleiss_kappa, krippendorff_alpha

__all__ = [
    "CONTRADICTS",
    "COPIED",
    "NO_LABEL",
    "SHORT",
    "AgreementInputError",
    "DawidSkeneConvergenceError",
    "DawidSkeneError",
    "DawidSkeneFit",
    "PositionBias",
    "RationaleFlag",
    "Rates",
    "argued_position",
    "check_judgments",
    "chosen_positions",
    "coincidence_matrix",
    "competence_weights",
    "dawid_skene",
    "distance_matrix",
    "fleiss_kappa",
    "gold_accuracy",
    "item_consensus",
    "item_entropy",
    "judgments_from_matrix",
    "krippendorff_alpha",
    "label_counts",
    "leave_one_out_agreement",
    "majority_labels",
    "normalize_text",
    "position_bias",
    "rationale_flags",
    "reliability_matrix",
    "shingles",
    "weighted_majority",
]
