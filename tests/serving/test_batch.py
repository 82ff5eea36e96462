import csv
import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from serving.batch import BatchError, read_rows, score_file

from ..conftest import PASSAGES
from .conftest import write_jsonl

TEXTS = [t for t, _, _ in PASSAGES]



def read_output(path):
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if path.suffix == ".csv":
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize("out_ext", [".jsonl", ".csv", ".parquet"])
@pytest.mark.parametrize("in_ext", [".jsonl", ".csv", ".parquet"])
def test_every_format_in_and_out(tmp_path, predictor, in_ext, out_ext):
    rows = [{"id": f"r{i}", "text": t} for i, t in enumerate(TEXTS)]
    src = tmp_path / f"in{in_ext}"
    if in_ext == ".jsonl":
        write_jsonl(src, rows)
    elif in_ext == ".csv":
        with open(src, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["id", "text"])
            w.writeheader()
            w.writerows(rows)
    else:
        pq.write_table(pa.Table.from_pylist(rows), src)
    out = tmp_path / f"out{out_ext}"
    summary = score_file(src, out, predictor, progress=False, chunk_size=4)
    assert (summary.scored, summary.rejected) == (len(TEXTS), 0)
    got = read_output(out)
    assert [str(r["id"]) for r in got] == [r["id"] for r in rows]
    expected = predictor.predict(TEXTS)
    for g, e in zip(got, expected):
        for axis in predictor.axes:
            label = g[axis]["label"] if out_ext == ".jsonl" else g[axis]
            assert label == e[axis]["label"]
    assert not (tmp_path / f"out{out_ext}.parts").exists()


def test_good_rows_are_kept_and_bad_rows_reported_with_their_line(tmp_path, predictor):
    src = write_jsonl(tmp_path / "mixed.jsonl", [
        {"id": "a", "text": TEXTS[0]},
        "{not json",
        {"id": "b"},
        {"id": "c", "text": "   "},
        {"id": "d", "text": 42},
        {"text": TEXTS[1]},
        {"id": "a", "text": TEXTS[2]},
        ["a", "list"],
        {"id": "e", "text": TEXTS[3]},
    ])
    out = tmp_path / "out.jsonl"
    summary = score_file(src, out, predictor, progress=False)
    assert (summary.scored, summary.rejected) == (3, 6)
    assert [r["id"] for r in read_output(out)] == ["a", 6, "e"]  # line number stands in for a missing id
    errors = read_output(tmp_path / "out.errors.jsonl")
    assert [e["line"] for e in errors] == [2, 3, 4, 5, 7, 8]
    reasons = " | ".join(e["reason"] for e in errors)
    for expected in ("invalid JSON", "missing field 'text'", "field 'text' is empty", "must be a string, got int",
                     "repeats an earlier row", "expected an object"):
        assert expected in reasons


def test_strict_stops_at_the_first_bad_row_naming_file_and_line(tmp_path, predictor):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": TEXTS[0]}, {"id": 2, "text": ""}])
    with pytest.raises(BatchError, match=r"in.jsonl:2: field 'text' is empty"):
        score_file(src, tmp_path / "out.jsonl", predictor, strict=True, progress=False)


def test_an_interrupted_run_resumes_without_losing_or_repeating_rows(tmp_path, predictor):
    rows = [{"id": i, "text": f"{TEXTS[i % len(TEXTS)]} Item {i}."} for i in range(40)]
    src = write_jsonl(tmp_path / "in.jsonl", rows + ["{broken"])
    reference = tmp_path / "reference.jsonl"
    score_file(src, reference, predictor, chunk_size=5, progress=False)

    class Crash(Exception):
        pass

    class Flaky:
        axes, version = predictor.axes, predictor.version

        def __init__(self):
            self.calls = 0

        def predict(self, texts):
            self.calls += 1
            if self.calls == 4:
                raise Crash
            return predictor.predict(texts)

    out = tmp_path / "out.jsonl"
    with pytest.raises(Crash):
        score_file(src, out, Flaky(), chunk_size=5, progress=False)
    assert not out.exists()  # nothing torn: the output appears only when complete
    summary = score_file(src, out, predictor, chunk_size=5, progress=False)
    assert summary.skipped == 15 and summary.scored == 25
    assert read_output(out) == read_output(reference)
    assert read_output(tmp_path / "out.errors.jsonl") == read_output(tmp_path / "reference.errors.jsonl")
    # Running again over a finished output scores nothing new and keeps every row once.
    again = score_file(src, out, predictor, chunk_size=5, progress=False)
    assert again.scored == 0 and read_output(out) == read_output(reference)


