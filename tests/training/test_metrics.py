"""Metrics against scikit-learn on fixed inputs."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from training.metrics import axis_report, macro_f1, paired_difference


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


def test_paired_difference_separates_a_clearly_better_model_from_noise():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 300)
    good = np.where(rng.random(300) < 0.9, y, rng.integers(0, 3, 300))
    poor = np.where(rng.random(300) < 0.6, y, rng.integers(0, 3, 300))
    d = paired_difference(y, good, poor, 3, n_resamples=300)
    assert d["difference"] == pytest.approx(f1_score(y, good, average="macro") - f1_score(y, poor, average="macro"))
    assert 0 < d["ci95"][0] < d["difference"] < d["ci95"][1]
    assert d["share_of_resamples_a_ahead"] == 1.0
    # The same model against itself: no difference, and the interval is a point.
    same = paired_difference(y, good, good, 3, n_resamples=50)
    assert same["difference"] == 0 and same["ci95"] == [0.0, 0.0] and same["share_of_resamples_a_ahead"] == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        paired_difference(y, good[:-1], poor, 3)
