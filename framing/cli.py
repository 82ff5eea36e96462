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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as e:
        # User errors (bad files, bad options) end with one clear line, not a traceback.
        print(f"error: {e}", file=sys.stderr)
        return 2
