"""Where it errs: scores by split, topic, outlet style and hard-case tag, and the joint risk × motive table."""

from __future__ import annotations

from itertools import product

import numpy as np

from labels.dataset import CorpusRow, gold_ids
# The per-field scores live with the other metrics (evaluation reports them on the test split too).
from training.metrics import BREAKDOWN_FIELDS, NO_TAG, breakdowns  # noqa: F401

def joint_table(rows: list[CorpusRow], probs: dict[str, np.ndarray], axes: dict[str, list[str]]) -> list[dict]:
    """Per gold (risk, motive) combination: passages, share right on each axis and on both, commonest wrong pair."""
    names = list(axes)
    if len(names) != 2:
        raise ValueError(f"the joint table needs exactly two axes, the schema has {len(names)}")
    gold = gold_ids(rows, axes)
    pred = {a: probs[a].argmax(1) for a in axes}
    first, second = names
    out = []
    for i, j in product(range(len(axes[first])), range(len(axes[second]))):
        idx = np.where((gold[first] == i) & (gold[second] == j))[0]
        entry = {first: axes[first][i], second: axes[second][j], "n": int(len(idx))}
        if len(idx):
            ok1, ok2 = pred[first][idx] == i, pred[second][idx] == j
            entry.update({f"{first}_correct": float(ok1.mean()), f"{second}_correct": float(ok2.mean()),
                          "both_correct": float((ok1 & ok2).mean())})
            wrong = [(axes[first][pred[first][k]], axes[second][pred[second][k]]) for k in idx
                     if not (pred[first][k] == i and pred[second][k] == j)]
            if wrong:
                pair, count = max(((p, wrong.count(p)) for p in set(wrong)), key=lambda pc: (pc[1], pc[0]))
                entry["commonest_error"] = {first: pair[0], second: pair[1], "n": count}
        out.append(entry)
    return out
