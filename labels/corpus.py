"""Build the annotated corpus: source articles + annotation files -> passage and document records.

Layout (all under `labels/`):
  sources/{seed,authored,coverage}/<name>.txt   the article: seed as published, authored as written,
                                                coverage paraphrased paragraph by paragraph from a published page
  sources/{seed,authored,coverage}/<name>.json  its metadata: doc_id, title, outlet_style, topic;
                                                coverage also source_url, outlet, date, partial
  annotations/*.jsonl                  one line per annotation: passage_id or doc_id, annotator, labels
  corpus/passages.jsonl, corpus/documents.jsonl   the built corpus (`framing corpus build`)
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from labels.schema import Schema, load_schema
from labels.segment import segment

LABELS_DIR = Path(__file__).parent
TEACHER_DIR = LABELS_DIR / "teacher"  # a large teacher's stored logits (training/distill.py), read by `framing train`
SOURCE_KINDS = ("seed", "authored", "coverage")
ADJUDICATOR = "adjudicator"
# Percent of authored documents, by a hash of the document id. Authored dev/test are kept for reference;
# the model is chosen and measured on the coverage splits (real text), and both kinds' train share "train".
SPLIT_FRACTIONS = (("train", 70), ("dev", 15), ("test", 15))
SEED_SPLIT = "seed"
COVERAGE_SPLITS = ("coverage_dev", "coverage_test")
# A coverage document's split is frozen in its metadata (`framing corpus splits`, labels/splits.py).
COVERAGE_SPLIT_VALUES = ("train", *COVERAGE_SPLITS)
UNASSIGNED = "unassigned"


class CorpusError(ValueError):
    """A corpus file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Document:
    doc_id: str
    source_kind: str
    path: str  # relative to the labels folder
    title: str
    outlet_style: str
    topic: str
    text: str
    # Provenance of a coverage document (empty for seed and authored ones).
    source_url: str = ""
    outlet: str = ""
    date: str | None = None
    partial: bool = False
    split: str | None = None  # coverage only: frozen in the metadata once assigned


@dataclass
class Annotation:
    annotator: str
    labels: dict[str, str]
    hard_cases: list[str] = field(default_factory=list)
    note: str = ""
    where: str = ""  # file:line it came from, for error messages


def passage_id(doc_id: str, text: str) -> str:
    """Stable id: the document id plus a hash of the whitespace-folded passage text."""
    digest = hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()[:10]
    return f"{doc_id}-{digest}"


def split_for(doc_id: str, source_kind: str, frozen: str | None = None) -> str:
    """A document's split: seed its own; coverage as frozen in its metadata; authored by a hash of its id."""
    if source_kind == "seed":
        return SEED_SPLIT
    if source_kind == "coverage":
        return frozen or UNASSIGNED
    bucket = int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest(), 16) % 100
    edge = 0
    for name, percent in SPLIT_FRACTIONS:
        edge += percent
        if bucket < edge:
            return name
    raise AssertionError("split fractions must add up to 100")


