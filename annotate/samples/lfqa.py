"""Long-form QA expert judgments (PRD's copy of lfqa_eval, MIT; see CREDITS.md) in the import
JSONL shape: one item per (question, answer_a, answer_b), one judgment per expert line.

The source does not say which expert wrote which line, so annotators are named by their place
within a pair ("expert-1", "expert-2", …): good for per-item agreement, meaningless for
per-annotator figures. `n_gold` pairs on which three experts agree become gold items.

The source keeps Reddit's line breaks as HTML `<br />` tags, which the work page would show
literally (it renders Markdown with HTML escaped): they become newlines here; nothing else in
the texts changes. The importer itself never rewrites a user's file.

Regenerate the demo sample: python -m annotate.samples.lfqa tests/data/lfqa-experts/… OUT.jsonl
"""
import json
import re
import sys
from collections.abc import Iterable

CHOICE = {-1: 0, 1: 1}  # overall_preference: -1 = answer A better, 1 = answer B better
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def plain_text(text: str) -> str:
    """`text` with HTML line breaks (`<br />`, `<br>`) as newlines."""
    return _BR.sub("\n", text)


def lfqa_items(lines: Iterable[str], *, n_gold: int = 0) -> list[dict]:
    items: dict[tuple, dict] = {}
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        key = (row["question"], row["answer_a"], row["answer_b"])
        item = items.get(key)
        if item is None:
            item = items[key] = {
                "id": f"lfqa-{len(items) + 1}",
                "prompt": plain_text(row["question"]),
                "candidates": [
                    {"text": plain_text(row["answer_a"]), "meta": {"author": row["answer_a_type"]}},
                    {"text": plain_text(row["answer_b"]), "meta": {"author": row["answer_b_type"]}},
                ],
                "meta": {"source": "lfqa-experts"},
                "judgments": [],
            }
        item["judgments"].append({
            "annotator": f"expert-{len(item['judgments']) + 1}",
            "choice": CHOICE[row["overall_preference"]],
            "rationale": (row.get("justification") or "").strip(),
        })  # fmt: skip
    out = list(items.values())
    for item in out:
        choices = {j["choice"] for j in item["judgments"]}
        if n_gold and len(item["judgments"]) == 3 and len(choices) == 1:
            item["gold"] = choices.pop()
            n_gold -= 1
    return out


if __name__ == "__main__":
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f, open(target, "w", encoding="utf-8") as out:
        for item in lfqa_items(f, n_gold=5):
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
