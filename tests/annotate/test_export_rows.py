"""From judgments to TRL rows (annotate/exports/rows.py, aggregate.py): pure, no database."""
from collections import Counter

import numpy as np
import pytest

from annotate.agreement import competence_weights, dawid_skene, item_consensus, label_counts, weighted_majority
from annotate.exports.aggregate import aggregate_label
from annotate.exports.rows import (
    ItemRecord,
    JudgmentRecord,
    RowOptions,
    item_agreement,
    item_rows,
    judgment_rows,
    prompt_text,
    split_of,
)

ITEM = ItemRecord(
    source="c", item_id="c/1", messages=({"role": "user", "content": "Hi?"},),
    candidates=("A0", "A1", "A2"), models=("m0", "m1", ""), max_strength=3,
)  # fmt: skip
PAIR = ItemRecord(source="c", item_id="c/2", messages=({"role": "user", "content": "Q"},), candidates=("x", "y"), models=("mx", "my"), max_strength=3)


def J(verdict="CANDIDATE", choice=None, **kw) -> JudgmentRecord:
    return JudgmentRecord(annotator=kw.pop("annotator", "p1"), verdict=verdict, choice=choice, **kw)


def pairs(rows):
    return [(r["chosen"], r["rejected"]) for r in rows]


def test_given_a_ranking_when_exported_then_every_ordered_pair_best_over_lower():
    out = item_rows(ITEM, [J("RANKED", ranking=(2, 0, 1), order=(1, 2, 0))], RowOptions())
    assert pairs(out.preference) == [("A2", "A0"), ("A2", "A1"), ("A0", "A1")]
    # positions are mapped through the shown order: candidate 2 was shown second (position 1)
    assert [(r["chosen_position"], r["rejected_position"]) for r in out.preference] == [(1, 2), (1, 0), (2, 0)]
    assert [r["chosen_model"] for r in out.preference] == [None, None, "m0"]  # "" model -> null
    assert all(r["strength"] is None and r["margin"] == 0.0 for r in out.preference)


def test_given_a_choice_among_three_then_chosen_over_each_other():
    out = item_rows(ITEM, [J(choice=1, strength=2)], RowOptions())
    assert pairs(out.preference) == [("A1", "A0"), ("A1", "A2")]


def test_ties_and_both_bad_make_no_pair_but_count_and_kto_negatives():
    judgments = [J(choice=0, annotator="a"), J("TIE", annotator="b"), J("BOTH_BAD", annotator="c"), J("NONE", annotator="d")]
    out = item_rows(PAIR, judgments, RowOptions(kto=True))
    assert pairs(out.preference) == [("x", "y")]
    assert out.skipped_preference == Counter(tie=1, both_bad=1, no_overall_choice=1)
    kto = [(r["completion"], r["label"], r["annotator"]) for r in out.kto]
    assert kto == [("x", True, "a"), ("y", False, "a"), ("x", False, "c"), ("y", False, "c")]
    assert out.skipped_kto == Counter(tie=1, no_overall_choice=1)


def test_positions_follow_the_shown_order_and_are_null_when_unknown():
    shown_swapped = item_rows(PAIR, [J(choice=0, order=(1, 0))], RowOptions()).preference[0]
    assert (shown_swapped["chosen_position"], shown_swapped["rejected_position"]) == (1, 0)
    imported = item_rows(PAIR, [J(choice=0, order=None)], RowOptions()).preference[0]
    assert (imported["chosen_position"], imported["rejected_position"]) == (None, None)


def test_margin_is_strength_over_max_times_item_agreement():
    judgments = [J(choice=0, strength=3, annotator="a"), J(choice=0, strength=1, annotator="b"), J(choice=1, strength=2, annotator="c")]
    rows = item_rows(PAIR, judgments, RowOptions()).preference
    assert [r["item_agreement"] for r in rows] == [pytest.approx(2 / 3)] * 3
    assert [r["margin"] for r in rows] == [pytest.approx(v) for v in (3 / 3 * 2 / 3, 1 / 3 * 2 / 3, 2 / 3 * 2 / 3)]
    assert [r["n_votes"] for r in rows] == [3, 3, 3]


