"""Choose how passages add up to an article's labels (inference.predictor.DocumentRule) on dev documents.

Each dev article is scored once; every rule in the grid then re-aggregates the same calibrated passage
probabilities, and the rule with the best mean document accuracy over both axes wins (ties go to the
default rule, then to the earlier rule in the grid). Only the documents passed in are read: training
passes its dev split's, so the rule never sees test.
"""

from __future__ import annotations

from dataclasses import asdict
from itertools import product

import numpy as np

from inference.predictor import DocumentRule, Predictor

GRID = tuple(
    DocumentRule(lead_conclusion_weight=lc, headline_weight=hw, absent_share=share)
    for lc, hw, share in product((1.0, 2.0, 3.0), (0.0, 1.0, 2.0), (0.5, 0.6, 0.7, 0.8))
)


def rule_accuracy(predictor: Predictor, scored: list[tuple], docs: list[dict], rule: DocumentRule) -> dict[str, float]:
    """Per axis, the share of documents whose gold label the rule reproduces from the scored passages."""
    predicted = [predictor.aggregate_document(*parts, rule)["document"] for parts in scored]
    return {a: float(np.mean([p[a]["label"] == d["gold"][a] for p, d in zip(predicted, docs)])) for a in predictor.axes}


def fit_document_rule(predictor: Predictor, docs: list[dict], grid: tuple[DocumentRule, ...] = GRID) -> tuple[DocumentRule, dict]:
    """The rule with the best mean accuracy on `docs` (dicts with "text" and "gold"), and what was measured."""
    default = DocumentRule()
    if not docs:
        return default, {"n_documents": 0, "note": "no dev documents: the default rule is kept"}
    scored = predictor.score_documents([d["text"] for d in docs])
    results = [(rule, rule_accuracy(predictor, scored, docs, rule)) for rule in grid]
    default_accuracy = rule_accuracy(predictor, scored, docs, default)
    best, best_accuracy = default, default_accuracy
    for rule, accuracy in results:
        if np.mean(list(accuracy.values())) > np.mean(list(best_accuracy.values())) + 1e-12:
            best, best_accuracy = rule, accuracy
    return best, {"n_documents": len(docs), "accuracy": best_accuracy, "default_rule": asdict(default),
                  "default_accuracy": default_accuracy, "rules_tried": len(grid)}
