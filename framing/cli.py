"""`framing`: one command with subcommands for the whole flow.

corpus build | validate | stats | passages   build and check the annotated corpus
train / evaluate                              fine-tune the classifier and measure it
teach                                         store a large teacher's logits for distillation (long, once)
report / import-labelstudio                   the annotators' report; Label Studio round trip
score / serve                                 batch-score files and run the HTTP service
export / bench                                fast CPU backends (ONNX, int8, bf16) and their benchmark
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from labels.corpus import LABELS_DIR, TEACHER_DIR
from serving.model_store import LATEST

DEFAULT_MODEL_DIR = Path("artifacts/model")


def write_json(obj, path: Path) -> None:
    """Write a command's JSON result (evaluation, benchmark), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1), encoding="utf-8")


def _corpus_build(args) -> int:
    from labels.corpus import build

    passages, documents = build(args.root)
    labelled = sum(bool(p["gold"]) for p in passages)
    print(f"built {len(passages)} passages ({labelled} with gold labels) from {len(documents)} documents into {args.root / 'corpus'}")
    return 0


def _corpus_validate(args) -> int:
    from labels.validate import DEFAULT_HELD_OUT_LIST, load_held_out, validate

    lists = args.held_out or [DEFAULT_HELD_OUT_LIST]
    missing = [str(p) for p in lists if not Path(p).exists()]
    if missing:
        print(f"held-out list not found: {', '.join(missing)}; coverage addresses are not checked against it "
              "(pass --held-out FILE with the project owner's list)", file=sys.stderr)
    problems = validate(args.root, held_out=load_held_out(lists))
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("corpus is valid")
    return 0


def _corpus_stats(args) -> int:
    from labels.stats import corpus_stats, format_stats

    s = corpus_stats(args.root)
    print(json.dumps(s, indent=1) if args.json else format_stats(s))
    return 0


def _corpus_splits(args) -> int:
    """Assign and freeze a split for every coverage document that has none (labels/splits.py)."""
    from labels.splits import SplitTargets, assign_splits

    assigned = assign_splits(args.root, SplitTargets(test_share=args.test_share, dev_share=args.dev_share, floor=args.floor))
    counts = {s: sum(v == s for v in assigned.values()) for s in ("coverage_test", "coverage_dev", "train")}
    print(f"assigned {len(assigned)} coverage documents: " + ", ".join(f"{s} {n}" for s, n in counts.items())
          + "; run `framing corpus build` next")
    return 0


def _corpus_passages(args) -> int:
    """Print how a file would be segmented: the passages with their ids, and what was dropped."""
    from labels.corpus import passage_id
    from labels.segment import segment

    text = Path(args.file).read_text(encoding="utf-8")
    seg = segment(text)
    doc_id = args.doc_id or Path(args.file).stem
    for i, p in enumerate(seg.passages):
        print(json.dumps({"passage_id": passage_id(doc_id, p.text), "index": i, "text": p.text}, ensure_ascii=False))
    if args.dropped:
        for d in seg.dropped:
            print(json.dumps({"dropped": d.reason, "text": d.text}, ensure_ascii=False), file=sys.stderr)
    return 0


def _train(args) -> int:
    from labels.dataset import load_corpus
    from training.train import TrainConfig, summary, train, training_precision

    overrides = {k: getattr(args, k) for k in ("base_model", "epochs", "batch_size", "max_length", "learning_rate", "seed", "num_threads",
                                           "precision", "teacher", "distill_alpha", "distill_temperature", "distill_views",
                                           "view_fraction", "document_rule")
                 if getattr(args, k) is not None}
    if args.time_budget is not None:
        overrides["time_budget_minutes"] = None if args.time_budget == "none" else args.time_budget
    config = TrainConfig(**overrides)
    corpus = load_corpus(args.root)
    n = sum(len(corpus[s]) for s in config.train_splits if s in corpus)
    views = _teacher_views(config, args.root)
    # MiniLM on 2 cores, dev passes included: about 90 s per epoch of 1,000 examples in fp32 (585 s for 5,738 passages
    # and 927 views on an AVX2 EPYC), 35-40 s in bf16 (155 s for 2,150 passages and 2,305 views on an AMX Xeon).
    precision = training_precision(config.precision)
    estimate = (n + views) / 1000 * (40 if precision == "bf16" else 90) * config.epochs / 60
    budget = config.time_budget_minutes
    limit = (f"; the run fits {budget:g} min by training on a share of each epoch where needed (--time-budget none: the whole "
             f"recipe)" if budget is not None and estimate > budget else "")
    print(f"training on {n} passages" + (f" and {views} teacher views" if views else "") + f" for up to {config.epochs} epochs "
          f"in {precision}; the whole recipe takes up to ~{estimate:.0f} min on a 2-core CPU with the default encoder, less "
          f"when it stops early (a larger encoder takes several times longer){limit}", file=sys.stderr)
    predictor = train(config, corpus, out_dir=args.out, corpus_root=args.root)
    print(summary(predictor.config))
    if args.register:
        _register(args.out)
    return 0


