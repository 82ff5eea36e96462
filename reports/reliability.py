"""Calibration: reliability bins and expected calibration error, before and after temperature scaling."""

from __future__ import annotations

import numpy as np

from inference.predictor import Predictor, softmax
from training.calibration import expected_calibration_error, reliability_bins

N_BINS = 10


def _curve(probs: np.ndarray, gold: np.ndarray) -> dict:
    return {"ece": expected_calibration_error(probs, gold, N_BINS), "bins": reliability_bins(probs, gold, N_BINS)}


def model_reliability(predictor: Predictor, rows: list[dict]) -> dict:
    """Per axis on rows: raw softmax (before) and the artifact's temperature-scaled probabilities (after)."""
    logits, _ = predictor.logits([r["text"] for r in rows])
    after = predictor.calibrate(logits)
    out = {}
    for a, labels in predictor.axes.items():
        gold = np.array([labels.index(r[a]) for r in rows])
        out[a] = {"n": len(rows), "temperature": predictor.temperatures[a],
                  "before": _curve(softmax(logits[a]), gold), "after": _curve(after[a], gold)}
    return out


def probability_reliability(probs: dict[str, np.ndarray], rows: list[dict], axes: dict[str, list[str]]) -> dict:
    """Per axis: reliability of probabilities that have no temperature (the baseline's)."""
    return {a: {"n": len(rows), "temperature": None, "before": None,
                "after": _curve(probs[a], np.array([labels.index(r[a]) for r in rows]))}
            for a, labels in axes.items()}
