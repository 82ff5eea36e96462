"""The artifact folder: safetensors only, a config that carries everything, refusals that say why."""

import json
import shutil

import numpy as np
import pytest
import torch

from inference.artifact import ArtifactError, load_artifact, read_config
from inference.predictor import Predictor, softmax
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


def test_the_folder_alone_rebuilds_the_run_it_came_from(tiny_artifact):
    config = read_config(tiny_artifact)
    # The recipe: the same TrainConfig, so `framing evaluate` and the report can retrain it.
    assert TrainConfig(**config["training_config"]) == TrainConfig(base_model="tiny-random-bert", epochs=2, batch_size=4,
                                                                   max_length=32, num_threads=1)
    # The temperatures are the ones the Predictor divides by.
    predictor = Predictor.from_artifact(tiny_artifact)
    assert predictor.temperatures == config["temperatures"] and predictor.max_length == config["max_length"] == 32
    logits, _ = predictor.logits(TEXTS)
    for axis, z in logits.items():
        np.testing.assert_allclose(predictor.probabilities(TEXTS)[axis], softmax(z, config["temperatures"][axis]), atol=1e-6)
    # The data it learned from and was measured on.
    corpus = make_corpus()
    assert config["train_passages"] == len(corpus["train"]) + len(corpus["seed"])
    assert config["metrics"]["dev"][next(iter(config["axes"]))]["n"] == len(corpus["dev"])
    assert not (tiny_artifact / "pytorch_model.bin").exists() and (tiny_artifact / "model.safetensors").exists()


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
