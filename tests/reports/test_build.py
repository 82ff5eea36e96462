import csv
import json

import pytest

from reports.build import ReportInputError, build_report
from reports.config import ReportConfig, ReportConfigError, fast_config

from ..conftest import tiny_model
from .fixtures import AXES, UNANNOTATED


def test_config_is_validated():
    with pytest.raises(ReportConfigError, match="folds"):
        ReportConfig(folds=1)
    with pytest.raises(ReportConfigError, match="learning_curve_fractions"):
        ReportConfig(learning_curve_fractions=(0.0, 1.0))
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
    points = report["learning_curve"]["points"]
    assert sorted({p["fraction"] for p in points}) == [0.25, 0.5, 1.0] and len(points) == 9
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
    config = ReportConfig(folds=2, model_epochs=1, learning_curve_fractions=(0.5, 1.0), learning_curve_seeds=1,
                          learning_curve_model_seeds=1, top_errors=4, queue_size=3, max_explained_words=8, bootstrap=100)
    report = build_report(config, model_dir=tiny_artifact, evaluation_path=evaluation, root=labels_root,
                          make_model=lambda: (tokenizer, tiny_model()), progress=False)
    assert report["suspected_errors"]["scored_by"] == "model" and report["suspected_errors"]["folds"] == 2
    assert report["calibration"]["scored_by"] == "model"
    assert all(v["before"] and v["after"] for v in report["calibration"]["axes"].values())
    assert {p["learner"] for p in report["learning_curve"]["points"]} == {"baseline", "model"}
    assert report["summary"]["source"] == "evaluation JSON"
    assert report["queue"]["rows"][0]["scored_by"] == "model"
    # One name for the fine-tuned model in the data, as in `framing evaluate`'s JSON; the page shows it as "fine-tuned".
    assert set(report["where_it_errs"]["test"]) == {"model", "baseline"}
    from reports.html import render

    page = render(report)
    assert "Test split, fine-tuned" in page and "fine-tuned: risk_framing" in page and "Scored by the fine-tuned" in page


def test_evaluation_differences_reach_the_summary_and_leave_the_confusion_matrices_alone(labels_root, tmp_path):
    import numpy as np

    from reports.html import render
    from training.evaluate import compare

    from labels.dataset import CorpusRow

    rows = [CorpusRow.from_names(id=str(i), doc_id="d", text="t", split="test", labels={"risk_framing": r, "motive_framing": m})
            for i, (r, m) in enumerate([("alarmist", "none"), ("neutral", "strategic"), ("downplaying", "transactional"), ("neutral", "none")])]
    axes = {"risk_framing": ["alarmist", "downplaying", "neutral"], "motive_framing": ["transactional", "strategic", "none"]}
    right = {a: np.eye(3)[[r.label_ids[a] for r in rows]] for a in axes}
    wrong = {a: np.roll(p, 1, axis=1) for a, p in right.items()}
    test = compare(rows, right, wrong, axes)
    assert test["model_minus_baseline"]["risk_framing"]["difference"] == pytest.approx(1.0)
    evaluation = tmp_path / "evaluation.json"
    spread = {"seeds": [13, 14], "summary": {a: {"minus_baseline": {"mean": -0.02, "min": -0.05, "max": 0.01}} for a in axes}}
    evaluation.write_text(json.dumps({"model_version": "x", "test": test, "documents": {"test": {}}, "training_seeds": spread}))
    config = fast_config(folds=2, learning_curve_fractions=(1.0,), learning_curve_seeds=1, top_errors=3, max_explained_words=5)
    report = build_report(config, evaluation_path=evaluation, root=labels_root, progress=False)
    assert set(report["where_it_errs"]["test"]) == {"model", "baseline"}
    html = render(report)
    assert "fine-tuned minus baseline (paired bootstrap)" in html and "+100.0 points" in html
    assert "test passages, 2 training seeds" in html and "-2.0 points (min -5.0, max +1.0)" in html
