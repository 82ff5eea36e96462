"""Corpus statistics: counts per label, combination, split, source, topic, style; lengths; agreement."""

from __future__ import annotations

from collections import Counter
from itertools import product
from pathlib import Path

import numpy as np

from labels.agreement import pairwise_agreement, pooled_agreement
from labels.corpus import LABELS_DIR, read_jsonl
from labels.schema import load_schema


def _label_shares(rows: list[dict], axis) -> dict:
    counts = Counter(r["gold"][axis.name] for r in rows)
    return {lab: {"n": counts[lab], "pct": round(100 * counts[lab] / len(rows), 1) if rows else 0.0} for lab in axis.labels}


def kind_stats(passages: list[dict], documents: list[dict], kind: str, schema) -> dict:
    """One source kind (seed, authored, coverage) on its own: counts, labels, outlets, styles, agreement."""
    ps = [p for p in passages if p["source_kind"] == kind]
    ds = [d for d in documents if d["source_kind"] == kind]
    gold = [p for p in ps if p["gold"]]
    return {
        "passages": len(ps), "passages_with_gold": len(gold), "documents": len(ds),
        "labels": {axis.name: _label_shares(gold, axis) for axis in schema.axes},
        "labels_by_split": {split: {axis.name: _label_shares([p for p in gold if p["split"] == split], axis) for axis in schema.axes}
                            for split in sorted({p["split"] for p in gold})},
        "splits": {split: {"passages": sum(p["split"] == split for p in ps), "documents": sum(d["split"] == split for d in ds)}
                   for split in sorted({p["split"] for p in ps})},
        "outlets": len({d.get("outlet") for d in ds if d.get("outlet")}),
        "documents_by_outlet_style": dict(Counter(d["outlet_style"] for d in ds).most_common()),
        "documents_by_topic": dict(Counter(d["topic"] for d in ds).most_common()),
        "adjacent_topic_documents": sum(d["topic"] in schema.adjacent_topics for d in ds),
        "partial_documents": sum(bool(d.get("partial")) for d in ds),
        "document_labels": {axis.name: dict(Counter(d["gold"][axis.name] for d in ds if d["gold"])) for axis in schema.axes},
        "agreement": pooled_agreement(ps, schema.axis_names),
        "document_agreement": pooled_agreement(ds, schema.axis_names),
    }


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
        "by_source_kind": {kind: kind_stats(passages, documents, kind, schema)
                           for kind in ("seed", "authored", "coverage") if any(p["source_kind"] == kind for p in passages)},
    }


def format_kind(kind: str, k: dict) -> list[str]:
    """The terminal block for one source kind."""
    out = [f"\n== {kind}: {k['passages']} passages ({k['passages_with_gold']} with gold) in {k['documents']} documents, "
           f"{k['outlets']} outlets, {k['partial_documents']} partial, {k['adjacent_topic_documents']} on adjacent topics"]
    out.append("  splits: " + ", ".join(f"{s} {v['passages']} passages / {v['documents']} documents" for s, v in k["splits"].items()))
    for axis, counts in k["labels"].items():
        out.append(f"  {axis}: " + ", ".join(f"{lab} {c['n']} ({c['pct']}%)" for lab, c in counts.items()))
    for split, axes in k["labels_by_split"].items():
        out.append(f"  {split}: " + "; ".join(f"{a} " + ", ".join(f"{lab} {c['pct']}%" for lab, c in cs.items()) for a, cs in axes.items()))
    out.append("  outlet styles (documents): " + ", ".join(f"{s} {n}" for s, n in k["documents_by_outlet_style"].items()))
    out.append("  document labels: " + "; ".join(f"{a}: {dict(c)}" for a, c in k["document_labels"].items()))
    for label, rows in (("passages", k["agreement"]), ("documents", k["document_agreement"])):
        out += [f"  agreement, {label:<10}{r['axis']:<16}n={r['n']:<5} agreement {r['agreement']:.3f}  kappa {r['kappa']:.3f}" for r in rows]
    return out


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
    for kind, k in s.get("by_source_kind", {}).items():
        out += format_kind(kind, k)
    return "\n".join(out)
