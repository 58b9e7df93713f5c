"""JSON text of Arrow columns, computed column by column in Arrow's C++ kernels (pure: no
Django, no I/O).

`json_texts(array)` gives, for each value, the text `json.dumps(value, ensure_ascii=False)`
gives for its Python value (a test checks them against each other); `jsonl_lines(batch)`
one JSON object per row, keys in schema order, each line ending in "\\n". Python is called
only where Arrow can't give Python's exact text: strings that need escaping (quotes,
backslashes, control characters; usually few) and each distinct float (Python's shortest
repr, "1.0", "1e-05", which Arrow's cast prints differently)."""
import json
from json.encoder import encode_basestring

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def _nulls_as_null(texts: pa.Array, array: pa.Array) -> pa.Array:
    if array.null_count == 0:
        return texts
    return pc.if_else(pc.is_valid(array), texts, "null")


def _offsets(array: pa.Array) -> np.ndarray:
    width = 8 if pa.types.is_large_string(array.type) else 4
    return np.frombuffer(array.buffers()[1], dtype=np.int32 if width == 4 else np.int64, count=len(array) + 1, offset=array.offset * width)


def _escaped(array: pa.Array) -> pa.Array:
    """The values with what encode_basestring escapes (the quote, the backslash, control
    characters) escaped, quotes not added. The bytes are searched with numpy (a pass over
    memory); only values that need it go through Python."""
    data = array.buffers()[2]
    if data is None or not len(array):
        return array
    offsets = _offsets(array)
    raw = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    found = np.flatnonzero((raw < 0x20) | (raw == 0x22) | (raw == 0x5C))
    if not len(found):
        return array
    rows = np.unique(np.searchsorted(offsets, found + offsets[0], side="right") - 1)
    needs = np.zeros(len(array), dtype=bool)
    needs[rows] = True
    escaped = [encode_basestring(s)[1:-1] for s in array.take(pa.array(rows)).to_pylist()]
    return pc.replace_with_mask(array, pa.array(needs), pa.array(escaped, array.type))


def _strings(array: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', _escaped(array), '"', "")


def _struct(array: pa.StructArray) -> pa.Array:
    return _objects([field.name for field in array.type], array.flatten(), end="}")


def _list(array: pa.ListArray) -> pa.Array:
    values = array.flatten()
    if not len(values):  # e.g. the aspects of most rows
        return pa.nulls(len(array), pa.string()).fill_null("[]")
    offsets = pc.subtract(array.offsets, array.offsets[0])  # a slice's offsets start past 0
    values = json_texts(values)
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, values), ", ")
    return pc.binary_join_element_wise("[", joined, "]", "")


def json_texts(array: pa.Array) -> pa.Array:
    """A string array without nulls: each value's JSON text (null as "null")."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        texts = _strings(array)
    elif pa.types.is_integer(kind):
        texts = pc.cast(array, pa.string())
    elif pa.types.is_boolean(kind):
        texts = pc.if_else(array, "true", "false")
    elif pa.types.is_floating(kind) or pa.types.is_dictionary(kind):
        texts, index = _distinct(array)
        return texts.take(pa.array(index))
    elif pa.types.is_struct(kind):
        texts = _struct(array)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        texts = _list(array)
    elif pa.types.is_null(kind):
        return pa.array(["null"] * len(array), pa.string())
    else:
        raise TypeError(f"no JSON text for Arrow type {kind}")
    return _nulls_as_null(texts, array)


def _distinct(column: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(the JSON texts of the column's distinct values, then "null"; each row's index into
    them): numbers, flags and dictionary columns hold few distinct values, so each is
    encoded once. Floats are told apart by their bits (0.0 and -0.0 print differently)."""
    if pa.types.is_dictionary(column.type):
        texts, index = json_texts(column.dictionary), pc.fill_null(column.indices, -1)
    else:
        keys = pc.cast(column, pa.float64()).view(pa.int64()) if pa.types.is_floating(column.type) else column
        distinct = pc.unique(keys.drop_null())
        if pa.types.is_floating(column.type):
            values = np.asarray(distinct.to_numpy(), dtype=np.int64).view(np.float64).tolist()
            texts = pa.array([_ENCODE(v) for v in values], pa.string())
        else:
            texts = json_texts(distinct)
        index = pc.fill_null(pc.index_in(keys, value_set=distinct), -1)
    index = index.to_numpy(zero_copy_only=False).astype(np.int64)
    index[index < 0] = len(texts)
    return pa.concat_arrays([texts.cast(pa.string()), pa.array(["null"], pa.string())]), index


def _pieces(column: pa.Array) -> tuple[pa.Array, np.ndarray | None, bool]:
    """(texts, each row's index into them or None for row i -> text i, whether the texts
    still need their quotes: strings without nulls, quoted by the literals around them)."""
    kind = column.type
    if pa.types.is_dictionary(kind) and column.null_count == 0 and pa.types.is_string(kind.value_type):
        return _escaped(column.dictionary), column.indices.to_numpy(zero_copy_only=False).astype(np.int64), True
    if pa.types.is_dictionary(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        texts, index = _distinct(column)
        return texts, index, False
    if (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and column.null_count == 0:
        return _escaped(column), None, True
    return json_texts(column), None, False


def _objects(names: list[str], columns: list[pa.Array], *, end: str) -> pa.Array:
    """Each row's JSON object {"name": value, …} followed by `end` ("}" closes it, "}\\n" a JSON
    line): one `take` over [the literals between values, then each column's texts] lays out
    all rows in one buffer, which the result's rows share."""
    n, literals, pieces = len(columns[0]) if columns else 0, [], []
    quote = ""
    for i, (name, column) in enumerate(zip(names, columns)):
        texts, index, inline = _pieces(column)
        literals.append(quote + ("{" if i == 0 else ", ") + _ENCODE(name) + ": " + ('"' if inline else ""))
        pieces.append((texts, index))
        quote = '"' if inline else ""
    literals.append(quote + ("" if pieces else "{") + end)
    k, rows = len(pieces), np.arange(n)
    order = np.empty((n, 2 * k + 1), dtype=np.int64)
    order[:, 0::2] = np.arange(k + 1)
    base = k + 1
    for c, (texts, index) in enumerate(pieces):
        order[:, 2 * c + 1] = base + (rows if index is None else index)
        base += len(texts)
    every = pa.concat_arrays([pa.array(literals, pa.string()), *[texts.cast(pa.string()) for texts, _ in pieces]])
    laid_out = every.take(pa.array(order.ravel()))
    # a row's pieces lie next to each other: every (2k+1)-th offset bounds one row's object
    offsets = np.ascontiguousarray(_offsets(laid_out)[:: 2 * k + 1])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), laid_out.buffers()[2])


def jsonl_lines(batch: pa.RecordBatch) -> memoryview:
    """The UTF-8 bytes of the batch's rows as JSON lines: the text of
    json.dumps(dict(zip(names, row)), ensure_ascii=False) + "\\n" for each row (dictionary
    columns as their values): the buffer _objects lays them out in."""
    lines = _objects(batch.schema.names, batch.columns, end="}\n")
    offsets = _offsets(lines)
    return memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]]
