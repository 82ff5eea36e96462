from labels.schema import load_schema
import numpy as np

from labels.dataset import corpus_rows
from training.baseline import baseline_probabilities, fit_baselines

from ..conftest import make_corpus


def test_baseline_learns_the_fixture_and_reports_every_axis():
    corpus = make_corpus(n_repeat=3)
    axes = {a.name: list(a.labels) for a in load_schema().axes}
    rows = corpus_rows(corpus, ("train",))
    probs = baseline_probabilities(fit_baselines(rows, axes), [r["text"] for r in rows], axes)
    assert set(probs) == set(axes)
    for axis, labels in axes.items():
        assert probs[axis].shape == (len(rows), len(labels))
        np.testing.assert_allclose(probs[axis].sum(1), 1.0)
        gold = np.array([labels.index(r[axis]) for r in rows])
        assert (probs[axis].argmax(1) == gold).mean() > 0.9  # it has seen these very passages