def _minutes(value: str) -> float | str:
    """--time-budget: minutes above 0, or "none"."""
    if value.strip().lower() == "none":
        return "none"
    try:
        minutes = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes (e.g. 15) or 'none', got {value!r}") from None
    if not minutes > 0:
        raise argparse.ArgumentTypeError(f"the budget must be above 0 minutes, got {value!r}; use 'none' for no limit")
    return minutes


def _teacher_views(config, root: Path) -> int:
    """How many stored teacher views a training run will add (for the time estimate only)."""
    from training.distill import META_FILE
    from training.train import teacher_folder

    folder = teacher_folder(config, root)
    if folder is None or not (folder / META_FILE).exists() or not config.distill_views:
        return 0
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    return round(config.view_fraction * min(meta.get("views", 0), meta.get("passages", 0) * config.distill_views))


def _teach(args) -> int:
    from inference.predictor import Predictor
    from labels.dataset import corpus_rows, load_corpus
    from training.distill import teach
    from training.train import TrainConfig

    # A named backend may be one `framing export` never qualified on the teacher (exporting a base-size encoder is
    # long): the stored logits are soft training targets, not served labels, and teacher.json records the backend.
    teachers = [Predictor.from_artifact(path, backend=args.backend, num_threads=args.threads,
                                        require_qualified=args.backend is None) for path in args.teacher]
    corpus, config = load_corpus(args.root), TrainConfig()
    rows = corpus_rows(corpus, config.train_splits)
    names = ", ".join(f"{t.version} ({t.backend})" for t in teachers)
    print(f"scoring {len(rows)} training passages and up to {args.views} views of each with {names}; "
          "a base-size encoder takes several minutes on 2 cores", file=sys.stderr)
    meta = teach(teachers, rows, args.out, views_per_passage=args.views, seed=args.seed, corpus_root=args.root,
                 command=" ".join(["framing", *sys.argv[1:]]), dev_rows=corpus_rows(corpus, (config.dev_split,)))
    print(f"wrote {args.out}: teacher logits on {meta['passages']} passages and {meta['views']} views")
    dev = meta.get("dev", {"members": {}})  # absent when the corpus has no coverage dev passages
    for version, scores in [*dev["members"].items(), *([("stored (mean logits)", dev["stored"])] if "stored" in dev else [])]:
        print(f"  {config.dev_split} macro-F1 {version}: " + ", ".join(f"{a} {v:.3f}" for a, v in scores.items()))
    return 0


def _register(folder: Path) -> None:
    """Copy an artifact folder into the local BentoML model store, so `framing serve` finds it by tag."""
    from serving.model_store import register_bentoml

    try:
        tag = register_bentoml(folder)
    except ImportError:
        print("bentoml is not installed: not registered in the model store", file=sys.stderr)
    else:
        print(f"registered in the BentoML model store as {tag}")


def _evaluate(args) -> int:
    from training.evaluate import evaluate, format_evaluation

    result = evaluate(args.model, seed_folds=not args.no_seed_folds, training_seeds=args.training_seeds, root=args.root,
                      backend=args.backend, num_threads=args.num_threads)
    write_json(result, args.out)
    print(format_evaluation(result))
    print(f"wrote {args.out}")
    return 0


