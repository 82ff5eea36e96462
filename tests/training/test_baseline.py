import numpy as np

from labels.dataset import CorpusRow
from labels.schema import load_schema
from training.baseline import baseline_probabilities, fit_baselines

from ..reports.fixtures import keyword_rows

AXES = {a.name: list(a.labels) for a in load_schema().axes}


def test_baseline_generalises_to_documents_it_never_saw():
    train, held_out = keyword_rows(n_docs=10, per_doc=6, seed=0), keyword_rows(n_docs=4, per_doc=6, seed=9)
    assert not {r.text for r in train} & {r.text for r in held_out}
    probs = baseline_probabilities(fit_baselines(train, AXES), [r.text for r in held_out], AXES)
    assert set(probs) == set(AXES)
    for axis, labels in AXES.items():
        assert probs[axis].shape == (len(held_out), len(labels))
        np.testing.assert_allclose(probs[axis].sum(1), 1.0)
        gold = np.array([r.label_ids[axis] for r in held_out])
        # Three labels: chance is about a third; the signal phrases carry the label to unseen passages.
        assert (probs[axis].argmax(1) == gold).mean() > 0.8, axis


def test_a_label_missing_from_training_gets_probability_zero_in_its_schema_column():
    risk, motive = AXES
    train = [r for r in keyword_rows(n_docs=10, per_doc=6, seed=0) if r.label_ids[risk] != 2]
    probs = baseline_probabilities(fit_baselines(train, AXES), ["the ministry released numbers"], AXES)
    assert probs[risk].shape == (1, 3) and probs[risk][0, 2] == 0.0
    assert isinstance(train[0], CorpusRow)
