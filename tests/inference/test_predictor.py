"""The one prediction path: batching, truncation, input errors, document aggregation."""

import numpy as np
import pytest

from inference.artifact import ArtifactError, read_config, write_config
from inference.predictor import DocumentRule, InputError, LearnedDocumentRule, Predictor, document_features, softmax

from ..conftest import PASSAGES

TEXTS = [t for t, _, _ in PASSAGES]


def test_batch_prediction_equals_one_by_one(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact, batch_size=4)
    together = predictor.logits(TEXTS)[0]
    for i, text in enumerate(TEXTS):
        alone = predictor.logits([text])[0]
        for axis in together:
            np.testing.assert_allclose(together[axis][i], alone[axis][0], atol=1e-4)


def test_probabilities_for_many_texts_with_per_call_batching(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact, batch_size=4)
    probs = predictor.probabilities(TEXTS)
    predicted = predictor.predict(TEXTS)
    for axis, labels in predictor.axes.items():
        assert probs[axis].shape == (len(TEXTS), len(labels))
        np.testing.assert_allclose(probs[axis], [[p[axis]["probs"][lab] for lab in labels] for p in predicted], atol=1e-5)
        # The calibrated probabilities, not a plain softmax of the logits.
        np.testing.assert_allclose(probs[axis], predictor.calibrate(predictor.logits(TEXTS)[0])[axis], atol=1e-6)
    one_by_one = predictor.probabilities(TEXTS, batch_size=1)
    budgeted = predictor.probabilities(TEXTS, batch_size=8, max_batch_tokens=40)
    for axis in probs:
        np.testing.assert_allclose(one_by_one[axis], probs[axis], atol=1e-4)
        np.testing.assert_allclose(budgeted[axis], probs[axis], atol=1e-4)
    assert (predictor.batch_size, predictor.max_batch_tokens) == (4, None)  # per call, not a setting changed
    with pytest.raises(ValueError, match="batch_size must be an integer"):
        predictor.probabilities(TEXTS, batch_size=0)


def test_token_lengths_count_what_the_model_reads(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact)
    long_text = "The convoy moved north. " * 40
    lengths = predictor.token_lengths([TEXTS[0], long_text])
    assert lengths[0] == len(predictor.tokenizer(TEXTS[0])["input_ids"])
    assert lengths[1] == predictor.max_length


def test_predict_shape_labels_and_truncation(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact)
    long_text = "The convoy moved north. " * 40
    out = predictor.predict([TEXTS[0], long_text])
    assert [o["truncated"] for o in out] == [False, True]
    for o in out:
        for axis, labels in predictor.axes.items():
            assert list(o[axis]["probs"]) == labels
            assert o[axis]["label"] == max(o[axis]["probs"], key=o[axis]["probs"].get)
            assert abs(sum(o[axis]["probs"].values()) - 1) < 1e-4


@pytest.mark.parametrize("bad, message", [("one string", "not one string"), ([1], r"texts\[0\] must be a string"),
                                           (["ok text", "  "], r"texts\[1\] is empty")])
def test_bad_input_names_the_item(tiny_artifact, bad, message):
    with pytest.raises(InputError, match=message):
        Predictor.from_artifact(tiny_artifact).predict(bad)


@pytest.mark.parametrize("title", ["Will The Pact Drag Seoul Into War?", None])
def test_predict_document_segments_and_aggregates(tiny_artifact, title):
    predictor = Predictor.from_artifact(tiny_artifact)
    # A section heading between passages is not the headline.
    article = (f"{title}\n\n" if title else "") + "By Jane Doe\n\n" + "\n\n".join(TEXTS[:2]) + "\n\nWhat Comes Next\n\n" + "\n\n".join(TEXTS[2:4])
    out = predictor.predict_document(article)
    assert [p["text"] for p in out["passages"]] == TEXTS[:4]
    scored = out["passages"]
    if title:
        head = out["headline"]
        assert head["text"] == title and article[head["start"]:head["end"]] == title
        assert {k: head[k] for k in predictor.axes} == {k: predictor.predict([title])[0][k] for k in predictor.axes}
        scored = scored + [head]
    else:
        assert out["headline"] is None
    for axis, labels in predictor.axes.items():
        doc = out["document"][axis]
        assert doc["label"] in labels
        rule = predictor.document_rule
        assert rule == DocumentRule()  # the fixture artifact had no dev documents to choose a rule on
        lc = rule.lead_conclusion_weight
        weights = np.array([lc, 1.0, 1.0, lc] + ([rule.headline_weight] if title else []))
        weights /= weights.sum()
        expected = weights @ np.array([[p[axis]["probs"][lab] for lab in labels] for p in scored])
        np.testing.assert_allclose([doc["probs"][lab] for lab in labels], expected, atol=1e-5)
        assert all(out["passages"][i][axis]["label"] == doc["label"] for i in doc["supporting_passages"])
    with pytest.raises(InputError, match="no passage found"):
        predictor.predict_document("Just A Headline")


