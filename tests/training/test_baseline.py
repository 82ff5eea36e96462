from labels.schema import load_schema
from training.baseline import baseline_report
from training.train import corpus_rows

from ..conftest import make_corpus


def test_baseline_learns_the_fixture_and_reports_every_axis():
    corpus = make_corpus(n_repeat=3)
    axes = {a.name: list(a.labels) for a in load_schema().axes}
    rows = corpus_rows(corpus, ("train",))
    report = baseline_report(rows, rows, axes)
    assert set(report) == set(axes)
    for axis in axes:
        assert report[axis]["n"] == len(rows)
        assert report[axis]["macro_f1"] > 0.9  # it has seen these very passages
