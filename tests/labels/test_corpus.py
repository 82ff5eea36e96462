import json
from pathlib import Path

import pytest

from labels.corpus import CorpusError, build, build_records, passage_id, split_for

ARTICLE = ("A Headline Without A Full Stop\n\n"
           "The first passage reports that officials counted thousands of soldiers at the depot this week.\n\n"
           "The second passage says analysts consider a wider war unlikely because both sides fear the cost.\n")


def make_root(tmp_path: Path, annotations: list[dict] | None = None, kind: str = "seed") -> Path:
    root = tmp_path / "labels"
    src = root / "sources" / kind
    src.mkdir(parents=True)
    (src / "doc.txt").write_text(ARTICLE, encoding="utf-8")
    (src / "doc.json").write_text(json.dumps({"doc_id": "d1", "title": "t", "outlet_style": "wire", "topic": "nk_troops_ukraine"}))
    (root / "annotations").mkdir()
    if annotations is not None:
        (root / "annotations" / "a.jsonl").write_text("".join(json.dumps(a) + "\n" for a in annotations))
    return root


def ids(root: Path) -> list[str]:
    return [p["id"] for p in build_records(root)[0]]


def test_passage_ids_are_stable_across_rebuilds(tmp_path):
    root = make_root(tmp_path)
    first = ids(root)
    assert first == ids(root)
    assert first[0] == passage_id("d1", "The first passage reports that officials counted thousands of soldiers at the depot this week.")
    # Editing one passage leaves the other's id unchanged.
    src = root / "sources" / "seed" / "doc.txt"
    src.write_text(src.read_text().replace("this week", "on Monday"))
    assert ids(root)[1] == first[1] and ids(root)[0] != first[0]


def test_splits_are_deterministic_and_seed_articles_are_their_own_set():
    assert split_for("seed-000", "seed") == "seed"
    assert {split_for(f"auth-x{i}", "authored") for i in range(200)} == {"train", "dev", "test"}
    assert split_for("auth-x7", "authored") == split_for("auth-x7", "authored")


def _ann(pid, who, risk="neutral", motive="none", **kw):
    return {"passage_id": pid, "annotator": who, "risk_framing": risk, "motive_framing": motive, **kw}


def test_gold_comes_from_agreement_or_the_adjudicator(tmp_path):
    root = make_root(tmp_path)
    p1, p2 = ids(root)
    (root / "annotations" / "a.jsonl").write_text("\n".join(json.dumps(a) for a in [
        _ann(p1, "ann-1", hard_cases=["negation"]), _ann(p1, "ann-2"),
        _ann(p2, "ann-1", "downplaying"), _ann(p2, "ann-2", "alarmist"),
    ]))
    passages, _ = build_records(root)
    assert passages[0]["gold"] == {"risk_framing": "neutral", "motive_framing": "none"}
    assert passages[0]["hard_cases"] == ["negation"]
    assert passages[1]["gold"] is None and len(passages[1]["annotations"]) == 2
    with open(root / "annotations" / "a.jsonl", "a") as fh:
        fh.write("\n" + json.dumps(_ann(p2, "adjudicator", "downplaying", note="the quote is dismissed")))
    assert build_records(root)[0][1]["gold"]["risk_framing"] == "downplaying"


@pytest.mark.parametrize("bad, message", [
    ({"passage_id": "x", "annotator": "a", "risk_framing": "scary", "motive_framing": "none"}, "valid labels: alarmist, downplaying, neutral"),
    ({"passage_id": "x", "risk_framing": "neutral", "motive_framing": "none"}, "'annotator' is missing"),
    ({"annotator": "a", "risk_framing": "neutral", "motive_framing": "none"}, "exactly one of 'passage_id' or 'doc_id'"),
    ({"passage_id": "x", "annotator": "a", "risk_framing": "neutral", "motive_framing": "none", "hard_cases": ["vibes"]}, "hard_cases must be"),
    ({"passage_id": "x", "annotator": "a", "risk_framing": "neutral", "motive_framing": "none", "colour": 1}, "unknown field"),
])
def test_bad_annotations_name_file_and_line(tmp_path, bad, message):
    root = make_root(tmp_path, [_ann("y", "a"), bad])
    with pytest.raises(CorpusError, match=message) as err:
        build_records(root)
    assert "annotations/a.jsonl:2" in str(err.value)


