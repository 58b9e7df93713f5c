"""Importing good files: JSONL, CSV and Parquet give the same campaign; imported judgments
count toward overlap, so leasing hands out only the remaining slots."""
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from annotate import errors
from annotate.importing import CampaignSpec, campaign_import
from annotate.leasing import assignment_next
from annotate.models import (
    Annotation,
    AnnotationSource,
    Annotator,
    AnnotatorKind,
    Assignment,
    AssignmentState,
    Campaign,
    Candidate,
    Item,
)
from annotate.pseudonyms import pseudonym
from annotate.services import annotator_join

pytestmark = pytest.mark.django_db

ROWS = [
    {
        "id": "q1",
        "prompt": "Why is the sky blue?",
        "candidates": [{"text": "Rayleigh scattering.", "model": "m-one"}, {"text": "Because it is.", "model": "m-two"}],
        "gold": 0,
        "judgments": [
            {"annotator": "ann", "choice": 0, "strength": 3, "rationale": "Names the physics."},
            {"annotator": "bob", "choice": "tie"},
        ],
    },
    {
        "id": "q2",
        "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}],
        "candidates": [{"text": "Paris"}, {"text": "Lyon"}],
        "meta": {"topic": "geo"},
        "judgments": [{"annotator": "ann", "choice": 1}],
    },
    {"id": "q3", "prompt": "2+2?", "candidates": [{"text": "4"}, {"text": "5"}]},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# One judgment a row; the rows of item q1 are adjacent and share its id.
CSV = """id,prompt,response_a,response_b,model_a,model_b,gold,annotator,choice,strength,rationale,topic
q1,Why is the sky blue?,Rayleigh scattering.,Because it is.,m-one,m-two,a,ann,a,3,Names the physics.,
q1,Why is the sky blue?,Rayleigh scattering.,Because it is.,m-one,m-two,a,bob,tie,,,
q2,"Capital of France?",Paris,Lyon,,,,ann,b,,,geo
q3,2+2?,4,5,,,,,,,,
"""


def summary(campaign):
    items = []
    for item in Item.objects.filter(campaign=campaign).order_by("position"):
        judgments = sorted(
            (a.assignment.annotator.pseudonym, a.verdict, a.choice, a.strength, a.rationale)
            for a in Annotation.objects.filter(assignment__item=item).select_related("assignment__annotator")
        )
        cands = [(c.index, c.text, c.model) for c in item.candidates.order_by("index")]
        items.append((item.position, item.external_id, item.prompt, item.is_gold, item.gold, item.n_submitted, item.is_open, cands, judgments))
    return items


def test_jsonl_import_creates_items_candidates_and_imported_judgments(tmp_path):
    # given a JSONL file with a gold item, a chat item and an item without judgments
    path = write_jsonl(tmp_path / "c.jsonl", ROWS)
    # when it is imported
    report = campaign_import(path=path, spec=CampaignSpec(slug="sky", overlap=2), seed=1)
    # then every row is an item, in file order
    campaign = Campaign.objects.get(slug="sky")
    assert (report.n_items, report.n_gold, report.n_judgments, report.n_annotators) == (3, 1, 3, 2)
    q1, q2, q3 = Item.objects.filter(campaign=campaign).order_by("position")
    assert [q1.position, q2.position, q3.position] == [1, 2, 3]
    assert (q1.is_gold, q1.gold, q1.n_candidates, q1.messages) == (True, "0", 2, None)
    assert q2.prompt == "Capital of France?" and q2.messages[0] == {"role": "system", "content": "Be brief."}
    assert q2.meta == {"topic": "geo"} and q2.gold == "" and not q2.is_gold
    assert [c.model for c in q1.candidates.order_by("index")] == ["m-one", "m-two"]
    # and judgments are submitted assignments by external annotators, counted on the item
    assert (q1.n_submitted, q2.n_submitted, q3.n_submitted) == (2, 1, 0)
    assert q1.is_open  # gold items stay open: each annotator may see each once
    assert q2.is_open and q3.is_open  # overlap 2: one judgment leaves a slot
    ann = Annotator.objects.get(campaign=campaign, pseudonym=pseudonym("external:sky", "ann"))
    assert (ann.kind, ann.user, ann.n_submitted, ann.n_gold, ann.n_gold_correct) == (AnnotatorKind.EXTERNAL, None, 2, 1, 1)
    bob = Annotator.objects.get(campaign=campaign, pseudonym=pseudonym("external:sky", "bob"))
    assert (bob.n_submitted, bob.n_gold, bob.n_gold_correct) == (1, 1, 0)
    first = Annotation.objects.get(assignment__item=q1, assignment__annotator=ann)
    assert (first.verdict, first.choice, first.strength, first.rationale, first.source) == ("CANDIDATE", 0, 3, "Names the physics.", AnnotationSource.IMPORTED)
    assert first.assignment.state == AssignmentState.SUBMITTED and first.assignment.order == [0, 1]
    assert Annotation.objects.get(assignment__item=q1, assignment__annotator=bob).verdict == "TIE"


def test_csv_and_parquet_give_the_same_campaign_as_jsonl(tmp_path):
    campaign_import(path=write_jsonl(tmp_path / "c.jsonl", ROWS), spec=CampaignSpec(slug="j"), source="s", seed=1)
    campaign_import(path=write_csv(tmp_path / "c.csv", CSV), spec=CampaignSpec(slug="c"), source="s", seed=1)
    flat = pa.table({
        "id": ["q1", "q1", "q2", "q3"],
        "prompt": ["Why is the sky blue?", "Why is the sky blue?", "Capital of France?", "2+2?"],
        "response_a": ["Rayleigh scattering.", "Rayleigh scattering.", "Paris", "4"],
        "response_b": ["Because it is.", "Because it is.", "Lyon", "5"],
        "model_a": ["m-one", "m-one", None, None],
        "model_b": ["m-two", "m-two", None, None],
        "gold": [0, 0, None, None],
        "annotator": ["ann", "bob", "ann", None],
        "choice": ["a", "tie", "b", None],
        "strength": [3, None, None, None],
        "rationale": ["Names the physics.", None, None, None],
        "topic": [None, None, "geo", None],
    })  # fmt: skip
    pq.write_table(flat, tmp_path / "c.parquet", row_group_size=2)
    campaign_import(path=tmp_path / "c.parquet", spec=CampaignSpec(slug="p"), source="s", seed=1)
    jsonl, csv_, parquet = (summary(Campaign.objects.get(slug=s)) for s in ("j", "c", "p"))
    assert csv_ == parquet
    # the CSV can't say "system message": its q2 prompt is plain text, the rest is the same
    assert [row for row in jsonl if row[1] != "q2"] == [row for row in csv_ if row[1] != "q2"]
    assert Item.objects.get(campaign__slug="c", external_id="q2").meta == {"topic": "geo"}


def test_parquet_in_the_jsonl_shape(tmp_path):
    # a Parquet column has one type: choices and gold as text ("0", "tie")
    rows = json.loads(json.dumps(ROWS))
    for row in rows:
        row.pop("meta", None)
        row["prompt"] = row["prompt"] if isinstance(row["prompt"], str) else row["prompt"][-1]["content"]
        row["gold"] = str(row["gold"]) if "gold" in row else None
        for j in row.get("judgments", []):
            j["choice"] = str(j["choice"])
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, tmp_path / "nested.parquet")
    report = campaign_import(path=tmp_path / "nested.parquet", spec=CampaignSpec(slug="n"))
    assert (report.n_items, report.n_judgments) == (3, 3)
    assert Annotation.objects.filter(assignment__item__campaign__slug="n", strength=3).count() == 1


