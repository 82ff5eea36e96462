"""Load the built corpus as a Hugging Face `DatasetDict` with `ClassLabel` features from the schema."""

from __future__ import annotations

from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

from labels.corpus import LABELS_DIR, read_jsonl
from labels.schema import load_schema

_STRING_FIELDS = ("id", "doc_id", "text", "source_kind", "outlet_style", "topic", "split")


def features() -> Features:
    """Column types: metadata strings, one ClassLabel per axis, hard-case tags."""
    schema = load_schema()
    cols = {name: Value("string") for name in _STRING_FIELDS}
    cols["paragraph_index"] = Value("int32")
    cols.update({axis.name: ClassLabel(names=list(axis.labels)) for axis in schema.axes})
    cols["hard_cases"] = Sequence(Value("string"))
    return Features(cols)


def load_corpus(root: Path = LABELS_DIR) -> DatasetDict:
    """One split per corpus split (train, dev, test, seed); only passages with a gold label."""
    schema = load_schema()
    rows: dict[str, list[dict]] = {}
    for _, rec in read_jsonl(Path(root) / "corpus" / "passages.jsonl"):
        if not rec["gold"]:
            continue
        row = {k: rec[k] for k in _STRING_FIELDS}
        row["paragraph_index"] = rec["paragraph_index"]
        row.update({axis.name: rec["gold"][axis.name] for axis in schema.axes})
        row["hard_cases"] = rec["hard_cases"]
        rows.setdefault(rec["split"], []).append(row)
    feats = features()
    return DatasetDict({split: Dataset.from_list(r, features=feats) for split, r in sorted(rows.items())})
