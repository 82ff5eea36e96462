"""`framing`: one command with subcommands for the whole flow.

corpus build | validate | stats | passages   build and check the annotated corpus
train / evaluate                              fine-tune the classifier and measure it
score / serve                                 batch-score files and run the HTTP service
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_MODEL_DIR = Path("artifacts/model")


def _corpus_build(args) -> int:
    from labels.corpus import build

    passages, documents = build(args.root)
    labelled = sum(bool(p["gold"]) for p in passages)
    print(f"built {len(passages)} passages ({labelled} with gold labels) from {len(documents)} documents into {args.root / 'corpus'}")
    return 0


def _corpus_validate(args) -> int:
    from labels.validate import validate

    problems = validate(args.root)
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
    from training.train import TrainConfig, summary, train

    overrides = {k: getattr(args, k) for k in ("base_model", "epochs", "batch_size", "max_length", "learning_rate", "seed", "num_threads")
                 if getattr(args, k) is not None}
    config = TrainConfig(**overrides)
    corpus = load_corpus(args.root)
    n = sum(len(corpus[s]) for s in config.train_splits if s in corpus)
    # ~67 s per epoch of 1,000 passages on 2 cores (shared/CPU-INFERENCE-NOTES.md), plus dev passes.
    estimate = n / 1000 * 70 * config.epochs / 60
    print(f"training on {n} passages for up to {config.epochs} epochs; expect at most ~{estimate:.0f} min on a 2-core CPU", file=sys.stderr)
    predictor = train(config, corpus, out_dir=args.out, corpus_root=args.root)
    print(summary(predictor.config))
    if args.register:
        try:
            from training.artifact import register_bentoml
        except ImportError:
            print("bentoml is not installed: not registered in the model store", file=sys.stderr)
        else:
            print(f"registered in the BentoML model store as {register_bentoml(args.out)}")
    return 0


def _evaluate(args) -> int:
    from training.evaluate import evaluate, format_evaluation
    from training.train import dump_json

    result = evaluate(args.model, seed_folds=not args.no_seed_folds, root=args.root)
    dump_json(result, args.out)
    print(format_evaluation(result))
    print(f"wrote {args.out}")
    return 0


def _score(args) -> int:
    from serving.batch import BatchError, print_summary, score_file
    from training.predictor import Predictor

    predictor = Predictor.from_artifact(args.model, batch_size=args.batch_size)
    try:
        summary = score_file(args.input, args.output, predictor, text_field=args.text_field, id_field=args.id_field,
                             documents=args.documents, errors_path=args.errors, strict=args.strict,
                             chunk_size=args.chunk_size, overwrite=args.overwrite)
    except BatchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print_summary(summary)
    return 0


def _serve(args) -> int:
    from serving.run import serve

    return serve(model=args.model, host=args.host, port=args.port) or 0


def build_parser() -> argparse.ArgumentParser:
    from labels.corpus import LABELS_DIR

    parser = argparse.ArgumentParser(prog="framing", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    corpus = sub.add_parser("corpus", help="build, validate and describe the annotated corpus")
    csub = corpus.add_subparsers(dest="corpus_command", required=True)
    for name, func, help_ in (
        ("build", _corpus_build, "segment the sources and join the annotations into labels/corpus/"),
        ("validate", _corpus_validate, "check the built corpus; exits 1 listing every problem with file and line"),
        ("stats", _corpus_stats, "counts per label, combination, split, topic and style; agreement"),
    ):
        p = csub.add_parser(name, help=help_)
        p.add_argument("--root", type=Path, default=LABELS_DIR, help="the labels folder (default: the package's)")
        p.set_defaults(func=func)
    sub_stats = csub.choices["stats"]
    sub_stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = csub.add_parser("passages", help="show how a text file is cut into passages, with passage ids")
    p.add_argument("file")
    p.add_argument("--doc-id", help="document id used in passage ids (default: the file name stem)")
    p.add_argument("--dropped", action="store_true", help="also list dropped lines and why, on stderr")
    p.set_defaults(func=_corpus_passages)

    p = sub.add_parser("train", help="fine-tune the two-head classifier and save the artifact folder")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR, help=f"artifact folder (default: {DEFAULT_MODEL_DIR})")
    p.add_argument("--base-model", help="local model folder or hub id (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--max-length", type=int, help="tokens per passage; longer passages are truncated")
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--num-threads", type=int)
    p.add_argument("--no-register", dest="register", action="store_false", help="do not copy it into the BentoML model store")
    p.add_argument("--root", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="test split, seed leave-one-article-out and document scores as JSON")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    p.add_argument("--out", type=Path, default=Path("runs/evaluation.json"))
    p.add_argument("--no-seed-folds", action="store_true", help="skip the five leave-one-seed-article-out trainings")
    p.add_argument("--root", type=Path, default=LABELS_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("score", help="score a JSONL, CSV or Parquet file (format from the extension)")
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    p.add_argument("--text-field", default="text")
    p.add_argument("--id-field", default="id", help="row id column; rows without one get their line number")
    p.add_argument("--documents", action="store_true", help="each row is a whole article: segment and aggregate")
    p.add_argument("--errors", type=Path, help="errors file (default: <output stem>.errors.jsonl)")
    p.add_argument("--strict", action="store_true", help="fail on the first bad row instead of reporting it")
    p.add_argument("--chunk-size", type=int, default=256, help="rows per committed chunk")
    p.add_argument("--batch-size", type=int, default=32, help="passages per forward pass")
    p.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming")
    p.set_defaults(func=_score)

    p = sub.add_parser("serve", help="run the HTTP service (BentoML) on 127.0.0.1")
    p.add_argument("--model", help="artifact folder or BentoML model tag (default: news-framing:latest in the store)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as e:
        # User errors (bad files, bad options) end with one clear line, not a traceback.
        print(f"error: {e}", file=sys.stderr)
        return 2