def test_the_same_annotator_twice_is_an_error(tmp_path):
    root = make_root(tmp_path, [_ann("y", "a"), _ann("y", "a", "alarmist")])
    with pytest.raises(CorpusError, match="already annotated"):
        build_records(root)


def test_metadata_problems_name_the_file(tmp_path):
    root = make_root(tmp_path)
    (root / "sources" / "seed" / "doc.json").write_text(json.dumps({"doc_id": "d1", "title": "t", "outlet_style": "zine", "topic": "nk_troops_ukraine"}))
    with pytest.raises(CorpusError, match=r"doc.json: outlet_style 'zine' is not one of wire"):
        build_records(root)


def test_build_writes_loadable_files_with_provenance(tmp_path):
    root = make_root(tmp_path, kind="authored")
    passages, documents = build(root)
    lines = (root / "corpus" / "passages.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == passages
    p = passages[1]
    assert p["paragraph_index"] == 1 and p["source_kind"] == "authored" and p["topic"] == "nk_troops_ukraine"
    assert ARTICLE[p["start"]:p["end"]] == p["text"]
    assert documents[0]["n_passages"] == 2 and documents[0]["split"] == p["split"]


def test_coverage_documents_take_the_split_frozen_in_their_metadata():
    assert split_for("cov-x1", "coverage", "coverage_test") == "coverage_test"
    assert split_for("cov-x1", "coverage") == "unassigned"
    # Authored documents never land in a coverage split, whatever their id.
    assert {split_for(f"auth-x{i}", "authored") for i in range(300)} == {"train", "dev", "test"}


def test_coverage_metadata_is_carried_into_the_records(tmp_path):
    root = make_root(tmp_path, kind="coverage")
    meta = {"doc_id": "cov-1", "title": "t", "outlet_style": "broadcaster", "topic": "nk_troops_ukraine", "source_kind": "coverage",
            "source_url": "https://example.org/a", "outlet": "Example News", "date": "2024-10-25", "partial": True,
            "split": "coverage_dev"}
    (root / "sources" / "coverage" / "doc.json").write_text(json.dumps(meta))
    passages, documents = build_records(root)
    assert {p["doc_id"] for p in passages} == {"cov-1"} and passages[0]["outlet"] == "Example News"
    assert {k: documents[0][k] for k in ("source_url", "outlet", "date", "partial")} == {k: meta[k] for k in ("source_url", "outlet", "date", "partial")}
    assert documents[0]["split"] == passages[0]["split"] == "coverage_dev"
    meta["split"] = "test"
    (root / "sources" / "coverage" / "doc.json").write_text(json.dumps(meta))
    with pytest.raises(CorpusError, match=r"doc.json: split 'test' is not allowed here; coverage documents take one of train, coverage_dev, coverage_test"):
        build_records(root)
    meta["split"], meta["source_kind"] = "train", "authored"
    (root / "sources" / "coverage" / "doc.json").write_text(json.dumps(meta))
    with pytest.raises(CorpusError, match=r"doc.json: source_kind 'authored' but the file is under sources/coverage/"):
        build_records(root)


def test_no_article_is_in_two_splits_in_the_shipped_corpus():
    from labels.corpus import LABELS_DIR, read_jsonl
    by_doc = {}
    for _, p in read_jsonl(LABELS_DIR / "corpus" / "passages.jsonl"):
        by_doc.setdefault(p["doc_id"], set()).add(p["split"])
    assert by_doc and all(len(s) == 1 for s in by_doc.values())
