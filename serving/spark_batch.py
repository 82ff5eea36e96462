"""`framing score --engine spark`: the batch scorer on Apache Spark, with the same Predictor, checks and output fields.

- read: IN (a file or a folder; Parquet, JSONL or CSV; any path Spark reads) as rows tagged with their input file
  and position (the line in a JSONL file, the line counting the header in a CSV file, the row in a Parquet file);
- check: each row through the single-machine scorer's own `check_record`; with `documents`, also articles over
  `max_document_chars` or without a passage; a repeated id keeps its first row (by file, then position);
- score: the good rows, in Arrow batches through `mapInPandas`, by a `Predictor` loaded once per Python worker
  from the artifact folder shipped with `SparkContext.addArchive` and checked against its sha256 on arrival;
  the Predictor sorts each batch's passages by length;
- write: OUT and OUT_errors as Parquet datasets through Spark's writer in overwrite mode: files appear only when
  the job commits, so a retried task or a rerun never leaves a row twice or a torn file.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

from serving.batch import FORMATS, BatchError, Row, Summary, check_record

INSTALL_HINT = "pip install 'news-framing[spark]' (or pip install 'pyspark>=3.5')"
# Test-only: when set, each Python worker appends one line (pid, model checksum) here when it loads a model.
LOAD_LOG_ENV = "FRAMING_SPARK_LOAD_LOG"
ROWS_PER_TASK = {False: 10_000, True: 1_000}  # passages / articles per scoring task by default
INPUT_GLOBS = {"jsonl": "*.{jsonl,json}", "csv": "*.csv", "parquet": "*.parquet"}
CORRUPT = "_corrupt_record"
PARSED_SCHEMA = "file string, line long, id string, text string, error string"


class SparkUnavailable(BatchError):
    """pyspark or a Java runtime is missing; the message says how to install it."""


@dataclass(frozen=True)
class SparkScoreConfig:
    """One Spark scoring run: where from, where to, which model, and the scorer's options."""

    input: str
    output: str
    model: Path
    text_field: str = "text"
    id_field: str = "id"
    documents: bool = False
    errors: str | None = None
    input_format: str | None = None
    backend: str | None = None
    batch_size: int | None = None
    threads: int | None = None  # per task; None: the cores Spark gives each task (spark.task.cpus)
    partitions: int | None = None  # scoring tasks; None: enough for ROWS_PER_TASK, at least one per core
    max_document_chars: int = 200_000

    def __post_init__(self):
        for name in ("batch_size", "threads", "partitions"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be an integer of at least 1, got {value!r}")
        if self.max_document_chars < 1:
            raise ValueError(f"max_document_chars must be at least 1, got {self.max_document_chars}")
        if self.input_format is not None and self.input_format not in INPUT_GLOBS:
            raise ValueError(f"input_format {self.input_format!r} is not one of {', '.join(INPUT_GLOBS)}")
        if PurePosixPath(str(self.output).rstrip("/")).suffix.lower() in (".jsonl", ".json", ".csv"):
            raise BatchError(f"{self.output}: the Spark engine writes a Parquet dataset (a folder); "
                             "name OUT without an extension or with .parquet")
        source = _plain(self.input)
        for name, target in (("OUT", self.output), ("the errors path", self.errors_path)):
            # Overwrite mode deletes the target first: it must not be, or hold, the input.
            if source == _plain(target) or source.startswith(_plain(target) + "/"):
                raise BatchError(f"{target}: {name} is or holds the input {self.input}; the Spark engine replaces it, choose another path")

    @property
    def errors_path(self) -> str:
        return self.errors or str(self.output).rstrip("/") + "_errors"


def _without_file_scheme(path) -> str:
    text = str(path)
    for scheme in ("file://", "file:"):
        if text.startswith(scheme):
            return text[len(scheme):]
    return text


def _plain(path) -> str:
    """A path as written, without a file: scheme or trailing slash, to compare input and output locations."""
    text = _without_file_scheme(path)
    return os.path.normpath(text) if "://" not in text else text.rstrip("/")


@dataclass(frozen=True)
class ShippedModel:
    """The artifact as the workers find it: the archive's name in SparkFiles and the folder's sha256."""

    name: str
    checksum: str


def require_spark():
    """The pyspark module, or a SparkUnavailable saying what to install (pyspark, or a Java runtime)."""
    try:
        import pyspark
    except ImportError:
        raise SparkUnavailable(f"the Spark engine needs pyspark, which is not installed: {INSTALL_HINT}") from None
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and (Path(java_home) / "bin" / "java").exists()) and shutil.which("java") is None:
        raise SparkUnavailable("the Spark engine needs a Java runtime (17 or newer) and finds no `java`: install one "
                               "(e.g. apt-get install openjdk-17-jre-headless, or run scripts/setup.sh as root) or set JAVA_HOME")
    return pyspark


