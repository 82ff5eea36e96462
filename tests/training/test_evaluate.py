import json

import pytest

from labels.corpus import build
from training import train as train_module
from training.evaluate import evaluate, format_evaluation

from ..conftest import PASSAGES, tiny_model, write_sources

# Document ids whose hash puts them in each split (see labels.corpus.split_for).
DOCS = {"seed": ["seed-1", "seed-2"], "train": ["auth-t0", "auth-t2"], "dev": ["auth-t1"], "test": ["auth-t10"],
        "coverage_dev": ["cov-d1"], "coverage_test": ["cov-t1"]}


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory):
    """A miniature labels folder: every fixture passage in every document, all annotated."""
    root = tmp_path_factory.mktemp("corpus") / "labels"
    (root / "annotations").mkdir(parents=True)
    lines = []
    write_sources(root, DOCS)
    passages, documents = build(root)
    from labels.schema import load_schema
    risk, motive = (a.labels for a in load_schema().axes)
    by_text = {t: (r, m) for t, r, m in PASSAGES}
    for p in passages:
        r, m = by_text[p["text"].rsplit(" Noted in ", 1)[0]]
        lines.append({"passage_id": p["id"], "annotator": "a", "risk_framing": risk[r], "motive_framing": motive[m]})
    for d in documents:
        lines.append({"doc_id": d["id"], "annotator": "a", "risk_framing": risk[0], "motive_framing": motive[2]})
    (root / "annotations" / "a.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    build(root)
    return root


def test_evaluate_reports_test_baseline_documents_and_seed_folds(corpus_root, tmp_path, tokenizer, monkeypatch):
    from labels.dataset import load_corpus
    from training.train import TrainConfig, train

    artifact = tmp_path / "model"
    config = TrainConfig(base_model="tiny", epochs=1, batch_size=8, max_length=48, num_threads=1)
    train(config, load_corpus(corpus_root), out_dir=artifact, tokenizer=tokenizer, model=tiny_model(), progress=False,
          corpus_root=corpus_root)

    excluded, teachers, threads = [], [], []
    real_train = train_module.train

    def spy(cfg, corpus, **kw):
        excluded.append(cfg.exclude_docs)
        teachers.append(cfg.teacher)
        threads.append(cfg.num_threads)
        return real_train(cfg, corpus, **kw)

    monkeypatch.setattr("training.evaluate.train", spy)
    result = evaluate(artifact, root=corpus_root, progress=False, make_model=lambda: (tokenizer, tiny_model()), num_threads=2)
    assert excluded == [("seed-1",), ("seed-2",)]  # each seed article is held out from its own model
    assert teachers == ["none", "none"]  # the stored teacher saw every seed article
    assert threads == [2, 2]  # the caller's thread count, not the artifact's (1)
    for axis in ("risk_framing", "motive_framing"):
        assert result["test"]["model"][axis]["n"] == len(PASSAGES)
        assert result["test"]["baseline"][axis]["n"] == len(PASSAGES)
        diff = result["test"]["model_minus_baseline"][axis]
        assert diff["difference"] == pytest.approx(result["test"]["model"][axis]["macro_f1"] - result["test"]["baseline"][axis]["macro_f1"])
        assert result["documents"]["test"][axis]["n"] == 1
        loao = result["seed_leave_one_article_out"]
        assert loao["model"][axis]["n"] == 2 * len(PASSAGES) and loao["baseline"][axis]["n"] == 2 * len(PASSAGES)
        assert loao["documents"][axis]["n"] == 2
    assert set(result["seed_leave_one_article_out"]["per_article"]) == {"seed-1", "seed-2"}
    assert result["machine"]["cores"] and result["machine"]["torch"]
    # Measured on coverage test; the authored test split beside it for reference; calibration error on test.
    assert result["test_split"] == "coverage_test" and result["reference_test"]["split"] == "test"
    for axis in ("risk_framing", "motive_framing"):
        assert result["reference_test"]["model"][axis]["n"] == len(PASSAGES)
        assert 0 <= result["test"]["calibration"][axis]["ece"] <= 1 and result["test"]["calibration"][axis]["n"] == len(PASSAGES)
    styles = result["test"]["breakdown"]["outlet_style"]
    assert [(row["value"], row["n"]) for row in styles] == [("wire", len(PASSAGES))]
    assert result["documents"]["rule"]["fit"]["n_documents"] == 1  # the one coverage_dev document (no coverage article in train)
    assert "coverage_test / calibration" in format_evaluation(result) and "test (authored) / fine-tuned" in format_evaluation(result)
    assert "seed LOAO / fine-tuned" in format_evaluation(result) and "fine-tuned minus baseline" in format_evaluation(result)


def test_training_seeds_retrain_the_recipe_and_report_the_spread(corpus_root, tmp_path, tokenizer, monkeypatch):
    from labels.dataset import load_corpus
    from training.train import TrainConfig, train

    artifact = tmp_path / "model"
    config = TrainConfig(base_model="tiny", epochs=1, batch_size=8, max_length=48, num_threads=1, seed=5)
    train(config, load_corpus(corpus_root), out_dir=artifact, tokenizer=tokenizer, model=tiny_model(), progress=False,
          corpus_root=corpus_root)
    with pytest.raises(ValueError, match="training_seeds must be an integer of at least 1"):
        evaluate(artifact, root=corpus_root, training_seeds=0, seed_folds=False, progress=False)

    seeds, real_train = [], train_module.train

    def spy(cfg, corpus, **kw):
        seeds.append(cfg.seed)
        return real_train(cfg, corpus, **kw)

    monkeypatch.setattr("training.evaluate.train", spy)
    result = evaluate(artifact, root=corpus_root, training_seeds=3, seed_folds=False, progress=False,
                      make_model=lambda: (tokenizer, tiny_model()))
    spread = result["training_seeds"]
    assert seeds == [6, 7] and spread["seeds"] == [5, 6, 7]  # the artifact's own seed is not retrained
    for axis in ("risk_framing", "motive_framing"):
        own = spread["per_seed"]["5"][axis]
        assert own["macro_f1"] == result["test"]["model"][axis]["macro_f1"]
        assert own["minus_baseline"] == result["test"]["model_minus_baseline"][axis]["difference"]
        baseline_f1 = result["test"]["baseline"][axis]["macro_f1"]
        for s in ("6", "7"):  # every seed is measured against the same baseline
            extra = spread["per_seed"][s][axis]
            assert extra["minus_baseline"] == pytest.approx(extra["macro_f1"] - baseline_f1)
        values = [spread["per_seed"][s][axis]["minus_baseline"] for s in ("5", "6", "7")]
        summary = spread["summary"][axis]["minus_baseline"]
        assert summary["min"] == min(values) and summary["max"] == max(values)
        assert summary["mean"] == pytest.approx(sum(values) / 3)
    assert "3 training seeds" in format_evaluation(result)


def test_each_seed_article_is_held_out_once_whole():
    from training.evaluate import held_out_articles

    from ..reports.fixtures import keyword_rows

    rows = keyword_rows(n_docs=3, per_doc=4)
    rows = rows[::2] + rows[1::2]  # interleave documents
    articles = held_out_articles(rows)
    assert [{r.doc_id for r in held} for held in articles] == [{"doc0"}, {"doc1"}, {"doc2"}]
    assert sorted(r.id for held in articles for r in held) == sorted(r.id for r in rows)
    one = [r for r in rows if r.doc_id == "doc1"]
    assert held_out_articles(one) == [one] and held_out_articles([]) == []
