"""Batch invariance: whether a backend gives a passage the same probabilities whatever else is in its batch.

The service merges concurrent callers' passages into shared forward passes, so a passage's batch-mates
are whoever else is calling. Padding to a longer batch-mate must not move its output, and dynamic int8
quantisation does: it scales activations by the largest value in the whole batch. Each passage is
scored alone (no batch-mates) and then in randomly shuffled, randomly sized groups; the backend is
batch-invariant if no probability moves by more than MAX_PROB_DIFF and no label changes.
"""

from __future__ import annotations

import numpy as np

MAX_PROB_DIFF = 1e-3
ROUNDS = 3


def batch_invariance(predictor, texts: list[str], *, rounds: int = ROUNDS, seed: int = 0) -> dict:
    """The largest probability change and the label changes of `texts` in shuffled batches against each alone."""
    if not texts:
        raise ValueError("batch_invariance needs at least one text")
    alone = _stack([predictor.probabilities([t], batch_size=1) for t in texts])
    rng = np.random.default_rng(seed)
    largest, flips = 0.0, 0
    for _ in range(rounds):
        order = rng.permutation(len(texts))
        got = {a: np.zeros_like(p) for a, p in alone.items()}
        start = 0
        while start < len(order):
            # Groups from 2 to twice the predictor's batch size: the batcher hands it mixes of any size.
            size = int(rng.integers(2, 2 * predictor.batch_size + 1))
            group = order[start:start + size]
            probs = predictor.probabilities([texts[i] for i in group])
            for a in got:
                got[a][group] = probs[a]
            start += size
        for a, p in alone.items():
            largest = max(largest, float(np.abs(got[a] - p).max()))
            flips += int((got[a].argmax(axis=1) != p.argmax(axis=1)).sum())
    return {"passages": len(texts), "rounds": rounds, "max_prob_diff": round(largest, 6), "label_flips": flips,
            "invariant": largest <= MAX_PROB_DIFF and flips == 0}


def _stack(per_text: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {a: np.concatenate([p[a] for p in per_text]) for a in per_text[0]}