def _score(args) -> int:
    from serving.batch import BatchError, print_summary, score_file
    from inference.predictor import Predictor

    if args.engine == "spark":
        return _score_spark(args)
    if args.master:
        print("error: --master applies to --engine spark only", file=sys.stderr)
        return 2

    predictor = Predictor.from_artifact(args.model, batch_size=args.batch_size, backend=args.backend, num_threads=args.threads)
    warm = f", compiled in {predictor.warmup_s:.1f} s" if predictor.warmup_s else ""
    print(f"backend {predictor.backend}, batch size {predictor.batch_size}, {predictor.num_threads} threads{warm}", file=sys.stderr)
    try:
        summary = score_file(args.input, args.output, predictor, text_field=args.text_field, id_field=args.id_field,
                             documents=args.documents, errors_path=args.errors, strict=args.strict,
                             chunk_size=args.chunk_size, overwrite=args.overwrite)
    except BatchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print_summary(summary)
    return 0


def _score_spark(args) -> int:
    """`framing score --engine spark`: the same scoring on Apache Spark (serving/spark_batch.py)."""
    from serving.batch import BatchError, print_summary
    from serving.spark_batch import SparkScoreConfig, score_spark, spark_session

    if args.strict:
        print("error: --strict applies to the single-machine engine; the Spark engine always scores every good row "
              "and lists the bad ones in OUT_errors/", file=sys.stderr)
        return 2
    try:
        config = SparkScoreConfig(input=args.input, output=args.output, model=args.model, text_field=args.text_field,
                                  id_field=args.id_field, documents=args.documents, errors=args.errors,
                                  input_format=args.input_format, backend=args.backend, batch_size=args.batch_size,
                                  threads=args.threads, partitions=args.partitions, max_document_chars=args.max_document_chars)
        spark = spark_session(args.master)
        print(f"Spark {spark.version} on {spark.sparkContext.master}; model {args.model}", file=sys.stderr)
        summary = score_spark(config, spark=spark)
    except BatchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Exception as e:
        # Matched by name: importing pyspark here would mask the error when pyspark is what is missing.
        if type(e).__name__ != "AnalysisException" or not type(e).__module__.startswith("pyspark"):
            raise
        # Spark's own word on an unreadable input (no such remote path, unreadable files), in one line.
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 1
    print_summary(summary)
    return 0


def _serve(args) -> int:
    from inference.artifact import read_config
    from inference.backends import resolve_backend
    from serving.config import ModelNotFoundError, Settings, locate_model
    from serving.run import serve

    settings = Settings.from_env()
    if args.backend is not None:
        settings = settings.replace(backend=args.backend)
    if args.model:
        settings = settings.replace(model=args.model)
    try:
        path = locate_model(settings.model)
    except ModelNotFoundError:
        pass  # serve() prints the one line that names `framing train`
    else:
        # A backend this model does not offer stops here, with the valid choices, before any server starts.
        resolve_backend(read_config(path), path, settings.backend or None, batch_invariant=True)
    return serve(host=args.host, port=args.port, settings=settings) or 0


def _export(args) -> int:
    from labels.dataset import load_corpus
    from inference.export import ExportConfig, export_backends

    config = ExportConfig(num_threads=args.threads or 0)
    print(f"exporting and qualifying backends for {args.model}; about 1-3 min for MiniLM on 2 cores, "
          "1-2 min more where the CPU has native bf16 (bf16-compiled compiles once)", file=sys.stderr)
    export_backends(args.model, load_corpus(args.root), config, log=lambda line: print(line, file=sys.stderr))
    if args.register:
        _register(args.model)
    return 0


def _bench(args) -> int:
    from inference.bench import BenchConfig, format_bench, run_bench

    config = BenchConfig(passages=args.passages, num_threads=args.threads or 0, backends=tuple(args.backends or ()),
                         pipeline=not args.no_pipeline)
    result = run_bench(args.model, config, root=args.root, log=lambda line: print(line, file=sys.stderr))
    write_json(result, args.out)
    print(format_bench(result))
    print(f"wrote {args.out}")
    return 0


