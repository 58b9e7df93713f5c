"""The columns of every exported file, as explicit Arrow schemas (one per unit x kind x form).

JSONL files use the same names in the same order; `schema_json` is what the manifest shows."""
import pyarrow as pa

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
MESSAGES = pa.list_(MESSAGE)
ASPECTS = pa.list_(pa.struct([("name", pa.string()), ("chosen", pa.float64()), ("rejected", pa.float64())]))
KINDS = ("preference", "kto")


def _text(form: str):
    return MESSAGES if form == "conversational" else pa.string()


def schema_for(*, kind: str, unit: str, form: str) -> pa.Schema:
    text = _text(form)
    people = pa.list_(pa.string()) if unit == "item" else pa.string()
    tail = [("source", pa.string()), ("item_id", pa.string()), ("split", pa.string())]
    if kind == "kto":
        return pa.schema([("prompt", text), ("completion", text), ("label", pa.bool_()), ("model", pa.string()), ("annotator", people), *tail])
    if unit == "item":
        return pa.schema([
            ("prompt", text), ("chosen", text), ("rejected", text), ("rationales", pa.list_(pa.string())),
            ("strength", pa.float64()), ("margin", pa.float64()), ("aspects", ASPECTS),
            ("chosen_model", pa.string()), ("rejected_model", pa.string()), ("annotator", people),
            ("item_agreement", pa.float64()), ("n_votes", pa.int64()), ("n_agree", pa.int64()), *tail,
        ])  # fmt: skip
    return pa.schema([
        ("prompt", text), ("chosen", text), ("rejected", text), ("rationale", pa.string()),
        ("strength", pa.int64()), ("margin", pa.float64()), ("aspects", ASPECTS),
        ("chosen_model", pa.string()), ("rejected_model", pa.string()),
        ("chosen_position", pa.int64()), ("rejected_position", pa.int64()), ("annotator", people),
        ("item_agreement", pa.float64()), ("n_votes", pa.int64()), *tail,
    ])  # fmt: skip


def schema_json(schema: pa.Schema) -> list[dict]:
    """[{name, type}] with Arrow's type names, e.g. list<item: string>."""
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def record_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """Row tuples in schema order as one record batch (pa.array per column, in C); no rows: an
    empty batch."""
    columns = list(zip(*rows)) or [()] * len(schema)
    arrays = [pa.array(values, type=field.type) for field, values in zip(schema, columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
