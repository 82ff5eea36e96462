"""`framing score --engine spark` in local[2] with the tiny model, checked against the single-machine scorer.

One SparkSession serves the module: starting a JVM and its Python workers (torch imported, model loaded) costs
20-60 s on this shared 2-core machine, so even the command-line test runs in this process on that session.
"""

import json
import shutil
import sys
import types
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from inference.artifact import ArtifactError, folder_sha256
from serving.batch import BatchError, score_file
from serving.spark_batch import (LOAD_LOG_ENV, ShippedModel, SparkScoreConfig, SparkUnavailable, input_format, require_spark,
                                 verified_folder)

from ..conftest import PASSAGES
from .conftest import write_jsonl

TEXTS = [t for t, _, _ in PASSAGES]
# pyspark warns about pandas 3 on every mapInPandas; the conversions used here are tested below.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


def spark_missing() -> str | None:
    try:
        require_spark()
    except SparkUnavailable as e:
        return str(e)
    return None


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    reason = spark_missing()
    if reason:
        pytest.skip(reason)
    from serving.spark_batch import spark_session

    log = tmp_path_factory.mktemp("spark") / "loads.log"
    log.touch()
    session = spark_session("local[2]", conf={f"spark.executorEnv.{LOAD_LOG_ENV}": str(log), "spark.sql.shuffle.partitions": "2"})
    session.framing_load_log = log
    yield session
    session.stop()



def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def score(spark, tiny_artifact, src, out, **options):
    from serving.spark_batch import score_spark

    return score_spark(SparkScoreConfig(input=str(src), output=str(out), model=tiny_artifact, **options), spark=spark)


def parts(folder) -> dict[str, bytes]:
    """A Parquet dataset's part files by part number (the name's job id changes every run), with their bytes."""
    return {p.name.split("-")[1]: p.read_bytes() for p in sorted(Path(folder).glob("part-*.parquet"))}


def assert_same_labels(got: dict, expected: dict, axes) -> None:
    """Labels exactly, probabilities within 1e-5, on every axis."""
    for axis, labels in axes.items():
        assert got[axis]["label"] == expected[axis]["label"], (got, expected)
        for lab in labels:
            assert abs(got[axis]["probs"][lab] - expected[axis]["probs"][lab]) <= 1e-5


def assert_same_prediction(got: dict, expected: dict, axes) -> None:
    assert_same_labels(got, expected, axes)
    assert (got["truncated"], got["model"]) == (expected["truncated"], expected["model"])


@pytest.mark.slow
def test_spark_output_equals_the_single_machine_scorer(spark, tiny_artifact, predictor, tmp_path):
    rows = [{"id": f"p{i}", "text": f"{TEXTS[i % len(TEXTS)]} " + "More context follows here. " * (i % 7)} for i in range(300)]
    lake = tmp_path / "lake"
    lake.mkdir()
    pq.write_table(pa.Table.from_pylist(rows[:170]), lake / "part-a.parquet")
    pq.write_table(pa.Table.from_pylist(rows[170:]), lake / "part-b.parquet")
    reference = tmp_path / "reference.jsonl"
    score_file(write_jsonl(tmp_path / "in.jsonl", rows), reference, predictor, progress=False)
    summary = score(spark, tiny_artifact, lake, tmp_path / "scored", partitions=3)
    assert (summary.scored, summary.rejected) == (300, 0)
    got = {r["id"]: r for r in pq.read_table(tmp_path / "scored").to_pylist()}
    expected = {r["id"]: r for r in read_jsonl(reference)}
    assert sorted(got) == sorted(expected) and len(got) == 300
    assert any(r["truncated"] for r in expected.values()) and not all(r["truncated"] for r in expected.values())
    for rid, rec in expected.items():
        assert_same_prediction(got[rid], rec, predictor.axes)
    assert pq.read_table(tmp_path / "scored_errors").num_rows == 0


