import csv
import json

import pytest

from reports.build import ReportInputError, build_report
from reports.config import ReportConfig, ReportConfigError, fast_config

from ..conftest import tiny_model
from .fixtures import AXES, COVERAGE_TRAIN, UNANNOTATED


def test_config_is_validated():
    with pytest.raises(ReportConfigError, match="folds"):
        ReportConfig(folds=1)
    for fractions in ((-0.1, 1.0), (1.5,), (float("nan"),), ()):
        with pytest.raises(ReportConfigError, match=r"learning_curve_fractions .* in \[0, 1\]"):
            ReportConfig(learning_curve_fractions=fractions)
    assert ReportConfig(learning_curve_fractions=(0, 1)).learning_curve_fractions == (0.0, 1.0)  # 0: authored + seed only
    with pytest.raises(ReportConfigError, match="uncertainty"):
        ReportConfig(uncertainty="variance")
    assert fast_config().learning_curve_model_seeds == 0


def test_fast_report_writes_every_output(fast_report):
    report, out = fast_report
    assert report["mode"] == "fast" and report["model"] is None
    assert {p.name for p in out.iterdir()} >= {"report.html", "report.json", "suspected_errors.csv", "annotation_queue.csv",
                                              "disagreements.csv", "labelstudio_tasks.json", "labelstudio_config.xml"}
    errors = report["suspected_errors"]["rows"]
    assert errors and all(e["scored_by"] == "baseline" and e["axis"] in AXES for e in errors)
    assert all(set(e["explanation"]) == set(AXES) for e in errors)
    with (out / "suspected_errors.csv").open() as fh:
        assert [r["passage_id"] for r in csv.DictReader(fh)] == [e["passage_id"] for e in errors]
    queue = report["queue"]["rows"]
    assert len(queue) == 4 and report["queue"]["candidates"] == 4
    assert {q["doc_id"] for q in queue[:2]} == {"doc0", "doc1"}  # spread before depth
    curve = report["learning_curve"]
    points = curve["points"]
    assert sorted({p["fraction"] for p in points}) == [0.0, 0.25, 0.5, 1.0] and len(points) == 12
    # Authored (auth-t0, auth-t2) and seed training passages are in every fit; only the coverage articles vary.
    always = curve["always_in"]
    assert always["by_source_kind"] == {"authored": 15, "seed": 17} and curve["coverage_documents"] == len(COVERAGE_TRAIN)
    assert {(p["fraction"], p["coverage_documents"], p["passages"]) for p in points} == {
        (0.0, 0, 32), (0.25, 1, 32 + 9), (0.5, 2, 32 + 18), (1.0, 4, 32 + 36)}
    agreement = report["agreement"]["passages"]
    assert agreement["multiply_annotated"] == 9  # every passage of seed-1 has a second annotator
    assert len(agreement["disagreements"]) == 2
    with (out / "disagreements.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 2


def test_default_queue_is_the_unannotated_corpus_passages(labels_root):
    config = fast_config(folds=2, learning_curve_fractions=(1.0,), learning_curve_seeds=1, top_errors=3, max_explained_words=5)
    report = build_report(config, root=labels_root, progress=False)
    assert report["queue"]["candidates"] == UNANNOTATED
    assert report["summary"]["source"].startswith("computed")


def test_full_report_needs_a_model(labels_root, tmp_path):
    with pytest.raises(ReportInputError, match="framing train"):
        build_report(ReportConfig(), model_dir=tmp_path / "missing", root=labels_root, progress=False)
    with pytest.raises(ReportInputError, match="framing evaluate"):
        build_report(fast_config(), evaluation_path=tmp_path / "none.json", root=labels_root, progress=False)


@pytest.mark.slow
def test_full_report_fine_tunes_per_fold_with_the_tiny_model(labels_root, tiny_artifact, tokenizer, tmp_path):
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps({"model_version": "x", "test": {}, "documents": {"test": {}}}))
    config = ReportConfig(folds=2, model_epochs=1, learning_curve_fractions=(0.0, 1.0), learning_curve_seeds=1,
                          learning_curve_model_seeds=1, top_errors=4, queue_size=3, max_explained_words=8, bootstrap=100)
    report = build_report(config, model_dir=tiny_artifact, evaluation_path=evaluation, root=labels_root,
                          make_model=lambda: (tokenizer, tiny_model()), progress=False)
    assert report["suspected_errors"]["scored_by"] == "model" and report["suspected_errors"]["folds"] == 2
    assert report["calibration"]["scored_by"] == "model"
    assert all(v["before"] and v["after"] for v in report["calibration"]["axes"].values())
    model_points = [p for p in report["learning_curve"]["points"] if p["learner"] == "model"]
    assert [(p["fraction"], p["coverage_documents"], p["passages"]) for p in model_points] == [(0.0, 0, 32), (1.0, 4, 68)]
    assert report["summary"]["source"] == "evaluation JSON"
    assert report["queue"]["rows"][0]["scored_by"] == "model"
    # One name for the fine-tuned model in the data, as in `framing evaluate`'s JSON; the page shows it as "fine-tuned".
    # The evaluation JSON holds no test figures: the report scores both test splits with the model and the baseline.
    assert [(c["split"], c["source"], {"model", "baseline"} <= set(c)) for c in report["where_it_errs"]["test_splits"]] == [
        ("coverage_test", "computed by the report", True), ("test", "computed by the report", True)]
    columns = report["summary"]["columns"]
    assert all(set(c["documents"]) == set(AXES) and set(c["calibration"]) == set(AXES) for c in columns)
    assert report["where_it_errs"]["test_breakdowns"]["scored_by"] == "model"
    json.dumps(report)  # the model's columns (documents, calibration) are JSON too
    from reports.html import render

    page = render(report)
    assert "<h4>fine-tuned</h4>" in page and "fine-tuned: risk_framing" in page and "Scored by the fine-tuned" in page
    assert 'teacher="none"' in page.replace("&#34;", '"')


