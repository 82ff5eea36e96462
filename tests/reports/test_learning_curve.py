import numpy as np

from reports.learning_curve import baseline_learner, learning_curve, sample_documents, summarise

from .fixtures import AXES, keyword_rows


def test_sample_documents_takes_whole_documents_in_proportion():
    rows = keyword_rows(n_docs=8, per_doc=3)
    half = sample_documents(rows, 0.5, seed=1)
    docs = {r.doc_id for r in half}
    assert len(docs) == 4 and len(half) == 12
    assert sample_documents(rows, 0.01, seed=1)  # never empty
    assert sample_documents(rows, 0.5, seed=1) == half


def test_curve_records_each_fraction_and_seed_and_summarises_spread():
    train, test = keyword_rows(n_docs=8, per_doc=6, seed=0), keyword_rows(n_docs=3, per_doc=6, seed=9)
    fitted_sizes = []

    def learner(rows, seed):
        fitted_sizes.append(len({r.doc_id for r in rows}))
        return baseline_learner(AXES)(rows, seed)

    points = learning_curve(train, test, AXES, learner, fractions=(0.25, 1.0), seeds=2, name="baseline", progress=False)
    assert [(p["fraction"], p["seed"]) for p in points] == [(0.25, 0), (0.25, 1), (1.0, 0), (1.0, 1)]
    assert fitted_sizes == [2, 2, 8, 8]
    summary = summarise(points, tuple(AXES))
    assert [s["fraction"] for s in summary] == [0.25, 1.0]
    for s in summary:
        for a in AXES:
            assert s[a]["min"] <= s[a]["mean"] <= s[a]["max"]
    full = [s for s in summary if s["fraction"] == 1.0][0]
    assert all(full[a]["mean"] > 0.9 for a in AXES)  # signal phrases are easy with every document
    assert np.isclose(full[list(AXES)[0]]["std"], np.std([p[list(AXES)[0]] for p in points[2:]]))
