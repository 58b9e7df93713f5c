"""rows.judgment_rows for a whole block of items at once, in Arrow and numpy (pure: no Django,
no I/O): the common case only, where it is a handful of array operations instead of ~10 us
of Python a judgment.

The common case: one row per judgment, text prompts, no KTO rows, no contender filter, every
item with two candidates, verdicts CANDIDATE / TIE / BOTH_BAD / NONE, no aspect scores.
block_rows returns None for any other block, which then takes rows.py one item at a time.
The rows, their order and the skip counts are rows.py's (tests compare the files byte for
byte on real and random data); keep the two in step."""
import json
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from annotate.exports.block_items import BlockItems
from annotate.exports.columns import ASPECTS
from annotate.exports.rows import (
    BOTH_BAD,
    SKIP_AGREEMENT,
    SKIP_BOTH_BAD,
    SKIP_NO_CHOICE,
    SKIP_TIE,
    TIE,
    RowOptions,
    split_of,
)

# label codes: a candidate index (0, 1), then these; NONE has no label
_CODES = {"CANDIDATE": -2, TIE: 2, BOTH_BAD: 3, "NONE": -1}
_SKIPS = {2: SKIP_TIE, 3: SKIP_BOTH_BAD, -1: SKIP_NO_CHOICE}


@dataclass
class BlockRows:
    """A block's preference rows by split, what was skipped, and the per-item figures the
    build's summary adds up (agreements of items with two votes or more, in item order)."""

    preference: dict[str, pa.RecordBatch]
    skipped: Counter = field(default_factory=Counter)
    items: int = 0
    agreements_multi: list[float] = field(default_factory=list)
    annotators: set = field(default_factory=set)


def _eligible(options: RowOptions, items: BlockItems, verdicts: pa.Array, choices: np.ndarray, aspects: pa.Array) -> bool:
    if options.unit != "judgment" or options.form != "text" or options.kto or options.contenders:
        return False
    if not (items.candidate_counts() == 2).all():
        return False
    if not set(pc.unique(verdicts).to_pylist()) <= set(_CODES):
        return False
    candidate = pc.equal(verdicts, "CANDIDATE").to_numpy(zero_copy_only=False)
    if candidate.any() and not np.isin(choices[candidate], (0, 1)).all():
        return False
    return pc.all(pc.fill_null(pc.equal(aspects, "{}"), True)).as_py()


def _positions(orders: pa.Array, candidates: np.ndarray) -> pa.Array:
    """order.index(candidate), null without an order (imported judgments) or for one not shown."""
    encoded = pc.dictionary_encode(pc.fill_null(orders, "[]"))
    table = np.full((len(encoded.dictionary), 2), -1, dtype=np.int64)
    for code, text in enumerate(encoded.dictionary.to_pylist()):
        order = json.loads(text)
        for c in (0, 1):
            table[code, c] = order.index(c) if c in order else -1
    positions = table[encoded.indices.to_numpy(zero_copy_only=False), candidates]
    return pa.array(positions, pa.int64(), mask=positions < 0)


