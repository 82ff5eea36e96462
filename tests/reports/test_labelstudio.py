import json
import shutil
import xml.etree.ElementTree as ET

import pytest

from labels.corpus import load_annotations
from labels.schema import load_schema
from reports.labelstudio import LabelStudioError, import_export, labeling_config

from .fixtures import AXES, MOTIVE, RISK, UNANNOTATED_DOC


def test_labeling_config_offers_exactly_the_schema_labels():
    root = ET.fromstring(labeling_config())
    blocks = {c.get("name"): [x.get("value") for x in c.findall("Choice")] for c in root.iter("Choices")}
    assert {a: blocks[a] for a in AXES} == AXES
    assert blocks["hard_cases"] == list(load_schema().hard_case_tags)


def test_exported_tasks_carry_the_current_label_as_pre_annotation(fast_report):
    report, out = fast_report
    tasks = json.loads((out / "labelstudio_tasks.json").read_text())
    errors, queue = report["suspected_errors"]["rows"], report["queue"]["rows"]
    assert len(tasks) == len({e["passage_id"] for e in errors}) + len(queue)
    first = tasks[0]
    gold = report["suspected_errors"]["current_gold"][first["data"]["passage_id"]]
    result = {r["from_name"]: r["value"]["choices"][0] for r in first["predictions"][0]["result"]}
    assert result == gold and first["data"]["review"] == "suspected label error"
    last = tasks[-1]
    assert last["data"]["review"] == "annotate next"
    assert {r["from_name"]: r["value"]["choices"][0] for r in last["predictions"][0]["result"]} == {a: queue[-1][a]["suggested"] for a in AXES}


@pytest.fixture
def root(labels_root, tmp_path):
    copy = tmp_path / "labels"
    shutil.copytree(labels_root, copy)
    return copy


def _export(tmp_path, tasks):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    return path


def _task(pid, risk, motive, who=7, tags=()):
    result = [{"from_name": RISK, "to_name": "text", "type": "choices", "value": {"choices": [risk]}},
              {"from_name": MOTIVE, "to_name": "text", "type": "choices", "value": {"choices": [motive]}}]
    if tags:
        result.append({"from_name": "hard_cases", "to_name": "text", "type": "choices", "value": {"choices": list(tags)}})
    return {"id": 1, "data": {"text": "t", "passage_id": pid}, "annotations": [{"completed_by": who, "result": result, "was_cancelled": False}]}


def _unannotated(root):
    return [p for p in json.loads("[" + ",".join((root / "corpus" / "passages.jsonl").read_text().splitlines()) + "]")
            if not p["annotations"] and p["doc_id"] == UNANNOTATED_DOC]


def test_import_writes_validated_annotations_with_the_annotator(root, tmp_path):
    pid = _unannotated(root)[0]["id"]
    export = _export(tmp_path, [_task(pid, AXES[RISK][1], AXES[MOTIVE][0], who={"email": "kim@example.org"}, tags=["negation"])])
    target, records, warnings = import_export(export, "batch-g.kim", root=root)
    assert target == root / "annotations" / "batch-g.kim.jsonl"
    assert records == [{"passage_id": pid, "annotator": "kim", RISK: AXES[RISK][1], MOTIVE: AXES[MOTIVE][0], "hard_cases": ["negation"]}]
    [ann] = load_annotations(root)[("passage_id", pid)]
    assert ann.annotator == "kim" and ann.labels == {RISK: AXES[RISK][1], MOTIVE: AXES[MOTIVE][0]}
    assert not [w for w in warnings if "disagree" in w]  # (the fixture's passages are near duplicates: those warnings stay)


def test_import_rejects_bad_labels_unknown_passages_and_repeat_annotators(root, tmp_path):
    pid = _unannotated(root)[0]["id"]
    with pytest.raises(LabelStudioError, match=f"task 1: {RISK} is 'panicky'"):
        import_export(_export(tmp_path, [_task(pid, "panicky", AXES[MOTIVE][0])]), "bad", root=root)
    with pytest.raises(LabelStudioError, match="not in the corpus"):
        import_export(_export(tmp_path, [_task("nope-123", AXES[RISK][0], AXES[MOTIVE][0])]), "bad", root=root)
    annotated = json.loads((root / "annotations" / "a.jsonl").read_text().splitlines()[0])["passage_id"]
    with pytest.raises(LabelStudioError, match="a already annotated"):
        import_export(_export(tmp_path, [_task(annotated, AXES[RISK][0], AXES[MOTIVE][0])]), "again", root=root, annotator="a")
    assert sorted(p.name for p in (root / "annotations").iterdir()) == ["a.jsonl", "b.jsonl"]  # nothing left behind


def test_import_reports_new_disagreements_from_the_validator(root, tmp_path):
    lines = [json.loads(x) for x in (root / "annotations" / "a.jsonl").read_text().splitlines()]
    line = [x for x in lines if "passage_id" in x][-4]  # a passage only annotator a labelled
    other = AXES[RISK][(AXES[RISK].index(line[RISK]) + 1) % 3]
    _, _, warnings = import_export(_export(tmp_path, [_task(line["passage_id"], other, line[MOTIVE])]), "second", root=root, annotator="c")
    disagree = [w for w in warnings if "annotators disagree" in w]
    assert len(disagree) == 1 and line["passage_id"] in disagree[0] and "add an 'adjudicator' annotation" in disagree[0]


def test_cli_import(root, tmp_path, capsys):
    from framing.cli import main

    pid = _unannotated(root)[1]["id"]
    export = _export(tmp_path, [_task(pid, AXES[RISK][2], AXES[MOTIVE][2])])
    assert main(["import-labelstudio", str(export), "--name", "ls", "--annotator", "lee", "--root", str(root)]) == 0
    assert "imported 1 annotation" in capsys.readouterr().out
    assert main(["import-labelstudio", str(export), "--name", "ls", "--root", str(root)]) == 2
    assert "already exists" in capsys.readouterr().err
