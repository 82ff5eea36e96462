import json

from labels.corpus import build
from labels.stats import corpus_stats, format_stats

from .test_corpus import ARTICLE, make_root


def _annotate(root, passages, documents, who, risk):
    lines = [{"passage_id": p["id"], "annotator": who, "risk_framing": risk, "motive_framing": "none"} for p in passages]
    lines += [{"doc_id": d["id"], "annotator": who, "risk_framing": risk, "motive_framing": "none"} for d in documents]
    with (root / "annotations" / f"{who}.jsonl").open("a") as fh:
        fh.writelines(json.dumps(x) + "\n" for x in lines)


def test_stats_report_coverage_and_authored_separately(tmp_path):
    root = make_root(tmp_path, kind="authored")
    cov = root / "sources" / "coverage"
    cov.mkdir()
    (cov / "c.txt").write_text(ARTICLE.replace("officials", "police") + "\nA third passage with enough words to count as one here.\n")
    (cov / "c.json").write_text(json.dumps({"doc_id": "cov-1", "title": "t", "outlet_style": "broadcaster", "topic": "iran_russia",
                                            "source_kind": "coverage", "source_url": "https://e.org/1", "outlet": "E", "partial": True,
                                            "split": "coverage_test"}))
    passages, documents = build(root)
    authored = [p for p in passages if p["source_kind"] == "authored"]
    coverage = [p for p in passages if p["source_kind"] == "coverage"]
    _annotate(root, authored, [d for d in documents if d["source_kind"] == "authored"], "a1", "neutral")
    _annotate(root, coverage, [d for d in documents if d["source_kind"] == "coverage"], "c1", "alarmist")
    # A blind second reading of coverage that disagrees on the last passage only.
    _annotate(root, coverage[:2], [], "c2", "alarmist")
    _annotate(root, coverage[2:], [], "c2", "downplaying")
    build(root)
    s = corpus_stats(root)["by_source_kind"]
    assert set(s) == {"authored", "coverage"}
    assert (s["authored"]["passages"], s["coverage"]["passages"]) == (2, 3)
    assert s["coverage"]["labels"]["risk_framing"]["alarmist"]["n"] == 2  # the disputed one has no gold yet
    assert s["authored"]["labels"]["risk_framing"]["neutral"]["n"] == 2
    assert s["coverage"]["outlets"] == 1 and s["coverage"]["partial_documents"] == 1 and s["coverage"]["adjacent_topic_documents"] == 1
    assert s["coverage"]["documents_by_outlet_style"] == {"broadcaster": 1}
    risk = next(r for r in s["coverage"]["agreement"] if r["axis"] == "risk_framing")
    assert (risk["n"], round(risk["agreement"], 3)) == (3, 0.667)
    assert s["authored"]["agreement"] == []
    text = format_stats(corpus_stats(root))
    assert "== coverage: 3 passages (2 with gold) in 1 documents, 1 outlets" in text and "== authored:" in text