def test_evaluation_figures_reach_the_summary_side_by_side_and_leave_the_confusion_matrices_alone(labels_root, tmp_path):
    import re

    import numpy as np

    from reports.html import render
    from training.evaluate import compare

    from labels.dataset import CorpusRow

    rows = [CorpusRow.from_names(id=str(i), doc_id="d", text="t", split="test", labels={"risk_framing": r, "motive_framing": m})
            for i, (r, m) in enumerate([("alarmist", "none"), ("neutral", "strategic"), ("downplaying", "transactional"), ("neutral", "none")])]
    axes = {"risk_framing": ["alarmist", "downplaying", "neutral"], "motive_framing": ["transactional", "strategic", "none"]}
    right = {a: np.eye(3)[[r.label_ids[a] for r in rows]] for a in axes}
    wrong = {a: np.roll(p, 1, axis=1) for a, p in right.items()}
    # Coverage test: the model right, the baseline wrong; authored test the other way round.
    test = {**compare(rows, right, wrong, axes), "calibration": {a: {"ece": 0.042, "n": 4} for a in axes},
            "breakdown": {"topic": []}}
    reference = {"split": "test", **compare(rows, wrong, right, axes)}
    assert test["model_minus_baseline"]["risk_framing"]["difference"] == pytest.approx(1.0)
    evaluation = tmp_path / "evaluation.json"
    spread = {"seeds": [13, 14], "summary": {a: {"minus_baseline": {"mean": -0.02, "min": -0.05, "max": 0.01}} for a in axes}}
    evaluation.write_text(json.dumps({"model_version": "x", "test_split": "coverage_test", "test": test, "reference_test": reference,
                                      "documents": {"test": {a: test["model"][a] for a in axes}}, "training_seeds": spread}))
    config = fast_config(folds=2, learning_curve_fractions=(1.0,), learning_curve_seeds=1, top_errors=3, max_explained_words=5)
    report = build_report(config, evaluation_path=evaluation, root=labels_root, progress=False)
    columns = report["summary"]["columns"]
    assert [(c["split"], c["source"]) for c in columns] == [("coverage_test", "evaluation JSON"), ("test", "evaluation JSON")]
    assert [set(c) & {"model", "baseline", "calibration", "breakdown"} for c in report["where_it_errs"]["test_splits"]] == [
        {"model", "baseline"}] * 2
    html = render(report)
    cells = lambda label, system: re.search(f"<td>{label}</td><td>{re.escape(system)}</td>((?:<td>[^<]*</td>)+)</tr>", html).group(1)  # noqa: E731
    # Per axis: real coverage, then authored, adjacent.
    assert re.findall(r"[+-]\d+\.\d points \[", cells("passages", "fine-tuned minus baseline (paired bootstrap)")) == [
        "+100.0 points [", "-100.0 points [", "+100.0 points [", "-100.0 points ["]
    assert cells("passages, 2 training seeds", "fine-tuned minus baseline (mean, range)") == (
        "<td>-2.0 points (min -5.0, max +1.0)</td><td>–</td>" * 2)
    assert cells("passages", "fine-tuned, expected calibration error") == "<td>0.042</td><td>–</td>" * 2
    assert cells("documents", "fine-tuned").count("<td>1.000 [") == 2 and cells("documents", "fine-tuned").count("<td>–</td>") == 2
