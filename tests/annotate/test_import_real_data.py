"""Real human judgments through the importer: long-form QA experts with their free-text
justifications (tests/data/lfqa-experts, MIT) and PandaLM's three annotators per item
(tests/data/pandalm, Apache-2.0), converted to the import JSONL shape here; and the demo's
sample campaign (annotate/samples)."""
import json
from collections import Counter
from pathlib import Path

import pytest

from annotate.importing import CampaignSpec, campaign_import
from annotate.models import Annotation, Annotator, Campaign, Candidate, Item
from annotate.pseudonyms import pseudonym
from annotate.samples import SAMPLE_SLUG, SAMPLES, sample_campaign_import
from annotate.samples.lfqa import lfqa_items, plain_text

pytestmark = pytest.mark.django_db
DATA = Path(__file__).resolve().parents[1] / "data"
LFQA = DATA / "lfqa-experts" / "experts_pairwise_human_preferences.slice.jsonl"
PANDALM_CHOICE = {1: 0, 2: 1, 0: "tie"}  # PandaLM: 1 = response1 better, 2 = response2, 0 = tie


def pandalm_items(rows: list[dict]) -> list[dict]:
    items = []
    for row in rows:
        prompt = row["instruction"] + (f"\n\n{row['input']}" if row["input"] else "")
        labels = [row[f"annotator{k}"] for k in (1, 2, 3)]
        item = {
            "id": f"pandalm-{row['idx']}",
            "prompt": prompt,
            # a few responses are JSON booleans (`true`); the importer refuses non-text, so say "True"
            "candidates": [{"text": str(row["response1"])}, {"text": str(row["response2"])}],
            "meta": {"app": row["motivation_app"], "models": row["cmp_key"]},
            "judgments": [{"annotator": f"annotator{k}", "choice": PANDALM_CHOICE[label]} for k, label in zip((1, 2, 3), labels)],
        }
        if len(set(labels)) == 1:  # unanimous: usable as gold
            item["gold"] = PANDALM_CHOICE[labels[0]]
        items.append(item)
    return items


def write_jsonl(path, items):
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


def test_lfqa_expert_rationales_and_choices_come_through(tmp_path):
    lines = LFQA.read_text(encoding="utf-8").splitlines()
    source = [json.loads(line) for line in lines]
    items = lfqa_items(lines)
    report = campaign_import(path=write_jsonl(tmp_path / "lfqa.jsonl", items), spec=CampaignSpec(slug="lfqa", overlap=3))
    # 110 expert lines on 50 pairs: 20 with three experts, 20 with two, 10 with one
    assert (report.n_items, report.n_judgments, report.n_annotators) == (50, 110, 3)
    counts = Counter(Item.objects.filter(campaign__slug="lfqa").values_list("n_submitted", flat=True))
    assert counts == {3: 20, 2: 20, 1: 10}
    assert Item.objects.filter(campaign__slug="lfqa", is_open=True).count() == 30  # overlap 3: pairs with < 3 experts
    stored = Annotation.objects.filter(assignment__item__campaign__slug="lfqa")
    assert Counter(stored.values_list("choice", flat=True)) == Counter(0 if r["overall_preference"] == -1 else 1 for r in source)
    assert sorted(stored.values_list("rationale", flat=True)) == sorted(r["justification"].strip() for r in source)
    # a long justification survives whole, on the right pair
    longest = max(source, key=lambda r: len(r["justification"]))
    note = stored.get(rationale=longest["justification"].strip())
    assert note.assignment.item.prompt == plain_text(longest["question"])
    assert note.assignment.item.candidates.get(index=0).text == plain_text(longest["answer_a"])
    # the source's HTML line breaks (<br />) arrive as newlines; nothing else in the texts changes
    prompts = set(Item.objects.filter(campaign__slug="lfqa").values_list("prompt", flat=True))
    answers = set(Candidate.objects.filter(item__campaign__slug="lfqa").values_list("text", flat=True))
    assert prompts == {plain_text(r["question"]) for r in source}
    assert answers == {plain_text(r[side]) for r in source for side in ("answer_a", "answer_b")}
    assert not any("<br" in text for text in prompts | answers) and any("<br />" in r["answer_a"] for r in source)


def test_pandalm_three_annotators_per_item(tmp_path):
    rows = json.loads((DATA / "pandalm" / "testset-v1.json").read_text(encoding="utf-8"))[:300]
    items = pandalm_items(rows)
    report = campaign_import(path=write_jsonl(tmp_path / "p.jsonl", items), spec=CampaignSpec(slug="pandalm", overlap=3), source="pandalm")
    n_unanimous = sum(len({r["annotator1"], r["annotator2"], r["annotator3"]}) == 1 for r in rows)
    assert (report.n_items, report.n_judgments, report.n_annotators, report.n_gold) == (300, 900, 3, n_unanimous)
    stored = Annotation.objects.filter(assignment__item__campaign__slug="pandalm")
    expected = Counter(PANDALM_CHOICE[r[f"annotator{k}"]] for r in rows for k in (1, 2, 3))
    got = Counter("tie" if a.verdict == "TIE" else a.choice for a in stored)
    assert got == expected
    # each annotator is one pseudonym across items, with gold accuracy from the unanimous items
    first = Annotator.objects.get(campaign__slug="pandalm", pseudonym=pseudonym("external:pandalm", "annotator1"))
    assert (first.n_submitted, first.n_gold, first.n_gold_correct) == (300, n_unanimous, n_unanimous)
    # non-gold items are complete at overlap 3; gold items stay open as checks
    assert not Item.objects.filter(campaign__slug="pandalm", is_gold=False, is_open=True).exists()


def test_demo_sample_campaign_imports_once():
    first = sample_campaign_import()
    assert (first.n_items, first.n_judgments, first.n_gold) == (50, 110, 5)
    assert sample_campaign_import() is None
    campaign = Campaign.objects.get(slug=SAMPLE_SLUG)
    assert campaign.overlap == 3 and [a["name"] for a in campaign.questions["aspects"]] == ["helpfulness", "truthfulness"]
    assert Annotation.objects.filter(assignment__item__campaign=campaign).exclude(rationale="").count() == 110


def test_demo_sample_file_is_the_converters_output():
    # the committed sample is exactly what annotate/samples/lfqa.py makes from the source slice
    expected = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in lfqa_items(LFQA.read_text(encoding="utf-8").splitlines(), n_gold=5))
    assert (SAMPLES / "lfqa-experts.jsonl").read_text(encoding="utf-8") == expected
    assert "<br" not in expected
