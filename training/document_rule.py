"""Choose how passages add up to an article's labels (inference.predictor) on the articles training is told to use.

Each article is scored once. Two families re-aggregate the same calibrated passage probabilities:

- the weighted rule (`DocumentRule`): every rule of a 36-rule grid is tried and the one with the best mean document
  accuracy over both axes wins (ties go to the default rule, then to the earlier rule in the grid);
- a learned rule (`LearnedDocumentRule`): per axis, a logistic regression on `document_features`.

The learned rule replaces the weighted one only when it wins k-fold cross-validation over the articles (each fold
chooses or fits on the other folds and is scored on its own), so a flexible rule has to earn its place on articles
it did not see. Only the documents passed in are read: training passes coverage dev and train, never test.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from inference.predictor import DocumentRule, LearnedDocumentRule, Predictor, document_features

GRID = tuple(
    DocumentRule(lead_conclusion_weight=lc, headline_weight=hw, absent_share=share)
    for lc, hw, share in product((1.0, 2.0, 3.0), (0.0, 1.0, 2.0), (0.5, 0.6, 0.7, 0.8))
)
FOLDS = 5
RULE_FAMILIES = ("auto", "weighted", "learned")
MIN_LEARNED_DOCUMENTS = 50  # below this, five folds of ten articles say too little to trust a learned rule
REGULARISATION_C = 1.0  # scikit-learn's default strength; the features are probabilities and shares in [0, 1]


def rule_hits(predictor: Predictor, scored: list[tuple], docs: list[dict], rule) -> dict[str, np.ndarray]:
    """Per axis, whether the rule reproduces each document's gold label from its scored passages."""
    predicted = [predictor.aggregate_document(*parts, rule)["document"] for parts in scored]
    return {a: np.array([p[a]["label"] == d["gold"][a] for p, d in zip(predicted, docs)]) for a in predictor.axes}


def rule_accuracy(predictor: Predictor, scored: list[tuple], docs: list[dict], rule) -> dict[str, float]:
    """Per axis, the share of documents whose gold label the rule reproduces from the scored passages."""
    return {a: float(hits.mean()) for a, hits in rule_hits(predictor, scored, docs, rule).items()}


def _mean(accuracy: dict[str, float]) -> float:
    return float(np.mean(list(accuracy.values())))


def _best_weighted(hits: dict, grid: tuple[DocumentRule, ...], rows: np.ndarray) -> DocumentRule:
    """The grid rule with the best mean accuracy on `rows` (the default rule wins ties, then the earlier rule)."""
    best, best_score = DocumentRule(), np.mean([h[rows].mean() for h in hits[DocumentRule()].values()])
    for rule in grid:
        score = np.mean([h[rows].mean() for h in hits[rule].values()])
        if score > best_score + 1e-12:
            best, best_score = rule, score
    return best


def _features(predictor: Predictor, scored: list[tuple]) -> dict[str, np.ndarray]:
    """Per axis, one row of `document_features` per scored document."""
    out = {}
    for a, labels in predictor.axes.items():
        rows = []
        for spans, title, preds in scored:
            matrix = np.array([[p[a]["probs"][lab] for lab in labels] for p in preds])
            rows.append(document_features(matrix, len(spans), title is not None))
        out[a] = np.array(rows)
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, n_labels: int, c: float = REGULARISATION_C) -> dict[str, list]:
    """One axis's {"coef", "intercept"} with a row for every label, also those missing from `y` (never predicted)."""
    from sklearn.linear_model import LogisticRegression

    coef, intercept = np.zeros((n_labels, x.shape[1])), np.full(n_labels, -30.0)
    present = np.unique(y)
    if len(present) == 1:
        intercept[present[0]] = 0.0
    else:
        model = LogisticRegression(C=c, max_iter=5000).fit(x, y)
        if len(present) == 2:  # scikit-learn keeps one row: p(second) = softmax([0, w.x + b])[1]
            coef[present[1]], intercept[present[1]], intercept[present[0]] = model.coef_[0], model.intercept_[0], 0.0
        else:
            coef[present], intercept[present] = model.coef_, model.intercept_
    return {"coef": coef.round(6).tolist(), "intercept": intercept.round(6).tolist()}


