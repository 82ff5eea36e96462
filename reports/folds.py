"""Out-of-fold probabilities: k folds of whole documents, so no passage is judged by a model that saw it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.model_selection import GroupKFold
from tqdm.auto import tqdm

from labels.corpus import LABELS_DIR
from labels.dataset import CorpusRow, corpus_rows
from reports.scoring import Scorer, fit_baseline_scorer, predictor_scorer
from training.train import TrainConfig, train


def document_folds(rows: list[CorpusRow], k: int, seed: int = 0) -> list[list[int]]:
    """Row indices per fold (scikit-learn's GroupKFold over documents): each document's passages share a fold
    and folds hold similar passage counts. Fewer documents than k gives one fold per document.

    GroupKFold puts the largest documents first into the smallest fold; `seed` decides the order of
    documents of the same size, through the group numbers it gives them.
    """
    docs = sorted({r.doc_id for r in rows})
    if len(docs) < 2:
        raise ValueError(f"out-of-fold predictions need passages from at least 2 documents, got {len(docs)}")
    group_of = dict(zip(docs, np.random.default_rng(seed).permutation(len(docs))))
    groups = [group_of[r.doc_id] for r in rows]
    splitter = GroupKFold(n_splits=min(k, len(docs)))
    return [sorted(int(i) for i in held) for _, held in splitter.split(rows, groups=groups)]


def _empty(n: int, axes: dict[str, list[str]]) -> dict[str, np.ndarray]:
    return {a: np.full((n, len(labels)), np.nan) for a, labels in axes.items()}


def baseline_oof(rows: list[CorpusRow], axes: dict[str, list[str]], k: int, seed: int = 0, *,
                 progress: bool = True) -> tuple[dict[str, np.ndarray], list[tuple[list[int], Scorer]]]:
    """Out-of-fold baseline probabilities for every row (n × labels per axis), and each fold's (rows held, scorer)."""
    out, fitted = _empty(len(rows), axes), []
    for held in tqdm(document_folds(rows, k, seed), desc="baseline out-of-fold", unit="fold", disable=not progress):
        held_set = set(held)
        score = fit_baseline_scorer([r for i, r in enumerate(rows) if i not in held_set], axes, seed)
        probs = score([rows[i].text for i in held])
        for a in axes:
            out[a][held] = probs[a]
        fitted.append((held, score))
    return out, fitted


def model_oof(corpus, config: TrainConfig, k: int, seed: int = 0, *, epochs: int | None = None,
              make_model: Callable | None = None, progress: bool = True, corpus_root: Path = LABELS_DIR
              ) -> tuple[list[CorpusRow], dict[str, np.ndarray], list[tuple[list[int], Scorer]]]:
    """Fine-tune once per fold without that fold's documents; (rows of config.train_splits, probabilities, folds).

    `make_model` returns a fresh (tokenizer, model) per fold; by default config.base_model (tests pass a tiny BERT).
    No fold learns from a teacher: `framing teach`'s teacher saw every training passage, the held fold's too.
    """
    rows = corpus_rows(corpus, config.train_splits, config.exclude_docs)
    fold_config = replace(config, epochs=epochs or config.epochs, teacher="none")
    out: dict[str, np.ndarray] | None = None
    fitted = []
    for held in tqdm(document_folds(rows, k, seed), desc="fine-tuned out-of-fold", unit="fold", disable=not progress):
        held_docs = tuple(sorted({rows[i].doc_id for i in held}))
        tokenizer, model = make_model() if make_model else (None, None)
        predictor = train(replace(fold_config, exclude_docs=config.exclude_docs + held_docs), corpus,
                          tokenizer=tokenizer, model=model, progress=False, corpus_root=corpus_root)
        score = predictor_scorer(predictor)
        probs = score([rows[i].text for i in held])
        if out is None:
            out = _empty(len(rows), predictor.axes)
        for a in probs:
            out[a][held] = probs[a]
        fitted.append((held, score))
    return rows, out, fitted
