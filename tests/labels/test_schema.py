import re
from pathlib import Path

import pytest

from labels.schema import SchemaError, load_schema

REPO = Path(__file__).resolve().parents[2]


def test_axes_labels_and_their_order_come_from_the_file(tmp_path):
    import json

    from labels.schema import SCHEMA_PATH

    raw = json.loads(SCHEMA_PATH.read_text())
    raw["version"] = "9.9"
    raw["axes"] = raw["axes"][::-1]
    raw["axes"][0]["labels"] = raw["axes"][0]["labels"][::-1]
    (tmp_path / "schema.json").write_text(json.dumps(raw))
    schema = load_schema(tmp_path / "schema.json")
    assert schema.version == "9.9"
    assert schema.axis_names == tuple(a["name"] for a in raw["axes"])
    first = schema.axes[0]
    assert first.labels == tuple(lab["name"] for lab in raw["axes"][0]["labels"])  # ClassLabel ids follow this order
    assert first.index(first.labels[0]) == 0
    assert first.definitions == {lab["name"]: lab["definition"] for lab in raw["axes"][0]["labels"]}


def test_unknown_names_list_the_valid_choices():
    schema = load_schema()
    with pytest.raises(SchemaError, match="valid labels: alarmist, downplaying, neutral"):
        schema.axis("risk_framing").index("scary")
    with pytest.raises(SchemaError, match="valid axes: risk_framing, motive_framing"):
        schema.axis("tone")


def test_no_label_name_is_spelled_out_in_code():
    """Label names live in labels/schema.json; code reads them from there."""
    names = [lab for axis in load_schema().axes for lab in axis.labels if lab != "none"]
    pattern = re.compile(r"[\"'](%s)[\"']" % "|".join(names))
    offenders = [f"{path.relative_to(REPO)}:{i}" for folder in ("labels", "training", "inference", "serving", "reports", "framing")
                 for path in (REPO / folder).rglob("*.py")
                 for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_an_absent_label_must_be_one_of_the_axis_labels(tmp_path):
    import json

    from labels.schema import SCHEMA_PATH

    raw = json.loads(SCHEMA_PATH.read_text())
    raw["axes"][0]["absent_label"] = "no-such-label"
    (tmp_path / "schema.json").write_text(json.dumps(raw))
    with pytest.raises(SchemaError, match="absent_label 'no-such-label' is not one of its labels"):
        load_schema(tmp_path / "schema.json")
