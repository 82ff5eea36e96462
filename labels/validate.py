"""Quality gates for the built corpus: each problem names its file and line."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from labels.corpus import LABELS_DIR, SEED_SPLIT, CorpusError, build_records, read_jsonl
from labels.schema import Schema, load_schema

MIN_WORDS, MAX_WORDS = 6, 300
NEAR_DUPLICATE_JACCARD = 0.8
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Problem:
    where: str  # file:line
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _tokens(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def near_duplicates(texts: list[str], threshold: float = NEAR_DUPLICATE_JACCARD) -> list[tuple[int, int, float]]:
    """Index pairs whose word sets overlap (Jaccard) at least `threshold`; exact repeats score 1.0."""
    sets = [_tokens(t) for t in texts]
    order = sorted(range(len(sets)), key=lambda i: len(sets[i]))
    pairs = []
    for pos, i in enumerate(order):
        a = sets[i]
        for j in order[pos + 1:]:
            b = sets[j]
            # Sorted by size, so once b is too large for the threshold every later one is too.
            if len(a) < threshold * len(b):
                break
            if not a and not b:
                continue
            score = len(a & b) / len(a | b)
            if score >= threshold:
                pairs.append((min(i, j), max(i, j), score))
    return sorted(pairs)


def check_passages(records: list[tuple[int, dict]], path: str, schema: Schema) -> list[Problem]:
    """Schema, text, length, annotation, split and duplicate checks on passage records."""
    problems: list[Problem] = []
    required = ("id", "doc_id", "text", "split", "source_kind", "annotations", "gold")
    doc_split: dict[str, tuple[str, int]] = {}
    ids: dict[str, int] = {}
    texts, lines = [], []
    for lineno, rec in records:
        where = f"{path}:{lineno}"
        missing = [k for k in required if k not in rec]
        if missing:
            problems.append(Problem(where, f"missing field(s) {', '.join(missing)}"))
            continue
        text = rec["text"]
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(where, f"passage {rec['id']} has empty or whitespace-only text"))
            continue
        n_words = len(text.split())
        if not MIN_WORDS <= n_words <= MAX_WORDS:
            problems.append(Problem(where, f"passage {rec['id']} has {n_words} words; allowed {MIN_WORDS}-{MAX_WORDS}"))
        if rec["id"] in ids:
            problems.append(Problem(where, f"passage id {rec['id']} repeats line {ids[rec['id']]}"))
        ids[rec["id"]] = lineno
        previous = doc_split.setdefault(rec["doc_id"], (rec["split"], lineno))
        if previous[0] != rec["split"]:
            problems.append(Problem(where, f"document {rec['doc_id']} is in split {rec['split']!r} here but {previous[0]!r} at line {previous[1]}"))
        if rec["split"] == SEED_SPLIT and rec["source_kind"] != "seed":
            problems.append(Problem(where, f"only seed articles belong to split {SEED_SPLIT!r}"))
        if not rec["annotations"]:
            problems.append(Problem(where, f"passage {rec['id']} ({rec['source_kind']}) has no annotation"))
        elif rec["gold"] is None:
            who = ", ".join(f"{a['annotator']}={a[schema.axes[0].name]}/{a[schema.axes[1].name]}" for a in rec["annotations"])
            problems.append(Problem(where, f"passage {rec['id']}: annotators disagree ({who}); add an 'adjudicator' annotation"))
        else:
            for axis in schema.axes:
                if rec["gold"].get(axis.name) not in axis.labels:
                    problems.append(Problem(where, f"gold {axis.name} is {rec['gold'].get(axis.name)!r}; valid labels: {', '.join(axis.labels)}"))
        texts.append(text)
        lines.append((lineno, rec))
    for i, j, score in near_duplicates(texts):
        (li, ri), (lj, rj) = lines[i], lines[j]
        kind = "exact duplicate" if score == 1.0 else f"near duplicate (word overlap {score:.2f})"
        problems.append(Problem(f"{path}:{lj}", f"passage {rj['id']} ({rj['split']}) is an {kind} of line {li}, {ri['id']} ({ri['split']})"))
    return problems


def check_documents(records: list[tuple[int, dict]], path: str, schema: Schema) -> list[Problem]:
    """Every document has gold labels on both axes."""
    problems = []
    for lineno, rec in records:
        if not rec.get("annotations"):
            problems.append(Problem(f"{path}:{lineno}", f"document {rec.get('id')} has no document-level annotation"))
        elif rec.get("gold") is None:
            problems.append(Problem(f"{path}:{lineno}", f"document {rec.get('id')}: annotators disagree; add an 'adjudicator' annotation"))
    return problems


def validate(root: Path = LABELS_DIR) -> list[Problem]:
    """All problems with the shipped corpus, including a built corpus that is out of date."""
    schema = load_schema()
    problems: list[Problem] = []
    try:
        fresh_passages, fresh_docs = build_records(root, schema)
    except CorpusError as e:
        return [Problem("labels", str(e))]
    corpus = root / "corpus"
    try:
        passages = read_jsonl(corpus / "passages.jsonl")
        documents = read_jsonl(corpus / "documents.jsonl")
    except CorpusError as e:
        return [Problem("labels/corpus", str(e))]
    p_rel, d_rel = f"{root.name}/corpus/passages.jsonl", f"{root.name}/corpus/documents.jsonl"
    if [r for _, r in passages] != fresh_passages or [r for _, r in documents] != fresh_docs:
        problems.append(Problem("labels/corpus", "built corpus is out of date with sources/ and annotations/; run `framing corpus build`"))
    problems += check_passages(passages, p_rel, schema)
    problems += check_documents(documents, d_rel, schema)
    by_doc = defaultdict(int)
    for _, rec in passages:
        by_doc[rec.get("doc_id")] += 1
    for lineno, rec in documents:
        if by_doc.get(rec.get("id"), 0) == 0:
            problems.append(Problem(f"{d_rel}:{lineno}", f"document {rec.get('id')} has no passages"))
    return problems