def test_item_agreement_equals_the_agreement_module():
    labels = [0, 0, 1, "TIE", None, 0, "BOTH_BAD"]
    codes = {0: 0, 1: 1, "TIE": 2, "BOTH_BAD": 3}
    counts = label_counts(np.zeros(6, dtype=int), [codes[l] for l in labels if l is not None], n_items=1, n_labels=4)
    assert item_agreement(labels) == pytest.approx(item_consensus(counts)[0])
    assert item_agreement([None]) is None


def test_aspects_give_chosen_and_rejected_scores():
    aspects = {"helpfulness": {"0": 4, "1": 2}, "safety": 1, "style": "TIE"}
    row = item_rows(PAIR, [J(choice=1, aspects=aspects)], RowOptions()).preference[0]
    assert row["aspects"] == [
        {"name": "helpfulness", "chosen": 2.0, "rejected": 4.0},
        {"name": "safety", "chosen": 1.0, "rejected": 0.0},
        {"name": "style", "chosen": 0.5, "rejected": 0.5},
    ]


def test_conversational_form_is_trl_messages():
    item = ItemRecord(
        source="c", item_id="c/3", candidates=("yes", "no"), models=("a", "b"),
        messages=({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Ok?"}),
    )  # fmt: skip
    row = item_rows(item, [J(choice=0)], RowOptions(form="conversational")).preference[0]
    assert row["prompt"] == [dict(m) for m in item.messages]
    assert row["chosen"] == [{"role": "assistant", "content": "yes"}]
    assert row["rejected"] == [{"role": "assistant", "content": "no"}]
    text = item_rows(item, [J(choice=0)], RowOptions()).preference[0]
    assert text["prompt"] == "System: Be brief.\n\nUser: Hi\n\nAssistant: Hello\n\nUser: Ok?" == prompt_text(item.messages)
    assert text["chosen"] == "yes"


def test_split_by_prompt_no_prompt_in_both():
    key = b"k" * 32
    prompts = [f"Prompt {i % 300}" for i in range(3000)] + [f"  prompt   {i}  " for i in range(300)]
    splits: dict[str, set] = {}
    for p in prompts:
        splits.setdefault(" ".join(p.casefold().split()), set()).add(split_of(p, key=key, test_fraction=0.2))
    assert all(len(s) == 1 for s in splits.values())
    share = sum(s == {"test"} for s in splits.values()) / len(splits)
    assert 0.12 < share < 0.28
    assert split_of("x", key=key, test_fraction=0.0) == "train"
    # keyed: another deployment splits differently
    other = [split_of(f"Prompt {i}", key=b"o" * 32, test_fraction=0.5) for i in range(200)]
    mine = [split_of(f"Prompt {i}", key=key, test_fraction=0.5) for i in range(200)]
    assert other != mine


def test_min_item_agreement_and_contender_filters():
    judgments = [J(choice=0, annotator="a"), J(choice=1, annotator="b")]
    out = item_rows(PAIR, judgments, RowOptions(min_item_agreement=0.6))
    assert not out.preference and out.skipped_preference == Counter(below_min_item_agreement=2)
    out = item_rows(PAIR, judgments, RowOptions(contenders=frozenset({"zz"})))
    assert not out.preference and out.skipped_preference == Counter(other_contenders=2)
    assert len(item_rows(PAIR, judgments, RowOptions(contenders=frozenset({"my"}))).preference) == 2


# --- unit "item" ----------------------------------------------------------------------------
def item_unit(judgments, aggregation="majority", weights=None, **kw):
    return item_rows(PAIR, judgments, RowOptions(unit="item", aggregation=aggregation, **kw), weights)


def test_item_majority():
    judgments = [J(choice=1, annotator="a", rationale="y is right", strength=2), J(choice=0, annotator="b", rationale="x"),
                 J(choice=1, annotator="c", strength=3), J("TIE", annotator="d")]  # fmt: skip
    (row,) = item_unit(judgments).preference
    assert (row["chosen"], row["rejected"]) == ("y", "x")
    assert row["rationales"] == ["y is right"]
    assert row["annotator"] == ["a", "b", "c", "d"]
    assert (row["n_votes"], row["n_agree"], row["item_agreement"]) == (4, 2, 0.5)
    assert row["strength"] == 2.5 and row["margin"] == pytest.approx(2.5 / 3 * 0.5)


def test_item_majority_tie_at_the_top_is_skipped():
    out = item_unit([J(choice=1, annotator="a"), J(choice=0, annotator="b")], kto=True)
    assert not out.preference and not out.kto
    assert out.skipped_preference == Counter(no_majority=1) == out.skipped_kto


def test_item_strength_weighted_sums_strengths_per_side():
    # two slight votes for x (1 + 1) lose to one strong vote for y (3)
    judgments = [J(choice=0, strength=1, annotator="a"), J(choice=0, strength=1, annotator="b"), J(choice=1, strength=3, annotator="c")]
    assert item_unit(judgments).preference[0]["chosen"] == "x"
    (row,) = item_unit(judgments, "strength").preference
    assert row["chosen"] == "y" and row["n_agree"] == 1 and row["strength"] == 3.0


def test_item_competence_weighted_equals_weighted_majority():
    rng = np.random.default_rng(3)
    n_items, truth = 40, rng.integers(0, 2, 40)
    accuracy = [0.95, 0.9, 0.55, 0.5, 0.45]  # two good annotators, three near chance
    items, people, labels = [], [], []
    for i in range(n_items):
        for a, p in enumerate(accuracy):
            items.append(i)
            people.append(a)
            labels.append(int(truth[i]) if rng.random() < p else 1 - int(truth[i]))
    fit = dawid_skene(items, people, labels, n_labels=4)
    weights = competence_weights(fit.competence, 4)
    expected = weighted_majority(items, people, labels, weights, n_items=n_items, n_labels=4, ties="abstain")
    by_name = {f"p{a}": float(w) for a, w in enumerate(weights)}
    for i in range(n_items):
        judgments = [J(choice=labels[k], annotator=f"p{people[k]}") for k in range(len(items)) if items[k] == i]
        rows = item_rows(
            ItemRecord(source="c", item_id=f"c/{i}", messages=({"role": "user", "content": str(i)},), candidates=("x", "y"), models=("", "")),
            judgments, RowOptions(unit="item", aggregation="competence"), by_name,
        ).preference  # fmt: skip
        got = {"x": 0, "y": 1}[rows[0]["chosen"]] if rows else -1
        assert got == expected[i]
    # the good annotators carry the items the near-chance majority gets wrong
    assert (expected == truth).mean() > 0.85


def test_aggregate_label():
    assert aggregate_label([0, 1, 1], [1, 1, 1]) == 1
    assert aggregate_label([0, 1], [0.1 + 0.2, 0.3]) is None  # float sums compared with tolerance
    assert aggregate_label([0, 1], [0.0, 0.0]) is None
    assert aggregate_label(["TIE", "TIE", 0], [1, 1, 1]) == "TIE"


def test_item_unit_both_bad_gives_kto_negatives_only():
    out = item_unit([J("BOTH_BAD", annotator="a"), J("BOTH_BAD", annotator="b"), J(choice=0, annotator="c")], kto=True)
    assert not out.preference and out.skipped_preference == Counter(both_bad=1)
    assert [(r["completion"], r["label"], r["annotator"]) for r in out.kto] == [("x", False, ["a", "b", "c"]), ("y", False, ["a", "b", "c"])]


def test_jsonl_lines_equal_json_dumps(tmp_path):
    import json

    from annotate.exports.columns import schema_for
    from annotate.exports.columns import record_batch
    from annotate.exports.writers import JsonlWriter

    schema = schema_for(kind="preference", unit="judgment", form="conversational")
    prompt = [{"role": "user", "content": 'Ünïcødé "quotes" \\ back\nslash \u2028 \x07 😀'}]
    chosen = [{"role": "assistant", "content": "yes"}]
    base = {name: None for name in schema.names}
    rows = [
        base | {"prompt": prompt, "chosen": chosen, "rejected": [], "rationale": "é\t", "strength": 2, "margin": 1 / 3,
                "aspects": [{"name": "a", "chosen": 1.0, "rejected": 0.5}], "n_votes": 0, "item_agreement": 1.0, "split": "train"},
        base | {"prompt": prompt, "chosen": chosen, "rejected": chosen, "rationale": "", "margin": 0.0, "annotator": "ab"},
    ]  # fmt: skip
    writer = JsonlWriter(tmp_path / "x.jsonl", schema)
    writer.write_batch(record_batch([tuple(r[n] for n in schema.names) for r in rows], schema))
    writer.close()
    expected = "".join(json.dumps({n: r[n] for n in schema.names}, ensure_ascii=False) + "\n" for r in rows)
    assert (tmp_path / "x.jsonl").read_text(encoding="utf-8") == expected


def test_row_tuples_follow_the_schemas_column_order():
    from annotate.exports.columns import schema_for
    from annotate.exports.rows import ITEM_PREFERENCE_COLUMNS, KTO_COLUMNS, PREFERENCE_COLUMNS

    for form in ("text", "conversational"):
        assert tuple(schema_for(kind="preference", unit="judgment", form=form).names) == PREFERENCE_COLUMNS
        assert tuple(schema_for(kind="preference", unit="item", form=form).names) == ITEM_PREFERENCE_COLUMNS
        for unit in ("judgment", "item"):
            assert tuple(schema_for(kind="kto", unit=unit, form=form).names) == KTO_COLUMNS


def test_record_batch_of_no_rows_is_an_empty_batch_in_the_schema():
    from annotate.exports.columns import record_batch, schema_for

    schema = schema_for(kind="preference", unit="item", form="conversational")
    batch = record_batch([], schema)
    assert batch.num_rows == 0 and batch.schema == schema


def test_the_two_candidate_shortcut_gives_the_generic_rows():
    """Two candidates and no contender filter take a shortcut in judgment_rows; naming both
    models as contenders keeps every row but takes the generic path: the rows must agree."""
    judgments = [
        J(choice=0, strength=2, order=(1, 0), rationale="r", annotator="p1", aspects={"h": {"0": 4, "1": 2}, "s": "TIE"}),
        J(choice=1, order=None, annotator="p2", aspects={"s": 0}),  # imported: no order, no strength
        J(choice=1, strength=3, order=(0, 1), annotator="p3"),
        J("TIE", annotator="p4", order=(0, 1)),
        J("BOTH_BAD", annotator="p5"),
        J("NONE", annotator="p6"),
    ]
    for kto in (False, True):
        fast = judgment_rows(PAIR, judgments, RowOptions(kto=kto))
        generic = judgment_rows(PAIR, judgments, RowOptions(kto=kto, contenders=frozenset({"mx", "my"})))
        assert fast.preference == generic.preference and len(fast.preference) == 3
        assert (fast.kto, fast.skipped_preference, fast.skipped_kto) == (generic.kto, generic.skipped_preference, generic.skipped_kto)


@pytest.mark.parametrize(
    "values, kind",
    [((1 / 3, 1 / 3, 0.5, None, 1 / 3), "float64"), ((0.0, -0.0, 0.0), "float64"), ((1.0, 2.5e-05, 1e16, None), "float64"),
     ((float("nan"), 2.0, float("nan"), float("inf"), -float("inf")), "float64"), ((0, 1, None, -7, 2**40), "int64"),
     ((True, None, False), "bool")],
)  # fmt: skip
def test_number_columns_encode_each_value_as_json_does(values, kind):
    """Floats are encoded once per distinct value; equal values that print differently
    (0.0 / -0.0) must still print as themselves; Arrow's own cast prints 1.0 as "1"."""
    import json

    import pyarrow as pa

    from annotate.exports.json_columns import json_texts

    assert json_texts(pa.array(values, kind)).to_pylist() == [json.dumps(v) for v in values]


def _random_value(rng, kind):
    import pyarrow as pa

    if rng.random() < 0.15:
        return None
    if pa.types.is_string(kind):
        alphabet = ["a", "é", '"', "\\", "\n", "\x07", "\u2028", "😀", " ", "\t", "\x1f", "\x00", "/", "\r"]
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
    if pa.types.is_integer(kind):
        return rng.choice([0, -5, 2**40, 3])
    if pa.types.is_floating(kind):
        return rng.choice([0.0, -0.0, 1.0, 1 / 3, 1e-05, 1e16, float("nan"), float("inf"), 0.1])
    if pa.types.is_boolean(kind):
        return rng.choice([True, False])
    if pa.types.is_list(kind):
        return [_random_value(rng, kind.value_type) for _ in range(rng.randint(0, 3))]
    return {f.name: _random_value(rng, f.type) for f in kind}


@pytest.mark.parametrize("form", ["text", "conversational"])
@pytest.mark.parametrize("unit", ["judgment", "item"])
@pytest.mark.parametrize("kind", ["preference", "kto"])
def test_jsonl_lines_of_every_schema_equal_json_dumps(form, unit, kind):
    """Random rows of every exported schema (escapes, nulls, nested lists, odd floats), whole
    and as a slice: the columnar encoder gives json.dumps's bytes."""
    import json
    import random

    import pyarrow as pa

    from annotate.exports.columns import schema_for
    from annotate.exports.json_columns import jsonl_lines

    rng = random.Random(f"{form}-{unit}-{kind}")
    schema = schema_for(kind=kind, unit=unit, form=form)
    rows = [{f.name: _random_value(rng, f.type) for f in schema} for _ in range(300)]
    batch = pa.RecordBatch.from_pylist(rows, schema=schema)
    for part, expected in ((batch, rows), (batch.slice(7, 100), rows[7:107])):
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in expected)
        assert bytes(jsonl_lines(part)).decode("utf-8") == text


# --- columnar.block_rows: rows.judgment_rows for a block of items at once -------------------
def _block_items(records):
    """The BlockItems reading.py gives for these ItemRecords (ids 1, 2, ...; one source and
    strength scale): plain prompts as `prompt`, anything else as messages."""
    import json

    import pyarrow as pa

    from annotate.exports.block_items import CANDIDATE_TYPES, ITEM_TYPES, BlockItems

    items, candidates = [], []
    for item_id, item in enumerate(records, start=1):
        plain = len(item.messages) == 1 and item.messages[0]["role"] == "user"
        items.append({"id": item_id, "position": int(item.item_id.split("/")[1]),
                      "prompt": item.messages[0]["content"] if plain else "", "messages": None if plain else json.dumps(list(item.messages))})  # fmt: skip
        candidates += [{"item": item_id, "text": t, "model": m} for t, m in zip(item.candidates, item.models)]
    return BlockItems(
        source=records[0].source, max_strength=records[0].max_strength,
        items=pa.Table.from_pylist(items, schema=pa.schema(list(ITEM_TYPES.items()))),
        candidates=pa.Table.from_pylist(candidates, schema=pa.schema(list(CANDIDATE_TYPES.items()))),
    )  # fmt: skip


def _block(groups):
    """(the block's items, the judgments table reading.py gives) for [(item, judgments), ...]."""
    import json

    import pyarrow as pa

    from annotate.exports.reading import ANNOTATION_TYPES

    rows = []
    for item_id, (_, judgments) in enumerate(groups, start=1):
        for j in judgments:
            rows.append({
                "item": item_id, "annotator": j.annotator, "order": json.dumps(list(j.order)) if j.order else None,
                "verdict": j.verdict, "choice": j.choice, "ranking": json.dumps(list(j.ranking)) if j.ranking else None,
                "strength": j.strength, "aspects": json.dumps(j.aspects) if j.aspects else "{}", "rationale": j.rationale,
            })  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=pa.schema(list(ANNOTATION_TYPES.items())))
    return _block_items([item for item, _ in groups]), table


