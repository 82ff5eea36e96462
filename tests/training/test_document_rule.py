import json

import numpy as np
import pytest

from inference.predictor import DocumentRule, LearnedDocumentRule, Predictor
from labels.segment import segment
from training.document_rule import GRID, MIN_LEARNED_DOCUMENTS, fit_document_rule, fit_logistic, rule_accuracy

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


def crafted_scores(predictor: Predictor, n_docs: int, seed: int = 0) -> tuple[list[tuple], list[dict]]:
    """Articles of four passages whose gold label is the one confident third passage's, while the lead and the
    conclusion lean to another label: no weighted mean finds it, a rule that reads the maximum does."""
    rng = np.random.default_rng(seed)
    spans = segment("\n\n".join(t for t, _, _ in PASSAGES[:4])).passages
    scored, docs = [], []
    for _ in range(n_docs):
        preds, gold = [{} for _ in range(4)], {}
        for a, labels in predictor.axes.items():
            k = len(labels)
            g, other = rng.choice(k, size=2, replace=False)
            rows = [np.full(k, 0.3 / (k - 1)) for _ in range(4)]
            for i, (label, share) in enumerate([(other, 0.7), (None, None), (g, 0.95), (other, 0.7)]):
                if label is None:
                    rows[i] = np.full(k, 1 / k)
                else:
                    rows[i] = np.full(k, (1 - share) / (k - 1))
                    rows[i][label] = share
            for i, row in enumerate(rows):
                preds[i][a] = {"label": labels[int(row.argmax())], "probs": dict(zip(labels, row))}
            gold[a] = labels[g]
        scored.append((spans, None, preds))
        docs.append({"text": f"article {len(docs)}", "gold": gold})
    return scored, docs


def test_a_learned_rule_is_chosen_only_when_it_wins_cross_validation(tiny_artifact, monkeypatch):
    predictor = Predictor.from_artifact(tiny_artifact)
    scored, docs = crafted_scores(predictor, MIN_LEARNED_DOCUMENTS + 10)
    monkeypatch.setattr(predictor, "score_documents", lambda texts: scored[:len(texts)])
    rule, fit = fit_document_rule(predictor, docs)
    assert isinstance(rule, LearnedDocumentRule) and fit["kind"] == "learned"
    cv = fit["cross_validated"]
    for a in predictor.axes:
        assert cv["learned"][a] > cv["weighted"][a] and cv["learned"][a] > 0.9
    assert fit["accuracy"] == rule_accuracy(predictor, scored, docs, rule) == {a: 1.0 for a in predictor.axes}
    assert fit["weighted_accuracy"] == rule_accuracy(predictor, scored, docs, DocumentRule(**fit["weighted_rule"]))
    # Too few articles to cross-validate, or the weighted family asked for: the weighted rule, and the record says why.
    rule, fit = fit_document_rule(predictor, docs[:MIN_LEARNED_DOCUMENTS - 1])
    assert isinstance(rule, DocumentRule) and "not tried" in fit["learned"]
    rule, fit = fit_document_rule(predictor, docs, family="weighted")
    assert isinstance(rule, DocumentRule) and fit["kind"] == "weighted" and "asked for" in fit["learned"]


def test_the_weighted_rule_stays_when_the_learned_one_does_not_win(tiny_artifact):
    predictor = Predictor.from_artifact(tiny_artifact)
    docs = docs_labelled_by(predictor, DocumentRule()) * 10
    rule, fit = fit_document_rule(predictor, docs)
    assert rule == DocumentRule() and fit["kind"] == "weighted"
    assert fit["cross_validated"]["weighted"] == {a: 1.0 for a in predictor.axes}
    # Asked for, the learned rule is fitted even though it does not win.
    rule, fit = fit_document_rule(predictor, docs, family="learned")
    assert isinstance(rule, LearnedDocumentRule) and fit["kind"] == "learned"
    with pytest.raises(ValueError, match="auto, weighted, learned"):
        fit_document_rule(predictor, docs, family="neural")


def test_a_fitted_regression_has_a_row_for_every_label_even_when_one_is_missing():
    x = np.random.default_rng(0).random((40, 18))
    y = (x[:, 0] > 0.5).astype(int) * 2  # labels 0 and 2 only
    fitted = fit_logistic(x, y, 3)
    rule = LearnedDocumentRule({"axis": fitted})
    predicted = np.array([rule.probabilities("axis", row).argmax() for row in x])
    assert set(predicted) <= {0, 2} and (predicted == y).mean() > 0.8
    only = LearnedDocumentRule({"axis": fit_logistic(x, np.ones(40, dtype=int), 3)})
    assert only.probabilities("axis", x[0]).argmax() == 1


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
    with pytest.raises(ValueError, match="auto, weighted, learned"):
        TrainConfig(document_rule="neural")
