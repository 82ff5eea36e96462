"""`framing evaluate`: test split, seed articles leave-one-article-out, document level, beside the baseline.

Writes one JSON file that the report renders. Every figure comes through `Predictor`, the same
path the service and batch scorer use.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut
from tqdm.auto import tqdm

from inference.machine import machine
from inference.predictor import Predictor
from labels.corpus import LABELS_DIR
from labels.dataset import CorpusRow, corpus_rows, documents_of, gold_ids, load_corpus
from training.baseline import baseline_probabilities, fit_baselines
from training.calibration import expected_calibration_error
from training.metrics import axis_report, breakdowns, paired_difference
from training.train import TrainConfig, saved_config, train


def document_report(predictions: list[dict], docs: list[dict], axes: dict[str, list[str]]) -> dict:
    """Per-axis report of document labels from `predict_document` against gold document labels."""
    if not docs:
        return {}
    return {a: axis_report([labels.index(d["gold"][a]) for d in docs],
                           [labels.index(p["document"][a]["label"]) for p in predictions], labels)
            for a, labels in axes.items()}


def compare(rows: list[CorpusRow], model_probs: dict[str, np.ndarray], baseline_probs: dict[str, np.ndarray],
            axes: dict[str, list[str]]) -> dict:
    """Reports for the fine-tuned model and the baseline on the same rows, and the paired difference per axis."""
    gold = gold_ids(rows, axes)
    return {
        "model": {a: axis_report(gold[a], model_probs[a].argmax(1), labels) for a, labels in axes.items()},
        "baseline": {a: axis_report(gold[a], baseline_probs[a].argmax(1), labels) for a, labels in axes.items()},
        "model_minus_baseline": {a: paired_difference(gold[a], model_probs[a].argmax(1), baseline_probs[a].argmax(1), len(labels))
                                 for a, labels in axes.items()},
    }


# Authored passages' own test split: reported beside the coverage figures, for reference.
REFERENCE_SPLIT = "test"


def calibration_on(rows: list[CorpusRow], probs: dict[str, np.ndarray], axes: dict[str, list[str]]) -> dict:
    """Expected calibration error of the calibrated probabilities per axis, on rows the temperatures never saw."""
    gold = gold_ids(rows, axes)
    return {a: {"ece": expected_calibration_error(probs[a], gold[a]), "n": len(rows)} for a in axes}


def split_report(predictor: Predictor, rows: list[CorpusRow], baseline: dict[str, np.ndarray]) -> dict:
    """Model and baseline on one split: macro-F1 with intervals, paired difference, calibration error, breakdowns."""
    axes = predictor.axes
    probs = predictor.probabilities([r.text for r in rows])
    return {**compare(rows, probs, baseline, axes), "calibration": calibration_on(rows, probs, axes),
            "breakdown": breakdowns(rows, probs, axes, fields=("outlet_style", "hard_cases", "topic"))}


def held_out_articles(rows: list[CorpusRow]) -> list[list[CorpusRow]]:
    """The rows of each article in turn (scikit-learn's LeaveOneGroupOut over documents), by document id."""
    groups = [r.doc_id for r in rows]
    if len(set(groups)) < 2:  # LeaveOneGroupOut needs two; one article is simply held out alone
        return [rows] if rows else []
    return [[rows[i] for i in held] for _, held in LeaveOneGroupOut().split(rows, groups=groups)]


def seed_leave_one_out(config: TrainConfig, corpus, axes: dict[str, list[str]], *, progress: bool = True,
                       root: Path = LABELS_DIR, make_model=None) -> dict:
    """For each seed article: train without it (same recipe, gold labels only), then score its passages and the article."""
    seed_docs = {d["id"]: d for d in documents_of("seed", root)}
    model_folds, base_folds, per_article, doc_preds = [], [], {}, []
    articles = held_out_articles(corpus_rows(corpus, ("seed",)))
    for held in tqdm(articles, desc="seed leave-one-article-out", unit="article", disable=not progress):
        doc_id = held[0].doc_id
        # No teacher: it was trained on every seed article, the held-out one included.
        fold = replace(config, exclude_docs=(doc_id,), teacher="none")
        tokenizer, model = make_model() if make_model else (None, None)
        predictor = train(fold, corpus, progress=progress, corpus_root=root, tokenizer=tokenizer, model=model)
        probs = predictor.probabilities([r.text for r in held])
        model_folds.append((held, probs))
        base_rows = corpus_rows(corpus, fold.train_splits, fold.exclude_docs)
        base_models = fit_baselines(base_rows, axes, config.seed)
        base_folds.append((held, baseline_probabilities(base_models, [r.text for r in held], axes)))
        held_gold = gold_ids(held, axes)
        per_article[doc_id] = {a: axis_report(held_gold[a], probs[a].argmax(1), labels, n_resamples=200) for a, labels in axes.items()}
        if doc_id in seed_docs:
            doc_preds.append((seed_docs[doc_id], predictor.predict_document(seed_docs[doc_id]["text"])))
    pooled_rows = [r for fold_rows, _ in model_folds for r in fold_rows]
    return {
        **compare(pooled_rows, {a: np.concatenate([p[a] for _, p in model_folds]) for a in axes},
                  {a: np.concatenate([p[a] for _, p in base_folds]) for a in axes}, axes),
        "per_article": per_article,
        "documents": document_report([p for _, p in doc_preds], [d for d, _ in doc_preds], axes),
        "document_predictions": {d["id"]: {a: {"gold": d["gold"][a], "predicted": p["document"][a]["label"]} for a in axes}
                                 for d, p in doc_preds},
    }


def training_seed_spread(config: TrainConfig, corpus, rows: list[CorpusRow], own: dict, baseline_probs: dict[str, np.ndarray],
                         axes: dict[str, list[str]], seeds: int, *, progress: bool = True, root: Path = LABELS_DIR,
                         make_model=None) -> dict:
    """Test figures of the same recipe retrained with `seeds - 1` more seeds, beside the artifact's own (`own`).

    One training run is one draw: on a few hundred passages the seed alone moves macro-F1 by points,
    so a single model's margin over the baseline says little without this spread.
    """
    per_seed = {str(config.seed): {a: {"macro_f1": own["model"][a]["macro_f1"],
                                       "minus_baseline": own["model_minus_baseline"][a]["difference"]} for a in axes}}
    for seed in tqdm(range(config.seed + 1, config.seed + seeds), desc="training seeds", unit="run", disable=not progress):
        tokenizer, model = make_model() if make_model else (None, None)
        predictor = train(replace(config, seed=seed), corpus, progress=progress, corpus_root=root, tokenizer=tokenizer, model=model)
        report = compare(rows, predictor.probabilities([r.text for r in rows]), baseline_probs, axes)
        per_seed[str(seed)] = {a: {"macro_f1": report["model"][a]["macro_f1"],
                                   "minus_baseline": report["model_minus_baseline"][a]["difference"]} for a in axes}
    summary = {}
    for a in axes:
        for key in ("macro_f1", "minus_baseline"):
            values = [r[a][key] for r in per_seed.values()]
            summary.setdefault(a, {})[key] = {"mean": float(np.mean(values)), "min": float(min(values)), "max": float(max(values))}
    return {"seeds": [int(s) for s in per_seed], "per_seed": per_seed, "summary": summary,
            "note": "the artifact's own seed through its served backend; the other seeds fp32, not saved"}


def evaluate(artifact_dir: Path, *, seed_folds: bool = True, training_seeds: int = 1, progress: bool = True,
             root: Path = LABELS_DIR, make_model=None, backend: str | None = None, num_threads: int | None = None) -> dict:
    """All evaluation figures for a trained artifact, as one JSON-ready dict.

    `training_seeds` > 1 retrains the artifact's recipe with more seeds and reports the test spread.
    `make_model` returns a fresh (tokenizer, model) for each leave-one-out or extra-seed training; by
    default the artifact's own base model (tests pass a tiny random BERT). `num_threads` overrides the
    artifact's thread count for those trainings (one thread each leaves a core for other work).
    """
    if isinstance(training_seeds, bool) or not isinstance(training_seeds, int) or training_seeds < 1:
        raise ValueError(f"training_seeds must be an integer of at least 1 (1: the artifact alone), got {training_seeds!r}")
    started = time.perf_counter()
    predictor = Predictor.from_artifact(artifact_dir, backend=backend)
    cfg = dict(predictor.config["training_config"])
    if num_threads is not None:
        cfg["num_threads"] = num_threads
    config = saved_config(cfg)
    axes = predictor.axes
    corpus = load_corpus(root)
    train_rows = corpus_rows(corpus, config.train_splits)
    test_rows = corpus_rows(corpus, (config.test_split,))
    test_docs = documents_of(config.test_split, root)
    baselines = fit_baselines(train_rows, axes, config.seed)
    test_baseline = baseline_probabilities(baselines, [r.text for r in test_rows], axes)
    result = {
        "model_version": predictor.version,
        "backend": predictor.backend,
        "corpus_fingerprint": predictor.config.get("corpus_fingerprint"),
        "machine": machine(),
        "training": {k: predictor.config.get(k) for k in ("train_seconds", "train_precision", "best_epoch", "history",
                                                           "train_passages", "training_config", "machine")},
        "calibration": predictor.config.get("calibration"),
        "test_split": config.test_split,
        "test": split_report(predictor, test_rows, test_baseline),
        "documents": {
            "rule": {**predictor.document_rule.as_config(), "fit": predictor.config.get("document_rule_fit")},
            "test": document_report([predictor.predict_document(d["text"]) for d in test_docs], test_docs, axes),
        },
    }
    reference = corpus_rows(corpus, (REFERENCE_SPLIT,)) if REFERENCE_SPLIT in corpus and REFERENCE_SPLIT != config.test_split else []
    if reference:
        reference_baseline = baseline_probabilities(baselines, [r.text for r in reference], axes)
        result["reference_test"] = {"split": REFERENCE_SPLIT, **split_report(predictor, reference, reference_baseline)}
    if training_seeds > 1:
        result["training_seeds"] = training_seed_spread(config, corpus, test_rows, result["test"], test_baseline, axes,
                                                        training_seeds, progress=progress, root=root, make_model=make_model)
    if seed_folds:
        result["seed_leave_one_article_out"] = seed_leave_one_out(config, corpus, axes, progress=progress, root=root,
                                                                  make_model=make_model)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def format_evaluation(r: dict) -> str:
    """The headline figures for the terminal."""
    lines = [f"model {r['model_version']}"]

    def row(name, rep):
        for a, m in rep.items():
            if m.get("n"):
                lo, hi = m["macro_f1_ci95"]
                lines.append(f"  {name:<40}{a:<16}macro-F1 {m['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}]  acc {m['accuracy']:.3f}  n={m['n']}")

    def diff(rep):
        for a, d in rep.get("model_minus_baseline", {}).items():
            lo, hi = d["ci95"]
            lines.append(f"  {'  fine-tuned minus baseline':<40}{a:<16}{100 * d['difference']:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}]")

    test = r.get("test_split", "test")
    row(f"{test} / fine-tuned", r["test"]["model"])
    row(f"{test} / baseline", r["test"]["baseline"])
    diff(r["test"])
    for a, c in r["test"].get("calibration", {}).items():
        lines.append(f"  {test + ' / calibration':<40}{a:<16}ECE {c['ece']:.3f}  n={c['n']}")
    if "reference_test" in r:
        row(f"{r['reference_test']['split']} (authored) / fine-tuned", r["reference_test"]["model"])
        row(f"{r['reference_test']['split']} (authored) / baseline", r["reference_test"]["baseline"])
    for a, s in r.get("training_seeds", {}).get("summary", {}).items():
        f, d = s["macro_f1"], s["minus_baseline"]
        lines.append(f"  {'test / ' + str(len(r['training_seeds']['seeds'])) + ' training seeds':<40}{a:<16}macro-F1 {f['mean']:.3f} "
                     f"(min {f['min']:.3f}, max {f['max']:.3f})  minus baseline {100 * d['mean']:+.1f} points "
                     f"(min {100 * d['min']:+.1f}, max {100 * d['max']:+.1f})")
    row(f"{test} documents / fine-tuned", r["documents"]["test"])
    if "seed_leave_one_article_out" in r:
        s = r["seed_leave_one_article_out"]
        row("seed LOAO / fine-tuned", s["model"])
        row("seed LOAO / baseline", s["baseline"])
        diff(s)
        row("seed LOAO documents", s["documents"])
    return "\n".join(lines)
