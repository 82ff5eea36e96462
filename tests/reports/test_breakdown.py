import numpy as np
import pytest

from labels.dataset import CorpusRow
from reports.breakdown import NO_TAG, breakdowns, joint_table

from .fixtures import AXES, MOTIVE, RISK


def _row(i, r, m, topic, tags):
    return CorpusRow.from_names(id=str(i), doc_id="d", text="t", split="train", topic=topic, outlet_style="wire",
                                hard_cases=tuple(tags), labels={RISK: AXES[RISK][r], MOTIVE: AXES[MOTIVE][m]})


ROWS = [_row(0, 0, 0, "x", ["negation"]), _row(1, 0, 0, "x", []), _row(2, 1, 2, "y", ["negation", "irony"]), _row(3, 2, 1, "y", [])]
# Predictions: row 1 wrong on risk, row 2 wrong on motive.
PRED = {RISK: np.eye(3)[[0, 2, 1, 2]], MOTIVE: np.eye(3)[[0, 0, 0, 1]]}


def test_breakdowns_count_each_tag_and_score_each_group():
    b = breakdowns(ROWS, PRED, AXES)
    topic = {t["value"]: t for t in b["topic"]}
    assert topic["x"]["n"] == 2 and topic["x"][RISK]["accuracy"] == 0.5 and topic["x"][MOTIVE]["accuracy"] == 1.0
    tags = {t["value"]: t for t in b["hard_cases"]}
    assert tags["negation"]["n"] == 2 and tags[NO_TAG]["n"] == 2 and tags["irony"]["n"] == 1
    assert tags["irony"][MOTIVE]["accuracy"] == 0.0


def test_joint_table_reports_each_gold_combination():
    joint = {(j[RISK], j[MOTIVE]): j for j in joint_table(ROWS, PRED, AXES)}
    assert len(joint) == 9
    cell = joint[(AXES[RISK][0], AXES[MOTIVE][0])]
    assert cell["n"] == 2 and cell[f"{RISK}_correct"] == 0.5 and cell["both_correct"] == 0.5
    assert cell["commonest_error"] == {RISK: AXES[RISK][2], MOTIVE: AXES[MOTIVE][0], "n": 1}
    assert joint[(AXES[RISK][2], AXES[MOTIVE][0])]["n"] == 0
    with pytest.raises(ValueError, match="exactly two axes"):
        joint_table(ROWS, PRED, {RISK: AXES[RISK]})
