"""Real coverage (coverage_test) and authored text (test) side by side in the summary and in "where it errs"."""

import json
import re

import pytest

from labels.dataset import corpus_rows, gold_ids, load_corpus
from reports.build import ReportInputError, build_report
from reports.config import fast_config
from reports.scoring import fit_baseline_scorer
from training.metrics import macro_f1

from .fixtures import AXES, RISK

COVERAGE, AUTHORED = "real coverage (coverage_test)", "authored (test)"


def ci(rep):
    lo, hi = rep["macro_f1_ci95"]
    return f"{rep['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}]"


def test_the_report_scores_both_test_splits_itself_when_given_no_evaluation(fast_report, labels_root):
    report, out = fast_report
    columns = report["summary"]["columns"]
    assert [(c["split"], c["label"], c["source"]) for c in columns] == [
        ("coverage_test", COVERAGE, "computed by the report"), ("test", AUTHORED, "computed by the report")]
    # The same baseline the report fits (every training passage, the report's seed), scored on each split here.
    corpus = load_corpus(labels_root)
    scorer = fit_baseline_scorer(corpus_rows(corpus, ("train", "seed")), AXES, report["config"]["seed"])
    for column in columns:
        rows = corpus_rows(corpus, (column["split"],))
        gold, probs = gold_ids(rows, AXES), scorer([r.text for r in rows])
        assert column["n"] == len(rows) == 9
        for a in AXES:
            assert column["baseline"][a]["macro_f1"] == pytest.approx(macro_f1(gold[a], probs[a].argmax(1), len(AXES[a])))
    # The authored test article's risk labels are rotated in the fixture: its column must not be coverage's.
    assert columns[0]["baseline"][RISK]["macro_f1"] > columns[1]["baseline"][RISK]["macro_f1"] + 0.3
    page = (out / "report.html").read_text()
    assert f"<th>{RISK}, {COVERAGE}</th><th>{RISK}, {AUTHORED}</th>" in page
    assert f"<td>passages</td><td>baseline</td><td>{ci(columns[0]['baseline'][RISK])}</td><td>{ci(columns[1]['baseline'][RISK])}</td>" in page


def test_where_it_errs_puts_coverage_first_with_authored_beside_it(fast_report):
    report, out = fast_report
    where = report["where_it_errs"]
    assert [c["label"] for c in where["test_splits"]] == [COVERAGE, AUTHORED]
    assert [c["baseline"][RISK]["confusion"] for c in where["test_splits"]] == [
        c["baseline"][RISK]["confusion"] for c in report["summary"]["columns"]]
    breakdowns = where["test_breakdowns"]
    assert breakdowns["scored_by"] == "baseline" and breakdowns["splits"] == [COVERAGE, AUTHORED]
    [topic] = breakdowns["fields"]["topic"]  # one topic: its row is the whole of each split
    assert topic["n"] == {COVERAGE: 9, AUTHORED: 9}
    for column in report["summary"]["columns"]:
        assert topic[RISK][column["label"]]["macro_f1"] == pytest.approx(column["baseline"][RISK]["macro_f1"])
    page = (out / "report.html").read_text()
    assert f"Test splits: {COVERAGE} beside {AUTHORED}" in page
    titles = re.findall(r"<title>([^<]*)</title>", page)
    assert titles.index(f"{RISK}: {AUTHORED}") == titles.index(f"{RISK}: {COVERAGE}") + 1  # adjacent, coverage first
    assert f"<th>{RISK} macro-F1, {COVERAGE}</th><th>{RISK} macro-F1, {AUTHORED}</th>" in page


def test_an_evaluation_of_another_test_split_is_refused(labels_root, tmp_path):
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps({"model_version": "x", "test_split": "test", "test": {}}))
    with pytest.raises(ReportInputError, match="test split 'test' but the model's test split is 'coverage_test'"):
        build_report(fast_config(folds=2), evaluation_path=evaluation, root=labels_root, progress=False)