def block_rows(items: BlockItems, judgments: pa.Table, options: RowOptions, schema: pa.Schema) -> BlockRows | None:
    """The rows of a block in `schema`'s columns (item strings as dictionary arrays), or None
    when the block is not the common case. `judgments`: reading.ANNOTATION_TYPES columns,
    sorted by item then annotation id; `items`: exactly their items."""
    item_ids = judgments.column("item").to_numpy()
    unique_ids = items.ids()
    verdicts = judgments.column("verdict").combine_chunks()
    choices = judgments.column("choice").to_numpy(zero_copy_only=False)  # float, NaN for null
    if not _eligible(options, items, verdicts, choices, judgments.column("aspects").combine_chunks()):
        return None
    idx = np.searchsorted(unique_ids, item_ids)  # the row's item, 0..n_items-1
    n_items = len(unique_ids)

    codes = pc.index_in(verdicts, pa.array(list(_CODES))).to_numpy(zero_copy_only=False)
    labels = np.array(list(_CODES.values()), dtype=np.int64)[codes]
    is_candidate = labels == -2
    labels[is_candidate] = choices[is_candidate].astype(np.int64)
    voted = labels >= 0
    counts = np.bincount(idx[voted] * 4 + labels[voted], minlength=n_items * 4).reshape(n_items, 4)
    n_votes = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = counts.max(axis=1) / n_votes  # NaN: no vote (None in rows.py)

    out = BlockRows(preference={}, items=n_items)
    out.agreements_multi = agreement[n_votes >= 2].tolist()
    out.annotators = set(pc.unique(judgments.column("annotator").drop_null()).to_pylist())

    kept_item = np.ones(n_items, dtype=bool)
    if options.min_item_agreement > 0:
        kept_item = ~np.isnan(agreement) & (agreement >= options.min_item_agreement)
        if (dropped := int((~kept_item[idx]).sum())) > 0:
            out.skipped[SKIP_AGREEMENT] += dropped
    kept = kept_item[idx]
    for code, reason in _SKIPS.items():
        if n := int((kept & (labels == code)).sum()):
            out.skipped[reason] += n
    rows = np.flatnonzero(kept & is_candidate)
    if not len(rows):
        return out

    chosen = labels[rows]
    row_item = idx[rows]
    texts = items.prompt_texts()
    splits = [split_of(text, key=options.split_key, test_fraction=options.test_fraction) for text in texts.to_pylist()]
    candidates = items.candidates.column("text").combine_chunks()  # two per item, in index order
    models = items.candidates.column("model").combine_chunks()
    models = pc.if_else(pc.equal(models, ""), pa.scalar(None, pa.string()), models)  # unknown: null, as rows.py
    strength = judgments.column("strength").take(rows).combine_chunks()
    strength_np = strength.to_numpy(zero_copy_only=False)  # float, NaN for null
    max_strength = float(items.max_strength)
    row_agreement = agreement[row_item]
    with np.errstate(invalid="ignore", divide="ignore"):
        margin = np.where((strength_np > 0) & (max_strength > 0), strength_np / max_strength * row_agreement, 0.0)
    orders = judgments.column("order").take(rows).combine_chunks()
    # Columns of item values are dictionary arrays (values per item, indices per row): the
    # JSONL writer encodes each value once, the Parquet writer casts them to plain strings.
    def per_item(values: pa.Array, index: np.ndarray) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), values)

    def item_values(values: list) -> pa.DictionaryArray:
        return per_item(pa.array(values, pa.string()), row_item)

    columns = {
        "prompt": per_item(texts, row_item),
        "chosen": per_item(candidates, row_item * 2 + chosen),
        "rejected": per_item(candidates, row_item * 2 + 1 - chosen),
        "rationale": judgments.column("rationale").take(rows).combine_chunks(),
        "strength": strength,
        "margin": pa.array(margin, pa.float64()),
        "aspects": pa.ListArray.from_arrays(np.zeros(len(rows) + 1, dtype=np.int32), pa.array([], ASPECTS.value_type), type=ASPECTS),
        "chosen_model": per_item(models, row_item * 2 + chosen),
        "rejected_model": per_item(models, row_item * 2 + 1 - chosen),
        "chosen_position": _positions(orders, chosen),
        "rejected_position": _positions(orders, 1 - chosen),
        "annotator": judgments.column("annotator").take(rows).combine_chunks(),
        "item_agreement": pa.array(row_agreement, pa.float64()),
        "n_votes": pa.array(n_votes[row_item], pa.int64()),
        "source": per_item(pa.array([items.source], pa.string()), np.zeros(len(rows), dtype=np.int64)),
        "item_id": per_item(items.item_ids(), row_item),
        "split": item_values(splits),
    }
    batch = pa.RecordBatch.from_pydict({name: columns[name] for name in schema.names})
    if len(set(splits)) == 1:
        out.preference[splits[0]] = batch
    else:
        for split in sorted(set(splits)):
            out.preference[split] = batch.filter(pc.equal(pc.cast(batch.column("split"), pa.string()), split))
    return out
