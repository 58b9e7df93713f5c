"""Bad input imports nothing and says which line is wrong and why (DESIGN invariant 7); a
seeded mutation fuzzer checks that no input gets another exception or a partial write."""
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotate.importing import CampaignImportRejected, CampaignSpec, campaign_import
from annotate.models import Annotation, Annotator, Assignment, Campaign, Candidate, Item

pytestmark = pytest.mark.django_db

GOOD = {"id": "g", "prompt": "P", "candidates": [{"text": "a"}, {"text": "b"}], "judgments": [{"annotator": "x", "choice": 0}]}


def nothing_written():
    return not any(m.objects.exists() for m in (Campaign, Item, Candidate, Annotator, Assignment, Annotation))


def rejected(tmp_path, lines: list[bytes], name="f.jsonl", **spec) -> CampaignImportRejected:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    with pytest.raises(CampaignImportRejected) as info:
        campaign_import(path=path, spec=CampaignSpec(slug=spec.pop("slug", "bad"), **spec))
    assert nothing_written() or spec.get("keep"), "a rejected import wrote rows"
    return info.value


def line(row) -> bytes:
    return (row if isinstance(row, str) else json.dumps(row)).encode() + b"\n"


BAD_ROWS = [
    ({"prompt": 3, "candidates": ["a", "b"]}, "prompt must be text or a non-empty list"),
    ({"candidates": ["a", "b"]}, "prompt is missing"),
    ({"prompt": "P"}, "candidates are missing"),
    ({"prompt": "P", "candidates": ["a"]}, "at least two candidates (got 1)"),
    ({"prompt": "P", "candidates": [{"text": 5}, "b"]}, "candidate 0 text must be text (got int)"),
    ({"prompt": "P", "candidates": [{"model": "m"}, "b"]}, "candidate 0: text is missing"),
    ({"prompt": "P", "candidates": ["a", "b"], "gold": 2}, "gold 2 is out of range: the row has 2 candidates"),
    ({"prompt": "P", "candidates": ["a", "b"], "gold": "both_bad"}, 'gold must be a candidate index or "tie"'),
    ({"prompt": "P", "candidates": ["a", "b"], "gold": 1.5}, "gold must be a candidate index (got float)"),
    ({"prompt": "P", "candidates": ["a", "b"], "judgments": [{"annotator": "x", "choice": 3}]}, "judgment 1 choice 3 is out of range"),
    ({"prompt": "P", "candidates": ["a", "b"], "judgments": [{"choice": 0}]}, "judgment 1: annotator is missing"),
    ({"prompt": "P", "candidates": ["a", "b"], "judgments": [{"annotator": "x", "choice": 0}, {"annotator": "x", "choice": 1}]}, "judges this item twice"),
    ({"prompt": "P", "candidates": ["a", "b"], "judgments": [{"annotator": "x", "choice": 0, "strength": 9}]}, "strength must be an integer from 1 to 3"),
    ({"prompt": "P", "candidates": ["a", "b"], "judgments": [{"annotator": "x", "ranking": [0, 0]}]}, "ranking must name each of the 2 candidates once"),
    ({"prompt": "P", "candidates": ["a", "b"], "judgments": [{"annotator": "x", "choice": 0, "aspects": {"nope": 1}}]}, "aspect 'nope' is not one of the campaign's questions"),
    ({"prompt": "P", "candidates": ["a", "b"], "judgments": "x"}, "judgments must be a list"),
    ({"prompt": "P", "candidates": ["a", "b"], "colour": 1}, "unknown field 'colour'"),
    ({"prompt": [{"role": "assistant", "content": "hi"}], "candidates": ["a", "b"]}, "prompt messages have no user message"),
    ({"prompt": [{"role": "bot", "content": "hi"}], "candidates": ["a", "b"]}, "prompt message 0: role must be one of"),
    ({"prompt": "P\u0000", "candidates": ["a", "b"]}, "prompt contains a NUL character"),
    ({"prompt": "P", "candidates": ["a", "b"], "meta": "m"}, "meta must be an object"),
    ('{"prompt": "P", "candidates": ["a", "\\ud800"]}', "candidate 1 text is not valid Unicode"),
    ('{"prompt": "P", "candidates": ["a", "b"], "meta": {"x": NaN}}', "not valid JSON"),
    ('{"prompt": "P", "candidates": ["a", "b"]', "not valid JSON"),
    ("[1, 2]", "a row must be an object"),
]


