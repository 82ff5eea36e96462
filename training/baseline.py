"""The scikit-learn baseline: TF-IDF word and character n-grams + logistic regression, one per axis."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

from labels.dataset import CorpusRow


def make_baseline(seed: int = 0):
    """A fresh, untrained pipeline for one axis."""
    features = FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)),
    ])
    return make_pipeline(features, LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced", random_state=seed))


def fit_baselines(rows: list[CorpusRow], axes: dict[str, list[str]], seed: int = 0) -> dict:
    """One fitted pipeline per axis, trained on rows' texts and label ids."""
    texts = [r.text for r in rows]
    return {a: make_baseline(seed).fit(texts, [r.label_ids[a] for r in rows]) for a in axes}


def baseline_probabilities(models: dict, texts: list[str], axes: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Probabilities per axis in schema label order (a label absent from training gets 0)."""
    out = {}
    for a, labels in axes.items():
        p = models[a].predict_proba(texts)
        full = np.zeros((len(texts), len(labels)))
        full[:, models[a].classes_] = p
        out[a] = full
    return out
