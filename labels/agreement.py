"""Inter-annotator agreement: raw agreement and Cohen's kappa between annotator pairs."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from labels.corpus import ADJUDICATOR


def cohen_kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa for two aligned label lists (1.0 when both use one identical label)."""
    if len(a) != len(b) or not a:
        raise ValueError(f"cohen_kappa needs two non-empty lists of equal length, got {len(a)} and {len(b)}")
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if expected == 1.0:
        return 1.0
    return (observed - expected) / (1 - expected)


def pairwise_agreement(records: list[dict], axes: tuple[str, ...]) -> list[dict]:
    """Per annotator pair and axis: items both labelled, raw agreement and kappa (adjudicator excluded)."""
    by_pair: dict[tuple[str, str], list[tuple[dict, dict]]] = {}
    for rec in records:
        anns = [a for a in rec["annotations"] if a["annotator"] != ADJUDICATOR]
        for x, y in combinations(sorted(anns, key=lambda a: a["annotator"]), 2):
            by_pair.setdefault((x["annotator"], y["annotator"]), []).append((x, y))
    rows = []
    pooled = [pair for items in by_pair.values() for pair in items]
    groups = sorted(by_pair.items()) + ([(("all pairs", "pooled"), pooled)] if len(by_pair) > 1 else [])
    for (ax, bx), items in groups:
        for axis in axes:
            a = [x[axis] for x, _ in items]
            b = [y[axis] for _, y in items]
            rows.append({
                "annotators": [ax, bx], "axis": axis, "n": len(items),
                "agreement": sum(p == q for p, q in zip(a, b)) / len(items),
                "kappa": cohen_kappa(a, b),
            })
    return rows


def pooled_agreement(records: list[dict], axes: tuple[str, ...]) -> list[dict]:
    """Per axis: agreement and kappa over every annotator pair of every record, pooled (empty if none)."""
    rows = pairwise_agreement(records, axes)
    pairs = {tuple(r["annotators"]) for r in rows}
    if len(pairs) == 1:
        return [{**r, "annotators": ["all pairs", "pooled"]} for r in rows]
    return [r for r in rows if r["annotators"] == ["all pairs", "pooled"]]