def test_csv_without_ids_groups_adjacent_rows_with_the_same_prompt_and_responses(tmp_path):
    text = "prompt,response_a,response_b,response_c,annotator,ranking\nP,x,y,z,u1,c>a>b\nP,x,y,z,u2,\"0,1,2\"\nQ,x,y,,u1,\n"
    with pytest.raises(Exception) as info:  # Q's row has a judgment with neither choice nor ranking
        campaign_import(path=write_csv(tmp_path / "r.csv", text), spec=CampaignSpec(slug="r"))
    assert "line 4: judgment 1: choice is missing" in info.value.errors[0]
    text = text.replace("Q,x,y,,u1,", "Q,x,y,,u1,b>a")
    report = campaign_import(path=write_csv(tmp_path / "r.csv", text), spec=CampaignSpec(slug="r"))
    assert (report.n_items, report.n_judgments) == (2, 3)
    p, q = Item.objects.filter(campaign__slug="r").order_by("position")
    assert (p.n_candidates, q.n_candidates) == (3, 2)
    assert sorted(Annotation.objects.filter(assignment__item=p).values_list("ranking", flat=True)) == [[0, 1, 2], [2, 0, 1]]


def test_imported_judgments_count_toward_overlap_and_leasing_hands_out_the_rest(tmp_path, django_user_model):
    # given one item already judged twice, overlap 3
    row = {"prompt": "P", "candidates": ["a", "b"], "judgments": [{"annotator": "x", "choice": 0}, {"annotator": "y", "choice": 1}]}
    campaign_import(path=write_jsonl(tmp_path / "o.jsonl", [row]), spec=CampaignSpec(slug="o", overlap=3))
    campaign = Campaign.objects.get(slug="o")
    people = [annotator_join(campaign=campaign, user=django_user_model.objects.create_user(f"u{i}")) for i in range(2)]
    # when two people ask for work, only one slot is left
    lease = assignment_next(annotator_id=people[0].pk, rng=np.random.default_rng(0))
    assert lease.item.position == 1
    with pytest.raises(errors.NoItemsLeft):
        assignment_next(annotator_id=people[1].pk)
    item = Item.objects.get(campaign=campaign)
    assert (item.n_submitted, item.n_leased, item.is_open) == (2, 1, False)


