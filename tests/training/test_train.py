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


def test_a_time_budget_that_is_not_tight_changes_nothing(tokenizer):
    # the probe's timed steps leave the weights, gradients and random state as they were
    runs = [train(TrainConfig(base_model="tiny-random-bert", epochs=2, batch_size=4, max_length=32, num_threads=1,
                              time_budget_minutes=budget), make_corpus(), tokenizer=tokenizer, model=tiny_model(), progress=False)
            for budget in (None, 15.0)]
    np.testing.assert_allclose(runs[0].logits(TEXTS)[0]["risk_framing"], runs[1].logits(TEXTS)[0]["risk_framing"], atol=1e-6)
    assert runs[0].config["epoch_plan"]["note"] == "no time budget"
    plan = runs[1].config["epoch_plan"]
    assert plan["note"] == "fits the time budget" and plan["seconds_per_example"] > 0 and plan["seconds_per_scored_passage"] > 0
    assert plan["replanned"] == []  # on time after every epoch: nothing changed
    assert 0 < runs[1].config["run_seconds"] < 15 * 60


def examples_per_epoch(monkeypatch) -> list[int]:
    """A list that fills with how many examples each epoch of the next training run trains on."""
    import training.train as train_module

    seen, real_batches = [], train_module._length_bucketed_batches

    def spy(ids, batch_size, generator, subset=None):
        seen.append(len(ids) if subset is None else len(subset))
        return real_batches(ids, batch_size, generator, subset)

    monkeypatch.setattr(train_module, "_length_bucketed_batches", spy)
    return seen


def test_a_tight_time_budget_trains_on_a_share_of_each_epoch_and_records_it(tokenizer, monkeypatch):
    import training.train as train_module

    monkeypatch.setattr(train_module, "_probe_seconds", lambda *a, **k: (1.0, 0.01))  # a very slow machine
    seen = examples_per_epoch(monkeypatch)
    corpus = make_corpus(n_repeat=3)
    n_gold = sum(len(corpus[s]) for s in ("train", "seed") if s in corpus)
    config = TrainConfig(base_model="tiny-random-bert", epochs=2, batch_size=4, max_length=32, num_threads=1, time_budget_minutes=1.0)
    predictor = train(config, corpus, tokenizer=tokenizer, model=tiny_model(), progress=False)
    plan = predictor.config["epoch_plan"]
    assert 4 <= plan["gold"] < n_gold and plan["views"] == 0 and "gold passages per epoch" in plan["note"], (plan, n_gold)
    assert plan["gold"] * 2 * 1.0 <= plan["budget_s"] < 60  # two epochs at 1 s per example fit what was left
    # The first epoch trained on that share; measured, the machine is fast, so the second epoch takes every passage.
    assert seen == [plan["gold"], n_gold]
    assert [(r["after_epoch"], r["gold"], r["views"]) for r in plan["replanned"]] == [(1, n_gold, 0)]
    assert plan["replanned"][0]["seconds_per_example"] < 1.0


def test_a_run_behind_its_budget_cuts_the_epochs_left(tokenizer, monkeypatch):
    import training.train as train_module

    monkeypatch.setattr(train_module, "_probe_seconds", lambda *a, **k: (1e-6, 1e-6))
    seen = examples_per_epoch(monkeypatch)
    corpus = make_corpus(n_repeat=3)
    n_gold = sum(len(corpus[s]) for s in ("train", "seed") if s in corpus)
    left = iter([1e6, -1.0, -1.0])  # all the time in the world at the start; none after the first epoch
    monkeypatch.setattr(train_module, "_training_time_left", lambda *a: next(left))
    config = TrainConfig(base_model="tiny-random-bert", epochs=3, batch_size=4, max_length=32, num_threads=1,
                         time_budget_minutes=15.0, patience=5)
    plan = train(config, corpus, tokenizer=tokenizer, model=tiny_model(), progress=False).config["epoch_plan"]
    assert plan["gold"] == n_gold and seen == [n_gold, 4, 4]
    assert [(r["after_epoch"], r["gold"]) for r in plan["replanned"]] == [(1, 4)]


def test_a_replan_moves_the_end_of_the_learning_rate_schedule():
    from training.train import _Plan, _replan

    config = TrainConfig(epochs=4, batch_size=4, view_fraction=1.0)
    steps = {"warmup": 2, "total": 100, "done": 25}
    plan = _Plan(100, 0)
    assert _replan(plan, (100, 0), 100, 0, config, 1, 0.01, 1e6, steps) == (100, 0) and steps["total"] == 100
    assert _replan(plan, (100, 0), 100, 0, config, 1, 0.1, 12.0, steps) == (40, 0)  # 3 epochs of 40 in 12 s
    assert steps["total"] == 25 + 3 * 10 and plan.replanned[0]["gold"] == 40


def test_the_plan_cuts_teacher_views_before_gold_passages():
    from training.train import _plan_epochs

    config = TrainConfig(epochs=2, view_fraction=0.5, batch_size=4)
    assert _plan_epochs(100, 60, config, None, None).__dict__ == {"gold": 100, "views": 30, "seconds_per_example": None,
                                                                 "seconds_per_scored_passage": None, "budget_s": None,
                                                                 "note": "no time budget", "replanned": []}
    assert (_plan_epochs(100, 60, config, 0.1, 100.0).gold, _plan_epochs(100, 60, config, 0.1, 100.0).views) == (100, 30)
    cut = _plan_epochs(100, 60, config, 0.1, 22.0)  # 110 examples per epoch
    assert (cut.gold, cut.views) == (100, 10) and "fewer teacher views" in cut.note
    tight = _plan_epochs(100, 60, config, 0.1, 10.0)  # 50 per epoch
    assert (tight.gold, tight.views) == (50, 0)
    assert _plan_epochs(100, 60, config, 0.1, -5.0).gold == 4  # nothing left: still one batch per epoch
    with pytest.raises(ValueError, match="time_budget_minutes must be above 0"):
        TrainConfig(time_budget_minutes=0)


def test_an_artifact_saved_before_the_time_budget_is_retrained_without_one():
    from dataclasses import asdict

    from training.train import saved_config

    old = {k: v for k, v in asdict(TrainConfig(seed=14)).items() if k != "time_budget_minutes"}
    assert saved_config(old).time_budget_minutes is None and saved_config(old).seed == 14
    assert saved_config({**old, "time_budget_minutes": 15.0}).time_budget_minutes == 15.0
    assert saved_config({**old, "time_budget_minutes": None}).time_budget_minutes is None
