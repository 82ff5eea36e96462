"""Choose an artifact's document rule again, as `framing train` now does, without retraining the model.

    python scripts/refit_document_rule.py --model artifacts/model

Scores the real-coverage articles of the training config's `document_rule_splits` (coverage dev and train by
default; never test) with the artifact's fp32 weights and temperatures, picks the rule exactly as training does
(training/document_rule.py: the weighted grid, or a learned rule where it wins cross-validation), and rewrites `document_rule` and `document_rule_fit` in its framing_config.json. For
artifacts trained before the rule was chosen on train articles too, and after the corpus grows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from inference.artifact import read_config, write_config
from inference.predictor import Predictor
from labels.corpus import LABELS_DIR
from training.train import choose_document_rule, saved_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    args = parser.parse_args()
    saved = read_config(args.model)
    config = saved_config(saved["training_config"])  # older artifacts lack document_rule_splits: the default applies
    predictor = Predictor.from_artifact(args.model, backend="fp32")
    rule, fit = choose_document_rule(predictor, config, LABELS_DIR)
    print(f"was {saved.get('document_rule')} (fit {saved.get('document_rule_fit', {}).get('accuracy')})")
    print(f"now a {fit['kind']} rule {rule.as_config() if fit['kind'] == 'weighted' else ''}on {fit['n_documents']} articles of {', '.join(fit['splits'])}: accuracy {fit['accuracy']}; cross-validated {fit.get('cross_validated')}")
    saved["training_config"]["document_rule_splits"] = fit["splits"]
    saved["document_rule"], saved["document_rule_fit"] = rule.as_config(), fit
    write_config(args.model, saved)


if __name__ == "__main__":
    main()
