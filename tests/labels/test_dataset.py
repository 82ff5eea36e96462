import json

from datasets import ClassLabel

from labels.corpus import build
from labels.dataset import load_corpus
from labels.schema import load_schema

from .test_corpus import _ann, make_root


def test_load_corpus_gives_classlabel_features_from_the_schema(tmp_path):
    root = make_root(tmp_path)
    passages, _ = build(root)
    (root / "annotations" / "a.jsonl").write_text(json.dumps(_ann(passages[0]["id"], "a", "alarmist", "strategic")) + "\n")
    build(root)
    ds = load_corpus(root)
    assert list(ds) == ["seed"] and len(ds["seed"]) == 1  # the unlabelled passage is left out
    for axis in load_schema().axes:
        feature = ds["seed"].features[axis.name]
        assert isinstance(feature, ClassLabel) and feature.names == list(axis.labels)
    row = ds["seed"][0]
    assert ds["seed"].features["risk_framing"].int2str(row["risk_framing"]) == "alarmist"
    assert ds["seed"].features["motive_framing"].int2str(row["motive_framing"]) == "strategic"
    assert row["doc_id"] == "d1" and row["split"] == "seed"
