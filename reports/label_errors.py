"""Suspected label errors by confident learning (Northcutt et al.), as cleanlab ranks them.

Given out-of-fold probabilities, a passage is suspect when the model confidently puts it in another
class (the off-diagonal of the confident joint), and suspects are ranked by a label-quality score:
self-confidence p[given] or normalized margin p[given] - max p[other], lowest first.
"""

from __future__ import annotations

import numpy as np

from labels.dataset import CorpusRow, gold_ids


def self_confidence(probs: np.ndarray, given: np.ndarray) -> np.ndarray:
    """Probability the model gives to the given label (low: the label looks wrong)."""
    return probs[np.arange(len(given)), given]


def normalized_margin(probs: np.ndarray, given: np.ndarray) -> np.ndarray:
    """p[given] minus the largest other probability, rescaled to [0, 1] as cleanlab does."""
    others = probs.copy()
    others[np.arange(len(given)), given] = -np.inf
    return (self_confidence(probs, given) - others.max(axis=1) + 1) / 2


QUALITY = {"self_confidence": self_confidence, "normalized_margin": normalized_margin}


def class_thresholds(probs: np.ndarray, given: np.ndarray) -> np.ndarray:
    """Per class, the mean self-confidence of passages given that class (inf for an unused class)."""
    return np.array([probs[given == j, j].mean() if (given == j).any() else np.inf for j in range(probs.shape[1])])


def confident_label_issues(probs: np.ndarray, given: np.ndarray) -> np.ndarray:
    """True where the confident joint puts a passage off the diagonal.

    A passage counts toward class j when p[j] reaches class j's threshold; of several such classes
    the most probable wins. It is an issue when that class is not its given one.
    """
    above = probs >= class_thresholds(probs, given)[None, :]
    masked = np.where(above, probs, -np.inf)
    confident = masked.argmax(axis=1)
    return above.any(axis=1) & (confident != given)


def suspected_errors(rows: list[CorpusRow], probs: dict[str, np.ndarray], axes: dict[str, list[str]], *,
                     top: int, method: str = "self_confidence", source: str = "") -> list[dict]:
    """The `top` most suspect (passage, axis) labels across both axes, most suspect first."""
    candidates = []
    gold = gold_ids(rows, axes)
    for a, labels in axes.items():
        given = gold[a]
        quality = QUALITY[method](probs[a], given)
        flagged = confident_label_issues(probs[a], given)
        for i in range(len(rows)):
            pred = int(probs[a][i].argmax())
            candidates.append({
                "passage_id": rows[i].id, "doc_id": rows[i].doc_id, "split": rows[i].split,
                "text": rows[i].text, "axis": a, "given": labels[given[i]], "predicted": labels[pred],
                "predicted_prob": round(float(probs[a][i, pred]), 4), "given_prob": round(float(probs[a][i, given[i]]), 4),
                "quality": round(float(quality[i]), 4), "flagged": bool(flagged[i]), "scored_by": source,
            })
    candidates.sort(key=lambda c: (not c["flagged"], c["quality"]))
    return [{"rank": k + 1, **c} for k, c in enumerate(candidates[:top])]
