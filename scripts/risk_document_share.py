"""Would a "neutral needs X%" share help risk documents, as the `none` share helps motive? Dev and test side by side.

    python scripts/risk_document_share.py --model artifacts/model

Most passages of any article are `neutral` on risk, so the weighted mean of passage probabilities rarely lets an
article come out alarmist or downplaying. This rescores the coverage dev and test articles once and prints risk
document accuracy for every lead/conclusion and headline weight of training/document_rule.py's grid, with risk's
`neutral` given no share (today's argmax) or a share from 0.5 to 0.9. An exploration: nothing here changes a rule.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from inference.predictor import DocumentRule, Predictor
from labels.dataset import documents_of

SHARES = (None, 0.5, 0.6, 0.7, 0.8, 0.9)


def risk_accuracy(predictor: Predictor, scored: list[tuple], docs: list[dict], lc: float, hw: float, share: float | None) -> float:
    """Share of `docs` whose gold risk label the rule reproduces; share None is today's argmax for risk."""
    rule = DocumentRule(lead_conclusion_weight=lc, headline_weight=hw, absent_share=share or 0.7)
    absent = {"risk_framing": "neutral"} if share is not None else {}
    hits = []
    for (spans, title, preds), doc in zip(scored, docs):
        # the matrix Predictor.aggregate_document builds: passages, then the headline if any
        labels = predictor.axes["risk_framing"]
        matrix = {"risk_framing": np.array([[p["risk_framing"]["probs"][lab] for lab in labels] for p in preds])}
        label, _ = rule.labels(matrix, len(spans), title is not None, {"risk_framing": labels}, absent)["risk_framing"]
        hits.append(label == doc["gold"]["risk_framing"])
    return float(np.mean(hits))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    args = parser.parse_args()
    predictor = Predictor.from_artifact(args.model, backend="fp32")
    splits = {s: documents_of(s) for s in ("coverage_dev", "coverage_test")}
    scored = {s: [predictor.score_document(d["text"]) for d in docs] for s, docs in splits.items()}
    print("lead/concl  headline  " + "  ".join(f"{'argmax' if s is None else f'neutral {s}':>14}" for s in SHARES))
    print(" " * 20 + "  ".join(f"{'dev / test':>14}" for _ in SHARES))
    for lc in (1.0, 2.0, 3.0):
        for hw in (0.0, 1.0, 2.0):
            cells = [" / ".join(f"{risk_accuracy(predictor, scored[k], splits[k], lc, hw, s):.3f}" for k in splits) for s in SHARES]
            print(f"{lc:>10}  {hw:>8}  " + "  ".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    main()
