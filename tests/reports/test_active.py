import json

import numpy as np
import pytest

from reports.active import UnlabelledFileError, annotation_queue, load_unlabelled, spread_queue, uncertainty

from .fixtures import AXES, MOTIVE, RISK


def test_uncertainty_takes_the_least_certain_axis():
    probs = {RISK: np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25]]),
             MOTIVE: np.array([[0.5, 0.45, 0.05], [1.0, 0.0, 0.0]])}
    np.testing.assert_allclose(uncertainty(probs, "margin"), [1 - 0.05, 1 - 0.05])
    uniform = {RISK: np.full((1, 3), 1 / 3), MOTIVE: np.array([[1.0, 0.0, 0.0]])}
    assert uncertainty(uniform, "entropy")[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="margin or entropy"):
        uncertainty(probs, "variance")


def test_queue_spreads_across_documents_before_taking_more_from_one():
    scores = np.array([0.99, 0.98, 0.97, 0.96, 0.5, 0.4, 0.3])
    docs = ["a", "a", "a", "a", "b", "c", "c"]
    assert spread_queue(scores, docs, size=3, per_document=1) == [0, 4, 5]
    # Once every document has given one, the cap rises by one: a and c give their second (b has no more).
    assert spread_queue(scores, docs, size=5, per_document=1) == [0, 1, 4, 5, 6]
    assert spread_queue(scores, docs, size=10, per_document=2) == [0, 1, 2, 3, 4, 5, 6]


def test_annotation_queue_suggests_the_most_probable_labels():
    rows = [{"id": f"p{i}", "doc_id": f"d{i}", "text": f"text {i}"} for i in range(3)]
    probs = {RISK: np.array([[0.34, 0.33, 0.33], [0.9, 0.05, 0.05], [0.1, 0.5, 0.4]]),
             MOTIVE: np.array([[0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.9, 0.05, 0.05]])}
    q = annotation_queue(rows, probs, AXES, size=2, per_document=1, source="baseline")
    assert [x["passage_id"] for x in q] == ["p0", "p2"]
    assert q[0][RISK]["suggested"] == AXES[RISK][0] and q[1][RISK]["suggested"] == AXES[RISK][1]


def test_load_unlabelled_reads_jsonl_and_csv_and_names_bad_lines(tmp_path):
    f = tmp_path / "new.jsonl"
    f.write_text(json.dumps({"text": "A passage.", "doc_id": "x"}) + "\n\n" + json.dumps({"id": "q", "text": "Another."}) + "\n")
    rows = load_unlabelled(f)
    assert rows == [{"id": "new-1", "doc_id": "x", "text": "A passage."}, {"id": "q", "doc_id": "q", "text": "Another."}]
    c = tmp_path / "new.csv"
    c.write_text("id,text\na,Hello there.\nb,\n")
    with pytest.raises(UnlabelledFileError, match=r"new.csv:3: field 'text'"):
        load_unlabelled(c)
    other = tmp_path / "x.parquet"
    other.write_text("")
    with pytest.raises(UnlabelledFileError, match="use .jsonl or .csv"):
        load_unlabelled(other)
