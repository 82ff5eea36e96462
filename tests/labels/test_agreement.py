"""Agreement figures against values computed by hand."""

import pytest

from labels.agreement import cohen_kappa, pairwise_agreement, pooled_agreement
from labels.schema import load_schema

RISK, MOTIVE = (a.labels for a in load_schema().axes)
AXES = load_schema().axis_names


def test_cohen_kappa_by_hand():
    # observed 3/4; expected (2*1 + 2*3) / 16 = 1/2; kappa = (0.75 - 0.5) / 0.5
    assert cohen_kappa(["x", "x", "y", "y"], ["x", "y", "y", "y"]) == pytest.approx(0.5)
    assert cohen_kappa(["x", "y"], ["y", "x"]) == pytest.approx(-1.0)
    assert cohen_kappa(["x", "x"], ["x", "x"]) == 1.0
    with pytest.raises(ValueError, match="equal length"):
        cohen_kappa(["x"], [])


def record(*labels):
    return {"annotations": [{"annotator": who, AXES[0]: r, AXES[1]: m} for who, r, m in labels]}


def test_pairwise_and_pooled_agreement():
    records = [
        record(("a1", RISK[0], MOTIVE[0]), ("a2", RISK[0], MOTIVE[1])),
        record(("a1", RISK[1], MOTIVE[0]), ("a2", RISK[1], MOTIVE[0]), ("adjudicator", RISK[1], MOTIVE[0])),
        record(("b1", RISK[2], MOTIVE[2]), ("a2", RISK[0], MOTIVE[2])),
        record(("b1", RISK[2], MOTIVE[2])),
    ]
    rows = {(tuple(r["annotators"]), r["axis"]): r for r in pairwise_agreement(records, AXES)}
    assert rows[(("a1", "a2"), AXES[0])]["n"] == 2  # the adjudicator is not an annotator pair
    assert rows[(("a1", "a2"), AXES[0])]["agreement"] == 1.0
    assert rows[(("a1", "a2"), AXES[1])]["agreement"] == 0.5
    assert rows[(("a2", "b1"), AXES[0])]["agreement"] == 0.0
    pooled = {r["axis"]: r for r in pooled_agreement(records, AXES)}
    assert pooled[AXES[0]]["n"] == 3 and pooled[AXES[0]]["agreement"] == pytest.approx(2 / 3)
    assert pooled[AXES[1]]["agreement"] == pytest.approx(2 / 3)
    # one pair only: pooled is that pair's figures
    only = pooled_agreement(records[:2], AXES)
    assert [r["n"] for r in only] == [2, 2] and only[0]["annotators"] == ["all pairs", "pooled"]
    assert pooled_agreement(records[3:], AXES) == []
