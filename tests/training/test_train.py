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


def test_the_artifact_names_the_corpus_it_was_trained_on_even_if_rebuilt_mid_run(tokenizer, tmp_path, monkeypatch):
    import training.train as train_module
    from labels.dataset import corpus_fingerprint

    from ..conftest import empty_labels_root

    root = empty_labels_root(tmp_path / "labels")
    before = corpus_fingerprint(root)
    real_fit = train_module._fit

    def fit_then_rebuild(*args, **kwargs):  # someone runs `framing corpus build` while the model trains
        run = real_fit(*args, **kwargs)
        (root / "corpus" / "passages.jsonl").write_text('{"id": "added-later"}\n')
        return run

    monkeypatch.setattr(train_module, "_fit", fit_then_rebuild)
    config = TrainConfig(base_model="tiny-random-bert", epochs=1, batch_size=4, max_length=32, num_threads=1)
    predictor = train(config, make_corpus(), tokenizer=tokenizer, model=tiny_model(), progress=False, corpus_root=root)
    assert corpus_fingerprint(root) != before
    assert predictor.config["corpus_fingerprint"] == before
    assert predictor.config["model_version"].endswith(before[:8])
