"""Real coverage and authored text side by side: per test split, the scores the report shows in adjacent columns.

The model is chosen and measured on real coverage (the training config's test split, coverage_test); the
authored test split is kept beside it for reference, so an annotator sees both and never mistakes one for
the other. Each column comes from the `framing evaluate` JSON when it holds that split, else the report
scores the split itself through the same Predictor and the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.predictor import Predictor
from labels.dataset import CorpusRow, corpus_rows, documents_of, gold_ids
from reports.scoring import BASELINE, MODEL, Scorer
from training.evaluate import REFERENCE_SPLIT, calibration_on, document_report
from training.metrics import axis_report, breakdowns, paired_difference

SYSTEMS = (MODEL, BASELINE)
# What one column may hold: both systems' per-axis reports, their paired difference, the model's ECE and documents.
COLUMN_KEYS = (*SYSTEMS, "model_minus_baseline", "calibration", "documents")
# The evaluation JSON's names for the two test splits: "test" is the model's own (coverage), "reference_test" the authored.
COVERAGE, AUTHORED = "test", "reference_test"
SIDE_BY_SIDE_FIELDS = ("topic", "outlet_style", "hard_cases")
FROM_EVALUATION, COMPUTED = "evaluation JSON", "computed by the report"


KIND_NAMES = {"coverage": "real coverage", "authored": "authored", "seed": "seed articles"}


def column_label(rows: list[CorpusRow], split: str) -> str:
    """How a column is headed on the page: what kind of text its passages are, and the split's name."""
    kinds = sorted({r.source_kind for r in rows})
    return f"{' + '.join(KIND_NAMES.get(k, k) for k in kinds)} ({split})"


@dataclass
class ScoredSplit:
    """One test split the report scores: the evaluation JSON's key for it, its name and its gold passages."""

    key: str
    split: str
    rows: list[CorpusRow]
    documents: list[dict]

    @property
    def label(self) -> str:
        return column_label(self.rows, self.split)


def scored_splits(corpus, root: Path, test_split: str) -> list[ScoredSplit]:
    """Coverage test first, then the authored test split when the corpus has one (and it is not the model's own)."""
    keys = [(COVERAGE, test_split)] + ([(AUTHORED, REFERENCE_SPLIT)] if REFERENCE_SPLIT != test_split else [])
    out = [ScoredSplit(key, split, corpus_rows(corpus, (split,)), documents_of(split, root)) for key, split in keys]
    return [s for s in out if s.rows]


def score_split(split: ScoredSplit, scorers: dict[str, Scorer], axes: dict[str, list[str]], *, predictor: Predictor | None,
                n_resamples: int) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    """One column computed here: per-system reports, paired difference, the model's ECE and documents; and the probabilities."""
    gold = gold_ids(split.rows, axes)
    probs = {name: scorer([r.text for r in split.rows]) for name, scorer in scorers.items()}
    column = {name: {a: axis_report(gold[a], p[a].argmax(1), labels, n_resamples=n_resamples) for a, labels in axes.items()}
              for name, p in probs.items()}
    if MODEL in probs and BASELINE in probs:
        column["model_minus_baseline"] = {a: paired_difference(gold[a], probs[MODEL][a].argmax(1), probs[BASELINE][a].argmax(1),
                                                               len(labels), n_resamples=n_resamples) for a, labels in axes.items()}
    if MODEL in probs:
        column["calibration"] = calibration_on(split.rows, probs[MODEL], axes)
    if predictor is not None and split.documents:
        predicted = [predictor.predict_document(d["text"]) for d in split.documents]
        column["documents"] = document_report(predicted, split.documents, axes)
    return column, probs


def evaluation_column(evaluation: dict | None, key: str) -> dict | None:
    """The evaluation JSON's block for a split (coverage: with its documents), or None when it has none."""
    block = (evaluation or {}).get(key)
    if not block:
        return None
    block = dict(block)
    if key == COVERAGE:
        block["documents"] = (evaluation.get("documents") or {}).get("test") or {}
    return block


def columns(splits: list[ScoredSplit], own: dict[str, dict], evaluation: dict | None) -> list[dict]:
    """Per test split of the report's corpus, coverage first: its name, label, where its figures come from, and the figures."""
    out = []
    for s in splits:
        block, source = evaluation_column(evaluation, s.key), FROM_EVALUATION
        if block is None:
            block, source = own[s.key], COMPUTED
        out.append({"key": s.key, "split": s.split, "label": s.label, "source": source, "n": len(s.rows),
                    **{k: block[k] for k in COLUMN_KEYS if block.get(k)}})
    return out


def side_by_side_breakdowns(splits: list[ScoredSplit], probs: dict[str, dict[str, np.ndarray]], axes: dict[str, list[str]],
                            fields: tuple[str, ...] = SIDE_BY_SIDE_FIELDS) -> dict[str, list[dict]]:
    """Per field and value: passages and per-axis accuracy and macro-F1 on each test split (None where it has none)."""
    per_split = {s.label: breakdowns(s.rows, probs[s.key], axes, fields=fields) for s in splits if s.key in probs}
    if not per_split:
        return {}
    out = {}
    for field in fields:
        values: dict[str, dict] = {}
        for label, tables in per_split.items():
            for entry in tables[field]:
                values.setdefault(entry["value"], {})[label] = entry
        table = []
        for value, by_split in sorted(values.items(), key=lambda kv: (-sum(e["n"] for e in kv[1].values()), kv[0])):
            table.append({"value": value, "n": {label: by_split[label]["n"] if label in by_split else 0 for label in per_split},
                          **{a: {label: by_split[label][a] if label in by_split else None for label in per_split} for a in axes}})
        out[field] = table
    return out
