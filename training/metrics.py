"""Classification metrics per axis: accuracy, macro-F1 with a bootstrap interval, per-class P/R/F1, confusion."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from labels.dataset import CorpusRow, gold_ids


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_labels: int) -> np.ndarray:
    """Rows are gold labels, columns predictions."""
    m = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def per_class(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 per class from a confusion matrix (0 where undefined)."""
    tp = np.diag(m).astype(float)
    pred, gold = m.sum(0).astype(float), m.sum(1).astype(float)
    precision = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
    recall = np.divide(tp, gold, out=np.zeros_like(tp), where=gold > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_labels: int) -> float:
    """Unweighted mean F1 over the labels present in gold or predictions (as scikit-learn does)."""
    m = confusion(y_true, y_pred, n_labels)
    present = (m.sum(0) + m.sum(1)) > 0
    return float(per_class(m)[2][present].mean()) if present.any() else 0.0


def _resampled(score, n: int, n_resamples: int, seed: int) -> np.ndarray:
    """score(indices) for n_resamples draws of n indices with replacement."""
    rng = np.random.default_rng(seed)
    return np.array([score(idx) for idx in rng.integers(0, n, size=(n_resamples, n))])


def bootstrap_interval(y_true, y_pred, n_labels: int, *, n_resamples: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of macro-F1, resampling passages with replacement."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    scores = _resampled(lambda i: macro_f1(y_true[i], y_pred[i], n_labels), len(y_true), n_resamples, seed)
    alpha = (1 - level) / 2
    return float(np.quantile(scores, alpha)), float(np.quantile(scores, 1 - alpha))


def paired_difference(y_true, pred_a, pred_b, n_labels: int, *, n_resamples: int = 1000, seed: int = 0,
                      level: float = 0.95) -> dict:
    """Macro-F1 of a minus b, with a percentile interval from resampling the same passages for both.

    Pairing matters: two models scored on one small test set share its luck, so the interval of the
    difference is much narrower than the two separate intervals suggest.
    """
    y_true, pred_a, pred_b = np.asarray(y_true), np.asarray(pred_a), np.asarray(pred_b)
    if not len(y_true) == len(pred_a) == len(pred_b):
        raise ValueError(f"gold and predictions differ in length: {len(y_true)}, {len(pred_a)}, {len(pred_b)}")
    diffs = _resampled(lambda i: macro_f1(y_true[i], pred_a[i], n_labels) - macro_f1(y_true[i], pred_b[i], n_labels),
                       len(y_true), n_resamples, seed)
    alpha = (1 - level) / 2
    return {"n": int(len(y_true)),
            "difference": macro_f1(y_true, pred_a, n_labels) - macro_f1(y_true, pred_b, n_labels),
            "ci95": [float(np.quantile(diffs, alpha)), float(np.quantile(diffs, 1 - alpha))],
            "share_of_resamples_a_ahead": float((diffs > 0).mean())}


def axis_report(y_true, y_pred, labels: list[str], *, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Everything the evaluation JSON records for one axis on one set of passages."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    n = len(labels)
    if len(y_true) == 0:
        return {"n": 0}
    m = confusion(y_true, y_pred, n)
    p, r, f = per_class(m)
    lo, hi = bootstrap_interval(y_true, y_pred, n, n_resamples=n_resamples, seed=seed)
    return {
        "n": int(len(y_true)),
        "accuracy": float((y_true == y_pred).mean()),
        "macro_f1": macro_f1(y_true, y_pred, n),
        "macro_f1_ci95": [lo, hi],
        "per_class": {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(m[i].sum())}
                      for i, lab in enumerate(labels)},
        "labels": list(labels),
        "confusion": m.tolist(),
    }


BREAKDOWN_FIELDS = ("split", "topic", "outlet_style", "hard_cases")
NO_TAG = "(no tag)"


def _values(row: CorpusRow, field: str) -> list[str]:
    value = getattr(row, field)
    if isinstance(value, (list, tuple)):
        return list(value) or [NO_TAG]
    return [str(value)]


def breakdowns(rows: list[CorpusRow], probs: dict[str, np.ndarray], axes: dict[str, list[str]],
               fields: tuple[str, ...] = BREAKDOWN_FIELDS) -> dict[str, list[dict]]:
    """Per field and value: passages, accuracy and macro-F1 per axis (a passage counts under each of its tags)."""
    gold = gold_ids(rows, axes)
    pred = {a: probs[a].argmax(1) for a in axes}
    out = {}
    for field in fields:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            for v in _values(r, field):
                groups[v].append(i)
        table = []
        for value, idx in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            entry = {"value": value, "n": len(idx)}
            for a, labels in axes.items():
                g, p = gold[a][idx], pred[a][idx]
                entry[a] = {"accuracy": float((g == p).mean()), "macro_f1": macro_f1(g, p, len(labels))}
            table.append(entry)
        out[field] = table
    return out
