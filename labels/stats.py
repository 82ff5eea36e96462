"""Corpus statistics: counts per label, combination, split, source, topic, style; lengths; agreement."""

from __future__ import annotations

from collections import Counter
from itertools import product
from pathlib import Path

import numpy as np

from labels.agreement import pairwise_agreement, pooled_agreement
from labels.corpus import LABELS_DIR, read_jsonl
from labels.schema import load_schema


def corpus_stats(root: Path = LABELS_DIR) -> dict:
    """Everything `framing corpus stats` prints, as one JSON-ready dict."""
    schema = load_schema()
    passages = [r for _, r in read_jsonl(root / "corpus" / "passages.jsonl")]
    documents = [r for _, r in read_jsonl(root / "corpus" / "documents.jsonl")]
    gold = [p for p in passages if p["gold"]]
    r_axis, m_axis = schema.axes[0], schema.axes[1]
    words = np.array([len(p["text"].split()) for p in passages]) if passages else np.zeros(1)

    def share(counter: Counter, total: int) -> dict:
        return {k: {"n": v, "pct": round(100 * v / total, 1) if total else 0.0} for k, v in counter.items()}

    def by_source(field: str) -> dict:
        return {kind: dict(Counter(p[field] for p in passages if p["source_kind"] == kind)) for kind in ("seed", "authored")}

    authored = [p for p in gold if p["source_kind"] == "authored"]
    return {
        "schema_version": schema.version,
        "passages": len(passages), "passages_with_gold": len(gold), "documents": len(documents),
        "labels": {
            axis.name: share(Counter({lab: sum(p["gold"][axis.name] == lab for p in gold) for lab in axis.labels}), len(gold))
            for axis in schema.axes
        },
        "combinations": share(Counter({
            f"{r}+{m}": sum(p["gold"][r_axis.name] == r and p["gold"][m_axis.name] == m for p in gold)
            for r, m in product(r_axis.labels, m_axis.labels)
        }), len(gold)),
        "authored_labels": {
            axis.name: share(Counter({lab: sum(p["gold"][axis.name] == lab for p in authored) for lab in axis.labels}), len(authored))
            for axis in schema.axes
        },
        "splits": {s: {"passages": sum(p["split"] == s for p in passages), "documents": sum(d["split"] == s for d in documents)}
                   for s in sorted({p["split"] for p in passages})},
        "source_kinds": dict(Counter(p["source_kind"] for p in passages)),
        "documents_by_source_kind": dict(Counter(d["source_kind"] for d in documents)),
        "topics": dict(Counter(p["topic"] for p in passages)),
        "adjacent_topic_documents": sum(d["topic"] in schema.adjacent_topics for d in documents if d["source_kind"] == "authored"),
        "outlet_styles": dict(Counter(p["outlet_style"] for p in passages)),
        "hard_cases": {
            "passages_with_any": sum(bool(p["hard_cases"]) for p in gold),
            "pct": round(100 * sum(bool(p["hard_cases"]) for p in gold) / len(gold), 1) if gold else 0.0,
            "tags": dict(Counter(t for p in gold for t in p["hard_cases"])),
        },
        "words_per_passage": {q: int(np.percentile(words, v)) for q, v in
                              (("min", 0), ("p10", 10), ("p25", 25), ("median", 50), ("p75", 75), ("p90", 90), ("max", 100))},
        "passages_per_document": dict(sorted(Counter(d["n_passages"] for d in documents).items())),
        "agreement": pairwise_agreement(passages, schema.axis_names),
        # Authored passages' second pass and the seed double annotation, each pooled over its annotator pairs.
        "agreement_by_source_kind": {
            kind: pooled_agreement([p for p in passages if p["source_kind"] == kind], schema.axis_names)
            for kind in sorted({p["source_kind"] for p in passages})
        },
        "document_labels": {
            axis.name: dict(Counter(d["gold"][axis.name] for d in documents if d["gold"])) for axis in schema.axes
        },
    }


def format_stats(s: dict) -> str:
    """A plain-text rendering for the terminal."""
    out = [f"schema {s['schema_version']}: {s['passages']} passages ({s['passages_with_gold']} with gold) in {s['documents']} documents"]
    for axis, counts in s["labels"].items():
        out.append(f"\n{axis}:")
        out += [f"  {lab:<14}{c['n']:>6}  {c['pct']:>5.1f}%" for lab, c in counts.items()]
    out.append("\ncombinations (risk+motive):")
    out += [f"  {k:<28}{c['n']:>6}  {c['pct']:>5.1f}%" for k, c in s["combinations"].items()]
    out.append("\nsplits:")
    out += [f"  {k:<10}{v['passages']:>6} passages {v['documents']:>5} documents" for k, v in s["splits"].items()]
    for title, key in (("source kinds", "source_kinds"), ("topics", "topics"), ("outlet styles", "outlet_styles")):
        out.append(f"\n{title}:")
        out += [f"  {k:<24}{v:>6}" for k, v in sorted(s[key].items(), key=lambda kv: -kv[1])]
    out.append(f"\nauthored documents on adjacent topics: {s['adjacent_topic_documents']}")
    hc = s["hard_cases"]
    out.append(f"\nhard cases: {hc['passages_with_any']} passages ({hc['pct']}%)")
    out += [f"  {k:<26}{v:>6}" for k, v in sorted(hc["tags"].items(), key=lambda kv: -kv[1])]
    out.append("\nwords per passage: " + ", ".join(f"{k} {v}" for k, v in s["words_per_passage"].items()))
    out.append("passages per document: " + ", ".join(f"{k}: {v}" for k, v in s["passages_per_document"].items()))
    out.append("\ndocument labels: " + "; ".join(f"{a}: {dict(c)}" for a, c in s["document_labels"].items()))
    if s["agreement"]:
        out.append("\nagreement (pairs of annotators, adjudicator excluded):")
        out += [f"  {'/'.join(r['annotators']):<34}{r['axis']:<16}n={r['n']:<5} agreement {r['agreement']:.3f}  kappa {r['kappa']:.3f}"
                for r in s["agreement"]]
    for kind, rows in s.get("agreement_by_source_kind", {}).items():
        out += [f"  {kind + ' passages, all pairs':<34}{r['axis']:<16}n={r['n']:<5} agreement {r['agreement']:.3f}  kappa {r['kappa']:.3f}"
                for r in rows]
    return "\n".join(out)
