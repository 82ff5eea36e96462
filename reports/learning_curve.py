"""Does more real coverage still help? Macro-F1 per axis when training on a growing share of the coverage training articles.

Only the coverage articles are sampled: the authored and seed training passages are in every fit, so share 0
is authored + seed alone and the curve's rise is what the real coverage adds.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from labels.corpus import LABELS_DIR
from labels.dataset import CorpusRow, gold_ids
from reports.scoring import Scorer, fit_baseline_scorer, predictor_scorer
from training.metrics import macro_f1
from training.train import TrainConfig, train

# A learner fits on training rows with a seed and returns a scorer.
Learner = Callable[[list[CorpusRow], int], Scorer]
# The source kind whose training articles the curve samples; every other kind's training passages stay in each fit.
VARIED_KIND = "coverage"


def sample_documents(rows: list[CorpusRow], fraction: float, seed: int) -> list[CorpusRow]:
    """The rows of a random `fraction` of the documents: none at 0, else at least one document.

    One seed gives one order of the documents, so a seed's shares are nested: its 50% holds its 25%.
    """
    docs = sorted({r.doc_id for r in rows})
    rng = np.random.default_rng(seed)
    keep = 0 if fraction == 0 else max(1, round(fraction * len(docs)))
    chosen = {docs[i] for i in rng.permutation(len(docs))[:keep]}
    return [r for r in rows if r.doc_id in chosen]


def curve_rows(train_rows: list[CorpusRow], fraction: float, seed: int, varied_kind: str = VARIED_KIND) -> list[CorpusRow]:
    """Every training passage not of `varied_kind`, plus the passages of a `fraction` of that kind's articles."""
    varied = [r for r in train_rows if r.source_kind == varied_kind]
    chosen = {r.id for r in sample_documents(varied, fraction, seed)}
    return [r for r in train_rows if r.source_kind != varied_kind or r.id in chosen]


def baseline_learner(axes: dict[str, list[str]]) -> Learner:
    return lambda rows, seed: fit_baseline_scorer(rows, axes, seed)


def model_learner(corpus, config: TrainConfig, all_rows: list[CorpusRow], *, epochs: int | None = None,
                  make_model: Callable | None = None, corpus_root: Path = LABELS_DIR) -> Learner:
    """Fine-tune on the chosen rows' documents by excluding every other training document; never from a teacher.

    A teacher (`framing teach`) learned from every coverage training article: distilling from it would carry
    the left-out articles into each fit, so the curve would not show what they add.
    """
    every_doc = {r.doc_id for r in all_rows}

    def learn(rows: list[CorpusRow], seed: int) -> Scorer:
        excluded = tuple(sorted(every_doc - {r.doc_id for r in rows}))
        tokenizer, model = make_model() if make_model else (None, None)
        cfg = replace(config, seed=seed, epochs=epochs or config.epochs, exclude_docs=config.exclude_docs + excluded, teacher="none")
        return predictor_scorer(train(cfg, corpus, tokenizer=tokenizer, model=model, progress=False, corpus_root=corpus_root))
    return learn


def learning_curve(train_rows: list[CorpusRow], eval_rows: list[CorpusRow], axes: dict[str, list[str]], learner: Learner, *,
                   fractions: tuple[float, ...], seeds: int, base_seed: int = 0, name: str = "",
                   progress: bool = True) -> list[dict]:
    """One point per (fraction of the coverage training articles, seed): what was fitted on, macro-F1 per axis on eval_rows."""
    if not eval_rows:
        raise ValueError("the learning curve needs evaluation passages (the test split is empty); run `framing corpus build`")
    if not any(r.source_kind == VARIED_KIND for r in train_rows):
        raise ValueError(f"the learning curve varies the {VARIED_KIND} training articles and the training splits hold none; "
                         "assign coverage articles to train with `framing corpus splits`, then `framing corpus build`")
    gold = gold_ids(eval_rows, axes)
    texts = [r.text for r in eval_rows]
    runs = [(f, base_seed + s) for f in fractions for s in range(seeds)]
    points = []
    for fraction, seed in tqdm(runs, desc=f"learning curve ({name})" if name else "learning curve", unit="fit", disable=not progress):
        rows = curve_rows(train_rows, fraction, seed)
        probs = learner(rows, seed)(texts)
        points.append({"learner": name, "fraction": fraction, "seed": seed,
                       "coverage_documents": len({r.doc_id for r in rows if r.source_kind == VARIED_KIND}),
                       "documents": len({r.doc_id for r in rows}), "passages": len(rows),
                       **{a: macro_f1(gold[a], probs[a].argmax(1), len(labels)) for a, labels in axes.items()}})
    return points


def summarise(points: list[dict], axes: tuple[str, ...]) -> list[dict]:
    """Per learner and fraction: mean, standard deviation, min and max macro-F1 per axis over seeds."""
    out = []
    for learner in sorted({p["learner"] for p in points}):
        for fraction in sorted({p["fraction"] for p in points if p["learner"] == learner}):
            group = [p for p in points if p["learner"] == learner and p["fraction"] == fraction]
            row = {"learner": learner, "fraction": fraction, "runs": len(group),
                   **{k: round(float(np.mean([p[k] for p in group])), 1) for k in ("coverage_documents", "passages")}}
            for a in axes:
                v = np.array([p[a] for p in group])
                row[a] = {"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()), "max": float(v.max())}
            out.append(row)
    return out