def test_fully_judged_items_are_closed_and_random_order_is_seeded(tmp_path):
    rows = [{"prompt": f"P{i}", "candidates": ["a", "b"], "judgments": [{"annotator": "x", "choice": 0}]} for i in range(20)]
    path = write_jsonl(tmp_path / "k.jsonl", rows)
    campaign_import(path=path, spec=CampaignSpec(slug="k1", overlap=1, item_order="RANDOM"), seed=7)
    campaign_import(path=path, spec=CampaignSpec(slug="k2", overlap=1), seed=7)
    keys = [list(Item.objects.filter(campaign__slug=s).order_by("position").values_list("shuffle_key", flat=True)) for s in ("k1", "k2")]
    assert keys[0] == keys[1] and len(set(keys[0])) == 20
    assert not Item.objects.filter(campaign__slug="k1", is_open=True).exists()


def test_sqlite_path_writes_the_same_rows_as_copy(tmp_path):
    """The ORM writer (SQLite, the demo) runs here on PostgreSQL too, so both paths are tested."""
    path = write_jsonl(tmp_path / "c.jsonl", ROWS)
    campaign_import(path=path, spec=CampaignSpec(slug="copy"), source="s", seed=3, use_copy=True)
    campaign_import(path=path, spec=CampaignSpec(slug="orm"), source="s", seed=3, use_copy=False)
    assert summary(Campaign.objects.get(slug="copy")) == summary(Campaign.objects.get(slug="orm"))
    for slug in ("copy", "orm"):
        assert Candidate.objects.filter(item__campaign__slug=slug).count() == 6
        assert Assignment.objects.filter(item__campaign__slug=slug, state="SUBMITTED").count() == 3


def test_command_options_questions_instructions_and_progress(tmp_path, capsys):
    rows = [{"prompt": f"P{i}", "candidates": ["a", "b"]} for i in range(25)]
    path = write_jsonl(tmp_path / "c.jsonl", rows)
    questions = tmp_path / "q.json"
    questions.write_text(json.dumps({"aspects": [{"name": "helpfulness", "low": 1, "high": 5}], "rationale": "required"}))
    (tmp_path / "i.md").write_text("# Read me")
    out = io.StringIO()
    call_command(
        "import_campaign", str(path), "--slug", "cmd", "--title", "T", "--overlap", "2", "--lease-s", "600",
        "--gold-rate", "0.2", "--quota", "10", "--questions", str(questions), "--instructions", str(tmp_path / "i.md"),
        "--order", "sequential", "--status", "DRAFT", "--progress-every", "10", stdout=out,
    )  # fmt: skip
    campaign = Campaign.objects.get(slug="cmd")
    assert (campaign.title, campaign.overlap, campaign.lease_s, campaign.gold_rate, campaign.quota) == ("T", 2, 600, 0.2, 10)
    assert (campaign.item_order, campaign.status, campaign.instructions) == ("SEQUENTIAL", "DRAFT", "# Read me")
    assert campaign.questions["rationale"] == "required" and campaign.questions["aspects"][0]["name"] == "helpfulness"
    assert "25 items" in out.getvalue()
    err = capsys.readouterr().err
    assert "checked 10 rows" in err and "written 20 rows" in err


def test_admin_upload_imports_and_shows_errors(tmp_path, admin_client):
    good = json.dumps({"prompt": "P", "candidates": ["a", "b"]}).encode() + b"\n"
    form = {"slug": "adm", "title": "", "overlap": 3, "lease_s": 1800, "gold_rate": 0, "quota": 0,
            "item_order": "CLOSEST_FIRST", "status": "DRAFT", "questions": "", "instructions": ""}  # fmt: skip
    assert admin_client.get("/admin/annotate/campaign/add/").status_code == 302
    bad = admin_client.post("/admin/annotate/campaign/import/", {**form, "file": _upload("c.jsonl", good + b'{"prompt": 3}\n')})
    assert bad.status_code == 200 and b"line 2: prompt must be text" in bad.content
    assert not Campaign.objects.exists()
    ok = admin_client.post("/admin/annotate/campaign/import/", {**form, "file": _upload("c.jsonl", good)})
    assert ok.status_code == 302 and Item.objects.filter(campaign__slug="adm").count() == 1
    campaign = Campaign.objects.get(slug="adm")
    item = Item.objects.get(campaign=campaign)
    for url in (f"/admin/annotate/campaign/{campaign.pk}/change/", "/admin/annotate/item/", f"/admin/annotate/item/{item.pk}/change/",
                "/admin/annotate/annotator/", "/admin/annotate/assignment/", "/admin/annotate/annotation/"):  # fmt: skip
        assert admin_client.get(url).status_code == 200, url


def _upload(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_annotation_admin_has_no_change_or_delete(rf, admin_user):
    from django.contrib.admin.sites import site

    request = rf.get("/")
    request.user = admin_user
    for model in (Annotation, Assignment, Item):
        model_admin = site._registry[model]
        assert not model_admin.has_change_permission(request) and not model_admin.has_delete_permission(request)
