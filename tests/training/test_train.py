"""The training loop: reproducible with a fixed seed; configuration errors say what is wrong."""

import numpy as np
import pytest

from training.train import TrainConfig, train

from ..conftest import PASSAGES, make_corpus, tiny_model

TEXTS = [t for t, _, _ in PASSAGES]


def test_training_is_reproducible_with_a_fixed_seed(tokenizer):
    config = TrainConfig(base_model="tiny-random-bert", epochs=2, batch_size=4, max_length=32, num_threads=1)
    runs = [train(config, make_corpus(), tokenizer=tokenizer, model=tiny_model(), progress=False) for _ in range(2)]
    assert runs[0].config["metrics"] == runs[1].config["metrics"]
    np.testing.assert_allclose(runs[0].logits(TEXTS)[0]["risk_framing"], runs[1].logits(TEXTS)[0]["risk_framing"], atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [({"epochs": 0}, "epochs must be at least 1"),
                                              ({"learning_rate": 2.0}, "learning_rate must be between 0 and 1"),
                                              ({"train_splits": ("train", "coverage_dev")}, "must not include the dev or test split"),
                                              ({"precision": "fp16"}, "precision must be one of auto, fp32, bf16")])
def test_config_errors_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)
