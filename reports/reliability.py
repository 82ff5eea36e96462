"""Calibration: reliability bins and expected calibration error, before and after temperature scaling."""

from __future__ import annotations

import numpy as np

from inference.predictor import Predictor, softmax
from labels.dataset import CorpusRow, gold_ids
from training.calibration import expected_calibration_error, reliability_bins

N_BINS = 10


def _curve(probs: np.ndarray, gold: np.ndarray) -> dict:
    return {"ece": expected_calibration_error(probs, gold, N_BINS), "bins": reliability_bins(probs, gold, N_BINS)}


def model_reliability(predictor: Predictor, rows: list[CorpusRow]) -> dict:
    """Per axis on rows: raw softmax (before) and the artifact's temperature-scaled probabilities (after)."""
    logits, _ = predictor.logits([r.text for r in rows])
    after = predictor.calibrate(logits)
    gold = gold_ids(rows, predictor.axes)
    out = {}
    for a in predictor.axes:
        out[a] = {"n": len(rows), "temperature": predictor.temperatures[a],
                  "before": _curve(softmax(logits[a]), gold[a]), "after": _curve(after[a], gold[a])}
    return out


def probability_reliability(probs: dict[str, np.ndarray], rows: list[CorpusRow], axes: dict[str, list[str]]) -> dict:
    """Per axis: reliability of probabilities that have no temperature (the baseline's)."""
    gold = gold_ids(rows, axes)
    return {a: {"n": len(rows), "temperature": None, "before": None, "after": _curve(probs[a], gold[a])} for a in axes}
