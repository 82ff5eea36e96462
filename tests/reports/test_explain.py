import numpy as np
import pytest

from inference.predictor import Predictor
from reports.explain import occlusion, top_words, word_spans
from reports.scoring import predictor_scorer

from .fixtures import AXES, MOTIVE, RISK


def fake_scorer(texts):
    """Risk label 0 gets 0.9 when 'looms' is present; motive never changes."""
    risk = np.array([[0.9, 0.05, 0.05] if "looms" in t.split() else [0.2, 0.4, 0.4] for t in texts])
    return {RISK: risk, MOTIVE: np.tile([0.2, 0.2, 0.6], (len(texts), 1))}


def test_occlusion_weights_the_word_that_moves_the_probability():
    text = "A war looms now"
    [e] = occlusion([text], fake_scorer, AXES, progress=False)
    assert e[RISK]["label"] == AXES[RISK][0]
    weights = {w["word"]: w["weight"] for w in e[RISK]["words"]}
    assert weights == pytest.approx({"A": 0.0, "war": 0.0, "looms": 0.7, "now": 0.0})
    assert all(w["weight"] == 0 for w in e[MOTIVE]["words"])
    assert top_words(e[RISK]) == ["looms"]
    assert [text[s:e] for s, e in word_spans(text)] == text.split()


def test_occlusion_can_explain_a_given_label_and_caps_the_words():
    [e] = occlusion(["a war looms now"], fake_scorer, AXES, targets=[{RISK: AXES[RISK][1], MOTIVE: AXES[MOTIVE][2]}],
                    max_words=3, progress=False)
    weights = [w["weight"] for w in e[RISK]["words"]]
    assert weights[:3] == pytest.approx([0.0, 0.0, -0.35])  # removing 'looms' raises p(label 1) from 0.05 to 0.4
    assert weights[3] is None


def test_occlusion_through_the_shared_predictor(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact)
    text = "Analysts say a war remains unlikely."
    [e] = occlusion([text], predictor_scorer(predictor), predictor.axes, progress=False)
    full = predictor.predict([text])[0]
    dropped = predictor.predict(["Analysts say a remains unlikely."])[0]
    for a in predictor.axes:
        label = e[a]["label"]
        assert label == full[a]["label"]
        assert e[a]["words"][3]["word"] == "war"
        assert e[a]["words"][3]["weight"] == pytest.approx(full[a]["probs"][label] - dropped[a]["probs"][label], abs=1e-4)
