"""Metrics against scikit-learn on fixed inputs."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from training.metrics import axis_report, macro_f1


def test_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    rep = axis_report(y, p, ["a", "b", "c"], n_resamples=200)
    assert rep["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    prec, rec, f1, support = precision_recall_fscore_support(y, p, labels=[0, 1, 2])
    assert [rep["per_class"][k]["precision"] for k in "abc"] == pytest.approx(list(prec))
    assert [rep["per_class"][k]["recall"] for k in "abc"] == pytest.approx(list(rec))
    assert rep["confusion"] == confusion_matrix(y, p).tolist()
    lo, hi = rep["macro_f1_ci95"]
    assert lo < rep["macro_f1"] < hi
    # A label absent from both gold and predictions does not count, as in scikit-learn.
    assert macro_f1(np.array([0, 1]), np.array([0, 1]), 3) == pytest.approx(f1_score([0, 1], [0, 1], average="macro"))
