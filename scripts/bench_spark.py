"""Passages/s of `framing score --engine spark` against the single-machine scorer, same passages, same machine.

    python scripts/bench_spark.py --model artifacts/model --passages 20000 --master local[2] --out runs/bench_spark.json

The corpus passages, repeated to --passages rows with unique ids, are written once as JSONL; then, in one run:
- the single-machine scorer (`score_file`, what `framing score` runs) with one Predictor using every core;
- the Spark engine (`score_spark`, what `framing score --engine spark` runs) on --master, one thread per task.
Spark's time is the whole job as a user waits for it (reading, checking, shipping and loading the model in each
worker, scoring, committing), with the session already started; starting the session is timed on its own. The JSON
records the CPU, its flags, the load average before each run (this machine is shared), and library versions.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import tempfile
import time
from pathlib import Path

from inference.machine import machine_info
from inference.predictor import Predictor
from labels.corpus import LABELS_DIR, read_jsonl
from serving.batch import score_file
from serving.spark_batch import SparkScoreConfig, score_spark, spark_session


def passages(root: Path, n: int) -> list[dict]:
    """The corpus passages repeated to n rows, each with its own id."""
    texts = [p["text"] for _, p in read_jsonl(root / "corpus" / "passages.jsonl")]
    return [{"id": f"p{i}", "text": texts[i % len(texts)]} for i in range(n)]


def java_version() -> str:
    try:
        run = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (run.stderr or run.stdout).splitlines()[0] if (run.stderr or run.stdout) else "unknown"


def single_machine(src: Path, out: Path, model: Path, backend: str | None) -> dict:
    predictor = Predictor.from_artifact(model, backend=backend)
    load = os.getloadavg()[0]
    summary = score_file(src, out, predictor, progress=False, overwrite=True)
    return {"passages": summary.scored, "seconds": round(summary.seconds, 2), "passages_per_s": round(summary.scored / summary.seconds, 1),
            "backend": predictor.backend, "batch_size": predictor.batch_size, "threads": predictor.num_threads,
            "load_average_before": round(load, 2)}


def spark_engine(src: Path, out: Path, model: Path, backend: str | None, master: str) -> dict:
    started = time.perf_counter()
    spark = spark_session(master)
    session_seconds = time.perf_counter() - started
    config = SparkScoreConfig(input=str(src), output=str(out), model=model, backend=backend)
    load = os.getloadavg()[0]
    summary = score_spark(config, spark=spark)
    result = {"passages": summary.scored, "seconds": round(summary.seconds, 2),
              "passages_per_s": round(summary.scored / summary.seconds, 1), "session_start_seconds": round(session_seconds, 1),
              "master": spark.sparkContext.master, "cores": spark.sparkContext.defaultParallelism,
              "spark": spark.version, "load_average_before": round(load, 2)}
    spark.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--backend", help="default: the artifact's fastest qualified backend, for both engines")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_spark.json"))
    parser.add_argument("--root", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        src = Path(tmp) / "passages.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in passages(args.root, args.passages)), encoding="utf-8")
        single = single_machine(src, Path(tmp) / "single.jsonl", args.model, args.backend)
        print(f"single machine: {single['passages_per_s']} passages/s ({single['seconds']} s)", flush=True)
        spark = spark_engine(src, Path(tmp) / "spark", args.model, args.backend, args.master)
        print(f"spark {spark['master']}: {spark['passages_per_s']} passages/s ({spark['seconds']} s, session start "
              f"{spark['session_start_seconds']} s not counted)", flush=True)
    ratio = spark["passages_per_s"] / single["passages_per_s"]
    result = {"command": f"python scripts/bench_spark.py --model {args.model} --passages {args.passages} --master {args.master}",
              "model": str(args.model), "passages": args.passages, "single_machine": single, "spark": spark,
              "spark_over_single": round(ratio, 3), "target": "spark at least 0.80 of the single-machine rate on the same cores",
              "passages_per_s_per_core": round(spark["passages_per_s"] / spark["cores"], 1),
              "cores_for_ten_million_an_hour": math.ceil(10_000_000 / 3600 / (spark["passages_per_s"] / spark["cores"])),
              "machine": {**machine_info(), "pyspark": spark["spark"], "java": java_version()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"spark / single machine = {ratio:.2f} (target >= 0.80); per core {result['passages_per_s_per_core']} passages/s, "
          f"so ~{result['cores_for_ten_million_an_hour']} cores for ten million passages an hour; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
