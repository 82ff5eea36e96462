"""Which words drove each axis's prediction: occlusion (drop one word, watch the probability move).

Works through any scorer, so the fine-tuned model is explained through the shared Predictor and
never re-tokenised here; words are whitespace-separated spans of the original text.
"""

from __future__ import annotations

import re

import numpy as np
from tqdm.auto import tqdm

from reports.scoring import Scorer

_WORD = re.compile(r"\S+")


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the whitespace-separated words of text."""
    return [m.span() for m in _WORD.finditer(text)]


def without(text: str, spans: list[tuple[int, int]], k: int) -> str:
    """text with its k-th word removed."""
    start, end = spans[k]
    return (text[:start] + text[end:]).strip()


def occlusion(texts: list[str], scorer: Scorer, axes: dict[str, list[str]], *, targets: list[dict[str, str]] | None = None,
              max_words: int = 120, chunk: int = 256, progress: bool = True) -> list[dict]:
    """Per text and axis: the explained label, its probability, and each word's weight.

    A word's weight is p(label | text) - p(label | text without the word): positive words pushed
    toward the label, negative ones away. The label is the predicted one unless `targets` names one.
    Words past `max_words` are not occluded (weight None), to bound the cost.
    """
    spans = [word_spans(t) for t in texts]
    variants, owner = list(texts), []
    for i, (text, sp) in enumerate(zip(texts, spans)):
        for k in range(min(len(sp), max_words)):
            v = without(text, sp, k)
            if v:
                variants.append(v)
                owner.append((i, k))
    probs: dict[str, list[np.ndarray]] = {a: [] for a in axes}
    for b in tqdm(range(0, len(variants), chunk), desc="explanations (occlusion)", unit="batch", disable=not progress):
        part = scorer(variants[b:b + chunk])
        for a in axes:
            probs[a].append(part[a])
    full = {a: np.concatenate(probs[a]) for a in axes}
    out = []
    for i, text in enumerate(texts):
        rec = {}
        for a, labels in axes.items():
            j = labels.index(targets[i][a]) if targets else int(full[a][i].argmax())
            rec[a] = {"label": labels[j], "prob": float(full[a][i, j]),
                      "words": [{"start": s, "end": e, "word": text[s:e], "weight": None} for s, e in spans[i]]}
        out.append(rec)
    for row, (i, k) in enumerate(owner, start=len(texts)):
        for a, labels in axes.items():
            j = labels.index(out[i][a]["label"])
            out[i][a]["words"][k]["weight"] = round(float(full[a][i, j] - full[a][row, j]), 5)
    return out


def top_words(explanation: dict, n: int = 5) -> list[str]:
    """The n words that pushed hardest toward the explained label."""
    ranked = sorted((w for w in explanation["words"] if w["weight"] is not None and w["weight"] > 0), key=lambda w: -w["weight"])
    return [w["word"] for w in ranked[:n]]
