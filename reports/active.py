"""What to annotate next: the passages the model is least sure of, spread across documents."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np

from labels.corpus import read_jsonl


class UnlabelledFileError(ValueError):
    """An unlabelled-passages file that cannot be read; the message names the file and line."""


def uncertainty(probs: dict[str, np.ndarray], method: str = "margin") -> np.ndarray:
    """Per passage, the uncertainty of its least certain axis, in [0, 1] (1: a coin toss).

    margin: 1 - (top probability - runner-up); entropy: entropy divided by its maximum, log(labels).
    """
    per_axis = []
    for p in probs.values():
        if method == "margin":
            top2 = np.sort(p, axis=1)[:, -2:]
            per_axis.append(1 - (top2[:, 1] - top2[:, 0]))
        elif method == "entropy":
            q = np.clip(p, 1e-12, 1.0)
            per_axis.append(-(q * np.log(q)).sum(axis=1) / np.log(p.shape[1]))
        else:
            raise ValueError(f"unknown uncertainty method {method!r}; use margin or entropy")
    return np.max(per_axis, axis=0)


def spread_queue(scores: np.ndarray, doc_ids: list[str], size: int, per_document: int) -> list[int]:
    """Indices of the most uncertain items, at most `per_document` per document until every document is used.

    Only once every document has given its share does a document give more (so a short file still fills the queue).
    """
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    chosen: list[int] = []
    seen: set[int] = set()
    taken: Counter = Counter()
    cap = per_document
    while len(chosen) < min(size, len(order)):
        for i in order:
            if len(chosen) >= size:
                break
            if i not in seen and taken[doc_ids[i]] < cap:
                chosen.append(i)
                seen.add(i)
                taken[doc_ids[i]] += 1
        cap += per_document
    return sorted(chosen, key=lambda i: -scores[i])


def load_unlabelled(path: Path, text_field: str = "text", id_field: str = "id", doc_field: str = "doc_id") -> list[dict]:
    """Passages from a JSONL or CSV file: text, plus id and doc_id when present (else line numbers)."""
    path = Path(path)
    if not path.exists():
        raise UnlabelledFileError(f"{path}: not found; give a JSONL or CSV file with a {text_field!r} column")
    if path.suffix == ".jsonl":
        raw = read_jsonl(path)  # CorpusError names the file and line of bad JSON
    elif path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            raw = [(lineno, row) for lineno, row in enumerate(csv.DictReader(fh), 2)]
    else:
        raise UnlabelledFileError(f"{path}: unknown format {path.suffix!r}; use .jsonl or .csv")
    out = []
    for lineno, rec in raw:
        text = rec.get(text_field) if isinstance(rec, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise UnlabelledFileError(f"{path}:{lineno}: field {text_field!r} is missing or empty")
        pid = str(rec.get(id_field) or f"{path.stem}-{lineno}")
        out.append({"id": pid, "doc_id": str(rec.get(doc_field) or pid), "text": text})
    if not out:
        raise UnlabelledFileError(f"{path}: no passages in the file")
    return out


def annotation_queue(rows: list[dict], probs: dict[str, np.ndarray], axes: dict[str, list[str]], *, size: int,
                     per_document: int, method: str = "margin", source: str = "") -> list[dict]:
    """The next passages to annotate, least sure first, with the model's current labels as suggestions."""
    scores = uncertainty(probs, method)
    picked = spread_queue(scores, [r["doc_id"] for r in rows], size, per_document)
    out = []
    for rank, i in enumerate(picked, 1):
        item = {"rank": rank, "passage_id": rows[i]["id"], "doc_id": rows[i]["doc_id"], "text": rows[i]["text"],
                "uncertainty": round(float(scores[i]), 4), "scored_by": source}
        for a, labels in axes.items():
            j = int(probs[a][i].argmax())
            item[a] = {"suggested": labels[j], "prob": round(float(probs[a][i, j]), 4)}
        out.append(item)
    return out
