"""Assemble the report: run every section and return one JSON-ready dict (rendered by reports.html)."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from inference.predictor import Predictor
from labels.corpus import LABELS_DIR, read_jsonl
from labels.dataset import CorpusRow, corpus_fingerprint, corpus_rows, gold_ids, load_corpus
from labels.schema import load_schema
from reports.active import annotation_queue, load_unlabelled
from reports.agreement import agreement_section
from reports.breakdown import breakdowns, joint_table
from reports.config import ReportConfig
from reports.explain import occlusion
from reports.folds import baseline_oof, model_oof
from reports.label_errors import suspected_errors
from reports.learning_curve import VARIED_KIND, baseline_learner, learning_curve, model_learner, summarise
from reports.reliability import model_reliability, probability_reliability
from reports.scoring import BASELINE, MODEL, SYSTEM_NAMES, Scorer, fit_baseline_scorer, predictor_scorer
from reports.side_by_side import COMPUTED, SYSTEMS, ScoredSplit, columns, score_split, scored_splits, side_by_side_breakdowns
from training.metrics import axis_report
from training.train import TrainConfig, saved_config



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


def _summary(evaluation: dict | None, split_columns: list[dict], corpus_info: dict, model_version: str | None) -> dict:
    """Headline scores: real coverage and authored test side by side, each from the evaluation JSON when it has them."""
    out = {"model_version": model_version, "corpus": corpus_info, "columns": split_columns, "seed": {}}
    if evaluation:
        seed = evaluation.get("seed_leave_one_article_out", {})
        out.update({
            "source": "evaluation JSON", "evaluated_model": evaluation.get("model_version"),
            "seed": {k: seed[k] for k in ("model", "baseline", "model_minus_baseline", "documents", "per_article") if k in seed},
            "calibration_dev": evaluation.get("calibration"),
            "training_seeds": evaluation.get("training_seeds"),
        })
    else:
        out["source"] = f"{COMPUTED} (no evaluation JSON given)"
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


@dataclass
class _Run:
    """What every section of one report reads: its options, the model (if any) and the corpus rows by role."""

    config: ReportConfig
    axes: dict[str, list[str]]
    predictor: Predictor | None
    train_config: TrainConfig
    corpus: object
    oof_rows: list[CorpusRow]  # the training splits: scored out of fold
    held_rows: list[CorpusRow]  # dev and test when not trained on: scored by a model trained on every oof row
    test_rows: list[CorpusRow]
    splits: list[ScoredSplit]  # coverage test (the model's own), then authored test beside it
    other_splits: tuple[str, ...]
    make_model: Callable | None
    progress: bool
    root: Path


@dataclass
class _Scores:
    """Per system, (out-of-fold probabilities, each fold's (rows held, scorer), a scorer trained on every oof row)."""

    sources: dict[str, tuple]
    primary: str  # the system the report leads with: the fine-tuned model in full mode, else the baseline

    @property
    def oof_probs(self) -> dict[str, np.ndarray]:
        return self.sources[self.primary][0]


def _open(config: ReportConfig, model_dir: Path | None, root: Path, make_model: Callable | None, progress: bool) -> _Run:
    """The model (required unless --fast) and the corpus rows the sections score."""
    predictor = None
    if model_dir is not None and Path(model_dir).exists():
        predictor = Predictor.from_artifact(model_dir)
    elif not config.fast:
        raise ReportInputError(f"model folder {model_dir} not found; train one with `framing train --out {model_dir}` or use --fast")
    elif model_dir is not None:
        _log(f"no model at {model_dir}: baseline only", progress)
    train_config = saved_config(predictor.config["training_config"]) if predictor else TrainConfig()
    corpus = load_corpus(root)
    other_splits = tuple(s for s in (train_config.dev_split, train_config.test_split) if s not in train_config.train_splits)
    return _Run(config=config, axes={a.name: list(a.labels) for a in load_schema().axes}, predictor=predictor,
                train_config=train_config, corpus=corpus, oof_rows=corpus_rows(corpus, train_config.train_splits),
                held_rows=corpus_rows(corpus, other_splits), test_rows=corpus_rows(corpus, (train_config.test_split,)),
                splits=scored_splits(corpus, root, train_config.test_split), other_splits=other_splits, make_model=make_model,
                progress=progress, root=Path(root))


def _corpus_info(root: Path, corpus) -> tuple[list[dict], list[dict], dict]:
    """Every built passage and document record, and the corpus figures the summary shows."""
    passages = [r for _, r in read_jsonl(Path(root) / "corpus" / "passages.jsonl")]
    documents = [r for _, r in read_jsonl(Path(root) / "corpus" / "documents.jsonl")]
    info = {"fingerprint": corpus_fingerprint(root), "passages": len(passages),
            "passages_with_gold": sum(bool(p["gold"]) for p in passages), "documents": len(documents),
            "gold_by_split": {s: len(corpus[s]) for s in corpus}}
    return passages, documents, info


def _out_of_fold(run: _Run) -> _Scores:
    """Out-of-fold probabilities for the training passages, from the baseline and (full mode) the fine-tuned model."""
    config, axes = run.config, run.axes
    _log(f"out-of-fold probabilities for {len(run.oof_rows)} training passages ({config.folds} folds of documents)", run.progress)
    base_oof, base_folds = baseline_oof(run.oof_rows, axes, config.folds, config.seed, progress=run.progress)
    sources = {BASELINE: (base_oof, base_folds, fit_baseline_scorer(run.oof_rows, axes, config.seed))}
    if run.predictor is not None and not config.fast:
        rows, probs, folds = model_oof(run.corpus, run.train_config, config.folds, config.seed, epochs=config.model_epochs,
                                       make_model=run.make_model, progress=run.progress, corpus_root=run.root)
        if [r.id for r in rows] != [r.id for r in run.oof_rows]:
            raise AssertionError("fine-tuned and baseline out-of-fold rows differ")
        sources[MODEL] = (probs, folds, predictor_scorer(run.predictor))
    return _Scores(sources, MODEL if MODEL in sources else BASELINE)


def _own_columns(run: _Run, scores: _Scores) -> tuple[dict[str, dict], dict[str, dict]]:
    """Each test split scored here, by key: (its column, the probabilities its breakdowns read).

    The breakdowns are the fine-tuned model's when there is one (it trained on neither split), else the baseline's.
    """
    scorers = {name: scorer for name, (_, _, scorer) in scores.sources.items()}
    if run.predictor is not None:
        scorers.setdefault(MODEL, predictor_scorer(run.predictor))
    by = MODEL if MODEL in scorers else BASELINE
    own, probs = {}, {}
    for split in run.splits:
        own[split.key], p = score_split(split, scorers, run.axes, predictor=run.predictor, n_resamples=run.config.bootstrap)
        probs[split.key] = p[by]
    return own, {"scored_by": by, "probs": probs}


def _check_evaluation(evaluation: dict | None, run: _Run) -> None:
    """The evaluation JSON must be of the same test split as the model the report reads, or its columns would be mislabelled."""
    split = (evaluation or {}).get("test_split")
    if split and split != run.train_config.test_split:
        raise ReportInputError(f"the evaluation JSON scores test split {split!r} but the model's test split is "
                               f"{run.train_config.test_split!r}; rerun `framing evaluate` on this model")


def _where_it_errs(run: _Run, scores: _Scores, split_columns: list[dict], breakdown_probs: dict) -> dict:
    """Coverage and authored test side by side, then every gold passage judged by a model that never trained on it."""
    axes, full_scorer = run.axes, scores.sources[scores.primary][2]
    held_probs = full_scorer([r.text for r in run.held_rows]) if run.held_rows else {a: np.zeros((0, len(l))) for a, l in axes.items()}
    all_rows = run.oof_rows + run.held_rows
    all_probs = {a: np.concatenate([scores.oof_probs[a], held_probs[a]]) for a in axes}
    gold_all = gold_ids(all_rows, axes)
    return {
        "scored_by": scores.primary,
        "note": f"{', '.join(run.train_config.train_splits)}: out-of-fold; {', '.join(run.other_splits)}: "
                f"the {SYSTEM_NAMES[scores.primary]} trained on all training passages",
        # Confusion matrices only: the differences, calibration and documents are in the summary.
        "test_splits": [{k: c[k] for k in ("key", "split", "label", "source", *SYSTEMS) if k in c} for c in split_columns],
        "test_breakdowns": {"scored_by": breakdown_probs["scored_by"],
                            "splits": [s.label for s in run.splits if s.key in breakdown_probs["probs"]],
                            "fields": side_by_side_breakdowns(run.splits, breakdown_probs["probs"], axes)},
        "held_out": {a: axis_report(gold_all[a], all_probs[a].argmax(1), l, n_resamples=run.config.bootstrap) for a, l in axes.items()},
        "breakdowns": breakdowns(all_rows, all_probs, axes),
        "joint": joint_table(all_rows, all_probs, axes),
    }


def _calibration(run: _Run, scores: _Scores) -> dict:
    """Reliability of the model on the test split (before and after its temperatures), else of the out-of-fold baseline."""
    if run.predictor is not None and run.test_rows:
        calibration = {"scored_by": MODEL, "split": run.train_config.test_split, "axes": model_reliability(run.predictor, run.test_rows)}
    else:
        calibration = {"scored_by": scores.primary, "split": "out-of-fold",
                       "axes": probability_reliability(scores.oof_probs, run.oof_rows, run.axes)}
    calibration["dev"] = run.predictor.config.get("calibration") if run.predictor else None
    return calibration


def _suspected_errors(run: _Run, scores: _Scores) -> dict:
    """Suspected label errors, each explained by the fold model that scored it."""
    config, fold_scorers = run.config, scores.sources[scores.primary][1]
    errors = suspected_errors(run.oof_rows, scores.oof_probs, run.axes, top=config.top_errors, method=config.ranking, source=scores.primary)
    fold_of = {i: scorer for held, scorer in fold_scorers for i in held}
    row_index = {r.id: i for i, r in enumerate(run.oof_rows)}
    _explain_rows(errors, lambda it: fold_of[row_index[it["passage_id"]]], run.axes, config.max_explained_words, run.progress)
    gold_labels = {r.id: dict(r.labels) for r in run.oof_rows}
    return {"scored_by": scores.primary, "method": config.ranking, "folds": len(fold_scorers),
            "candidates": len(run.oof_rows) * len(run.axes), "rows": errors,
            "current_gold": {e["passage_id"]: gold_labels[e["passage_id"]] for e in errors}}


def _queue(run: _Run, scores: _Scores, unlabelled: Path | None, root: Path) -> dict:
    """What to annotate next: the unlabelled passages the model (else the baseline) is least sure of, explained."""
    config = run.config
    queue_source, candidates = _unlabelled_rows(unlabelled, root)
    queue_scorer, queue_by = (predictor_scorer(run.predictor), MODEL) if run.predictor else (scores.sources[BASELINE][2], BASELINE)
    queue = []
    if candidates:
        _log(f"scoring {len(candidates)} unlabelled passages ({queue_source})", run.progress)
        probs = queue_scorer([r["text"] for r in candidates])
        queue = annotation_queue(candidates, probs, run.axes, size=config.queue_size, per_document=config.per_document,
                                 method=config.uncertainty, source=queue_by)
        _explain_rows(queue, lambda it: queue_scorer, run.axes, config.max_explained_words, run.progress)
    return {"source": queue_source, "candidates": len(candidates), "method": config.uncertainty,
            "per_document": config.per_document, "rows": queue}


def _learning_curve(run: _Run) -> dict:
    """Macro-F1 on coverage test against the share of coverage training articles (authored and seed always in),
    for the baseline and (full mode) the model, which learns from no teacher."""
    config, axes = run.config, run.axes
    points = learning_curve(run.oof_rows, run.test_rows, axes, baseline_learner(axes), fractions=config.learning_curve_fractions,
                            seeds=config.learning_curve_seeds, base_seed=config.seed, name=BASELINE, progress=run.progress)
    if run.predictor is not None and config.learning_curve_model_seeds:
        learner = model_learner(run.corpus, run.train_config, run.oof_rows, epochs=config.model_epochs, make_model=run.make_model,
                                corpus_root=run.root)
        points += learning_curve(run.oof_rows, run.test_rows, axes, learner, fractions=config.learning_curve_fractions,
                                 seeds=config.learning_curve_model_seeds, base_seed=config.seed, name=MODEL, progress=run.progress)
    fixed = [r for r in run.oof_rows if r.source_kind != VARIED_KIND]
    return {"eval_split": run.train_config.test_split, "varied": VARIED_KIND, "model_teacher": "none",
            "always_in": {"passages": len(fixed), "by_source_kind": dict(Counter(r.source_kind for r in fixed))},
            "coverage_documents": len({r.doc_id for r in run.oof_rows if r.source_kind == VARIED_KIND}),
            "points": points, "summary": summarise(points, tuple(axes))}


def _timed(timings: dict[str, float], name: str, section: Callable, *args):
    """Run one section (or one part of it), adding its seconds to `name`."""
    t0 = time.perf_counter()
    result = section(*args)
    timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - t0, 1)
    return result


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
    evaluation = load_evaluation(evaluation_path)
    run = _open(config, model_dir, root, make_model, progress)
    _check_evaluation(evaluation, run)
    passages, documents, corpus_info = _corpus_info(root, run.corpus)
    scores = _timed(timings, "out_of_fold", _out_of_fold, run)
    own, breakdown_probs = _timed(timings, "where_it_errs", _own_columns, run, scores)
    split_columns = columns(run.splits, own, evaluation)
    where = _timed(timings, "where_it_errs", _where_it_errs, run, scores, split_columns, breakdown_probs)
    calibration = _timed(timings, "calibration", _calibration, run, scores)
    errors = _timed(timings, "suspected_errors", _suspected_errors, run, scores)
    queue = _timed(timings, "queue", _queue, run, scores, unlabelled, root)
    curve = _timed(timings, "learning_curve", _learning_curve, run)
    version = run.predictor.version if run.predictor else None
    return {
        "title": "News-framing model report for annotators",
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "fast" if config.fast else "full",
        "config": asdict(config),
        "schema": {"version": load_schema().version, "axes": run.axes},
        "model": {"path": str(model_dir), "version": version} if run.predictor else None,
        "summary": _summary(evaluation, split_columns, corpus_info, version),
        "where_it_errs": where,
        "calibration": calibration,
        "suspected_errors": errors,
        "queue": queue,
        "learning_curve": curve,
        "agreement": agreement_section(passages, documents, tuple(run.axes)),
        "timings": {**timings, "total": round(time.perf_counter() - started, 1)},
    }
