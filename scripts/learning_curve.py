"""Does more real coverage still help? Coverage-test macro-F1 against the share of coverage training articles.

    .venv/bin/python scripts/learning_curve.py --model artifacts/model --fractions 0 0.5 1 --epochs 4 \
        --out runs/coverage/learning_curve.json

Authored and seed passages are in every fit; the model is the artifact's recipe without its teacher (the teacher
learned from every coverage article) and with --epochs; the TF-IDF baseline beside it over --baseline-seeds
seeds. The same functions as the annotators' report's learning-curve section (reports/learning_curve.py), without
the report's out-of-fold work. About 10 min on 2 cores for three fractions.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from inference.artifact import read_config
from inference.machine import machine_info
from labels.corpus import LABELS_DIR
from labels.dataset import corpus_rows, load_corpus
from reports.learning_curve import baseline_learner, learning_curve, model_learner, summarise
from training.train import saved_config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"), help="artifact whose training recipe to reuse")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--baseline-seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/coverage/learning_curve.json"))
    args = parser.parse_args()
    if any(not 0 <= f <= 1 for f in args.fractions):
        parser.error(f"--fractions must be between 0 and 1, got {args.fractions}")
    started = time.perf_counter()
    artifact_config = read_config(args.model)
    config = saved_config(artifact_config["training_config"])
    corpus = load_corpus(LABELS_DIR)
    train_rows = corpus_rows(corpus, config.train_splits)
    test_rows = corpus_rows(corpus, (config.test_split,))
    axes = {a: list(labels) for a, labels in artifact_config["axes"].items()}
    fractions = tuple(args.fractions)
    points = learning_curve(train_rows, test_rows, axes, baseline_learner(axes), fractions=fractions, seeds=args.baseline_seeds,
                            base_seed=config.seed, name="baseline")
    learner = model_learner(corpus, config, train_rows, epochs=args.epochs)
    points += learning_curve(train_rows, test_rows, axes, learner, fractions=fractions, seeds=1, base_seed=config.seed, name="model")
    result = {"eval_split": config.test_split, "model_recipe_from": str(args.model), "model_epochs": args.epochs,
              "model_teacher": "none", "points": points, "summary": summarise(points, tuple(axes)),
              "seconds": round(time.perf_counter() - started, 1), "machine": machine_info()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    for row in result["summary"]:
        print(f"{row['learner']:<9} coverage share {row['fraction']:.2f}  {row['passages']:>7} passages  "
              + "  ".join(f"{a} {row[a]['mean']:.3f}" for a in axes))
    print(f"wrote {args.out} in {result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
