from dataclasses import replace

import numpy as np
import pytest

import reports.learning_curve as lc
from labels.dataset import corpus_rows, load_corpus
from reports.learning_curve import baseline_learner, curve_rows, learning_curve, model_learner, sample_documents, summarise

from ..conftest import tiny_model
from .fixtures import AXES, COVERAGE_TRAIN, keyword_rows


def kinds(rows, authored=(), seed=()):
    """The rows with a source kind per document: the named ones authored or seed, every other one coverage."""
    kind = lambda d: "authored" if d in authored else "seed" if d in seed else "coverage"  # noqa: E731
    return [replace(r, source_kind=kind(r.doc_id)) for r in rows]


def test_sample_documents_takes_whole_documents_in_proportion():
    rows = keyword_rows(n_docs=8, per_doc=3)
    half = sample_documents(rows, 0.5, seed=1)
    docs = {r.doc_id for r in half}
    assert len(docs) == 4 and len(half) == 12
    assert sample_documents(rows, 0.01, seed=1)  # never empty above 0
    assert sample_documents(rows, 0.0, seed=1) == []
    assert sample_documents(rows, 0.5, seed=1) == half


def test_every_fit_holds_every_authored_and_seed_passage_and_a_share_of_the_coverage_articles():
    # 12 documents: 3 authored, 1 seed, 8 coverage; only the coverage ones may be left out of a fit.
    train = kinds(keyword_rows(n_docs=12, per_doc=4, seed=0), authored={"doc0", "doc5", "doc9"}, seed={"doc3"})
    always = {r.id for r in train if r.source_kind != "coverage"}
    coverage_docs = {r.doc_id for r in train if r.source_kind == "coverage"}
    test = kinds(keyword_rows(n_docs=3, per_doc=6, seed=9))
    fits = []

    def learner(rows, seed):
        fits.append(rows)
        return baseline_learner(AXES)(rows, seed)

    points = learning_curve(train, test, AXES, learner, fractions=(0.0, 0.25, 0.5, 1.0), seeds=2, name="baseline", progress=False)
    assert [(p["fraction"], p["seed"]) for p in points] == [(f, s) for f in (0.0, 0.25, 0.5, 1.0) for s in (0, 1)]
    for point, rows in zip(points, fits):
        ids = {r.id for r in rows}
        assert always <= ids, "an authored or seed passage was sampled away"
        chosen = {r.doc_id for r in rows if r.source_kind == "coverage"}
        assert len(chosen) == point["coverage_documents"] == round(point["fraction"] * len(coverage_docs))
        # Whole articles: a chosen coverage article brings every one of its passages.
        assert ids == always | {r.id for r in train if r.doc_id in chosen}
        assert point["passages"] == len(rows)
    assert [len(r) for r in fits[:2]] == [len(always)] * 2  # share 0: authored + seed alone


def test_curve_needs_coverage_training_articles():
    rows = kinds(keyword_rows(n_docs=4), authored={f"doc{i}" for i in range(4)})
    with pytest.raises(ValueError, match="coverage training articles .* hold none"):
        learning_curve(rows, rows, AXES, baseline_learner(AXES), fractions=(1.0,), seeds=1, progress=False)


def test_curve_records_each_fraction_and_seed_and_summarises_spread():
    train, test = kinds(keyword_rows(n_docs=8, per_doc=6, seed=0)), keyword_rows(n_docs=3, per_doc=6, seed=9)
    points = learning_curve(train, test, AXES, baseline_learner(AXES), fractions=(0.25, 1.0), seeds=2, name="baseline", progress=False)
    assert [p["coverage_documents"] for p in points] == [2, 2, 8, 8]
    summary = summarise(points, tuple(AXES))
    assert [s["fraction"] for s in summary] == [0.25, 1.0] and [s["coverage_documents"] for s in summary] == [2, 8]
    for s in summary:
        for a in AXES:
            assert s[a]["min"] <= s[a]["mean"] <= s[a]["max"]
    full = [s for s in summary if s["fraction"] == 1.0][0]
    assert all(full[a]["mean"] > 0.9 for a in AXES)  # signal phrases are easy with every document
    assert np.isclose(full[list(AXES)[0]]["std"], np.std([p[list(AXES)[0]] for p in points[2:]]))


def test_model_learner_fine_tunes_without_a_teacher_on_authored_seed_and_the_chosen_coverage(labels_root, tokenizer, monkeypatch):
    from training.train import TrainConfig

    config = TrainConfig(base_model="tiny-random-bert", epochs=1, batch_size=16, max_length=32, num_threads=1)
    corpus = load_corpus(labels_root)
    train_rows = corpus_rows(corpus, config.train_splits)
    trained, real_train = [], lc.train
    monkeypatch.setattr(lc, "train", lambda *a, **kw: trained.append(real_train(*a, **kw)) or trained[-1])
    learner = model_learner(corpus, config, train_rows, epochs=1, make_model=lambda: (tokenizer, tiny_model()), corpus_root=labels_root)
    rows = curve_rows(train_rows, 0.5, seed=3)
    probs = learner(rows, 3)(["Troops were paid in hard currency."])
    assert set(probs) == set(AXES)
    recorded = trained[0].config["training_config"]
    assert recorded["teacher"] == "none"
    left_out = set(COVERAGE_TRAIN) - {r.doc_id for r in rows}
    assert len(left_out) == 2 and set(recorded["exclude_docs"]) == left_out  # no authored or seed article left out
    assert trained[0].config["train_passages"] == len(rows)
