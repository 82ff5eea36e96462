"""Would a richer document rule help? Rule families compared by 5-fold cross-validation on the rule's own articles.

    python scripts/document_rule_families.py --model artifacts/model [--out runs/coverage/document_rule_families.json]

`framing train` chooses one DocumentRule for both axes from a 36-rule grid (training/document_rule.py) on the
real-coverage articles of coverage dev and train. This scores those articles once (never test) and compares, by
5-fold cross-validation over the articles, four ways of choosing:

- A: today's: one rule for both axes (lead and conclusion weighted alike);
- B: one rule per axis from the same grid;
- C: one rule per axis, with the lead and the conclusion weighted separately (guidelines 6.14 treats them apart);
- D: one rule for both axes, lead and conclusion weighted separately;

plus E, the learned rule (a logistic regression per axis on `document_features`), which `framing train` now
adopts when it beats A in the same cross-validation (training/document_rule.py). Each fold chooses on four
fifths of the articles and is scored on the fifth. Then A and E again, fitted on the training articles and scored on
coverage dev's, whose passages no model trained on. An exploration: nothing here changes a rule.
"""

from __future__ import annotations

import argparse
import json
from itertools import product
from pathlib import Path

import numpy as np

from inference.artifact import read_config
from inference.predictor import LearnedDocumentRule, Predictor, document_features, document_label
from labels.corpus import LABELS_DIR
from labels.dataset import documents_of
from training.document_rule import fit_logistic
from training.train import rule_documents, saved_config

LEAD_CONCLUSION = (1.0, 2.0, 3.0)
SEPARATE = (0.5, 1.0, 2.0, 3.0)
HEADLINE = (0.0, 1.0, 2.0)
SHARES = (0.5, 0.6, 0.7, 0.8)


def weights(n_body: int, has_headline: bool, lead: float, conclusion: float, headline: float) -> np.ndarray:
    w = np.ones(n_body + int(has_headline))
    w[0], w[n_body - 1] = lead, conclusion
    if has_headline:
        w[-1] = headline
    return w / w.sum()


def correct(scored: list[dict], axis: str, labels: list[str], absent: str | None, rule: tuple) -> np.ndarray:
    """Per article, whether `rule` (lead, conclusion, headline, share) reproduces its gold label on `axis`."""
    lead, conclusion, headline, share = rule
    return np.array([document_label(weights(s["n_body"], s["headline"], lead, conclusion, headline) @ s["probs"][axis],
                                    labels, absent, share) == s["gold"][axis] for s in scored])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = saved_config(read_config(args.model)["training_config"])
    predictor = Predictor.from_artifact(args.model, backend="fp32")
    docs = rule_documents(config, LABELS_DIR)
    scored = []
    for doc, (spans, title, preds) in zip(docs, predictor.score_documents([d["text"] for d in docs])):
        probs = {a: np.array([[p[a]["probs"][lab] for lab in labels] for p in preds]) for a, labels in predictor.axes.items()}
        scored.append({"n_body": len(spans), "headline": title is not None, "probs": probs, "gold": doc["gold"]})
    folds = np.random.default_rng(0).permutation(len(scored)) % args.folds
    same = [(lc, lc, hw, sh) for lc, hw, sh in product(LEAD_CONCLUSION, HEADLINE, SHARES)]
    apart = list(product(SEPARATE, SEPARATE, HEADLINE, SHARES))
    cache: dict = {}

    def hits(axis: str, rule: tuple) -> np.ndarray:
        if (axis, rule) not in cache:
            cache[axis, rule] = correct(scored, axis, predictor.axes[axis], predictor.absent_labels.get(axis), rule)
        return cache[axis, rule]

    results = {}
    for name, grid, per_axis in (("A one rule, lead = conclusion (today)", same, False), ("B per axis", same, True),
                                 ("C per axis, lead and conclusion apart", apart, True),
                                 ("D one rule, lead and conclusion apart", apart, False)):
        scores = {a: [] for a in predictor.axes}
        for f in range(args.folds):
            fit, held = folds != f, folds == f
            if per_axis:
                for a in predictor.axes:
                    best = max(grid, key=lambda r: hits(a, r)[fit].mean())
                    scores[a].append(hits(a, best)[held].mean())
            else:
                best = max(grid, key=lambda r: np.mean([hits(a, r)[fit].mean() for a in predictor.axes]))
                for a in predictor.axes:
                    scores[a].append(hits(a, best)[held].mean())
        results[name] = {a: round(float(np.mean(v)), 3) for a, v in scores.items()}
    x = {a: np.array([document_features(s["probs"][a], s["n_body"], s["headline"]) for s in scored]) for a in predictor.axes}
    y = {a: np.array([labels.index(s["gold"][a]) for s in scored]) for a, labels in predictor.axes.items()}

    def learned_hits(fit: np.ndarray, held: np.ndarray) -> dict[str, np.ndarray]:
        rule = LearnedDocumentRule({a: fit_logistic(x[a][fit], y[a][fit], len(labels)) for a, labels in predictor.axes.items()})
        return {a: np.array([rule.probabilities(a, row).argmax() for row in x[a][held]]) == y[a][held] for a in predictor.axes}

    per_fold = [learned_hits(folds != f, folds == f) for f in range(args.folds)]
    results["E learned (logistic regression)"] = {a: round(float(np.mean([h[a].mean() for h in per_fold])), 3)
                                                  for a in predictor.axes}
    # Training articles' passages were trained on, so their probabilities are sharper than on new text: fitted on
    # them and scored on coverage dev's articles (never trained on) says whether a rule carries over.
    dev_ids = {d["id"] for d in documents_of(config.dev_split, LABELS_DIR)}
    on_dev = np.array([d["id"] in dev_ids for d in docs])
    out_of_sample = {}
    if on_dev.any() and (~on_dev).any():
        best = max(same, key=lambda r: np.mean([hits(a, r)[~on_dev].mean() for a in predictor.axes]))
        learned = learned_hits(~on_dev, on_dev)
        out_of_sample = {"dev_articles": int(on_dev.sum()),
                         "A one rule, lead = conclusion (today)": {a: round(float(hits(a, best)[on_dev].mean()), 3) for a in predictor.axes},
                         "E learned (logistic regression)": {a: round(float(learned[a].mean()), 3) for a in predictor.axes}}
    report = {"model_version": predictor.version, "articles": len(scored), "splits": list(config.document_rule_splits),
              "folds": args.folds, "cross_validated_accuracy": results,
              "fitted_on_train_articles_scored_on_dev_articles": out_of_sample}
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