def _report(args) -> int:
    from reports.build import build_report
    from reports.config import ReportConfig, fast_config
    from reports.outputs import write_report

    overrides = {k: getattr(args, k) for k in ("folds", "top_errors", "queue_size") if getattr(args, k) is not None}
    config = fast_config(**overrides) if args.fast else ReportConfig(**overrides)
    if not args.fast:
        print("full report: fine-tunes once per fold and for the learning curve; expect up to ~30 min on 2 cores "
              "(use --fast for a baseline-only look in a few minutes)", file=sys.stderr)
    report = build_report(config, model_dir=args.model, evaluation_path=args.evaluation, unlabelled=args.unlabelled, root=args.root)
    files = write_report(report, args.out)
    print(f"report written in {report['timings']['total']:.0f} s: {files['report.html']} (+ JSON, CSV and Label Studio tasks in {args.out})")
    return 0


def _import_labelstudio(args) -> int:
    from reports.labelstudio import import_export

    target, records, warnings = import_export(args.export, args.name, root=args.root, annotator=args.annotator, overwrite=args.overwrite)
    print(f"imported {len(records)} annotation(s) into {target}; now run `framing corpus build` and `framing corpus validate`")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def _add_corpus(sub, backends: str) -> None:
    """`framing corpus build|validate|stats|splits|passages`."""
    from labels.splits import SplitTargets

    corpus = sub.add_parser("corpus", help="build, validate and describe the annotated corpus")
    csub = corpus.add_subparsers(dest="corpus_command", required=True)
    for name, func, help_ in (
        ("build", _corpus_build, "segment the sources and join the annotations into labels/corpus/"),
        ("validate", _corpus_validate, "check the built corpus; exits 1 listing every problem with file and line"),
        ("stats", _corpus_stats, "counts per label, combination, split, topic and style; agreement"),
        ("splits", _corpus_splits, "give each new coverage document a split, balanced by label, and freeze it in its metadata"),
    ):
        p = csub.add_parser(name, help=help_)
        p.add_argument("--root", type=Path, default=LABELS_DIR, help="the labels folder (default: the package's)")
        p.set_defaults(func=func)
    csub.choices["validate"].add_argument("--held-out", type=Path, action="append", metavar="FILE",
                                           help="the owner's list of held-out pages (default: ../shared/held-out-sources.txt beside the checkout)")
    sub_stats = csub.choices["stats"]
    sub_stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    splits, targets = csub.choices["splits"], SplitTargets()
    splits.add_argument("--test-share", type=float, default=targets.test_share, help="share of the new passages for coverage_test (default %(default)s)")
    splits.add_argument("--dev-share", type=float, default=targets.dev_share, help="share for coverage_dev (default %(default)s)")
    splits.add_argument("--floor", type=float, default=targets.floor, help="share each label should reach in those splits (default %(default)s)")
    p = csub.add_parser("passages", help="show how a text file is cut into passages, with passage ids")
    p.add_argument("file")
    p.add_argument("--doc-id", help="document id used in passage ids (default: the file name stem)")
    p.add_argument("--dropped", action="store_true", help="also list dropped lines and why, on stderr")
    p.set_defaults(func=_corpus_passages)


