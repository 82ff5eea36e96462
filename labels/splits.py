"""Coverage splits: assigned once per article, stratified by label, then frozen in the article's metadata.

Authored documents split by a hash of their id (labels/corpus.py). Coverage documents do not: plain news
is mostly `neutral` / `none`, so a random draw would leave the coverage test split with a handful of
`downplaying` passages. Instead, a document with no `split` in its metadata is placed here:

1. Candidates are taken in a fixed order (a hash of the doc id), grouped by article (a document is never
   cut across splits).
2. coverage_test is filled first: a candidate joins while it does not lower the test split's label
   balance (the total shortfall of every label below `floor` of the split, per axis), until the split
   holds `test_share` of the candidates' passages; if balanced candidates run out first, the next ones
   in order fill it.
3. coverage_dev the same way from what is left; everything else is train.

The labels used are each passage's *first reading* (gold where it exists, else the first annotation in
file order), so the assignment never depends on a model. Once written, a split never moves: adding
documents or adjudicating labels later leaves every earlier assignment as it is.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from labels.corpus import ADJUDICATOR, LABELS_DIR, Annotation, Document, load_annotations, load_documents, passage_id
from labels.schema import Schema, load_schema
from labels.segment import segment


@dataclass(frozen=True)
class SplitTargets:
    """How large each coverage evaluation split should be, and the share every label should reach in it."""

    test_share: float = 0.2  # of the passages being assigned: ~400 of ~2,000 coverage passages
    dev_share: float = 0.09
    floor: float = 0.14  # every label should reach 12% of coverage test; 2 points spare for adjudication

    def __post_init__(self):
        if not (0 < self.test_share < 1 and 0 < self.dev_share < 1 and self.test_share + self.dev_share < 1):
            raise ValueError(f"test_share and dev_share must be in (0, 1) and leave some for train, got {self.test_share}, {self.dev_share}")
        if not 0 <= self.floor < 1 / 3:
            raise ValueError(f"floor must be in [0, 1/3) (three labels per axis), got {self.floor}")


@dataclass
class Candidate:
    doc_id: str
    n: int  # labelled passages
    counts: Counter = field(default_factory=Counter)  # (axis, label) -> passages


def shortfall(counts: Counter, n: int, labels: list[tuple[str, str]], floor: float) -> float:
    """How far the split is below `floor` for its labels, summed (0 when every label reaches it)."""
    if n == 0:
        return float("inf")
    return sum(max(0.0, floor - counts[key] / n) for key in labels)


def _fill(pool: list[Candidate], size: int, labels: list[tuple[str, str]], floor: float) -> list[Candidate]:
    """Take candidates that keep the split balanced until it holds `size` passages; then top up in order."""
    chosen: list[Candidate] = []
    counts, n = Counter(), 0
    for cand in pool:
        if n >= size:
            break
        if shortfall(counts + cand.counts, n + cand.n, labels, floor) <= shortfall(counts, n, labels, floor):
            chosen.append(cand)
            counts, n = counts + cand.counts, n + cand.n
    for cand in pool:
        if n >= size:
            break
        if cand not in chosen:
            chosen.append(cand)
            n += cand.n
    return chosen


def assign(candidates: list[Candidate], targets: SplitTargets, schema: Schema) -> dict[str, str]:
    """doc_id -> split for every candidate: coverage_test, then coverage_dev, then train."""
    labels = [(axis.name, label) for axis in schema.axes for label in axis.labels]
    pool = sorted(candidates, key=lambda c: hashlib.sha1(c.doc_id.encode("utf-8")).hexdigest())
    out: dict[str, str] = {}
    total = sum(c.n for c in candidates)
    for split, share in (("coverage_test", targets.test_share), ("coverage_dev", targets.dev_share)):
        size = round(share * total)
        for cand in _fill(pool, size, labels, targets.floor):
            out[cand.doc_id] = split
        pool = [c for c in pool if c.doc_id not in out]
    out.update({c.doc_id: "train" for c in pool})
    return out


def first_reading(annotations: list[Annotation]) -> dict[str, str] | None:
    """The labels a split is drawn on: the adjudicator's if any, else the first annotation in file order."""
    for ann in annotations:
        if ann.annotator == ADJUDICATOR:
            return ann.labels
    return annotations[0].labels if annotations else None


def candidates_of(docs: list[Document], annotations: dict, schema: Schema) -> list[Candidate]:
    """Per coverage document without a split: its labelled passages counted per (axis, label)."""
    out = []
    for doc in docs:
        if doc.source_kind != "coverage" or doc.split:
            continue
        cand = Candidate(doc.doc_id, 0)
        for span in segment(doc.text).passages:
            labels = first_reading(annotations.get(("passage_id", passage_id(doc.doc_id, span.text)), []))
            if labels:
                cand.n += 1
                cand.counts.update((axis.name, labels[axis.name]) for axis in schema.axes)
        out.append(cand)
    return out


def assign_splits(root: Path = LABELS_DIR, targets: SplitTargets | None = None) -> dict[str, str]:
    """Give every coverage document without a split one, and write it into its metadata file."""
    schema = load_schema()
    docs = load_documents(root, schema)
    cands = candidates_of(docs, load_annotations(root, schema), schema)
    unlabelled = [c.doc_id for c in cands if c.n == 0]
    if unlabelled:
        raise ValueError(f"coverage documents with no labelled passage cannot be split yet: {', '.join(unlabelled)}; "
                         "add their first-pass annotations, then run `framing corpus splits` again")
    assigned = assign(cands, targets or SplitTargets(), schema)
    for doc in docs:
        if doc.doc_id in assigned:
            meta_path = root / (doc.path[: -len(".txt")] + ".json")
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            meta["split"] = assigned[doc.doc_id]
            meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return assigned
