import json

import pytest

from labels.corpus import build
from labels.schema import load_schema
from labels.validate import check_documents, check_passages, near_duplicates, validate

from .test_corpus import _ann, make_root

SCHEMA = load_schema()


def rec(i, text=None, **kw):
    base = {"id": f"p{i}", "doc_id": f"d{i}", "split": "train", "source_kind": "authored",
            "text": text or f"Passage number {i} talks about {'shells ' * (i % 3)}artillery, fuel and troops near the border town {i}.",
            "annotations": [{"annotator": "a", "risk_framing": "neutral", "motive_framing": "none"}],
            "gold": {"risk_framing": "neutral", "motive_framing": "none"}}
    base.update(kw)
    return base


def problems(records):
    return [str(p) for p in check_passages(list(enumerate(records, 1)), "passages.jsonl", SCHEMA)]


def test_a_clean_set_has_no_problems():
    assert problems([rec(1), rec(2, "Something entirely different is said here about diplomacy in Beijing and Moscow.")]) == []


@pytest.mark.parametrize("records, expected", [
    ([rec(1, text="   ")], "passages.jsonl:1: passage p1 has empty or whitespace-only text"),
    ([rec(1, text="Too short.")], "has 2 words; allowed"),
    ([rec(1, text="word " * 400)], "has 400 words; allowed"),
    ([rec(1), rec(2, text=rec(1)["text"])], "passages.jsonl:2: passage p2 (train) is an exact duplicate of line 1"),
    ([rec(1, text="Officials said about 11,000 soldiers had reached the Kursk region by early November, a month after the first reports."),
      rec(2, text="Officials said about 11,000 soldiers had reached the Kursk region by early November, a month after the earliest reports.", split="test", doc_id="d9")],
     "near duplicate"),
    ([rec(1, doc_id="d1"), rec(2, doc_id="d1", split="dev", text="A different passage about oil barrels and rail cars moving east.")],
     "document d1 is in split 'dev' here but 'train' at line 1"),
    ([rec(1, source_kind="seed", split="seed", annotations=[], gold=None)], "passage p1 (seed) has no annotation"),
    ([rec(1, gold=None, annotations=[{"annotator": "a", "risk_framing": "alarmist", "motive_framing": "none"},
                                     {"annotator": "b", "risk_framing": "neutral", "motive_framing": "none"}])],
     "annotators disagree (a=alarmist/none, b=neutral/none); add an 'adjudicator' annotation"),
    ([rec(1, split="seed")], "only seed articles belong to split 'seed'"),
    ([{"id": "p1"}], "missing field(s) doc_id, text"),
])
def test_each_defect_is_reported_with_file_and_line(records, expected):
    found = problems(records)
    assert any(expected in p for p in found), found


def test_near_duplicates_ignores_merely_similar_passages():
    a = "North Korea sent shells to Russia in exchange for oil and food, officials said on Monday."
    b = "China bought discounted Russian gas while denying that it supplies weapons to Moscow."
    assert near_duplicates([a, b]) == []
    assert near_duplicates([a, a.upper()]) == [(0, 1, 1.0)]


def test_documents_need_gold_labels():
    found = [str(p) for p in check_documents([(1, {"id": "d1", "annotations": []})], "documents.jsonl", SCHEMA)]
    assert found == ["documents.jsonl:1: document d1 has no document-level annotation"]


def test_validate_flags_a_stale_build_and_passes_a_complete_corpus(tmp_path):
    root = make_root(tmp_path)
    passages, _ = build(root)
    (root / "annotations" / "a.jsonl").write_text("".join(json.dumps(a) + "\n" for a in [
        _ann(passages[0]["id"], "a"), _ann(passages[1]["id"], "a", "downplaying"),
        {"doc_id": "d1", "annotator": "a", "risk_framing": "downplaying", "motive_framing": "none"}]))
    assert any("out of date" in str(p) for p in validate(root))
    build(root)
    assert validate(root) == []
    (root / "corpus" / "passages.jsonl").write_text("{not json\n")
    assert "passages.jsonl:1: invalid JSON" in str(validate(root)[0])


def test_the_shipped_corpus_is_valid():
    problems = validate()
    assert problems == [], "\n".join(map(str, problems[:20]))
