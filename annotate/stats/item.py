"""One item for staff: prompt, candidates with their models, gold, and every judgment side by side."""
from django.http import Http404

from annotate.models import Annotation, AnnotationSource, Campaign, Item, Verdict
from annotate.questions import questions_from_json
from annotate.stats.reading import Labels


SHOWN_WORDS = ("first", "second", "third", "fourth", "fifth")


def _shown_word(position: int) -> str:
    return SHOWN_WORDS[position] if position < len(SHOWN_WORDS) else f"at position {position + 1}"


def _candidate_name(index: int, models: dict[int, str]) -> str:
    model = models.get(index, "")
    return f"Candidate {index + 1}" + (f" ({model})" if model else "")


def _aspects(aspects: dict, questions, models: dict[int, str]) -> list[dict]:
    out = []
    for aspect in questions.aspects:
        given = aspects.get(aspect.name)
        if given is None:
            continue
        if aspect.kind == "pairwise":
            value = "tie" if given == "TIE" else _candidate_name(int(given), models)
        else:
            value = ", ".join(f"{int(c) + 1}: {s}" for c, s in sorted(given.items(), key=lambda kv: int(kv[0])))
        out.append({"label": aspect.label or aspect.name, "value": value})
    return out


def item_detail(*, campaign: Campaign, position: int, review_flags: dict | None = None) -> dict:
    """The item at `position` with its candidates and judgments (oldest first). review_flags:
    {annotation id (str): [{code, reason}]} from the campaign figures. Raises Http404."""
    item = Item.objects.filter(campaign=campaign, position=position).first()
    if item is None:
        raise Http404("No such item in this campaign.")
    questions = questions_from_json(campaign.questions)
    candidates = list(item.candidates.order_by("index"))
    models = {c.index: c.model for c in candidates}
    labels = Labels(item.n_candidates)
    gold = ""
    if item.is_gold:
        code = labels.gold_code(item.gold)
        gold = "tie" if code == labels.tie else _candidate_name(code, models) if code >= 0 else item.gold
    strength_labels = questions.strength_labels
    judgments = []
    annotations = (
        Annotation.objects.filter(assignment__item=item)
        .select_related("assignment__annotator")
        .order_by("id")
    )
    for a in annotations:
        order = a.assignment.order
        # An imported judgment's stored order is the identity: the order it was shown in is unknown.
        imported = a.source == AnnotationSource.IMPORTED
        if a.verdict == Verdict.CANDIDATE:
            choice = _candidate_name(a.choice, models)
            shown_at = _shown_word(order.index(a.choice)) if a.choice in order and not imported else None
        elif a.verdict == Verdict.RANKED:
            choice = " > ".join(str(i + 1) for i in a.ranking or [])
            shown_at = None
        else:
            choice, shown_at = {Verdict.TIE: "tie", Verdict.BOTH_BAD: labels.names()[-1].lower()}.get(a.verdict, "no choice asked"), None
        correct = None
        if item.is_gold and a.verdict != Verdict.NONE:
            picked = a.choice if a.verdict == Verdict.CANDIDATE else (a.ranking[0] if a.ranking else None)
            correct = (a.verdict == Verdict.TIE) if item.gold == "TIE" else str(picked) == item.gold
        judgments.append({
            "id": a.pk,
            "pseudonym": a.assignment.annotator.pseudonym,
            "choice": choice,
            "shown_at": shown_at,
            "order": [] if imported else [i + 1 for i in order],
            "strength": strength_labels[a.strength - 1] if a.strength and a.strength <= len(strength_labels) else "",
            "aspects": _aspects(a.aspects or {}, questions, models),
            "rationale": a.rationale,
            "flags": [flag.replace("_", " ") for flag in a.flags],  # as the work page shows them
            "review_flags": (review_flags or {}).get(str(a.pk), []),
            "time_s": a.time_spent_ms / 1000.0,
            "created_at": a.created_at,
            "imported": imported,
            "gold_correct": correct,
        })  # fmt: skip
    return {"item": item, "candidates": candidates, "gold": gold, "judgments": judgments}
