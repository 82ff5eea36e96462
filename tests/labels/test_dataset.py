import json

from datasets import ClassLabel

from labels.corpus import build
from labels.dataset import CorpusRow, corpus_rows, gold_ids, load_corpus
from labels.schema import load_schema

from .test_corpus import _ann, make_root


def _one_labelled_passage(tmp_path, risk: str, motive: str):
    """A built labels folder whose first passage alone is annotated; returns (root, passages)."""
    root = make_root(tmp_path)
    passages, _ = build(root)
    (root / "annotations" / "a.jsonl").write_text(json.dumps(_ann(passages[0]["id"], "a", risk, motive)) + "\n")
    build(root)
    return root, passages


def test_load_corpus_gives_classlabel_features_from_the_schema(tmp_path):
    root, _ = _one_labelled_passage(tmp_path, "alarmist", "strategic")
    ds = load_corpus(root)
    assert list(ds) == ["seed"] and len(ds["seed"]) == 1  # the unlabelled passage is left out
    for axis in load_schema().axes:
        feature = ds["seed"].features[axis.name]
        assert isinstance(feature, ClassLabel) and feature.names == list(axis.labels)
    row = ds["seed"][0]
    assert ds["seed"].features["risk_framing"].int2str(row["risk_framing"]) == "alarmist"
    assert ds["seed"].features["motive_framing"].int2str(row["motive_framing"]) == "strategic"
    assert row["doc_id"] == "d1" and row["split"] == "seed"


def test_corpus_rows_carry_label_names_and_ids_from_the_same_classlabel(tmp_path):
    root, passages = _one_labelled_passage(tmp_path, "downplaying", "none")
    corpus = load_corpus(root)
    rows = corpus_rows(corpus, ("seed", "no-such-split"))
    assert len(rows) == 1 and isinstance(rows[0], CorpusRow)
    row = rows[0]
    assert row.labels == {"risk_framing": "downplaying", "motive_framing": "none"}
    for axis in load_schema().axes:
        assert row.label_ids[axis.name] == axis.labels.index(row.labels[axis.name]) == corpus["seed"][0][axis.name]
    assert (row.id, row.doc_id, row.split) == (passages[0]["id"], "d1", "seed")
    assert corpus_rows(corpus, ("seed",), exclude_docs=("d1",)) == []
    assert gold_ids(rows, ["risk_framing"])["risk_framing"].tolist() == [row.label_ids["risk_framing"]]
    moved = row.with_label("risk_framing", "alarmist")
    assert moved.labels["risk_framing"] == "alarmist" and moved.label_ids["risk_framing"] == 0 and moved.text == row.text
