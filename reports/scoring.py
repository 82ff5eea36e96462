"""Scorers: texts -> calibrated probabilities per axis, from the shared Predictor or the baseline."""

from __future__ import annotations

from typing import Callable

import numpy as np

from inference.predictor import Predictor
from labels.dataset import CorpusRow
from training.baseline import baseline_probabilities, fit_baselines

Scorer = Callable[[list[str]], dict[str, np.ndarray]]
# The two systems a report compares, named as `framing evaluate` names them, and how the page shows them.
BASELINE, MODEL = "baseline", "model"
SYSTEM_NAMES = {MODEL: "fine-tuned", BASELINE: "baseline"}


def predictor_scorer(predictor: Predictor) -> Scorer:
    """Calibrated probabilities through the one prediction path."""
    return lambda texts: predictor.probabilities(list(texts))


def baseline_scorer(models: dict, axes: dict[str, list[str]]) -> Scorer:
    """Probabilities of fitted TF-IDF + logistic-regression baselines."""
    return lambda texts: baseline_probabilities(models, list(texts), axes)


def fit_baseline_scorer(rows: list[CorpusRow], axes: dict[str, list[str]], seed: int = 0) -> Scorer:
    """Fit one baseline per axis on rows and return its scorer."""
    return baseline_scorer(fit_baselines(rows, axes, seed), axes)

