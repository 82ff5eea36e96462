import re
from pathlib import Path

import pytest

from labels.schema import SchemaError, load_schema

REPO = Path(__file__).resolve().parents[2]


def test_schema_has_two_axes_with_ordered_labels_and_a_version():
    schema = load_schema()
    assert schema.axis_names == ("risk_framing", "motive_framing")
    assert schema.axis("risk_framing").labels == ("alarmist", "downplaying", "neutral")
    assert schema.axis("motive_framing").labels == ("transactional", "strategic", "none")
    assert schema.version and all(schema.axis(a).definitions for a in schema.axis_names)


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
    offenders = [f"{path.relative_to(REPO)}:{i}" for folder in ("labels", "training", "serving", "framing")
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
