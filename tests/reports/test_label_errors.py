import numpy as np
import pytest

from labels.dataset import CorpusRow
from reports.folds import baseline_oof, document_folds
from reports.label_errors import (class_thresholds, confident_label_issues, normalized_margin, self_confidence,
                                  suspected_errors)

from .fixtures import AXES, RISK, MOTIVE, keyword_rows

PROBS = np.array([[0.8, 0.1, 0.1],
                  [0.1, 0.7, 0.2],
                  [0.6, 0.3, 0.1],
                  [0.2, 0.2, 0.6],
                  [0.9, 0.05, 0.05]])
GIVEN = np.array([0, 1, 1, 2, 2])  # rows 2 and 4 look mislabelled


def test_quality_scores_match_hand_computation():
    np.testing.assert_allclose(self_confidence(PROBS, GIVEN), [0.8, 0.7, 0.3, 0.6, 0.05])
    # normalized margin: (p[given] - max other + 1) / 2
    np.testing.assert_allclose(normalized_margin(PROBS, GIVEN), [(0.7 + 1) / 2, (0.5 + 1) / 2, (-0.3 + 1) / 2, (0.4 + 1) / 2, (-0.85 + 1) / 2])


def test_confident_joint_flags_only_confident_off_diagonal_passages():
    # Thresholds: class 0 from row 0 (0.8); class 1 from rows 1, 2 (0.5); class 2 from rows 3, 4 (0.325).
    np.testing.assert_allclose(class_thresholds(PROBS, GIVEN), [0.8, 0.5, 0.325])
    # Row 2: p0 = 0.6 < 0.8 and p1 = 0.3 < 0.5, so nothing is confident: not flagged despite its low quality.
    # Row 4: p0 = 0.9 >= 0.8, so it confidently belongs to class 0 though given class 2.
    assert confident_label_issues(PROBS, GIVEN).tolist() == [False, False, False, False, True]
    # Ranked: the flagged row first, then the rest by ascending self-confidence (row 2 before row 3).
    rows = [CorpusRow.from_names(id=f"p{i}", doc_id="d", text="t", split="train",
                                 labels={RISK: AXES[RISK][g], MOTIVE: AXES[MOTIVE][0]}) for i, g in enumerate(GIVEN)]
    probs = {RISK: PROBS, MOTIVE: np.tile([1.0, 0.0, 0.0], (len(GIVEN), 1))}
    ranked = suspected_errors(rows, probs, AXES, top=3)
    assert [(e["passage_id"], e["flagged"]) for e in ranked] == [("p4", True), ("p2", False), ("p3", False)]


def test_document_folds_keep_documents_whole_and_cover_every_row():
    rows = keyword_rows(n_docs=7, per_doc=3)
    folds = document_folds(rows, 3, seed=1)
    assert sorted(i for f in folds for i in f) == list(range(len(rows)))
    for f in folds:
        docs = {rows[i].doc_id for i in f}
        assert all(rows[j].doc_id not in docs for g in folds if g is not f for j in g)
    assert max(map(len, folds)) - min(map(len, folds)) <= 3
    with pytest.raises(ValueError, match="at least 2 documents"):
        document_folds(keyword_rows(n_docs=1), 3)


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_planted_label_flips_rank_at_the_top(method):
    rows = keyword_rows(n_docs=14, per_doc=6, seed=3)
    planted = {3: RISK, 17: RISK, 40: MOTIVE, 66: MOTIVE}
    for i, axis in planted.items():
        labels = AXES[axis]
        rows[i] = rows[i].with_label(axis, labels[(rows[i].label_ids[axis] + 1) % len(labels)])
    probs, folds = baseline_oof(rows, AXES, k=4, seed=0, progress=False)
    assert len(folds) == 4 and not any(np.isnan(p).any() for p in probs.values())
    top = suspected_errors(rows, probs, AXES, top=len(planted), method=method, source="baseline")
    assert {(t["passage_id"], t["axis"]) for t in top} == {(rows[i].id, a) for i, a in planted.items()}
    assert all(t["given"] != t["predicted"] for t in top)
    assert [t["rank"] for t in top] == [1, 2, 3, 4]
    # The confident joint raises no false alarm: every flagged label is a planted flip.
    everything = suspected_errors(rows, probs, AXES, top=2 * len(rows), method=method)
    flagged = {(t["passage_id"], t["axis"]) for t in everything if t["flagged"]}
    assert flagged and flagged <= {(rows[i].id, a) for i, a in planted.items()}