def _fit_learned(predictor: Predictor, features: dict, gold: dict, rows: np.ndarray) -> LearnedDocumentRule:
    return LearnedDocumentRule({a: fit_logistic(features[a][rows], gold[a][rows], len(labels))
                                for a, labels in predictor.axes.items()})


def _learned_hits(rule: LearnedDocumentRule, features: dict, gold: dict, rows: np.ndarray) -> dict[str, np.ndarray]:
    return {a: np.array([rule.probabilities(a, x).argmax() == g for x, g in zip(features[a][rows], gold[a][rows])])
            for a in features}


def _gold(predictor: Predictor, docs: list[dict]) -> dict[str, np.ndarray]:
    return {a: np.array([labels.index(d["gold"][a]) for d in docs]) for a, labels in predictor.axes.items()}


def cross_validate(predictor: Predictor, hits: dict, features: dict, gold: dict, grid: tuple[DocumentRule, ...],
                   folds: int = FOLDS) -> dict[str, dict[str, float]]:
    """Mean held-out accuracy per axis of choosing the weighted rule and of fitting the learned one, fold by fold."""
    fold_of = np.random.default_rng(0).permutation(len(gold[next(iter(gold))])) % folds
    held_out = {"weighted": {a: [] for a in predictor.axes}, "learned": {a: [] for a in predictor.axes}}
    for f in range(folds):
        fit, held = fold_of != f, fold_of == f
        weighted = _best_weighted(hits, grid, fit)
        learned = _learned_hits(_fit_learned(predictor, features, gold, fit), features, gold, held)
        for a in predictor.axes:
            held_out["weighted"][a].append(hits[weighted][a][held].mean())
            held_out["learned"][a].append(learned[a].mean())
    return {family: {a: round(float(np.mean(v)), 4) for a, v in per_axis.items()} for family, per_axis in held_out.items()}


def fit_document_rule(predictor: Predictor, docs: list[dict], grid: tuple[DocumentRule, ...] = GRID, *,
                      family: str = "auto", folds: int = FOLDS) -> tuple[DocumentRule | LearnedDocumentRule, dict]:
    """The document rule for `predictor` chosen on `docs` (dicts with "text" and "gold"), and what was measured.

    `family`: "auto" takes the learned rule only where it wins cross-validation; "weighted" or "learned" forces one.
    """
    if family not in RULE_FAMILIES:
        raise ValueError(f"family must be one of {', '.join(RULE_FAMILIES)}, got {family!r}")
    default = DocumentRule()
    if not docs:
        return default, {"n_documents": 0, "note": "no dev documents: the default rule is kept"}
    scored = predictor.score_documents([d["text"] for d in docs])
    hits = {rule: rule_hits(predictor, scored, docs, rule) for rule in (default, *grid)}
    every = np.ones(len(docs), dtype=bool)
    best = _best_weighted(hits, grid, every)
    accuracy = {rule: {a: float(h.mean()) for a, h in hits[rule].items()} for rule in (default, best)}
    fit = {"n_documents": len(docs), "kind": "weighted", "accuracy": accuracy[best], "default_rule": default.as_config(),
           "default_accuracy": accuracy[default], "rules_tried": len(grid)}
    if family == "weighted":
        return best, {**fit, "learned": "not tried: the weighted family was asked for"}
    if len(docs) < MIN_LEARNED_DOCUMENTS:
        return best, {**fit, "learned": f"not tried: {len(docs)} articles, a learned rule needs {MIN_LEARNED_DOCUMENTS} "
                                        "to cross-validate"}
    features, gold = _features(predictor, scored), _gold(predictor, docs)
    cv = cross_validate(predictor, hits, features, gold, grid, folds)
    fit["cross_validated"] = {"folds": folds, **cv}
    if family == "auto" and _mean(cv["learned"]) <= _mean(cv["weighted"]):
        return best, fit
    learned = _fit_learned(predictor, features, gold, every)
    return learned, {**fit, "kind": "learned", "weighted_rule": best.as_config(), "weighted_accuracy": accuracy[best],
                     "accuracy": {a: float(h.mean()) for a, h in _learned_hits(learned, features, gold, every).items()}}