def _read_metadata(meta_path: Path, root: Path, kind: str, schema: Schema) -> dict:
    """The metadata next to an article, checked field by field; raise CorpusError naming the file."""
    rel = meta_path.relative_to(root).as_posix()
    if not meta_path.exists():
        txt_rel = meta_path.with_suffix(".txt").relative_to(root).as_posix()
        raise CorpusError(f"{txt_rel}: no metadata file {meta_path.name}; add one with doc_id, title, outlet_style, topic")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CorpusError(f"{rel}:{e.lineno}: invalid JSON: {e.msg}") from None
    for key in ("doc_id", "title", "outlet_style", "topic"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise CorpusError(f"{rel}: field {key!r} is missing or empty")
    if meta["outlet_style"] not in schema.outlet_styles:
        raise CorpusError(f"{rel}: outlet_style {meta['outlet_style']!r} is not one of {', '.join(schema.outlet_styles)}")
    if meta["topic"] not in schema.topics:
        raise CorpusError(f"{rel}: topic {meta['topic']!r} is not one of {', '.join(schema.topics)}")
    if meta.get("source_kind", kind) != kind:
        raise CorpusError(f"{rel}: source_kind {meta['source_kind']!r} but the file is under sources/{kind}/; move it or fix the field")
    if not isinstance(meta.get("partial", False), bool):
        raise CorpusError(f"{rel}: field 'partial' must be true or false")
    if meta.get("split") is not None and (kind != "coverage" or meta["split"] not in COVERAGE_SPLIT_VALUES):
        raise CorpusError(f"{rel}: split {meta['split']!r} is not allowed here; coverage documents take one of "
                          f"{', '.join(COVERAGE_SPLIT_VALUES)}, others none (their split comes from a hash of doc_id)")
    return meta


def load_documents(root: Path = LABELS_DIR, schema: Schema | None = None) -> list[Document]:
    """Read every source article with its metadata; raise CorpusError naming the bad file."""
    schema = schema or load_schema()
    docs: list[Document] = []
    seen: dict[str, str] = {}
    for kind in SOURCE_KINDS:
        for txt in sorted((root / "sources" / kind).glob("*.txt")):
            rel = txt.relative_to(root).as_posix()
            meta = _read_metadata(txt.with_suffix(".json"), root, kind, schema)
            if meta["doc_id"] in seen:
                raise CorpusError(f"{rel}: doc_id {meta['doc_id']!r} is already used by {seen[meta['doc_id']]}")
            seen[meta["doc_id"]] = rel
            docs.append(Document(
                meta["doc_id"], kind, rel, meta["title"], meta["outlet_style"], meta["topic"],
                txt.read_text(encoding="utf-8"), source_url=str(meta.get("source_url") or "").strip(),
                outlet=str(meta.get("outlet") or ""), date=meta.get("date"), partial=meta.get("partial", False),
                split=meta.get("split"),
            ))
    return docs


def parse_annotation(raw: object, where: str, schema: Schema) -> tuple[str, str, Annotation]:
    """Check one annotation line; return (target kind, target id, annotation)."""
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: an annotation must be a JSON object")
    kinds = [k for k in ("passage_id", "doc_id") if k in raw]
    if len(kinds) != 1:
        raise CorpusError(f"{where}: give exactly one of 'passage_id' or 'doc_id'")
    target = raw[kinds[0]]
    annotator = raw.get("annotator")
    if not isinstance(annotator, str) or not annotator.strip():
        raise CorpusError(f"{where}: 'annotator' is missing or empty")
    labels = {}
    for axis in schema.axes:
        value = raw.get(axis.name)
        if value not in axis.labels:
            raise CorpusError(f"{where}: {axis.name} is {value!r}; valid labels: {', '.join(axis.labels)}")
        labels[axis.name] = value
    hard = raw.get("hard_cases", [])
    if not isinstance(hard, list) or any(t not in schema.hard_case_tags for t in hard):
        raise CorpusError(f"{where}: hard_cases must be a list of: {', '.join(schema.hard_case_tags)}")
    known = {"passage_id", "doc_id", "annotator", "hard_cases", "note", *schema.axis_names}
    extra = sorted(set(raw) - known)
    if extra:
        raise CorpusError(f"{where}: unknown field(s) {', '.join(extra)}; allowed: {', '.join(sorted(known))}")
    return kinds[0], target, Annotation(annotator, labels, sorted(set(hard)), str(raw.get("note", "")), where)


def load_annotations(root: Path = LABELS_DIR, schema: Schema | None = None) -> dict[tuple[str, str], list[Annotation]]:
    """All annotations keyed by (target kind, id); raise CorpusError naming file and line."""
    schema = schema or load_schema()
    out: dict[tuple[str, str], list[Annotation]] = defaultdict(list)
    for path in sorted((root / "annotations").glob("*.jsonl")):
        rel = path.relative_to(root).as_posix()
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{rel}:{lineno}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as e:
                raise CorpusError(f"{where}: invalid JSON: {e.msg}") from None
            kind, target, ann = parse_annotation(raw, where, schema)
            for other in out[(kind, target)]:
                if other.annotator == ann.annotator:
                    raise CorpusError(f"{where}: {ann.annotator} already annotated {target} at {other.where}")
            out[(kind, target)].append(ann)
    return out


def gold_of(annotations: list[Annotation]) -> tuple[dict[str, str] | None, list[str]]:
    """Gold labels and hard-case tags: the adjudicator's if present, else the annotators' when they agree."""
    if not annotations:
        return None, []
    for ann in annotations:
        if ann.annotator == ADJUDICATOR:
            return dict(ann.labels), ann.hard_cases
    first = annotations[0].labels
    if all(a.labels == first for a in annotations):
        tags = sorted({t for a in annotations for t in a.hard_cases})
        return dict(first), tags
    return None, []


def _annotation_dicts(annotations: list[Annotation]) -> list[dict]:
    return [
        {"annotator": a.annotator, **a.labels, "hard_cases": a.hard_cases, "note": a.note}
        for a in annotations
    ]


def build_records(root: Path = LABELS_DIR, schema: Schema | None = None) -> tuple[list[dict], list[dict]]:
    """Segment every document and attach its annotations; returns (passages, documents)."""
    schema = schema or load_schema()
    docs = load_documents(root, schema)
    annotations = load_annotations(root, schema)
    passages, documents = [], []
    for doc in docs:
        split = split_for(doc.doc_id, doc.source_kind, doc.split)
        doc_tags: set[str] = set()
        seg = segment(doc.text)
        for index, span in enumerate(seg.passages):
            pid = passage_id(doc.doc_id, span.text)
            anns = annotations.get(("passage_id", pid), [])
            gold, tags = gold_of(anns)
            doc_tags.update(tags)
            passages.append({
                "id": pid, "doc_id": doc.doc_id, "paragraph_index": index,
                "start": span.start, "end": span.end, "text": span.text,
                "source_kind": doc.source_kind, "source_path": doc.path, "outlet": doc.outlet,
                "outlet_style": doc.outlet_style, "topic": doc.topic, "split": split,
                "annotations": _annotation_dicts(anns), "gold": gold, "hard_cases": tags,
            })
        anns = annotations.get(("doc_id", doc.doc_id), [])
        gold, _ = gold_of(anns)
        documents.append({
            "id": doc.doc_id, "title": doc.title, "source_kind": doc.source_kind,
            "source_path": doc.path, "outlet_style": doc.outlet_style, "topic": doc.topic,
            "outlet": doc.outlet, "source_url": doc.source_url, "date": doc.date, "partial": doc.partial,
            "split": split, "n_passages": len(seg.passages),
            "annotations": _annotation_dicts(anns), "gold": gold, "hard_cases": sorted(doc_tags),
        })
    return passages, documents


def write_jsonl(path: Path, records: list[dict]) -> None:
    """Write records atomically (temp file then rename) so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
    tmp.replace(path)


def build(root: Path = LABELS_DIR) -> tuple[list[dict], list[dict]]:
    """Rebuild `corpus/passages.jsonl` and `corpus/documents.jsonl` from sources and annotations."""
    passages, documents = build_records(root)
    write_jsonl(root / "corpus" / "passages.jsonl", passages)
    write_jsonl(root / "corpus" / "documents.jsonl", documents)
    return passages, documents


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """(line number, record) pairs; raise CorpusError naming the file and line of bad JSON."""
    if not path.exists():
        raise CorpusError(f"{path}: not found; run `framing corpus build` first")
    out = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append((lineno, json.loads(line)))
            except json.JSONDecodeError as e:
                raise CorpusError(f"{path}:{lineno}: invalid JSON: {e.msg}") from None
    return out
