import pytest

from labels.agreement import cohen_kappa
from reports.agreement import agreement_section, krippendorff_alpha_nominal

from .fixtures import AXES, MOTIVE, RISK


def test_alpha_and_kappa_match_a_hand_computed_example():
    a = ["x", "x", "y", "y"]
    b = ["x", "y", "y", "y"]
    # Coincidences: o_xx = 2, o_xy = o_yx = 1, o_yy = 4; n_x = 3, n_y = 5, n = 8.
    # alpha = 1 - (n - 1) * (o_xy + o_yx) / (2 * n_x * n_y) = 1 - 7 * 2 / 30
    assert krippendorff_alpha_nominal([list(p) for p in zip(a, b)]) == pytest.approx(1 - 14 / 30)
    # kappa: observed 3/4, expected (2*1 + 2*3) / 16 = 1/2
    assert cohen_kappa(a, b) == pytest.approx(0.5)


def test_alpha_matches_krippendorffs_published_example_with_missing_values():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers, 12 units, nominal alpha 0.743.
    obs = ["1 2 3 3 2 1 4 1 2 . . .", "1 2 3 3 2 2 4 1 2 5 . 3", ". 3 3 3 2 3 4 2 2 5 1 .", "1 2 3 3 2 4 4 1 2 5 1 ."]
    grid = [row.split() for row in obs]
    units = [[grid[o][u] for o in range(4) if grid[o][u] != "."] for u in range(12)]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)


def test_alpha_edge_cases():
    assert krippendorff_alpha_nominal([["x"], ["y"]]) is None  # nothing pairable
    assert krippendorff_alpha_nominal([["x", "x"], ["x", "x"]]) == 1.0
    assert krippendorff_alpha_nominal([["x", "y"], ["y", "x"]]) < 0  # systematic disagreement


def _ann(who, r, m):
    return {"annotator": who, RISK: AXES[RISK][r], MOTIVE: AXES[MOTIVE][m], "hard_cases": [], "note": ""}


def test_agreement_section_excludes_the_adjudicator_and_lists_disagreements():
    passages = [
        {"id": "p1", "doc_id": "d", "text": "one", "annotations": [_ann("a", 0, 0), _ann("b", 0, 0)]},
        {"id": "p2", "doc_id": "d", "text": "two", "annotations": [_ann("a", 0, 1), _ann("b", 1, 1), _ann("adjudicator", 1, 1)]},
        {"id": "p3", "doc_id": "d", "text": "three", "annotations": [_ann("a", 2, 2), _ann("b", 2, 0)]},
        {"id": "p4", "doc_id": "d", "text": "four", "annotations": [_ann("a", 1, 2)]},
    ]
    s = agreement_section(passages, [], tuple(AXES))["passages"]
    assert s["multiply_annotated"] == 3
    pair = {p["axis"]: p for p in s["pairs"]}
    assert pair[RISK]["annotators"] == ["a", "b"] and pair[RISK]["n"] == 3
    assert pair[RISK]["agreement"] == pytest.approx(2 / 3)
    assert [(d["id"], d["axes"]) for d in s["disagreements"]] == [("p2", [RISK]), ("p3", [MOTIVE])]
    assert s["disagreements"][0]["adjudicated"] == {RISK: AXES[RISK][1], MOTIVE: AXES[MOTIVE][1]}
    assert s["disagreements"][1]["adjudicated"] is None
    # risk units: (0,0), (0,1), (2,2): o_00 = 2, o_01 = o_10 = 1, o_22 = 2; n_0 = 3, n_1 = 1, n_2 = 2, n = 6
    expected_risk = 1 - 5 * 2 / (2 * (3 * 1 + 3 * 2 + 1 * 2))
    assert s["alpha"][RISK] == pytest.approx(expected_risk)
