"""Agreement between annotators: Cohen's kappa per pair, Krippendorff's alpha per axis, disagreements."""

from __future__ import annotations

from collections import Counter
from itertools import permutations

from labels.agreement import pairwise_agreement
from labels.corpus import ADJUDICATOR


def krippendorff_alpha_nominal(units: list[list[str]]) -> float | None:
    """Krippendorff's alpha for nominal values; each unit lists the values its coders gave (any number).

    Units with fewer than two values are not pairable and are ignored. None when fewer than two
    pairable values exist; 1.0 when every pairable value is the same (no variation to disagree on).
    """
    coincidence: Counter = Counter()
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for c, k in permutations(values, 2):
            coincidence[(c, k)] += 1 / (m - 1)
    totals: Counter = Counter()
    for (c, _), v in coincidence.items():
        totals[c] += v
    n = sum(totals.values())
    if n < 2:
        return None
    observed = sum(v for (c, k), v in coincidence.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    if expected == 0:
        return 1.0
    return 1 - (n - 1) * observed / expected


def _coded(records: list[dict]) -> list[list[dict]]:
    """Per record, its annotations by annotators other than the adjudicator."""
    return [[a for a in r.get("annotations", []) if a["annotator"] != ADJUDICATOR] for r in records]


def disagreements(records: list[dict], axes: tuple[str, ...], unit: str) -> list[dict]:
    """Records whose annotators differ on some axis, with each one's labels and the adjudication if any."""
    out = []
    for rec, anns in zip(records, _coded(records)):
        if len(anns) < 2:
            continue
        differ = [a for a in axes if len({x[a] for x in anns}) > 1]
        if not differ:
            continue
        adj = next((a for a in rec["annotations"] if a["annotator"] == ADJUDICATOR), None)
        out.append({
            "unit": unit, "id": rec["id"], "doc_id": rec.get("doc_id", rec["id"]), "text": rec.get("text", rec.get("title", "")),
            "axes": differ, "labels": {x["annotator"]: {a: x[a] for a in axes} for x in anns},
            "adjudicated": {a: adj[a] for a in axes} if adj else None,
        })
    return out


def agreement_section(passages: list[dict], documents: list[dict], axes: tuple[str, ...]) -> dict:
    """Everything the Agreement section shows, for passages and documents."""
    section = {}
    for unit, records in (("passages", passages), ("documents", documents)):
        coded = _coded(records)
        multi = [r for r, anns in zip(records, coded) if len(anns) >= 2]
        section[unit] = {
            "multiply_annotated": len(multi),
            "pairs": pairwise_agreement(multi, axes),
            "alpha": {a: krippendorff_alpha_nominal([[x[a] for x in anns] for anns in coded]) for a in axes},
            "disagreements": disagreements(records, axes, unit.rstrip("s")),
        }
    return section
