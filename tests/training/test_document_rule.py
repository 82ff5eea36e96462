import json

import pytest

from inference.predictor import DocumentRule, Predictor
from training.document_rule import GRID, fit_document_rule, rule_accuracy

from ..conftest import PASSAGES, empty_labels_root, make_corpus, tiny_model

ARTICLES = [
    "A Headline About The Pact\n\n" + "\n\n".join(t for t, _, _ in PASSAGES[i:i + 4])
    for i in range(0, 6)
]


def docs_labelled_by(predictor: Predictor, rule: DocumentRule) -> list[dict]:
    """The articles with gold labels exactly as `rule` aggregates this predictor's passage scores."""
    return [{"text": t, "gold": {a: v["label"] for a, v in predictor.predict_document(t, rule=rule)["document"].items()}}
            for t in ARTICLES]


def test_the_chosen_rule_reproduces_the_dev_documents(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact)
    target = DocumentRule(lead_conclusion_weight=3.0, headline_weight=0.0, absent_share=0.5)
    docs = docs_labelled_by(predictor, target)
    rule, fit = fit_document_rule(predictor, docs)
    assert fit["accuracy"] == {a: 1.0 for a in predictor.axes} and fit["n_documents"] == len(docs)
    scored = [predictor.score_document(d["text"]) for d in docs]
    assert rule_accuracy(predictor, scored, docs, rule) == fit["accuracy"]


def test_ties_keep_the_default_rule_and_no_documents_keep_it_too(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact)
    assert fit_document_rule(predictor, docs_labelled_by(predictor, DocumentRule()))[0] == DocumentRule()
    assert fit_document_rule(predictor, [])[0] == DocumentRule()
    assert DocumentRule() in GRID


def test_training_chooses_the_rule_on_dev_and_train_coverage_and_calibrates_on_dev_only(tokenizer, tmp_path, monkeypatch):
    import training.train as train_module
    from datasets import concatenate_datasets

    corpus = make_corpus()
    # Test twice as large as dev: a calibration fitted on test would record the wrong size.
    corpus["coverage_test"] = concatenate_datasets([corpus["coverage_test"], corpus["coverage_test"]])
    asked = []
    real = train_module.documents_of

    def spy(split, root):
        asked.append(split)
        if split not in ("coverage_dev", "train"):
            return real(split, root)
        gold = {"risk_framing": "neutral", "motive_framing": "none"}
        docs = [{"id": f"{split}-{i}", "text": t, "gold": gold, "source_kind": "coverage"} for i, t in enumerate(ARTICLES)]
        # Authored articles (polished op-eds) in train do not choose the rule for real coverage.
        return docs + [{"id": f"{split}-authored", "text": ARTICLES[0], "gold": gold, "source_kind": "authored"}]

    monkeypatch.setattr(train_module, "documents_of", spy)
    config = train_module.TrainConfig(base_model="tiny-random-bert", epochs=1, batch_size=4, max_length=32, num_threads=1)
    train_module.train(config, corpus, out_dir=tmp_path / "m", tokenizer=tokenizer, model=tiny_model(), progress=False,
                       corpus_root=empty_labels_root(tmp_path / "labels"))
    saved = json.loads((tmp_path / "m" / "framing_config.json").read_text())
    assert asked == ["coverage_dev", "train"]
    assert saved["document_rule_fit"]["n_documents"] == 2 * len(ARTICLES)
    assert saved["document_rule_fit"]["splits"] == ["coverage_dev", "train"]
    assert {c["n"] for c in saved["calibration"].values()} == {len(corpus["coverage_dev"])} != {len(corpus["coverage_test"])}
    assert DocumentRule(**saved["document_rule"]) in GRID
    # The artifact's rule is the one the predictor uses.
    assert Predictor.from_artifact(tmp_path / "m").document_rule == DocumentRule(**saved["document_rule"])


@pytest.mark.parametrize("kw", [{"lead_conclusion_weight": 0}, {"headline_weight": -1}, {"absent_share": 0}])
def test_a_bad_rule_is_refused(kw):
    with pytest.raises(ValueError):
        DocumentRule(**kw)


def test_the_rule_is_never_chosen_on_the_test_split():
    from training.train import TrainConfig

    with pytest.raises(ValueError, match="document_rule_splits"):
        TrainConfig(document_rule_splits=("coverage_dev", "coverage_test"))