def spark_session(master: str | None = None, *, conf: dict[str, str] | None = None):
    """A SparkSession on `master` (spark-submit's master, else local[*]); local workers run this Python and this code."""
    require_spark()
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    master = master or SparkConf().get("spark.master", None) or "local[*]"
    builder = SparkSession.builder.appName("framing-score").master(master)
    if master.startswith("local"):
        # Local workers are forked from this process's JVM: give them this interpreter and this checkout.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # pyspark reads it when the context starts
        root = str(Path(__file__).resolve().parents[1])
        builder = builder.config("spark.executorEnv.PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        builder = builder.config("spark.ui.enabled", "false")
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def input_format(path: str, given: str | None = None) -> str:
    """jsonl, csv or parquet: as given, else from IN's extension, else from the files in a local folder."""
    local = _local_path(path)
    if local is not None and not local.exists():
        raise BatchError(f"{path}: no such file or folder")
    if given:
        return given
    fmt = FORMATS.get(PurePosixPath(str(path).rstrip("/")).suffix.lower())
    if fmt:
        return fmt
    if local is not None and local.is_dir():
        found = {FORMATS[f.suffix.lower()] for f in local.rglob("*")
                 if f.is_file() and f.suffix.lower() in FORMATS and not f.name.startswith(("_", "."))}
        if len(found) == 1:
            return found.pop()
        what = "files of several formats (" + ", ".join(sorted(found)) + ")" if found else "no .jsonl, .csv or .parquet file"
        raise BatchError(f"{path}: the folder holds {what}; pass --input-format {'|'.join(INPUT_GLOBS)}")
    raise BatchError(f"{path}: cannot tell the format from the name; pass --input-format {'|'.join(INPUT_GLOBS)}")


def _local_path(path: str) -> Path | None:
    """The local path behind IN, or None for hdfs://, s3a:// and other remote file systems."""
    text = _without_file_scheme(path)
    return None if "://" in text else Path(text)


def read_input(spark, path: str, fmt: str, *, text_field: str, id_field: str):
    """IN as (file, block, payload, problem): payload a JSON line or record, problem a reason found while reading."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    reader = spark.read
    local = _local_path(path)
    if local is not None and local.is_dir():
        reader = reader.option("pathGlobFilter", INPUT_GLOBS[fmt])
    meta = [F.col("_metadata.file_path").alias("file"), F.col("_metadata.file_block_start").alias("block")]
    if fmt == "jsonl":
        return reader.text(path).select(*meta, F.col("value").alias("payload"), F.lit(None).cast("string").alias("problem"))
    if fmt == "parquet":
        df = reader.parquet(path)
        problem = F.lit(None).cast("string")
    else:
        columns = reader.option("header", True).csv(path).columns
        schema = T.StructType([T.StructField(c, T.StringType()) for c in columns] + [T.StructField(CORRUPT, T.StringType())])
        df = reader.options(header=True, mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT).schema(schema).csv(path)
        problem = F.when(F.col(CORRUPT).isNotNull(), F.lit(f"row has a different number of fields than the header ({len(columns)})"))
    if text_field not in df.columns:
        names = ", ".join(c for c in df.columns if c != CORRUPT)
        raise BatchError(f"{path}: no {text_field!r} column (columns: {names}); pass --text-field")
    fields = [c for c in (text_field, id_field) if c in df.columns]
    return df.select(*meta, F.to_json(F.struct(*fields)).alias("payload"), problem.alias("problem"))


def block_starts(rows) -> tuple[dict[tuple[str, int], int], int]:
    """Position of the first row of each (file, block) Spark reads (rows in the file's earlier blocks, plus one); all rows."""
    counts = sorted((r["file"], int(r["block"]), int(r["count"])) for r in rows.groupBy("file", "block").count().collect())
    starts, running = {}, {}
    for file, block, count in counts:
        starts[(file, block)] = running.get(file, 0) + 1
        running[file] = running.get(file, 0) + count
    return starts, sum(running.values())


def check_payload(fmt: str, payload: str | None, problem: str | None, line: int, *, text_field: str, id_field: str):
    """A Row from one input row (None for a blank JSONL line, which the single-machine scorer skips too)."""
    if problem:
        return Row(line, None, None, problem)
    if fmt == "jsonl":
        if payload is None or not payload.strip():
            return None
        try:
            record = json.loads(payload)
        except json.JSONDecodeError as e:
            return Row(line, None, None, f"invalid JSON: {e.msg} at column {e.colno}")
    else:
        record = json.loads(payload)
    return check_record(line, record, text_field, id_field)


def check_article(text: str, max_chars: int) -> str | None:
    """Why an article cannot be scored (too long, or no passage in it), or None."""
    from labels.segment import segment

    if len(text) > max_chars:
        return f"article has {len(text)} characters, over the limit of {max_chars} (--max-document-chars)"
    if not segment(text).passages:
        return "no passage found in the article: it holds only headings, bylines or lines shorter than a paragraph"
    return None


def _parse_batches(batches, *, fmt: str, starts: dict, multi_file: bool, config: SparkScoreConfig):
    """mapInPandas: number each row within its file, then check it; one (file, line, id, text, error) row each."""
    import pandas as pd

    seen: dict[tuple[str, int], int] = {}
    header = 1 if fmt == "csv" else 0
    for pdf in batches:
        out = []
        for file, block, payload, problem in zip(pdf["file"], pdf["block"], pdf["payload"], pdf["problem"]):
            key = (file, int(block))
            line = starts[key] + seen.get(key, 0) + header
            seen[key] = seen.get(key, 0) + 1
            payload, problem = _str_or_none(payload), _str_or_none(problem)
            row = check_payload(fmt, payload, problem, line, text_field=config.text_field, id_field=config.id_field)
            if row is None:
                continue
            if row.error is None and config.documents:
                row.error = check_article(row.text, config.max_document_chars)
            rid = row.id
            if multi_file and rid == line and not _has_id(payload, config.id_field):
                rid = f"{PurePosixPath(file).name}:{line}"  # a line number alone is not unique across files
            out.append({"file": file, "line": line, "id": None if rid is None else str(rid),
                        "text": row.text if row.error is None else None, "error": row.error})
        # dtype=object: pandas 3's Arrow-backed `str` columns do not convert back through pyspark's Arrow path.
        yield pd.DataFrame(out, columns=["file", "line", "id", "text", "error"], dtype=object)


def _str_or_none(value) -> str | None:
    # pandas hands Spark's nulls over as NaN (a float, and truthy), not None.
    return value if isinstance(value, str) else None


def _has_id(payload: str | None, id_field: str) -> bool:
    try:
        record = json.loads(payload or "")
    except json.JSONDecodeError:
        return False
    return isinstance(record, dict) and record.get(id_field) not in (None, "")


def parse(rows, fmt: str, starts: dict, config: SparkScoreConfig):
    """Every input row checked: (file, line, id, text, error), error None for the rows to score."""
    multi_file = len({file for file, _ in starts}) > 1
    return rows.mapInPandas(partial(_parse_batches, fmt=fmt, starts=starts, multi_file=multi_file, config=config), PARSED_SCHEMA)


def rank_ids(good, partitions: int):
    """The good rows spread over `partitions` tasks by id, each with its rank among the rows sharing its id."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    by_id = Window.partitionBy("id").orderBy("file", "line")
    return (good.repartition(partitions, "id")
            .withColumn("rank", F.row_number().over(by_id))
            .withColumn("first_file", F.first("file").over(by_id))
            .withColumn("first_line", F.first("line").over(by_id)))


def error_rows(parsed, ranked):
    """Bad rows and repeated ids as (file, line, id, reason), in one task, sorted by file and line."""
    from pyspark.sql import functions as F

    bad = parsed.where(F.col("error").isNotNull()).select("file", "line", "id", F.col("error").alias("reason"))
    repeats = ranked.where(F.col("rank") > 1).select(
        "file", "line", "id",
        F.format_string("id '%s' repeats an earlier row (%s:%d); ids must be unique", "id", "first_file", "first_line").alias("reason"))
    return bad.unionByName(repeats).repartition(1).sortWithinPartitions("file", "line")


def _struct(fields: list[tuple[str, str]]) -> str:
    return "struct<" + ", ".join(f"`{name}`: {kind}" for name, kind in fields) + ">"


def output_fields(axes: dict[str, list[str]], documents: bool) -> list[tuple[str, str]]:
    """The output's columns and their Spark types: the single-machine scorer's JSON record, predictions as structs."""
    def prediction(axis: str, extra: tuple = ()) -> tuple[str, str]:
        probs = _struct([(lab, "double") for lab in axes[axis]])
        return axis, _struct([("label", "string"), ("probs", probs), *extra])

    scored = [prediction(a) for a in axes] + [("truncated", "boolean"), ("model", "string")]
    if not documents:
        return [("id", "string"), *scored]
    document = _struct([prediction(a, (("supporting_passages", "array<int>"),)) for a in axes])
    passage = _struct([("index", "int"), ("start", "int"), ("end", "int"), ("text", "string"), *scored])
    headline = _struct([("start", "int"), ("end", "int"), ("text", "string"), *scored])
    return [("id", "string"), ("document", document), ("passages", f"array<{passage}>"), ("headline", headline), ("model", "string")]


_SHIPPED: dict[tuple[str, str], ShippedModel] = {}


def ship_model(spark, model: Path) -> ShippedModel:
    """Zip the artifact folder and add it to the Spark job's archives (once per session and content)."""
    from inference.artifact import folder_sha256, read_config

    read_config(model)  # a folder that is not a loadable artifact stops here, on the driver, with its reason
    checksum = folder_sha256(model)
    key = (spark.sparkContext.applicationId, checksum)
    if key not in _SHIPPED:
        folder = Path(tempfile.mkdtemp(prefix="framing-spark-"))
        atexit.register(shutil.rmtree, folder, True)
        archive = folder / f"framing-model-{checksum[:16]}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:  # weights do not compress; storing is faster
            for file in sorted(p for p in Path(model).rglob("*") if p.is_file()):
                zf.write(file, file.relative_to(model).as_posix())
        spark.sparkContext.addArchive(str(archive))
        _SHIPPED[key] = ShippedModel(archive.name, checksum)
    return _SHIPPED[key]


def verified_folder(folder: Path, model: ShippedModel) -> Path:
    """The unpacked artifact folder, once its sha256 matches the one computed on the driver."""
    from inference.artifact import ArtifactError, folder_sha256

    arrived = folder_sha256(folder)
    if arrived != model.checksum:
        raise ArtifactError(f"model archive {model.name} arrived as {folder} with sha256 {arrived[:16]}, expected "
                            f"{model.checksum[:16]}: it changed or was corrupted on the way; refusing to load it")
    return folder


_PREDICTORS: dict[tuple, object] = {}  # per Python worker: (archive, checksum, options) -> Predictor


def worker_predictor(model: ShippedModel, *, backend: str | None, batch_size: int | None, threads: int | None):
    """This worker's Predictor for the shipped model, loaded (and its checksum verified) on first use only."""
    import torch
    from pyspark import SparkFiles, TaskContext

    from inference.predictor import Predictor

    context = TaskContext.get()
    threads = threads or (context.cpus() if context is not None else 1)
    key = (model.name, model.checksum, backend, batch_size, threads)
    if key not in _PREDICTORS:
        folder = verified_folder(Path(SparkFiles.get(model.name)), model)
        _PREDICTORS[key] = Predictor.from_artifact(folder, backend=backend, batch_size=batch_size, num_threads=threads)
        log = os.environ.get(LOAD_LOG_ENV)
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()} {model.checksum}\n")
    predictor = _PREDICTORS[key]
    torch.set_num_threads(predictor.num_threads)  # another cached model may have set another count in this worker
    return predictor


def _score_batches(batches, *, model: ShippedModel, config: SparkScoreConfig, columns: list[str]):
    """mapInPandas: score each Arrow batch of (id, text) rows through the worker's Predictor."""
    import pandas as pd

    predictor = worker_predictor(model, backend=config.backend, batch_size=config.batch_size, threads=config.threads)
    for pdf in batches:
        ids, texts = pdf["id"].tolist(), pdf["text"].tolist()
        if config.documents:
            records = [predictor.predict_document(t) for t in texts]
        else:
            records = predictor.predict(texts) if texts else []  # sorted by length into batches inside
        yield pd.DataFrame([{"id": i, **r} for i, r in zip(ids, records)], columns=columns, dtype=object)


def scoring_partitions(spark, starts_total: int, config: SparkScoreConfig) -> int:
    """Scoring tasks: as configured, else about ROWS_PER_TASK rows each and at least one per core."""
    if config.partitions:
        return config.partitions
    return max(spark.sparkContext.defaultParallelism, -(-starts_total // ROWS_PER_TASK[config.documents]))


def score_spark(config: SparkScoreConfig, *, spark=None) -> Summary:
    """Score every good row of `config.input` into the Parquet dataset `config.output`; see the module docstring."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from inference.artifact import read_config
    from inference.backends import resolve_backend
    from labels.schema import load_schema

    started = time.perf_counter()
    spark = spark or spark_session()
    resolve_backend(read_config(config.model), config.model, config.backend)  # a bad --backend stops before any job
    fmt = input_format(config.input, config.input_format)
    rows = read_input(spark, config.input, fmt, text_field=config.text_field, id_field=config.id_field)
    starts, total = block_starts(rows)
    parsed = parse(rows, fmt, starts, config).persist(StorageLevel.MEMORY_AND_DISK)
    ranked = rank_ids(parsed.where(F.col("error").isNull()), scoring_partitions(spark, total, config))
    ranked = ranked.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        model = ship_model(spark, Path(config.model))
        axes = {a.name: list(a.labels) for a in load_schema().axes}
        fields = output_fields(axes, config.documents)
        scorer = partial(_score_batches, model=model, config=config, columns=[name for name, _ in fields])
        schema = ", ".join(f"`{name}` {kind}" for name, kind in fields)
        ranked.where(F.col("rank") == 1).select("id", "text").mapInPandas(scorer, schema).write.mode("overwrite").parquet(config.output)
        error_rows(parsed, ranked).write.mode("overwrite").parquet(config.errors_path)
    finally:
        ranked.unpersist()
        parsed.unpersist()
    # Counted from what was committed, so the summary is what a reader of OUT will find.
    return Summary(scored=spark.read.parquet(config.output).count(), rejected=spark.read.parquet(config.errors_path).count(),
                   seconds=time.perf_counter() - started, output=config.output, errors=config.errors_path)

