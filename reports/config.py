"""`ReportConfig`: every knob of a report run, checked when it is made."""

from __future__ import annotations

from dataclasses import dataclass

UNCERTAINTY_METHODS = ("margin", "entropy")
RANKING_METHODS = ("self_confidence", "normalized_margin")


class ReportConfigError(ValueError):
    """A report option out of range; the message names the option and the allowed values."""


@dataclass
class ReportConfig:
    """What the report computes and how much it spends doing it."""

    fast: bool = False  # baseline-only out-of-fold, no fine-tuned learning curve, fewer points
    folds: int = 5
    # Shares of the coverage training articles (authored and seed passages are in every fit); 0: authored + seed only.
    learning_curve_fractions: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    learning_curve_seeds: int = 5  # baseline runs per fraction
    learning_curve_model_seeds: int = 1  # fine-tuned runs per fraction (0: baseline curve only)
    model_epochs: int | None = 3  # epochs of each fold's fine-tuning (None: the artifact's own)
    top_errors: int = 40
    queue_size: int = 30
    per_document: int = 2  # queue items per document before any document gets more
    uncertainty: str = "margin"
    ranking: str = "self_confidence"
    max_explained_words: int = 120  # occlusion costs one forward pass per word
    bootstrap: int = 1000
    seed: int = 13

    def __post_init__(self):
        for name in ("folds", "learning_curve_seeds", "top_errors", "queue_size", "per_document", "max_explained_words"):
            if getattr(self, name) < 1:
                raise ReportConfigError(f"ReportConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.folds < 2:
            raise ReportConfigError(f"ReportConfig.folds must be at least 2 for out-of-fold predictions, got {self.folds}")
        if self.learning_curve_model_seeds < 0:
            raise ReportConfigError(f"ReportConfig.learning_curve_model_seeds must be 0 or more, got {self.learning_curve_model_seeds}")
        if self.model_epochs is not None and self.model_epochs < 1:
            raise ReportConfigError(f"ReportConfig.model_epochs must be at least 1 or None, got {self.model_epochs}")
        self.learning_curve_fractions = tuple(float(f) for f in self.learning_curve_fractions)
        if not self.learning_curve_fractions or any(not 0 <= f <= 1 for f in self.learning_curve_fractions):
            raise ReportConfigError("ReportConfig.learning_curve_fractions are shares of the coverage training articles and must "
                                    f"each be in [0, 1] (0: authored + seed only), got {self.learning_curve_fractions}")
        if self.uncertainty not in UNCERTAINTY_METHODS:
            raise ReportConfigError(f"ReportConfig.uncertainty is {self.uncertainty!r}; use one of {', '.join(UNCERTAINTY_METHODS)}")
        if self.ranking not in RANKING_METHODS:
            raise ReportConfigError(f"ReportConfig.ranking is {self.ranking!r}; use one of {', '.join(RANKING_METHODS)}")
        if self.bootstrap < 100:
            raise ReportConfigError(f"ReportConfig.bootstrap must be at least 100 resamples, got {self.bootstrap}")
        if self.fast:
            # Fast means no fine-tuning at all: only the baseline is refitted.
            self.learning_curve_model_seeds = 0


def fast_config(**overrides) -> ReportConfig:
    """The `--fast` preset: baseline only, four learning-curve points over three seeds."""
    return ReportConfig(**{"fast": True, "learning_curve_fractions": (0.0, 0.25, 0.5, 1.0), "learning_curve_seeds": 3,
                           "bootstrap": 300, **overrides})
