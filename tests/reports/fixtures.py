"""Fixtures for the report tests: keyword-coded synthetic passages and a miniature labels folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from labels.corpus import build
from labels.dataset import CorpusRow
from labels.schema import load_schema

from ..conftest import PASSAGES, write_sources

AXES = {a.name: list(a.labels) for a in load_schema().axes}
RISK, MOTIVE = list(AXES)

# Signal phrases per label position: a bag-of-words model separates them perfectly when labels are right.
RISK_SIGNALS = (("a catastrophic war looms", "the spark for a wider war", "imminent escalation threatens everyone"),
                ("war remains unlikely", "the risk is low and contained", "escalation is improbable"),
                ("officials reported the figures", "the ministry released numbers", "the statement listed dates"))
MOTIVE_SIGNALS = (("in exchange for cash and oil", "paid in hard currency", "for food and fuel in return"),
                  ("to build an alliance against the west", "to reshape the regional order", "as a bloc against nato"),
                  ("while the convoy moved at dawn", "as the weather turned cold", "while trains ran late"))
FILLER = ("Reporters", "Sources", "Observers", "Diplomats", "Analysts", "Witnesses")


def keyword_rows(n_docs: int = 12, per_doc: int = 6, seed: int = 0) -> list[CorpusRow]:
    """Corpus rows whose labels are carried by signal phrases."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_docs):
        for p in range(per_doc):
            r, m = int(rng.integers(3)), int(rng.integers(3))
            text = (f"{FILLER[int(rng.integers(len(FILLER)))]} noted on day {d * per_doc + p} that "
                    f"{RISK_SIGNALS[r][int(rng.integers(3))]}, {MOTIVE_SIGNALS[m][int(rng.integers(3))]}.")
            rows.append(CorpusRow.from_names(id=f"doc{d}-p{p}", doc_id=f"doc{d}", text=text, split="train", topic="nk_gains",
                                             outlet_style="wire", labels={RISK: AXES[RISK][r], MOTIVE: AXES[MOTIVE][m]}))
    return rows


# Document ids whose hash puts them in each split (see labels.corpus.split_for).
DOCS = {"seed": ["seed-1", "seed-2"], "train": ["auth-t0", "auth-t2"], "dev": ["auth-t1"], "test": ["auth-t10"],
        "coverage_dev": ["cov-d1"], "coverage_test": ["cov-t1"]}
# Coverage articles frozen to the training split: the learning curve samples these, never the authored or seed ones.
COVERAGE_TRAIN = ["cov-a1", "cov-a2", "cov-a3", "cov-a4"]
UNANNOTATED_DOC = "auth-t2"
UNANNOTATED = 3  # the last passages of that document have no annotation: the default queue
# The authored test article's risk labels are rotated, so its scores differ from coverage test's and a swapped column shows.
ROTATED_DOC = "auth-t10"


def write_coverage_training_articles(root: Path) -> None:
    """The COVERAGE_TRAIN articles under sources/coverage/, their split frozen to train in the metadata."""
    write_sources(root, {"coverage_test": COVERAGE_TRAIN})
    for doc_id in COVERAGE_TRAIN:
        meta_path = root / "sources" / "coverage" / f"{doc_id}.json"
        meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "split": "train"}))


def make_labels_root(root: Path) -> Path:
    """A labels folder with every split, a second annotator on the seed articles (two disagreements) and unannotated passages."""
    (root / "annotations").mkdir(parents=True)
    write_sources(root, DOCS)
    write_coverage_training_articles(root)
    passages, documents = build(root)
    by_text = {t: (r, m) for t, r, m in PASSAGES}
    first, second, flips = [], [], 0
    for p in passages:
        if p["doc_id"] == UNANNOTATED_DOC and p["paragraph_index"] >= len(PASSAGES) - UNANNOTATED:
            continue
        r, m = by_text[p["text"].rsplit(" Noted in ", 1)[0]]
        r = (r + 1) % 3 if p["doc_id"] == ROTATED_DOC else r
        labels = {RISK: AXES[RISK][r], MOTIVE: AXES[MOTIVE][m]}
        first.append({"passage_id": p["id"], "annotator": "a", **labels})
        if p["doc_id"] == "seed-1":
            other = dict(labels)
            if flips < 2:  # two disagreements on risk, the rest agree
                other[RISK] = AXES[RISK][(r + 1) % 3]
                flips += 1
            second.append({"passage_id": p["id"], "annotator": "b", **other})
    for d in documents:
        first.append({"doc_id": d["id"], "annotator": "a", RISK: AXES[RISK][0], MOTIVE: AXES[MOTIVE][2]})
    second.append({"passage_id": first[0]["passage_id"], "annotator": "adjudicator", RISK: first[0][RISK], MOTIVE: first[0][MOTIVE]})
    (root / "annotations" / "a.jsonl").write_text("".join(json.dumps(x) + "\n" for x in first))
    (root / "annotations" / "b.jsonl").write_text("".join(json.dumps(x) + "\n" for x in second))
    build(root)
    return root