def _item(n: int, **kw) -> ItemRecord:
    return ItemRecord(source="c", item_id=f"c/{n}", messages=kw.get("messages", ({"role": "user", "content": f"Q{n % 3}"},)),
                      candidates=(f"x{n}", f"y{n}"), models=("mx", "") if n % 2 else ("", "my"), max_strength=kw.get("max_strength", 3))  # fmt: skip


CHAT = ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q5"})
COMMON_GROUPS = [
    (_item(1), [J(choice=0, strength=2, order=(1, 0), rationale="r", annotator="a"), J(choice=1, order=None, annotator="b"),
                J("TIE", annotator="c"), J(choice=1, strength=0, annotator="d")]),
    (_item(2), [J("BOTH_BAD", annotator="a"), J("NONE", annotator=None)]),
    (_item(3), [J(choice=1, strength=3, order=(0, 1), annotator="a")]),
    (_item(4), [J(choice=0, strength=1, annotator="e"), J(choice=0, strength=2, annotator="f"), J(choice=1, annotator="g")]),
    (_item(5, messages=CHAT), [J(choice=1, strength=2, order=(0, 1), annotator="a")]),
]  # fmt: skip


def test_block_items_give_back_the_item_records():
    items = [item for item, _ in COMMON_GROUPS]
    block = _block_items(items)
    assert block.records() == dict(enumerate(items, start=1))
    assert block.prompt_texts().to_pylist() == [prompt_text(item.messages) for item in items]
    assert block.item_ids().to_pylist() == [item.item_id for item in items]
    assert block.candidate_counts().tolist() == [2] * len(items)


