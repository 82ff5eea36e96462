"""Quality gates for the built corpus: each problem names its file and line."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from labels.corpus import (
    COVERAGE_SPLITS, LABELS_DIR, SEED_SPLIT, CorpusError, Document, build_records, load_annotations, load_documents,
    read_jsonl,
)
from labels.schema import Schema, load_schema

MIN_WORDS, MAX_WORDS = 6, 300
NEAR_DUPLICATE_JACCARD = 0.8
SHARED_RUN_WORDS = 12  # two documents sharing this many words in a row: one was copied from the other
_WORD = re.compile(r"\w+")
# Official names longer than a shared run that any document may spell out in full.
OFFICIAL_NAMES = (
    "treaty on comprehensive strategic partnership between the democratic people s republic of korea and the russian federation",
)
# Pages kept for the project owner's independent evaluation. The list is the owner's and is never copied
# into the repository (a copy would itself name those pages): it is read from shared/, beside a checkout,
# or from files given with `framing corpus validate --held-out FILE`.
DEFAULT_HELD_OUT_LIST = LABELS_DIR.parent.parent / "shared" / "held-out-sources.txt"


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


def normalise_url(url: str) -> str:
    """An address as compared for identity: no scheme, no `www.`, no fragment, no trailing slash, lower case."""
    url = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip().lower())
    url = re.sub(r"^www\.", "", url)
    return url.split("#", 1)[0].rstrip("/")


def load_held_out(paths: tuple[Path, ...] | list[Path] = (DEFAULT_HELD_OUT_LIST,)) -> set[str]:
    """Normalised addresses from every held-out list that exists (lines starting with # are comments)."""
    urls: set[str] = set()
    for path in paths:
        if Path(path).exists():
            lines = Path(path).read_text(encoding="utf-8").splitlines()
            urls.update(normalise_url(line) for line in lines if line.strip() and not line.lstrip().startswith("#"))
    return urls


def shared_runs(texts: list[str], n: int = SHARED_RUN_WORDS) -> list[tuple[int, int, str]]:
    """(i, j, words) for each pair of texts sharing a run of `n` words; the first such run found."""
    first_owner: dict[tuple[str, ...], int] = {}
    found: dict[tuple[int, int], str] = {}
    for j, text in enumerate(texts):
        folded = " ".join(w.lower() for w in _WORD.findall(text))
        for name in OFFICIAL_NAMES:
            folded = folded.replace(name, " | ")  # a break: no run crosses an official name
        words = folded.split()
        for k in range(len(words) - n + 1):
            gram = tuple(words[k:k + n])
            if "|" in gram:
                continue
            i = first_owner.setdefault(gram, j)
            if i != j and (i, j) not in found:
                found[(i, j)] = " ".join(gram)
    return sorted((i, j, words) for (i, j), words in found.items())


def check_sources(docs: list[Document], held_out: set[str]) -> list[Problem]:
    """Coverage provenance (an address, not held out, not used twice) and copied text between documents."""
    problems: list[Problem] = []
    url_owner: dict[str, str] = {}
    for doc in docs:
        where = doc.path[: -len(".txt")] + ".json"
        if doc.source_kind != "coverage":
            continue
        if not doc.split:
            problems.append(Problem(where, "coverage document has no split yet; run `framing corpus splits` to assign and freeze one"))
        if not doc.source_url:
            problems.append(Problem(where, "coverage document has no source_url; add the address of the page it paraphrases"))
            continue
        key = normalise_url(doc.source_url)
        if key in held_out:
            problems.append(Problem(where, f"source_url {doc.source_url} is held out for independent evaluation; paraphrase another page"))
        if key in url_owner:
            problems.append(Problem(where, f"source_url {doc.source_url} is already the source of {url_owner[key]}"))
        url_owner.setdefault(key, doc.path)
    for i, j, words in shared_runs([d.text for d in docs]):
        # Authored pairs predate this check and share only stock phrases; coverage must be its own words.
        if "coverage" not in (docs[i].source_kind, docs[j].source_kind):
            continue
        problems.append(Problem(docs[j].path, f"shares {SHARED_RUN_WORDS} words in a row with {docs[i].path} (\"{words}\"); rewrite it in its own words"))
    return problems


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
        if rec["split"] in COVERAGE_SPLITS and rec["source_kind"] != "coverage":
            problems.append(Problem(where, f"only coverage articles belong to split {rec['split']!r}"))
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


def check_orphans(root: Path, passages: list[dict], documents: list[dict], schema: Schema) -> list[Problem]:
    """Annotations whose passage or document no longer exists (its text was edited): they would be lost."""
    known = {("passage_id", p["id"]) for p in passages} | {("doc_id", d["id"]) for d in documents}
    return [
        Problem(ann.where, f"{kind} {target} matches no {kind.split('_')[0]} in sources/; its text changed, so "
                           f"update the id from `framing corpus passages` or remove the line")
        for (kind, target), anns in load_annotations(root, schema).items() if (kind, target) not in known
        for ann in anns
    ]


def validate(root: Path = LABELS_DIR, held_out: set[str] | None = None) -> list[Problem]:
    """All problems with the shipped corpus, including a built corpus that is out of date."""
    schema = load_schema()
    try:
        fresh_passages, fresh_docs = build_records(root, schema)
        problems = check_sources(load_documents(root, schema), load_held_out() if held_out is None else held_out)
        problems += check_orphans(root, fresh_passages, fresh_docs, schema)
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
