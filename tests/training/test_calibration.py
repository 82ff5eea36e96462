"""Temperature scaling and calibration error."""

import numpy as np

from inference.predictor import softmax
from training.calibration import expected_calibration_error, fit_temperature, nll


def test_temperature_scaling_lowers_the_nll_of_an_overconfident_model():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 500)
    logits = rng.normal(size=(500, 3))
    logits[np.arange(500), labels] += 1.0
    overconfident = logits * 8  # right 70% of the time, yet nearly certain every time
    t = fit_temperature(overconfident, labels)
    assert t > 2
    assert nll(softmax(overconfident, t), labels) < nll(softmax(overconfident), labels)
    assert expected_calibration_error(softmax(overconfident, t), labels) < expected_calibration_error(softmax(overconfident), labels)
