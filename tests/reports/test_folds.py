import numpy as np

from reports import folds as folds_module
from reports.folds import model_oof
from training.train import TrainConfig

from ..conftest import make_corpus, tiny_model


def test_model_oof_scores_each_passage_with_a_model_that_excluded_its_document(tokenizer, monkeypatch):
    corpus = make_corpus()
    seen = []
    real_train = folds_module.train

    def spy(cfg, corpus_, **kw):
        predictor = real_train(cfg, corpus_, **kw)
        seen.append((cfg.exclude_docs, cfg.teacher))
        return predictor

    monkeypatch.setattr(folds_module, "train", spy)
    config = TrainConfig(base_model="tiny", epochs=3, batch_size=8, max_length=32, num_threads=1)
    rows, probs, fitted = model_oof(corpus, config, k=3, seed=0, epochs=1, make_model=lambda: (tokenizer, tiny_model()),
                                    progress=False)
    assert len(rows) == len(corpus["train"]) + len(corpus["seed"])
    assert len(seen) == len(fitted) == 3
    for (excluded, teacher), (held, _) in zip(seen, fitted):
        assert {rows[i].doc_id for i in held} <= set(excluded)
        assert teacher == "none"  # `framing teach`'s teacher saw the held fold: distilling from it would leak its labels
    for a, p in probs.items():
        assert p.shape[0] == len(rows) and not np.isnan(p).any()
        np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
