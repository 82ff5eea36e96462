import json
import shutil

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from training.artifact import ArtifactError, load_artifact, read_config
from training.calibration import expected_calibration_error, fit_temperature, nll
from training.metrics import axis_report, macro_f1
from training.predictor import InputError, Predictor, softmax
from training.train import TrainConfig, train

from ..conftest import PASSAGES, make_corpus, tiny_model

TEXTS = [t for t, _, _ in PASSAGES]


def test_saved_artifact_reloads_to_identical_probabilities(tiny_artifact, tokenizer):
    config = TrainConfig(base_model="tiny-random-bert", epochs=2, batch_size=4, max_length=32, num_threads=1)
    in_memory = train(config, make_corpus(), tokenizer=tokenizer, model=tiny_model(), progress=False)
    reloaded = Predictor.from_artifact(tiny_artifact)
    a, b = in_memory.logits(TEXTS)[0], reloaded.logits(TEXTS)[0]
    for axis in a:
        np.testing.assert_allclose(a[axis], b[axis], atol=1e-5)
    assert {p["model"] for p in reloaded.predict(TEXTS)} == {reloaded.version}


def test_training_is_reproducible_with_a_fixed_seed(tokenizer):
    config = TrainConfig(base_model="tiny-random-bert", epochs=2, batch_size=4, max_length=32, num_threads=1)
    runs = [train(config, make_corpus(), tokenizer=tokenizer, model=tiny_model(), progress=False) for _ in range(2)]
    assert runs[0].config["metrics"] == runs[1].config["metrics"]
    np.testing.assert_allclose(runs[0].logits(TEXTS)[0]["risk_framing"], runs[1].logits(TEXTS)[0]["risk_framing"], atol=1e-6)


def test_artifact_records_what_it_needs(tiny_artifact):
    config = read_config(tiny_artifact)
    for key in ("model_version", "schema_version", "axes", "temperatures", "max_length", "training_config",
                "corpus_fingerprint", "metrics", "versions", "calibration", "base_model"):
        assert key in config, key
    assert set(config["temperatures"]) == set(config["axes"])
    assert (tiny_artifact / "model.safetensors").exists() and (tiny_artifact / "tokenizer.json").exists()


def test_a_folder_holding_only_a_pickle_checkpoint_is_refused(tmp_path, tiny_artifact):
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_artifact, folder)
    state = load_artifact(folder).model.state_dict()
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(ArtifactError, match="pickle checkpoints are never loaded"):
        Predictor.from_artifact(folder)


def test_a_schema_version_mismatch_is_refused(tmp_path, tiny_artifact):
    folder = tmp_path / "old"
    shutil.copytree(tiny_artifact, folder)
    cfg = json.loads((folder / "framing_config.json").read_text())
    cfg["schema_version"] = "0.1"
    (folder / "framing_config.json").write_text(json.dumps(cfg))
    with pytest.raises(ArtifactError, match="trained on label schema '0.1'.*retrain"):
        load_artifact(folder)


def test_a_missing_folder_names_the_command_that_makes_one(tmp_path):
    with pytest.raises(ArtifactError, match="framing train"):
        load_artifact(tmp_path / "nothing")


def test_batch_prediction_equals_one_by_one(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact, batch_size=4)
    together = predictor.logits(TEXTS)[0]
    for i, text in enumerate(TEXTS):
        alone = predictor.logits([text])[0]
        for axis in together:
            np.testing.assert_allclose(together[axis][i], alone[axis][0], atol=1e-4)


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


def test_predict_document_segments_and_aggregates(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact)
    article = "A Headline\n\nBy Jane Doe\n\n" + "\n\n".join(TEXTS[:4])
    out = predictor.predict_document(article)
    assert [p["text"] for p in out["passages"]] == TEXTS[:4]
    for axis, labels in predictor.axes.items():
        doc = out["document"][axis]
        assert doc["label"] in labels
        weights = np.array([2.0, 1.0, 1.0, 2.0]) / 6
        expected = weights @ np.array([[p[axis]["probs"][lab] for lab in labels] for p in out["passages"]])
        np.testing.assert_allclose([doc["probs"][lab] for lab in labels], expected, atol=1e-5)
        assert all(out["passages"][i][axis]["label"] == doc["label"] for i in doc["supporting_passages"])
    with pytest.raises(InputError, match="no passage found"):
        predictor.predict_document("Just A Headline")


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


@pytest.mark.parametrize("kwargs, message", [({"epochs": 0}, "epochs must be at least 1"),
                                              ({"learning_rate": 2.0}, "learning_rate must be between 0 and 1"),
                                              ({"train_splits": ("train", "dev")}, "must not include the dev or test split")])
def test_config_errors_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)
