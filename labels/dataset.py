"""Load the built corpus as a Hugging Face `DatasetDict` with `ClassLabel` features from the schema, and as `CorpusRow`s."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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


@dataclass(frozen=True)
class CorpusRow:
    """One gold-labelled passage: its text and metadata, and per axis its label both as a name and as an id.

    The id is the label's position in the schema's list for that axis (the ClassLabel value), so code
    that needs numbers and code that needs names read the same row and nothing converts between them.
    """

    id: str
    doc_id: str
    text: str
    split: str
    labels: dict[str, str]  # axis -> label name
    label_ids: dict[str, int]  # axis -> position in the schema's label list
    source_kind: str = ""
    outlet_style: str = ""
    topic: str = ""
    paragraph_index: int = 0
    hard_cases: tuple[str, ...] = ()

    @classmethod
    def from_names(cls, *, labels: dict[str, str], **fields) -> "CorpusRow":
        """A row from label names (tests, synthetic rows); the ids come from the schema."""
        axes = {a.name: list(a.labels) for a in load_schema().axes}
        return cls(labels=dict(labels), label_ids={a: axes[a].index(name) for a, name in labels.items()}, **fields)

    def with_label(self, axis: str, name: str) -> "CorpusRow":
        """The same passage with another label on one axis."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("labels", "label_ids")}
        return CorpusRow.from_names(labels={**self.labels, axis: name}, **fields)


def corpus_rows(corpus, splits: tuple[str, ...], exclude_docs: tuple[str, ...] = ()) -> list[CorpusRow]:
    """Rows of the given splits, minus excluded documents, in split then corpus order."""
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
            rows.append(CorpusRow(
                id=row["id"], doc_id=row["doc_id"], text=row["text"], split=row["split"],
                labels={a: names[a][row[a]] for a in names}, label_ids={a: row[a] for a in names},
                source_kind=row["source_kind"], outlet_style=row["outlet_style"], topic=row["topic"],
                paragraph_index=row["paragraph_index"], hard_cases=tuple(row["hard_cases"])))
    return rows


def gold_ids(rows: list[CorpusRow], axes) -> dict[str, np.ndarray]:
    """Per axis (names in `axes`), the rows' gold label ids as one integer array."""
    return {a: np.array([r.label_ids[a] for r in rows], dtype=np.int64) for a in axes}


def corpus_fingerprint(root: Path = LABELS_DIR) -> str:
    """A hash of the built corpus files, recorded so a model names the data it learned from."""
    h = hashlib.sha256()
    for name in ("passages.jsonl", "documents.jsonl"):
        path = Path(root) / "corpus" / name
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def documents_of(split: str, root: Path = LABELS_DIR) -> list[dict]:
    """Documents of a split with gold labels, with their full source text."""
    docs = []
    for _, rec in read_jsonl(Path(root) / "corpus" / "documents.jsonl"):
        if rec["split"] == split and rec["gold"]:
            docs.append({**rec, "text": (Path(root) / rec["source_path"]).read_text(encoding="utf-8")})
    return docs
