"""Assemble the report: run every section and return one JSON-ready dict (rendered by reports.html)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from inference.predictor import Predictor
from labels.corpus import LABELS_DIR, read_jsonl
from labels.dataset import corpus_fingerprint, corpus_rows, gold_ids, load_corpus
from labels.schema import load_schema
from reports.active import annotation_queue, load_unlabelled
from reports.agreement import agreement_section
from reports.breakdown import breakdowns, joint_table
from reports.config import ReportConfig
from reports.explain import occlusion
from reports.folds import baseline_oof, model_oof
from reports.label_errors import suspected_errors
from reports.learning_curve import baseline_learner, learning_curve, model_learner, summarise
from reports.reliability import model_reliability, probability_reliability
from reports.scoring import BASELINE, MODEL, SYSTEM_NAMES, Scorer, fit_baseline_scorer, predictor_scorer
from training.metrics import axis_report
from training.train import TrainConfig



class ReportInputError(ValueError):
    """A missing or unreadable report input; the message says which and how to make it."""


def _log(message: str, progress: bool) -> None:
    if progress:
        tqdm.write(f"report: {message}")


def load_evaluation(path: Path | None) -> dict | None:
    """The `framing evaluate` JSON, or None when no path is given."""
    if path is None:
        return None
    path = Path(path)
    if not path.exists():
        raise ReportInputError(f"{path}: evaluation file not found; run `framing evaluate --out {path}` or leave out --evaluation")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ReportInputError(f"{path}:{e.lineno}: invalid JSON: {e.msg}; rerun `framing evaluate`") from None


def _summary(evaluation: dict | None, test_reports: dict, corpus_info: dict, model_version: str | None) -> dict:
    """Headline scores: from the evaluation JSON when given, else the report's own test-split scores."""
    out = {"model_version": model_version, "corpus": corpus_info}
    if evaluation:
        seed = evaluation.get("seed_leave_one_article_out", {})
        out.update({
            "source": "evaluation JSON", "evaluated_model": evaluation.get("model_version"),
            "test": evaluation.get("test", {}),
            "seed": {k: seed[k] for k in ("model", "baseline", "model_minus_baseline", "documents", "per_article") if k in seed},
            "documents": evaluation.get("documents", {}),
            "calibration_dev": evaluation.get("calibration"),
            "training_seeds": evaluation.get("training_seeds"),
        })
    else:
        out.update({"source": "computed by the report (no evaluation JSON given)", "test": test_reports, "seed": {}, "documents": {}})
    return out


def _unlabelled_rows(path: Path | None, root: Path) -> tuple[str, list[dict]]:
    if path is not None:
        return str(path), load_unlabelled(path)
    # Passages nobody has annotated yet; disagreements need an adjudicator, not a new annotator.
    rows = [{"id": r["id"], "doc_id": r["doc_id"], "text": r["text"]}
            for _, r in read_jsonl(Path(root) / "corpus" / "passages.jsonl") if not r["annotations"]]
    return "corpus passages without annotations", rows


def _explain_rows(items: list[dict], scorer_of: Callable[[dict], Scorer], axes: dict[str, list[str]], max_words: int,
                  progress: bool) -> None:
    """Attach occlusion explanations to each item, grouped by the scorer that produced its prediction."""
    groups: dict[int, tuple[Scorer, list[dict]]] = {}
    for item in items:
        scorer = scorer_of(item)
        groups.setdefault(id(scorer), (scorer, []))[1].append(item)
    for scorer, group in groups.values():
        unique = list({it["passage_id"]: it for it in group}.values())
        expl = occlusion([it["text"] for it in unique], scorer, axes, max_words=max_words, progress=progress)
        by_id = {it["passage_id"]: e for it, e in zip(unique, expl)}
        for it in group:
            it["explanation"] = by_id[it["passage_id"]]