def _add_train(sub, backends: str) -> None:
    """`framing train`."""
    p = sub.add_parser("train", help="fine-tune the two-head classifier and save the artifact folder")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR, help=f"artifact folder (default: {DEFAULT_MODEL_DIR})")
    p.add_argument("--base-model", help="local model folder or hub id (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--epochs", type=int, help="default 4")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--max-length", type=int, help="tokens per passage; longer passages are truncated")
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--num-threads", type=int)
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"),
                   help="auto (default): bf16 autocast where the CPU multiplies bf16 natively (AMX, AVX512-BF16), else fp32")
    p.add_argument("--teacher", help="auto (default): distil from labels/teacher/ when `framing teach` wrote it; none; or a teacher folder")
    p.add_argument("--distill-alpha", type=float, help="weight of the gold labels against the teacher's (default 0.5)")
    p.add_argument("--distill-temperature", type=float, help="softening of the teacher's logits (default 2)")
    p.add_argument("--distill-views", type=int, help="views per passage from the teacher's transfer set (default 3)")
    p.add_argument("--view-fraction", type=float,
                   help="share of the teacher's views each epoch trains on, drawn afresh every epoch (default 0.5)")
    p.add_argument("--time-budget", type=_minutes, metavar="MINUTES",
                   help="wall-clock budget of the run (default 15); where the recipe would take longer, each epoch trains on "
                        "fewer teacher views, then on a share of the passages; 'none' for no limit")
    p.add_argument("--document-rule", choices=("auto", "weighted", "learned"),
                   help="how passages add up to an article: auto (default) takes the learned rule where it wins 5-fold "
                        "cross-validation on coverage dev and train articles, else the weighted grid's pick")
    p.add_argument("--no-register", dest="register", action="store_false", help="do not copy it into the BentoML model store")
    p.add_argument("--root", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=_train)


def _add_teach(sub, backends: str) -> None:
    """`framing teach`."""
    p = sub.add_parser("teach", help="store a trained teacher's logits on the training passages and views of them")
    p.add_argument("--teacher", type=Path, required=True, action="append",
                   help="the teacher's artifact folder (from `framing train --base-model ...`); repeat it for an ensemble, whose logits are averaged")
    p.add_argument("--out", type=Path, default=TEACHER_DIR, help="where the logits go (default: labels/teacher, read by `framing train`)")
    p.add_argument("--views", type=int, default=3, help="views per training passage to score (default %(default)s)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--backend", help=f"one of {backends} (default: the teacher's fastest qualified); a named one runs even if "
                                     "export never qualified it (bf16-native: about 3x faster than fp32 for a base-size teacher)")
    p.add_argument("--threads", type=int)
    p.add_argument("--root", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=_teach)


def _add_evaluate(sub, backends: str) -> None:
    """`framing evaluate`."""
    p = sub.add_parser("evaluate", help="test split, seed leave-one-article-out and document scores as JSON")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    p.add_argument("--out", type=Path, default=Path("runs/evaluation.json"))
    p.add_argument("--no-seed-folds", action="store_true", help="skip the five leave-one-seed-article-out trainings")
    p.add_argument("--training-seeds", type=int, default=1, metavar="N",
                   help="also retrain the recipe with N-1 more seeds and report the test spread (default 1: the artifact alone)")
    p.add_argument("--backend", help=f"one of {backends} for the artifact's own figures (default: the one `framing export` chose)")
    p.add_argument("--num-threads", type=int, help="CPU threads for the retrainings (default: the artifact's training setting)")
    p.add_argument("--root", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=_evaluate)


def _add_score(sub, backends: str) -> None:
    """`framing score`."""
    p = sub.add_parser("score", help="score a JSONL, CSV or Parquet file (format from the extension)")
    # Strings, not Paths: Path would fold the // of hdfs:// and s3a:// addresses for the Spark engine.
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    p.add_argument("--text-field", default="text")
    p.add_argument("--id-field", default="id", help="row id column; rows without one get their line number")
    p.add_argument("--documents", action="store_true", help="each row is a whole article: segment and aggregate")
    p.add_argument("--errors", help="errors file (default: <output stem>.errors.jsonl; with --engine spark, OUT_errors)")
    p.add_argument("--strict", action="store_true", help="fail on the first bad row instead of reporting it")
    p.add_argument("--chunk-size", type=int, default=256, help="rows per committed chunk")
    p.add_argument("--batch-size", type=int, help="passages per forward pass (default: the fastest measured by `framing export`, else 32)")
    p.add_argument("--backend", help=f"one of {backends} (default: the fastest that passed `framing export`)")
    p.add_argument("--threads", type=int, help="CPU threads for the forward pass (default: PyTorch's, one per core; with --engine spark, the cores Spark gives each task)")
    p.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming")
    p.add_argument("--engine", choices=("single", "spark"), default="single",
                   help="single: this process (default); spark: Apache Spark, OUT a Parquet dataset, bad rows in OUT_errors/")
    spark = p.add_argument_group("--engine spark")
    spark.add_argument("--master", help="Spark master URL, e.g. local[2], yarn, spark://host:7077 (default: spark-submit's, else local[*])")
    spark.add_argument("--input-format", choices=("jsonl", "csv", "parquet"), help="IN's format when its name does not say")
    spark.add_argument("--partitions", type=int, help="scoring tasks (default: about 10,000 passages or 1,000 articles each, at least one per core)")
    spark.add_argument("--max-document-chars", type=int, default=200_000, help="with --documents, longer articles go to the errors (default %(default)s)")
    p.set_defaults(func=_score)


