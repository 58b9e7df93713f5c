"""The items of a block of judgments as Arrow columns (pure: no Django, no I/O).

columnar.block_rows reads them as columns; rows.py, which goes item by item, gets ItemRecords
made from them (`records`). Why columns: one ItemRecord per item, with its tuples and dicts,
was most of the build's Python memory (~40 MB for blocks of 4 MB of judgments) and ~1 s of
the reader thread's GIL time per million judgments."""
import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from annotate.exports.rows import ItemRecord, prompt_text

# `messages`: the JSON text of the item's chat messages, null for a plain prompt.
ITEM_TYPES = {"id": pa.int64(), "position": pa.int64(), "prompt": pa.string(), "messages": pa.string()}
CANDIDATE_TYPES = {"item": pa.int64(), "text": pa.string(), "model": pa.string()}


def _messages(prompt: str, messages: str | None) -> tuple[dict, ...]:
    parsed = json.loads(messages) if messages is not None else None
    return tuple(parsed) if parsed else ({"role": "user", "content": prompt},)


@dataclass
class BlockItems:
    """`items`: ITEM_TYPES columns, one row per item, sorted by id; `candidates`:
    CANDIDATE_TYPES columns, sorted by item id, then candidate index. Every item is of source
    `source` (its ids are "source/position") with strengths up to `max_strength`."""

    source: str
    max_strength: int
    items: pa.Table
    candidates: pa.Table

    def ids(self) -> np.ndarray:
        return self.items.column("id").to_numpy()

    def candidate_counts(self) -> np.ndarray:
        """Candidates per item, in item order."""
        where = np.searchsorted(self.ids(), self.candidates.column("item").to_numpy())
        return np.bincount(where, minlength=self.items.num_rows)

    def item_ids(self) -> pa.Array:
        positions = pc.cast(self.items.column("position"), pa.string())
        return pc.binary_join_element_wise(self.source, positions, "/").combine_chunks()

    def prompt_texts(self) -> pa.Array:
        """rows.prompt_text of each item: the prompt as it is where there are no messages."""
        prompts, messages = self.items.column("prompt"), self.items.column("messages")
        if messages.null_count == len(messages):
            return prompts.combine_chunks()
        return pa.array(
            [prompt_text(_messages(p, m)) for p, m in zip(prompts.to_pylist(), messages.to_pylist())], pa.string()
        )

    def records(self) -> dict[int, ItemRecord]:
        """ItemRecords by item id."""
        texts: dict[int, list[str]] = {}
        models: dict[int, list[str]] = {}
        for item, text, model in zip(*(self.candidates.column(n).to_pylist() for n in CANDIDATE_TYPES)):
            texts.setdefault(item, []).append(text)
            models.setdefault(item, []).append(model)
        return {
            item: ItemRecord(
                source=self.source,
                item_id=f"{self.source}/{position}",
                messages=_messages(prompt, messages),
                candidates=tuple(texts.get(item, ())),
                models=tuple(models.get(item, ())),
                max_strength=self.max_strength,
            )
            for item, position, prompt, messages in zip(*(self.items.column(n).to_pylist() for n in ITEM_TYPES))
        }
