"""Report fixtures shared by these tests: a miniature labels folder and a fast report built from it."""

from __future__ import annotations

import json

import pytest

from .fixtures import make_labels_root


@pytest.fixture(scope="session")
def labels_root(tmp_path_factory):
    return make_labels_root(tmp_path_factory.mktemp("reports-corpus") / "labels")


@pytest.fixture(scope="session")
def fast_report(labels_root, tmp_path_factory):
    """`framing report --fast` run through the CLI on the miniature corpus, with a planted <script> passage queued."""
    from framing.cli import main

    out = tmp_path_factory.mktemp("report")
    unlabelled = out / "new.jsonl"
    unlabelled.write_text("".join(json.dumps({"id": f"n{i}", "doc_id": f"doc{i % 2}", "text": t}) + "\n" for i, t in enumerate(
        ["<script>alert(1)</script> Officials say war is unlikely.", "Troops were paid in hard currency for their service.",
         "The pact builds an alliance against the West.", "Shells arrived by train on Monday."])))
    code = main(["report", "--fast", "--model", str(out / "no-model"), "--out", str(out / "report"), "--unlabelled", str(unlabelled),
                 "--folds", "2", "--root", str(labels_root)])
    assert code == 0
    return json.loads((out / "report" / "report.json").read_text()), out / "report"
