import json
from collections import Counter

import pytest

from labels.corpus import build_records, load_documents
from labels.schema import load_schema
from labels.splits import Candidate, SplitTargets, assign, assign_splits, shortfall

SCHEMA = load_schema()
LABELS = [(a.name, lab) for a in SCHEMA.axes for lab in a.labels]


def cand(doc_id, n, **labels):
    """A document with n passages; keyword counts like downplaying=2, strategic=1 (the rest neutral / none)."""
    counts = Counter()
    risk = {k: v for k, v in labels.items() if k in ("alarmist", "downplaying")}
    motive = {k: v for k, v in labels.items() if k in ("transactional", "strategic")}
    counts.update({("risk_framing", k): v for k, v in risk.items()})
    counts[("risk_framing", "neutral")] = n - sum(risk.values())
    counts.update({("motive_framing", k): v for k, v in motive.items()})
    counts[("motive_framing", "none")] = n - sum(motive.values())
    return Candidate(doc_id, n, +counts)


def test_shortfall_is_zero_only_when_every_label_reaches_the_floor():
    c = cand("d", 10, alarmist=2, downplaying=2, transactional=2, strategic=2).counts
    assert shortfall(c, 10, LABELS, 0.2) == 0
    assert shortfall(c, 10, LABELS, 0.25) == pytest.approx(4 * 0.05)


def test_test_split_is_balanced_grouped_by_article_and_the_rest_is_train():
    plain = [cand(f"plain-{i}", 8) for i in range(60)]
    framed = [cand(f"framed-{i}", 8, alarmist=3, downplaying=3, transactional=2, strategic=2) for i in range(15)]
    out = assign(plain + framed, SplitTargets(test_share=0.1, dev_share=0.05, floor=0.12), SCHEMA)
    assert set(out) == {c.doc_id for c in plain + framed}
    test = [c for c in plain + framed if out[c.doc_id] == "coverage_test"]
    n = sum(c.n for c in test)
    counts = sum((c.counts for c in test), Counter())
    assert n >= 0.1 * 600
    assert all(counts[key] / n >= 0.12 for key in LABELS), counts
    # A random 10% of this pool would hold 20% framed articles; the balanced split needs more of them.
    assert sum(c.doc_id.startswith("framed") for c in test) / len(test) > 0.4
    assert Counter(out.values())["train"] > 50


def test_assignment_is_deterministic_and_independent_of_input_order():
    pool = [cand(f"d{i}", 5 + i % 4, downplaying=i % 3, strategic=i % 2) for i in range(40)]
    targets = SplitTargets(test_share=0.2, dev_share=0.1)
    assert assign(pool, targets, SCHEMA) == assign(list(reversed(pool)), targets, SCHEMA)


@pytest.mark.parametrize("kw", [{"test_share": 0}, {"test_share": 0.6, "dev_share": 0.5}, {"floor": 0.4}])
def test_targets_are_validated(kw):
    with pytest.raises(ValueError):
        SplitTargets(**kw)


def _coverage_doc(root, doc_id, paragraphs, **meta):
    src = root / "sources" / "coverage"
    src.mkdir(parents=True, exist_ok=True)
    (src / f"{doc_id}.txt").write_text("Headline words only here\n\n" + "\n\n".join(paragraphs) + "\n")
    (src / f"{doc_id}.json").write_text(json.dumps({"doc_id": doc_id, "title": "t", "outlet_style": "wire", "topic": "nk_troops_ukraine",
                                                    "source_kind": "coverage", "source_url": f"https://e.org/{doc_id}", **meta}))


def test_splits_are_written_into_metadata_once_and_never_move(tmp_path):
    root = tmp_path / "labels"
    (root / "annotations").mkdir(parents=True)
    for i in range(6):
        _coverage_doc(root, f"cov-{i}", [f"Passage {i} number {k} says officials counted soldiers at depot {k} this week." for k in range(3)])
    with pytest.raises(ValueError, match="no labelled passage cannot be split yet: cov-0"):
        assign_splits(root)
    passages, _ = build_records(root)
    lines = [{"passage_id": p["id"], "annotator": "w", "risk_framing": "downplaying" if p["doc_id"] == "cov-3" else "neutral",
              "motive_framing": "none"} for p in passages]
    (root / "annotations" / "w.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    first = assign_splits(root, SplitTargets(test_share=0.3, dev_share=0.2, floor=0.1))
    assert first["cov-3"] == "coverage_test"  # the only article that brings the rare label
    frozen = {d.doc_id: d.split for d in load_documents(root)}
    assert frozen == first and set(first.values()) == {"coverage_test", "coverage_dev", "train"}
    assert {p["doc_id"]: p["split"] for p in build_records(root)[0]} == first
    # A new article is assigned on its own; the earlier ones keep their splits.
    _coverage_doc(root, "cov-new", ["A new passage says the talks in Beijing ended without any statement at all."])
    new_pid = [p["id"] for p in build_records(root)[0] if p["doc_id"] == "cov-new"][0]
    with (root / "annotations" / "w.jsonl").open("a") as fh:
        fh.write(json.dumps({"passage_id": new_pid, "annotator": "w", "risk_framing": "neutral", "motive_framing": "none"}) + "\n")
    second = assign_splits(root)
    assert list(second) == ["cov-new"]
    assert {d.doc_id: d.split for d in load_documents(root) if d.doc_id != "cov-new"} == first