@pytest.mark.parametrize(
    "options", [RowOptions(), RowOptions(test_fraction=0.5, split_key=b"k", min_item_agreement=0.6), RowOptions(min_item_agreement=1.0)]
)
@pytest.mark.parametrize("max_strength", [3, 0])
def test_block_rows_give_judgment_rows_rows_skips_and_figures(options, max_strength):
    from dataclasses import replace

    from annotate.exports.columnar import block_rows
    from annotate.exports.columns import schema_for

    groups = [(replace(item, max_strength=max_strength), judgments) for item, judgments in COMMON_GROUPS]
    schema = schema_for(kind="preference", unit="judgment", form="text")
    out = block_rows(*_block(groups), options, schema)
    expected, skipped, multi = {}, Counter(), []
    for item, judgments in groups:
        rows = judgment_rows(item, judgments, options)
        expected.setdefault(rows.split, []).extend(rows.preference)
        skipped.update(rows.skipped_preference)
        if rows.n_votes >= 2:
            multi.append(rows.agreement)
    got = {split: [tuple(r.values()) for r in batch.cast(schema).to_pylist()] for split, batch in out.preference.items()}
    assert got == {split: rows for split, rows in expected.items() if rows}
    assert out.skipped == skipped and out.agreements_multi == multi and out.items == len(COMMON_GROUPS)
    assert out.annotators == {"a", "b", "c", "d", "e", "f", "g"}


@pytest.mark.parametrize(
    "groups, options",
    [
        (COMMON_GROUPS, RowOptions(kto=True)),
        (COMMON_GROUPS, RowOptions(form="conversational")),
        (COMMON_GROUPS, RowOptions(contenders=frozenset({"mx"}))),
        (COMMON_GROUPS, RowOptions(unit="item")),
        ([(ITEM, [J(choice=0)])], RowOptions()),  # three candidates
        ([(PAIR, [J("RANKED", ranking=(1, 0))])], RowOptions()),
        ([(PAIR, [J(choice=0, aspects={"s": 0})])], RowOptions()),
    ],
)
def test_block_rows_leave_anything_but_the_common_case_to_rows_py(groups, options):
    from annotate.exports.columnar import block_rows
    from annotate.exports.columns import schema_for

    assert block_rows(*_block(groups), options, schema_for(kind="preference", unit=options.unit, form=options.form)) is None
