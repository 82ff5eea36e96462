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


def annotated_root(tmp_path):
    """A one-document corpus with every passage and the document annotated; returns (root, passages)."""
    root = make_root(tmp_path)
    passages, _ = build(root)
    (root / "annotations" / "a.jsonl").write_text("".join(json.dumps(a) + "\n" for a in [
        _ann(passages[0]["id"], "a"), _ann(passages[1]["id"], "a", "downplaying"),
        {"doc_id": "d1", "annotator": "a", "risk_framing": "downplaying", "motive_framing": "none"}]))
    return root, passages


def test_validate_flags_a_stale_build_and_passes_a_complete_corpus(tmp_path):
    root, passages = annotated_root(tmp_path)
    assert any("out of date" in str(p) for p in validate(root))
    build(root)
    assert validate(root) == []
    (root / "corpus" / "passages.jsonl").write_text("{not json\n")
    assert "passages.jsonl:1: invalid JSON" in str(validate(root)[0])


def test_the_shipped_corpus_is_valid():
    problems = validate()
    assert problems == [], "\n".join(map(str, problems[:20]))


COVERAGE_TEXT = ("Seoul weighs its options after troop reports\n\n"
                 "South Korea's spy agency told lawmakers on Tuesday that about 1,500 soldiers had already left by ship.\n\n"
                 "Officials in the capital said a wider war remained unlikely, though they were watching the border closely.\n")


def coverage_root(tmp_path, docs: dict[str, dict]) -> "Path":
    """A labels folder holding only coverage documents: {doc_id: {"text": ..., **metadata}}."""
    root = tmp_path / "labels"
    src = root / "sources" / "coverage"
    src.mkdir(parents=True)
    (root / "annotations").mkdir()
    for doc_id, spec in docs.items():
        spec = dict(spec)
        (src / f"{doc_id}.txt").write_text(spec.pop("text", COVERAGE_TEXT), encoding="utf-8")
        meta = {"doc_id": doc_id, "title": "t", "outlet_style": "wire", "topic": "nk_troops_ukraine", "source_kind": "coverage",
                "split": "train", **spec}
        (src / f"{doc_id}.json").write_text(json.dumps({k: v for k, v in meta.items() if v is not None}))
    return root


def source_problems(root, held_out=frozenset()):
    from labels.corpus import load_documents
    from labels.validate import check_sources
    return [str(p) for p in check_sources(load_documents(root), set(held_out))]


@pytest.mark.parametrize("spelling", [
    "https://www.example.org/news/kursk-troops/", "http://example.org/news/kursk-troops", "example.org/news/kursk-troops",
    "HTTPS://WWW.Example.org/news/kursk-troops", "https://example.org/news/kursk-troops#top",
])
def test_a_held_out_address_is_refused_in_every_spelling(tmp_path, spelling):
    from labels.validate import load_held_out
    listed = tmp_path / "held-out.txt"
    listed.write_text("# comment line\nhttps://example.org/news/kursk-troops\n")
    root = coverage_root(tmp_path, {"cov-x001": {"source_url": spelling}})
    found = source_problems(root, load_held_out([listed]))
    assert found == [f"sources/coverage/cov-x001.json: source_url {spelling} is held out for independent evaluation; paraphrase another page"]


def test_an_address_not_held_out_passes(tmp_path):
    root = coverage_root(tmp_path, {"cov-x001": {"source_url": "https://example.org/news/other-story"}})
    assert source_problems(root, {"example.org/news/kursk-troops"}) == []


def test_a_coverage_document_without_source_url_is_refused(tmp_path):
    root = coverage_root(tmp_path, {"cov-x001": {"source_url": None}, "cov-x002": {"source_url": "  ", "text": "Other words entirely here.\n"}})
    assert source_problems(root) == [
        "sources/coverage/cov-x001.json: coverage document has no source_url; add the address of the page it paraphrases",
        "sources/coverage/cov-x002.json: coverage document has no source_url; add the address of the page it paraphrases",
    ]


def test_a_coverage_document_without_a_frozen_split_is_reported(tmp_path):
    root = coverage_root(tmp_path, {"cov-x001": {"source_url": "https://a.org/1", "split": None}})
    assert source_problems(root) == ["sources/coverage/cov-x001.json: coverage document has no split yet; run `framing corpus splits` to assign and freeze one"]


def test_the_same_page_twice_is_refused(tmp_path):
    other = "A completely different report about drones and factories in Tatarstan, written for this test.\n"
    root = coverage_root(tmp_path, {"cov-x001": {"source_url": "https://a.org/x"}, "cov-x002": {"source_url": "http://www.a.org/x/", "text": other}})
    assert source_problems(root) == ["sources/coverage/cov-x002.json: source_url http://www.a.org/x/ is already the source of sources/coverage/cov-x001.txt"]


def test_a_twelve_word_run_shared_with_another_document_is_found(tmp_path):
    twelve = "one two three four five six seven eight nine ten eleven twelve"
    root = coverage_root(tmp_path, {
        "cov-x001": {"source_url": "https://a.org/1", "text": f"Intro words here. {twelve} and then more.\n"},
        "cov-x002": {"source_url": "https://a.org/2", "text": f"Different start, then {twelve.upper()}, different end.\n"},
        "cov-x003": {"source_url": "https://a.org/3", "text": f"Only eleven shared: {twelve.rsplit(' ', 1)[0]} then thirteen fourteen.\n"},
    })
    assert source_problems(root) == [
        f'sources/coverage/cov-x002.txt: shares 12 words in a row with sources/coverage/cov-x001.txt ("{twelve}"); rewrite it in its own words'
    ]


def test_coverage_splits_hold_coverage_only():
    assert any("only coverage articles belong to split 'coverage_test'" in p for p in problems([rec(1, split="coverage_test")]))
    assert problems([rec(1, split="coverage_dev", source_kind="coverage")]) == []


def test_an_annotation_whose_passage_text_changed_is_reported_not_dropped(tmp_path):
    root, passages = annotated_root(tmp_path)
    src = root / "sources" / "seed" / "doc.txt"
    src.write_text(src.read_text().replace("this week", "on Monday"))
    build(root)
    found = [str(p) for p in validate(root, held_out=set())]
    assert f"annotations/a.jsonl:1: passage_id {passages[0]['id']} matches no passage in sources/; its text changed, so update the id from `framing corpus passages` or remove the line" in found