def build_report(config: ReportConfig, *, model_dir: Path | None = None, evaluation_path: Path | None = None,
                 unlabelled: Path | None = None, root: Path = LABELS_DIR, make_model: Callable | None = None,
                 progress: bool = True) -> dict:
    """Every section of the report as one dict.

    Full mode fine-tunes once per fold (and for the learning curve) with the artifact's recipe;
    `--fast` refits only the baseline and needs no model. `make_model` gives a fresh (tokenizer, model)
    per fine-tuning (tests pass a tiny random BERT).
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 1)

    schema = load_schema()
    axes = {a.name: list(a.labels) for a in schema.axes}
    evaluation = load_evaluation(evaluation_path)
    predictor = None
    if model_dir is not None and Path(model_dir).exists():
        predictor = Predictor.from_artifact(model_dir)
    elif not config.fast:
        raise ReportInputError(f"model folder {model_dir} not found; train one with `framing train --out {model_dir}` or use --fast")
    elif model_dir is not None:
        _log(f"no model at {model_dir}: baseline only", progress)
    train_config = TrainConfig(**predictor.config["training_config"]) if predictor else TrainConfig()
    corpus = load_corpus(root)
    oof_rows = corpus_rows(corpus, train_config.train_splits)
    other_splits = tuple(s for s in (train_config.dev_split, train_config.test_split) if s not in train_config.train_splits)
    held_rows = corpus_rows(corpus, other_splits)
    test_rows = corpus_rows(corpus, (train_config.test_split,))
    passages = [r for _, r in read_jsonl(Path(root) / "corpus" / "passages.jsonl")]
    documents = [r for _, r in read_jsonl(Path(root) / "corpus" / "documents.jsonl")]
    corpus_info = {"fingerprint": corpus_fingerprint(root), "passages": len(passages),
                   "passages_with_gold": sum(bool(p["gold"]) for p in passages), "documents": len(documents),
                   "gold_by_split": {s: len(corpus[s]) for s in corpus}}

    # Out-of-fold probabilities for the training passages; dev and test are scored by a model trained on all of them.
    t0 = time.perf_counter()
    _log(f"out-of-fold probabilities for {len(oof_rows)} training passages ({config.folds} folds of documents)", progress)
    base_oof, base_folds = baseline_oof(oof_rows, axes, config.folds, config.seed, progress=progress)
    base_full = fit_baseline_scorer(oof_rows, axes, config.seed)
    sources = {BASELINE: (base_oof, base_folds, base_full)}
    if predictor is not None and not config.fast:
        rows, probs, folds = model_oof(corpus, train_config, config.folds, config.seed, epochs=config.model_epochs,
                                       make_model=make_model, progress=progress)
        if [r.id for r in rows] != [r.id for r in oof_rows]:
            raise AssertionError("fine-tuned and baseline out-of-fold rows differ")
        sources[MODEL] = (probs, folds, predictor_scorer(predictor))
    primary = MODEL if MODEL in sources else BASELINE
    oof_probs, fold_scorers, full_scorer = sources[primary]
    lap("out_of_fold", t0)

    # Where it errs: every gold passage, each judged by a model that never trained on it.
    t0 = time.perf_counter()
    held_probs = full_scorer([r.text for r in held_rows]) if held_rows else {a: np.zeros((0, len(l))) for a, l in axes.items()}
    all_rows = oof_rows + held_rows
    all_probs = {a: np.concatenate([oof_probs[a], held_probs[a]]) for a in axes}
    test_reports = {}
    test_gold = gold_ids(test_rows, axes)
    if test_rows:
        for name, (_, _, scorer) in sources.items():
            p = scorer([r.text for r in test_rows])
            test_reports[name] = {a: axis_report(test_gold[a], p[a].argmax(1), l, n_resamples=config.bootstrap) for a, l in axes.items()}
        if predictor is not None and MODEL not in test_reports:
            p = predictor_scorer(predictor)([r.text for r in test_rows])
            test_reports[MODEL] = {a: axis_report(test_gold[a], p[a].argmax(1), l, n_resamples=config.bootstrap) for a, l in axes.items()}
    gold_all = gold_ids(all_rows, axes)
    where = {
        "scored_by": primary,
        "note": f"{', '.join(train_config.train_splits)}: out-of-fold; {', '.join(other_splits)}: the {SYSTEM_NAMES[primary]} trained on all training passages",
        # The evaluation's test block also holds the model-minus-baseline differences: confusion matrices only here.
        "test": {k: v for k, v in ((evaluation or {}).get("test") or test_reports).items() if k != "model_minus_baseline"},
        "held_out": {a: axis_report(gold_all[a], all_probs[a].argmax(1), l, n_resamples=config.bootstrap) for a, l in axes.items()},
        "breakdowns": breakdowns(all_rows, all_probs, axes),
        "joint": joint_table(all_rows, all_probs, axes),
    }
    lap("where_it_errs", t0)

    t0 = time.perf_counter()
    if predictor is not None and test_rows:
        calibration = {"scored_by": MODEL, "split": train_config.test_split, "axes": model_reliability(predictor, test_rows)}
    else:
        calibration = {"scored_by": primary, "split": "out-of-fold", "axes": probability_reliability(oof_probs, oof_rows, axes)}
    calibration["dev"] = predictor.config.get("calibration") if predictor else None
    lap("calibration", t0)

    # Suspected label errors, each explained by the fold model that scored it.
    t0 = time.perf_counter()
    errors = suspected_errors(oof_rows, oof_probs, axes, top=config.top_errors, method=config.ranking, source=primary)
    fold_of = {i: scorer for held, scorer in fold_scorers for i in held}
    row_index = {r.id: i for i, r in enumerate(oof_rows)}
    _explain_rows(errors, lambda it: fold_of[row_index[it["passage_id"]]], axes, config.max_explained_words, progress)
    gold_labels = {r.id: dict(r.labels) for r in oof_rows}
    lap("suspected_errors", t0)

    t0 = time.perf_counter()
    queue_source, candidates = _unlabelled_rows(unlabelled, root)
    queue_scorer, queue_by = (predictor_scorer(predictor), MODEL) if predictor else (base_full, BASELINE)
    queue = []
    if candidates:
        _log(f"scoring {len(candidates)} unlabelled passages ({queue_source})", progress)
        probs = queue_scorer([r["text"] for r in candidates])
        queue = annotation_queue(candidates, probs, axes, size=config.queue_size, per_document=config.per_document,
                                 method=config.uncertainty, source=queue_by)
        _explain_rows(queue, lambda it: queue_scorer, axes, config.max_explained_words, progress)
    lap("queue", t0)

    t0 = time.perf_counter()
    points = learning_curve(oof_rows, test_rows, axes, baseline_learner(axes), fractions=config.learning_curve_fractions,
                            seeds=config.learning_curve_seeds, base_seed=config.seed, name=BASELINE, progress=progress)
    if predictor is not None and config.learning_curve_model_seeds:
        learner = model_learner(corpus, train_config, oof_rows, epochs=config.model_epochs, make_model=make_model)
        points += learning_curve(oof_rows, test_rows, axes, learner, fractions=config.learning_curve_fractions,
                                 seeds=config.learning_curve_model_seeds, base_seed=config.seed, name=MODEL, progress=progress)
    lap("learning_curve", t0)

    return {
        "title": "News-framing model report for annotators",
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "fast" if config.fast else "full",
        "config": asdict(config),
        "schema": {"version": schema.version, "axes": axes},
        "model": {"path": str(model_dir), "version": predictor.version} if predictor else None,
        "summary": _summary(evaluation, test_reports, corpus_info, predictor.version if predictor else None),
        "where_it_errs": where,
        "calibration": calibration,
        "suspected_errors": {"scored_by": primary, "method": config.ranking, "folds": len(fold_scorers),
                             "candidates": len(oof_rows) * len(axes), "rows": errors,
                             "current_gold": {e["passage_id"]: gold_labels[e["passage_id"]] for e in errors}},
        "queue": {"source": queue_source, "candidates": len(candidates), "method": config.uncertainty,
                  "per_document": config.per_document, "rows": queue},
        "learning_curve": {"eval_split": train_config.test_split, "points": points,
                           "summary": summarise(points, tuple(axes))},
        "agreement": agreement_section(passages, documents, tuple(axes)),
        "timings": {**timings, "total": round(time.perf_counter() - started, 1)},
    }