@pytest.mark.slow
def test_bad_rows_land_in_the_errors_with_file_and_line_and_a_rerun_changes_nothing(spark, tiny_artifact, predictor, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first = write_jsonl(inbox / "a.jsonl", [
        {"id": "a", "text": TEXTS[0]}, "{not json", {"id": "b"}, "", {"id": "c", "text": "   "}, {"id": "d", "text": 42},
        {"text": TEXTS[1]}, {"id": "a", "text": TEXTS[2]}, ["a", "list"], {"id": "e", "text": TEXTS[3]},
    ])
    write_jsonl(inbox / "b.jsonl", [{"id": "f", "text": TEXTS[4]}, {"id": "e", "text": TEXTS[5]}, {"id": "g", "text": ""}])
    score_file(first, tmp_path / "single.jsonl", predictor, progress=False)
    out = tmp_path / "scored"
    summary = score(spark, tiny_artifact, inbox, out)
    errors = pq.read_table(tmp_path / "scored_errors").to_pylist()
    where = [(Path(e["file"].removeprefix("file:")).name, e["line"]) for e in errors]
    # a.jsonl's bad rows at the same lines as the single-machine scorer reports them (blank line 4 counted, not an error)
    single = [e["line"] for e in read_jsonl(tmp_path / "single.errors.jsonl")]
    assert [line for name, line in where if name == "a.jsonl"] == single == [2, 3, 5, 6, 8, 9]
    assert [line for name, line in where if name == "b.jsonl"] == [2, 3]
    reasons = {(name, line): e["reason"] for (name, line), e in zip(where, errors)}
    assert "repeats an earlier row" in reasons[("b.jsonl", 2)] and "a.jsonl:10" in reasons[("b.jsonl", 2)]
    assert "invalid JSON" in reasons[("a.jsonl", 2)] and "must be a string, got int" in reasons[("a.jsonl", 6)]
    ids = sorted(pq.read_table(out).column("id").to_pylist())
    assert ids == ["a", "a.jsonl:7", "e", "f"]  # no id: file and line stand in, as the line does for one file
    assert (summary.scored, summary.rejected) == (4, 8) and summary.scored + summary.rejected == 12  # 13 lines, 1 blank
    before = (parts(out), parts(tmp_path / "scored_errors"))
    again = score(spark, tiny_artifact, inbox, out)
    assert (again.scored, again.rejected) == (4, 8)
    assert (parts(out), parts(tmp_path / "scored_errors")) == before
    assert sorted(pq.read_table(out).column("id").to_pylist()) == ids


@pytest.mark.slow
def test_documents_mode_matches_and_rejects_long_or_empty_articles(spark, tiny_artifact, predictor, tmp_path):
    articles = [
        {"id": "d1", "text": "Seoul Weighs Its Options After The Deployment\n\n" + "\n\n".join(TEXTS[:3])},
        {"id": "d2", "text": "\n\n".join(TEXTS[3:6])},
        {"id": "d3", "text": "\n\n".join(TEXTS[5:])},
    ]
    reference = tmp_path / "reference.jsonl"
    score_file(write_jsonl(tmp_path / "good.jsonl", articles), reference, predictor, documents=True, progress=False)
    src = write_jsonl(tmp_path / "docs.jsonl", articles + [{"id": "long", "text": "\n\n".join(TEXTS * 4)},
                                                            {"id": "empty", "text": "Too short.\n\nAlso short here."}])
    summary = score(spark, tiny_artifact, src, tmp_path / "docs", documents=True, max_document_chars=1000)
    assert (summary.scored, summary.rejected) == (3, 2)
    got = {r["id"]: r for r in pq.read_table(tmp_path / "docs").to_pylist()}
    for expected in read_jsonl(reference):
        rec = got[expected["id"]]
        for axis in predictor.axes:
            assert rec["document"][axis]["supporting_passages"] == expected["document"][axis]["supporting_passages"]
        assert_same_labels(rec["document"], expected["document"], predictor.axes)
        assert [p["text"] for p in rec["passages"]] == [p["text"] for p in expected["passages"]]
        for p, q in zip(rec["passages"], expected["passages"]):
            assert_same_prediction(p, q, predictor.axes)
        assert (rec["headline"] or {}).get("text") == (expected["headline"] or {}).get("text")
    errors = {e["id"]: (e["line"], e["reason"]) for e in pq.read_table(tmp_path / "docs_errors").to_pylist()}
    assert errors["long"][0] == 4 and "over the limit of 1000" in errors["long"][1]
    assert errors["empty"][0] == 5 and "no passage found" in errors["empty"][1]


@pytest.mark.slow
def test_the_model_is_loaded_once_per_worker(spark, tiny_artifact, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": f"{TEXTS[i % len(TEXTS)]} ({i})"} for i in range(60)])
    log = spark.framing_load_log
    before = len(log.read_text().splitlines())
    # A batch size no other test uses makes a new cache key, so this job's loads are its own.
    summary = score(spark, tiny_artifact, src, tmp_path / "out", partitions=6, batch_size=7)
    assert summary.scored == 60
    tasks = len(parts(tmp_path / "out"))
    loads = [line.split()[0] for line in log.read_text().splitlines()[before:]]
    assert tasks == 6
    assert 1 <= len(loads) <= 2 < tasks, f"{len(loads)} loads for {tasks} tasks on 2 worker slots"
    assert len(set(loads)) == len(loads), f"a worker loaded the model more than once: {loads}"


@pytest.mark.slow
def test_the_command_line_scores_on_spark(spark, tmp_path, tiny_artifact, capsys):
    # In-process: `framing score` finds the module's session for local[2] instead of starting a second JVM (~60 s here).
    from framing.cli import main

    src = tmp_path / "in.csv"
    src.write_text(f'id,body\nx,"{TEXTS[0]}"\ny,\nz,"{TEXTS[1]}",extra\nw,"{TEXTS[2]}"\n')
    out = tmp_path / "out"
    assert main(["score", str(src), str(out), "--model", str(tiny_artifact), "--text-field", "body",
                 "--engine", "spark", "--master", "local[2]"]) == 0
    assert "scored 2 rows, rejected 2" in capsys.readouterr().err
    assert sorted(pq.read_table(out).column("id").to_pylist()) == ["w", "x"]
    errors = pq.read_table(tmp_path / "out_errors").to_pylist()
    assert [(e["line"], e["id"]) for e in errors] == [(3, "y"), (4, None)]  # lines count the header, as an editor does
    assert "missing field 'body'" in errors[0]["reason"] and "number of fields" in errors[1]["reason"]
    assert (out / "_SUCCESS").exists()


def test_strict_is_refused_with_the_spark_engine(capsys):
    from framing.cli import main

    assert main(["score", "in.jsonl", "out", "--engine", "spark", "--strict"]) == 2
    assert "--strict applies to the single-machine engine" in capsys.readouterr().err


def test_missing_pyspark_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(SparkUnavailable, match=r"needs pyspark.*pip install 'news-framing\[spark\]'"):
        require_spark()


def test_missing_java_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", types.ModuleType("pyspark"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SparkUnavailable, match=r"Java runtime \(17 or newer\).*openjdk-17-jre-headless"):
        require_spark()


def test_an_artifact_changed_on_the_way_is_refused(tmp_path, tiny_artifact):
    copy = shutil.copytree(tiny_artifact, tmp_path / "model")
    shipped = ShippedModel("framing-model.zip", folder_sha256(copy))
    assert verified_folder(copy, shipped) == copy
    config = copy / "framing_config.json"
    config.write_text(config.read_text().replace('"max_length": 32', '"max_length": 33'))
    with pytest.raises(ArtifactError, match="changed or was corrupted"):
        verified_folder(copy, shipped)


def test_input_format_from_the_name_or_the_folder(tmp_path):
    assert input_format("s3a://bucket/archive.parquet") == "parquet"
    assert input_format("hdfs:///lake/news", "csv") == "csv"
    with pytest.raises(BatchError, match="--input-format"):
        input_format("hdfs:///lake/news")
    with pytest.raises(BatchError, match="no such file or folder"):
        input_format(str(tmp_path / "missing.jsonl"))
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "a.jsonl").write_text("")
    assert input_format(str(tmp_path / "mixed")) == "jsonl"
    (tmp_path / "mixed" / "b.csv").write_text("")
    with pytest.raises(BatchError, match=r"several formats \(csv, jsonl\).*--input-format"):
        input_format(str(tmp_path / "mixed"))
    with pytest.raises(BatchError, match="Parquet dataset"):
        SparkScoreConfig(input="in.jsonl", output="out.jsonl", model=Path("m"))
    with pytest.raises(BatchError, match="is or holds the input"):
        SparkScoreConfig(input="file:///lake/news/2024/", output="/lake/news", model=Path("m"))