def test_documents_mode_scores_whole_articles(tmp_path, predictor):
    article = "Seoul Weighs Its Options After The Deployment\n\n" + "\n\n".join(TEXTS[:3])
    src = write_jsonl(tmp_path / "docs.jsonl", [{"id": "doc1", "text": article}])
    out = tmp_path / "docs.jsonl.out.jsonl"
    score_file(src, out, predictor, documents=True, progress=False)
    (rec,) = read_output(out)
    assert rec["id"] == "doc1" and len(rec["passages"]) == 3 and set(rec["document"]) == set(predictor.axes)
    assert rec["headline"]["text"] == "Seoul Weighs Its Options After The Deployment"
    # Flat formats carry the headline in a column; an article without one gets "", so Parquet chunks share a type.
    rows = [{"id": "doc1", "text": article}, {"id": "doc2", "text": "\n\n".join(TEXTS[3:5])}]
    flat = tmp_path / "docs.parquet"
    score_file(write_jsonl(tmp_path / "two.jsonl", rows), flat, predictor, documents=True, chunk_size=1, progress=False)
    import pyarrow.parquet as pq

    assert pq.read_table(flat).column("headline").to_pylist() == ["Seoul Weighs Its Options After The Deployment", ""]


def test_csv_without_the_text_column_is_a_clear_error(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,body\n1,hello there\n")
    with pytest.raises(BatchError, match="no 'text' column.*--text-field"):
        list(read_rows(src))


def test_unknown_extension_lists_the_supported_ones(tmp_path, predictor):
    with pytest.raises(BatchError, match="use one of .csv, .json, .jsonl, .parquet"):
        score_file(write_jsonl(tmp_path / "in.jsonl", []), tmp_path / "out.xlsx", predictor)


@pytest.mark.slow
def test_the_command_line_as_a_user_runs_it(tmp_path, tiny_artifact):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "x", "text": TEXTS[0]}, {"id": "y", "text": ""}])
    out = tmp_path / "out.csv"
    run = subprocess.run([sys.executable, "-m", "framing", "score", str(src), str(out), "--model", str(tiny_artifact)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "scored 1 rows, rejected 1" in run.stderr
    assert [r["id"] for r in read_output(out)] == ["x"]
    strict = subprocess.run([sys.executable, "-m", "framing", "score", str(src), str(tmp_path / "o2.csv"), "--model",
                             str(tiny_artifact), "--strict"], capture_output=True, text=True, timeout=300)
    assert strict.returncode == 1 and "in.jsonl:2: field 'text' is empty" in strict.stderr
    # --documents: an article under the minimum length is one bad row, reported with its line; the run goes on.
    docs = write_jsonl(tmp_path / "docs.jsonl", [{"id": "short", "text": "Troops arrive."}, {"id": "long", "text": "\n\n".join(TEXTS[:3])}])
    run = subprocess.run([sys.executable, "-m", "framing", "score", str(docs), str(tmp_path / "docs.out.jsonl"), "--model",
                          str(tiny_artifact), "--documents"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "scored 1 rows, rejected 1" in run.stderr
    assert [r["id"] for r in read_output(tmp_path / "docs.out.jsonl")] == ["long"]
    (error,) = read_output(tmp_path / "docs.out.errors.jsonl")
    assert (error["line"], error["id"]) == (1, "short") and "no passage" in error["reason"]


def test_a_bad_row_of_any_kind_does_not_stop_the_run(tmp_path, predictor):
    # A lone surrogate (a JSON escape no UTF-8 file can hold) in a text or an id used to crash the tokenizer or the writer.
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": TEXTS[0]}, '{"id": "b", "text": "bad \\ud800 text"}',
                                              '{"id": "\\udfff", "text": "fine text"}', {"id": "c", "text": TEXTS[1]}])
    summary = score_file(src, tmp_path / "out.jsonl", predictor, progress=False)
    assert (summary.scored, summary.rejected) == (2, 2)
    errors = read_output(tmp_path / "out.errors.jsonl")
    assert [e["line"] for e in errors] == [2, 3] and all("unpaired surrogate" in e["reason"] for e in errors)


def test_an_article_with_no_passage_is_reported_and_not_scored_again_on_resume(tmp_path, predictor):
    article = "\n\n".join(TEXTS[:2])
    src = write_jsonl(tmp_path / "docs.jsonl", [{"id": 1, "text": article}, {"id": 2, "text": "Troops arrive."},
                                                {"id": 3, "text": article}, {"id": 4, "text": article}])

    class Counting:
        axes, version = predictor.axes, predictor.version

        def __init__(self, crash_at: int = 0):
            self.texts, self.crash_at = [], crash_at

        def predict_document(self, text):
            self.texts.append(text)
            if len(self.texts) == self.crash_at:
                raise KeyboardInterrupt
            return predictor.predict_document(text)

    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        score_file(src, out, Counting(crash_at=4), documents=True, chunk_size=1, progress=False)
    resumed = Counting()
    summary = score_file(src, out, resumed, documents=True, chunk_size=1, progress=False)
    assert resumed.texts == [article]  # only row 4: the short article was reported before the interruption
    assert (summary.scored, summary.rejected, summary.skipped) == (1, 1, 2)
    assert [r["id"] for r in read_output(out)] == [1, 3, 4]
    (error,) = read_output(tmp_path / "out.errors.jsonl")
    assert (error["line"], error["id"]) == (2, 2) and "no passage" in error["reason"]
    again = Counting()
    assert score_file(src, out, again, documents=True, progress=False).rejected == 1 and again.texts == []