def _add_serve(sub, backends: str) -> None:
    """`framing serve`."""
    p = sub.add_parser("serve", help="run the HTTP service (BentoML) on 127.0.0.1")
    p.add_argument("--model", help=f"artifact folder or BentoML model tag (default: {LATEST} in the store)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--backend", help=f"one of {backends} (default: FRAMING_BACKEND, else the fastest that passed `framing export`)")
    p.set_defaults(func=_serve)


def _add_export(sub, backends: str) -> None:
    """`framing export`."""
    p = sub.add_parser("export", help="export ONNX fp32/int8 into the artifact, qualify every backend against fp32, record the fastest")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    p.add_argument("--threads", type=int, help="CPU threads to measure with (default: all this process may use)")
    p.add_argument("--no-register", dest="register", action="store_false", help="do not copy it into the BentoML model store")
    p.add_argument("--root", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=_export)


def _add_bench(sub, backends: str) -> None:
    """`framing bench`."""
    p = sub.add_parser("bench", help="passages/s and latency of every backend beside the transformers pipeline and the CPU's matmul rates")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    p.add_argument("--out", type=Path, default=Path("runs/bench_inference.json"))
    p.add_argument("--passages", type=int, default=0, help="corpus passages to run (default: all)")
    p.add_argument("--threads", type=int, help="CPU threads (default: all this process may use)")
    p.add_argument("--backends", nargs="+", help=f"backends to run, among {backends} (default: every one that runs here)")
    p.add_argument("--no-pipeline", action="store_true", help="skip the transformers pipeline baseline")
    p.add_argument("--root", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=_bench)


def _add_report(sub, backends: str) -> None:
    """`framing report`."""
    p = sub.add_parser("report", help="the annotators' report: errors, suspected label errors, what to annotate next (HTML, JSON, CSV)")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    p.add_argument("--evaluation", type=Path, help="`framing evaluate` JSON for the summary (default: the report's own test scores)")
    p.add_argument("--out", type=Path, default=Path("runs/report"))
    p.add_argument("--fast", action="store_true", help="baseline-only out-of-fold and fewer learning-curve points; no model needed")
    p.add_argument("--unlabelled", type=Path, help="JSONL or CSV of passages (text, id, doc_id) to queue (default: unannotated corpus passages)")
    p.add_argument("--folds", type=int)
    p.add_argument("--top-errors", type=int)
    p.add_argument("--queue-size", type=int)
    p.add_argument("--root", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=_report)


def _add_import_labelstudio(sub, backends: str) -> None:
    """`framing import-labelstudio`."""
    p = sub.add_parser("import-labelstudio", help="turn a Label Studio JSON export into labels/annotations/NAME.jsonl, validated")
    p.add_argument("export", type=Path)
    p.add_argument("--name", required=True, help="annotation file name (without .jsonl), e.g. batch-g.annotator-g1")
    p.add_argument("--annotator", help="record every annotation under this name (default: Label Studio's completed_by)")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--root", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=_import_labelstudio)


def build_parser() -> argparse.ArgumentParser:
    from inference.backends import BACKENDS

    backends = ", ".join(BACKENDS)
    parser = argparse.ArgumentParser(prog="framing", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_corpus, _add_train, _add_teach, _add_evaluate, _add_score, _add_serve, _add_export, _add_bench, _add_report,
                _add_import_labelstudio):
        add(sub, backends)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as e:
        # User errors (bad files, bad options) end with one clear line, not a traceback.
        print(f"error: {e}", file=sys.stderr)
        return 2