@pytest.mark.parametrize("row,reason", BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_a_bad_row_is_reported_by_line_and_nothing_is_imported(tmp_path, row, reason):
    error = rejected(tmp_path, [line(GOOD), line(dict(GOOD, id="g2")), line(row)])
    assert error.n_bad == 1
    assert error.errors[0].startswith("line 3: ") and reason in error.errors[0], error.errors


def test_over_size_fields_against_settings(tmp_path, settings):
    settings.ANNOTATE = {**settings.ANNOTATE, "MAX_PROMPT_CHARS": 10, "MAX_CANDIDATE_CHARS": 5, "MAX_CANDIDATES": 3}
    error = rejected(tmp_path, [
        line({"prompt": "x" * 11, "candidates": ["a", "b"]}),
        line({"prompt": "P", "candidates": ["a", "bbbbbb"]}),
        line({"prompt": "P", "candidates": ["a", "b", "c", "d"]}),
        line({"prompt": [{"role": "user", "content": "x" * 6}, {"role": "user", "content": "y" * 6}], "candidates": ["a", "b"]}),
    ])  # fmt: skip
    assert error.errors == [
        "line 1: prompt is longer than 10 characters (11)",
        "line 2: candidate 1 text is longer than 5 characters (6)",
        "line 3: an item has at most 3 candidates (got 4)",
        "line 4: prompt messages are longer than 10 characters in all (12)",
    ]


def test_file_over_max_import_bytes(tmp_path, settings):
    settings.ANNOTATE = {**settings.ANNOTATE, "MAX_IMPORT_BYTES": 100}
    error = rejected(tmp_path, [line(GOOD)] * 3)
    assert error.errors == ["the file is larger than 100 bytes"]


def test_not_utf8_lines_are_named(tmp_path):
    error = rejected(tmp_path, [line(GOOD), '{"prompt": "caf\xe9", "candidates": ["a", "b"]}\n'.encode("latin-1")])
    assert error.errors == ["line 2: not valid UTF-8 (byte 16)"]
    error = rejected(tmp_path, [b"id,prompt,response_a,response_b\n", b"1,ok,a,b\n", "2,caf\xe9,a,b\n".encode("latin-1")], name="f.csv")
    assert error.errors == ["line 3: not valid UTF-8"]
    error = rejected(tmp_path, [line(GOOD).decode().encode("utf-16")])
    assert "not valid UTF-8" in error.errors[0]


def test_duplicate_slug_and_ids(tmp_path):
    path = tmp_path / "ok.jsonl"
    path.write_bytes(line(GOOD))
    campaign_import(path=path, spec=CampaignSpec(slug="taken"))
    with pytest.raises(CampaignImportRejected) as info:
        campaign_import(path=path, spec=CampaignSpec(slug="taken"))
    assert info.value.errors == ["a campaign with slug 'taken' already exists"]
    assert Item.objects.count() == 1
    Campaign.objects.all().delete()
    error = rejected(tmp_path, [line(GOOD), line(GOOD)])
    assert error.errors == ["line 2: id 'g' is used by an earlier row"]


def test_bad_options_and_empty_files(tmp_path):
    for spec, message in [
        ({"slug": "Not a slug"}, "slug must be"),
        ({"slug": "exports"}, "reserved word"),
        ({"overlap": 0}, "overlap must be"),
        ({"gold_rate": 2.0}, "gold rate"),
        ({"lease_s": 5}, "lease must be"),
        ({"questions": {"aspects": [{"name": "bad name"}]}}, "questions: aspect name"),
        ({"item_order": "SIDEWAYS"}, "order must be"),
    ]:
        with pytest.raises(CampaignImportRejected) as info:
            CampaignSpec(**{"slug": "s", **spec})
        assert message in info.value.errors[0]
    assert rejected(tmp_path, [b"\n\n"]).errors == ["the file has no items"]
    assert "unknown file format" in rejected(tmp_path, [line(GOOD)], name="f.txt").errors[0]


def test_csv_structure_errors(tmp_path):
    header = b"id,prompt,response_a,response_b,annotator,choice\n"
    assert rejected(tmp_path, [b"id,prompt,response_a\n", b"1,p,a\n"], name="f.csv").errors == ["the header has no response_b column"]
    error = rejected(tmp_path, [header, b"1,p,a,b,x,a\n", b"2,p,a,b,x,c\n", b"1,p,a,b,y,b\n", b"3,p,a,b,x,a,extra\n"], name="f.csv")
    assert error.errors == [
        "line 3: judgment 1 choice 'c' is out of range: the row has 2 candidates (0–1)",
        "line 4: an earlier item has the same id: rows of one item must be adjacent",
        "line 5: 7 values but 6 columns",
    ]
    error = rejected(tmp_path, [header, b"1,p,a,b,x,a\n", b"1,p,CHANGED,b,y,b\n"], name="f.csv")
    assert error.errors == ["lines 2–3: line 3 has the id of line 2 but a different prompt, responses or gold"]
    error = rejected(tmp_path, [header, b"1,p,a,b,x,a\n", b"1,p,a,b,x,b\n"], name="f.csv")
    assert error.errors == ["lines 2–3: judgment on line 3: annotator 'x' judges this item twice"]


def test_parquet_errors_name_rows(tmp_path):
    pq.write_table(pa.table({"prompt": ["p", "q"], "response_a": ["a", "a"], "response_b": ["b", None], "gold": ["a", "z"]}), tmp_path / "f.parquet")
    with pytest.raises(CampaignImportRejected) as info:
        campaign_import(path=tmp_path / "f.parquet", spec=CampaignSpec(slug="pq"))
    assert info.value.errors == ["row 2: gold 'z' is out of range: the row has 2 candidates (0–1)"]
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    assert "not a readable Parquet file" in rejected(tmp_path, [b"PAR1 not really"], name="junk.parquet").errors[0]
    assert nothing_written()


# ---- fuzzing ---------------------------------------------------------------------------------

VALID = [
    GOOD,
    {"prompt": [{"role": "user", "content": "hi"}], "candidates": [{"text": "a", "model": "m", "meta": {"k": [1, 2.5]}}, "b", "c"],
     "gold": "tie", "meta": {"src": "x"}, "judgments": [{"annotator": 7, "ranking": [2, 0, 1], "rationale": "r"}]},
    {"id": 3, "prompt": "Q", "candidates": ["x", "y"], "gold": 1,
     "judgments": [{"annotator": "a", "choice": "both_bad"}, {"annotator": "b", "choice": 1, "strength": 2}]},
]  # fmt: skip
ODD_VALUES = [None, "", "\x00", "\ud800", -1, 10**30, 1e308, [], {}, "tie", True, "é" * 3, [0, 1], {"text": None}]


def _mutate_value(rng: random.Random, value, depth=0):
    """Swap a value's type, or recurse into a container and mutate one member."""
    if isinstance(value, dict) and value and depth < 4 and rng.random() < 0.7:
        key = rng.choice(list(value))
        if rng.random() < 0.2:
            return {k: v for k, v in value.items() if k != key}
        return {**value, key: _mutate_value(rng, value[key], depth + 1)}
    if isinstance(value, list) and value and depth < 4 and rng.random() < 0.7:
        i = rng.randrange(len(value))
        if rng.random() < 0.2:
            return value[:i] + value[i + 1 :]
        return value[:i] + [_mutate_value(rng, value[i], depth + 1)] + value[i + 1 :]
    return rng.choice(ODD_VALUES)


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    kind = rng.randrange(3)
    if kind == 0 and data:  # flip a byte
        i = rng.randrange(len(data))
        return data[:i] + bytes([rng.randrange(256)]) + data[i + 1 :]
    if kind == 1:  # truncate
        return data[: rng.randrange(len(data) + 1)]
    i = rng.randrange(len(data) + 1)  # insert junk
    return data[:i] + rng.choice([b"\xff\xfe", b"\n", b'"', b"\\u0000", b"{", b"NaN", b"\r\n"]) + data[i:]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_fuzzed_files_import_cleanly_or_are_rejected_with_lines(tmp_path, fmt):
    rng = random.Random(20240611)
    outcomes = {"imported": 0, "rejected": 0}
    for trial in range(120 if fmt == "jsonl" else 80):
        if fmt == "jsonl":
            rows = [json.dumps(_mutate_value(rng, r) if rng.random() < 0.5 else r, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass") for r in VALID]
            data = b"\n".join(rows) + b"\n"
        else:
            data = (
                "id,prompt,response_a,response_b,response_c,gold,annotator,choice,strength,ranking\n"
                "1,P,a,b,,a,x,a,2,\n1,P,a,b,,a,y,tie,,\n2,\"multi\nline\",a,b,c,tie,x,,,c>a>b\n3,Q,a,b,,,,,,\n"
            ).encode()
        if rng.random() < 0.7:
            for _ in range(rng.randrange(1, 4)):
                data = _mutate_bytes(rng, data)
        path = tmp_path / f"fuzz{trial}.{fmt}"
        path.write_bytes(data)
        slug = f"fuzz-{trial}"
        try:
            report = campaign_import(path=path, spec=CampaignSpec(slug=slug))
        except CampaignImportRejected as exc:
            outcomes["rejected"] += 1
            assert exc.errors and all(isinstance(e, str) and e for e in exc.errors)
            assert all(e.startswith(("line ", "lines ", "the file", "the header")) for e in exc.errors), exc.errors
            assert not Campaign.objects.filter(slug=slug).exists()
            assert not Item.objects.filter(campaign__slug=slug).exists()
        else:
            outcomes["imported"] += 1
            items = Item.objects.filter(campaign__slug=slug)
            assert items.count() == report.n_items
            assert Annotation.objects.filter(assignment__item__campaign__slug=slug).count() == report.n_judgments
            assert sum(items.values_list("n_submitted", flat=True)) == report.n_judgments
    assert outcomes["imported"] > 5 and outcomes["rejected"] > 5, outcomes