def test_scoring_many_documents_together_equals_one_at_a_time(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact, batch_size=4)
    articles = ["Will The Pact Drag Seoul Into War?\n\n" + "\n\n".join(TEXTS[:3]), TEXTS[3], "\n\n".join(TEXTS[4:8])]
    together = predictor.score_documents(articles)
    assert len(together) == len(articles)
    for article, (spans, title, preds) in zip(articles, together):
        alone_spans, alone_title, alone_preds = predictor.score_document(article)
        assert [s.text for s in spans] == [s.text for s in alone_spans] and title == alone_title
        assert len(preds) == len(alone_preds) == len(spans) + (title is not None)
        for p, q in zip(preds, alone_preds):
            for axis, labels in predictor.axes.items():
                np.testing.assert_allclose([p[axis]["probs"][lab] for lab in labels], [q[axis]["probs"][lab] for lab in labels], atol=1e-4)
    assert predictor.score_documents([]) == []


def test_a_document_takes_the_absent_label_only_when_its_passages_agree():
    from labels.schema import load_schema
    from inference.predictor import document_label
    ABSENT_LABEL_SHARE = DocumentRule().absent_share

    axis = next(a for a in load_schema().axes if a.absent_label)
    labels = list(axis.labels)
    absent = labels.index(axis.absent_label)
    other = next(i for i in range(len(labels)) if i != absent)
    mean = np.full(len(labels), 0.0)
    mean[absent], mean[other] = ABSENT_LABEL_SHARE - 0.05, 1 - ABSENT_LABEL_SHARE + 0.05
    assert document_label(mean, labels, axis.absent_label) == labels[other]  # most probable, yet not enough
    mean[absent], mean[other] = ABSENT_LABEL_SHARE + 0.05, 1 - ABSENT_LABEL_SHARE - 0.05
    assert document_label(mean, labels, axis.absent_label) == axis.absent_label
    assert document_label(np.array([0.2, 0.3, 0.5]), ["a", "b", "c"], None) == "c"  # no absent label: plain argmax


def test_a_learned_document_rule_in_the_artifact_is_the_one_used(tiny_artifact, tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(tiny_artifact, folder)
    config = read_config(folder)
    rng = np.random.default_rng(0)
    axes = Predictor.from_artifact(folder).axes
    coefficients = {a: {"coef": rng.normal(size=(len(labs), 6 * len(labs))).tolist(), "intercept": [0.0] * len(labs)}
                    for a, labs in axes.items()}
    write_config(folder, {**config, "document_rule": LearnedDocumentRule(coefficients).as_config()})
    predictor = Predictor.from_artifact(folder)
    assert predictor.document_rule == LearnedDocumentRule(coefficients)
    article = "Will The Pact Drag Seoul Into War?\n\n" + "\n\n".join(TEXTS[:5])
    out = predictor.predict_document(article)
    for a, labels in axes.items():
        rows = out["passages"] + [out["headline"]]
        features = document_features(np.array([[p[a]["probs"][lab] for lab in labels] for p in rows]), 5, True)
        expected = softmax(np.array(coefficients[a]["coef"]) @ features)
        np.testing.assert_allclose([out["document"][a]["probs"][lab] for lab in labels], expected, atol=1e-5)
        assert out["document"][a]["label"] == labels[int(expected.argmax())]
    # A rule for another schema, or of an unknown kind, is refused with the fix.
    write_config(folder, {**config, "document_rule": {"kind": "learned", "coefficients": {"risk_framing": coefficients["risk_framing"]}}})
    with pytest.raises(ArtifactError, match="refit_document_rule"):
        Predictor.from_artifact(folder)
    write_config(folder, {**config, "document_rule": {"kind": "neural"}})
    with pytest.raises(ArtifactError, match="weighted, learned"):
        Predictor.from_artifact(folder)
    with pytest.raises(ValueError, match="refit"):
        LearnedDocumentRule({"risk_framing": {"coef": [[1.0, 2.0]], "intercept": [0.0]}})
