"""Load the built corpus as a Hugging Face `DatasetDict` with `ClassLabel` features from the schema."""

from __future__ import annotations

import hashlib
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


def corpus_rows(corpus, splits: tuple[str, ...], exclude_docs: tuple[str, ...] = ()) -> list[dict]:
    """Rows of the given splits (label columns as label names), minus excluded documents."""
    schema = load_schema()
    rows = []
    for split in splits:
        if split not in corpus:
            continue
        ds = corpus[split]
        names = {a.name: ds.features[a.name].names for a in schema.axes}
        for row in ds:
            if row["doc_id"] in exclude_docs:
                continue
            rows.append({**row, **{a: names[a][row[a]] for a in names}})
    return rows


def corpus_fingerprint(root: Path = LABELS_DIR) -> str:
    """A hash of the built corpus files, recorded so a model names the data it learned from."""
    h = hashlib.sha256()
    for name in ("passages.jsonl", "documents.jsonl"):
        path = Path(root) / "corpus" / name
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
