"""Render the report dict as one self-contained HTML page: inline CSS and SVG, no scripts, no external requests."""

from __future__ import annotations

from html import escape

from reports.svg import confusion_svg, learning_curve_svg, reliability_svg

SECTIONS = (("summary", "Summary"), ("where-it-errs", "Where it errs"), ("calibration", "Calibration"),
            ("suspected-errors", "Suspected label errors"), ("annotate-next", "What to annotate next"),
            ("learning-curve", "Would more data help?"), ("agreement", "Agreement"), ("explanations", "Explanations"))

CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 18px 60px;color:#1b1b1b;line-height:1.4}
h1{margin:18px 0 4px}h2{border-bottom:2px solid #ddd;padding-bottom:3px;margin-top:34px}
nav a{margin-right:12px}table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;vertical-align:top;text-align:left}th{background:#f2f2f2}
td.num{text-align:right;font-variant-numeric:tabular-nums}.plots{display:flex;flex-wrap:wrap;gap:14px}
.muted{color:#666;font-size:13px}.passage{max-width:560px}.flag{color:#b00;font-weight:600}
mark.w{padding:0 1px;border-radius:2px;color:inherit}.legend span{padding:1px 6px;margin-right:6px}
"""


def _f(x, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _num(x, digits: int = 3) -> str:
    return f'<td class="num">{_f(x, digits) if isinstance(x, float) or x is None else escape(str(x))}</td>'


def highlight(text: str, explanation: dict | None) -> str:
    """The text with each word shaded by its occlusion weight: red pushed toward the label, blue away."""
    if not explanation:
        return escape(text)
    words = explanation["words"]
    scale = max((abs(w["weight"]) for w in words if w["weight"] is not None), default=0.0) or 1.0
    out, pos = [], 0
    for w in words:
        out.append(escape(text[pos:w["start"]]))
        token = escape(text[w["start"]:w["end"]])
        if w["weight"] is None or abs(w["weight"]) < 0.05 * scale:
            out.append(token)
        else:
            alpha = min(abs(w["weight"]) / scale, 1.0) * 0.65
            rgb = "220,40,40" if w["weight"] > 0 else "40,90,220"
            out.append(f'<mark class="w" style="background:rgba({rgb},{alpha:.2f})" title="{w["weight"]:+.3f}">{token}</mark>')
        pos = w["end"]
    out.append(escape(text[pos:]))
    return "".join(out)


def _ci(rep: dict) -> str:
    if not rep or not rep.get("n"):
        return "–"
    lo, hi = rep["macro_f1_ci95"]
    return f"{rep['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}]"


def _points(d: dict) -> str:
    lo, hi = d["ci95"]
    return f"{100 * d['difference']:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def _points_range(m: dict) -> str:
    return f"{100 * m['mean']:+.1f} points (min {100 * m['min']:+.1f}, max {100 * m['max']:+.1f})"


def _summary(r: dict) -> str:
    s, axes = r["summary"], list(r["schema"]["axes"])
    c = s["corpus"]
    parts = [f"<p>Model <b>{escape(str(s.get('model_version') or 'none (baseline only)'))}</b>; corpus {escape(c['fingerprint'])}: "
             f"{c['passages']} passages ({c['passages_with_gold']} with gold labels) in {c['documents']} documents; gold passages by split: "
             f"{escape(', '.join(f'{k} {v}' for k, v in c['gold_by_split'].items()))}. Scores from {escape(s['source'])}. "
             f"Report mode: {escape(r['mode'])}.</p>"]
    rows = []
    for label, block in (("test passages", s.get("test", {})), ("seed articles (real text), leave-one-article-out", s.get("seed", {}))):
        for who in ("model", "baseline", "fine-tuned"):
            rep = block.get(who)
            if rep:
                name = "fine-tuned" if who in ("model", "fine-tuned") else "baseline"
                rows.append([escape(label), escape(name)] + [_ci(rep.get(a)) for a in axes])
        diff = block.get("model_minus_baseline")
        if diff:
            rows.append([escape(label), "fine-tuned minus baseline (paired bootstrap)"]
                        + [_points(diff[a]) if a in diff else "–" for a in axes])
    spread = s.get("training_seeds")
    if spread:
        rows.append([escape(f"test passages, {len(spread['seeds'])} training seeds"), "fine-tuned minus baseline (mean, range)"]
                    + [_points_range(spread["summary"][a]["minus_baseline"]) if a in spread["summary"] else "–" for a in axes])
    for label, rep in (("test documents", s.get("documents", {}).get("test")), ("seed documents", s.get("seed", {}).get("documents"))):
        if rep:
            rows.append([escape(label), "fine-tuned"] + [_ci(rep.get(a)) for a in axes])
    parts.append(_table(["set", "system"] + [f"{a} macro-F1 [95% CI]" for a in axes], rows) if rows
                 else '<p class="muted">No scores: run <code>framing evaluate</code> and pass --evaluation.</p>')
    return "".join(parts)


def _per_class(rep: dict) -> str:
    rows = [[escape(lab), _num(m["precision"]), _num(m["recall"]), _num(m["f1"]), _num(m["support"])] for lab, m in rep["per_class"].items()]
    return _table(["label", "precision", "recall", "F1", "support"], rows)


def _where(r: dict) -> str:
    w, axes = r["where_it_errs"], r["schema"]["axes"]
    parts = []
    for who, block in w["test"].items():
        name = "fine-tuned" if who in ("model", "fine-tuned") else "baseline"
        parts.append(f"<h3>Test split, {escape(name)}</h3><div class='plots'>")
        for a in axes:
            if block.get(a, {}).get("n"):
                parts.append(f"<div>{confusion_svg(block[a]['confusion'], axes[a], f'{a} ({name}, test)')}{_per_class(block[a])}</div>")
        parts.append("</div>")
    parts.append(f"<h3>Every gold passage, held out ({escape(w['scored_by'])})</h3><p class='muted'>{escape(w['note'])}.</p><div class='plots'>")
    for a in axes:
        parts.append(f"<div>{confusion_svg(w['held_out'][a]['confusion'], axes[a], f'{a} (held out)')}{_per_class(w['held_out'][a])}</div>")
    parts.append("</div>")
    for field, table in w["breakdowns"].items():
        rows = [[escape(t["value"]), _num(t["n"])] + [c for a in axes for c in (_num(t[a]["accuracy"]), _num(t[a]["macro_f1"]))] for t in table]
        parts.append(f"<h3>By {escape(field.replace('_', ' '))}</h3>" + _table([field, "n"] + [f"{a} {m}" for a in axes for m in ("accuracy", "macro-F1")], rows))
    first, second = list(axes)
    rows = []
    for j in w["joint"]:
        err = j.get("commonest_error")
        rows.append([escape(j[first]), escape(j[second]), _num(j["n"]), _num(j.get(f"{first}_correct")), _num(j.get(f"{second}_correct")),
                     _num(j.get("both_correct")), escape(f"{err[first]} + {err[second]} ({err['n']})") if err else ""])
    parts.append(f"<h3>Joint {escape(first)} × {escape(second)}</h3>" + _table(
        [f"gold {first}", f"gold {second}", "n", f"{first} right", f"{second} right", "both right", "commonest wrong prediction"], rows))
    return "".join(parts)


def _calibration(r: dict) -> str:
    c = r["calibration"]
    parts = [f"<p class='muted'>Scored by the {escape(c['scored_by'])} on {escape(c['split'])} passages; expected calibration error (ECE) over 10 confidence bins.</p><div class='plots'>"]
    rows = []
    for a, v in c["axes"].items():
        curves = ([("before temperature scaling", v["before"]["bins"])] if v["before"] else []) + [("after" if v["before"] else c["scored_by"], v["after"]["bins"])]
        parts.append(f"<div>{reliability_svg(curves, f'{a} reliability')}</div>")
        rows.append([escape(a), _num(v["n"]), _num(v["temperature"], 2), _num(v["before"]["ece"] if v["before"] else None), _num(v["after"]["ece"])])
    parts.append("</div>" + _table(["axis", "n", "temperature", "ECE before", "ECE after"], rows))
    if c.get("dev"):
        dev_rows = [[escape(a), _num(v["n"]), _num(v["temperature"], 2), _num(v["ece_before"]), _num(v["ece_after"])] for a, v in c["dev"].items()]
        parts.append("<p class='muted'>On the dev split, where the temperatures were fitted:</p>" + _table(["axis", "n", "temperature", "ECE before", "ECE after"], dev_rows))
    return "".join(parts)


def _errors(r: dict) -> str:
    e = r["suspected_errors"]
    parts = [f"<p class='muted'>Out-of-fold probabilities from {e['folds']} folds of whole documents ({escape(e['scored_by'])}); "
             f"ranked by {escape(e['method'].replace('_', ' '))} (confident learning). <span class='flag'>flagged</span>: the confident joint puts "
             f"the passage in another class. Top {len(e['rows'])} of {e['candidates']} passage labels. Highlight: words that pushed the predicted label "
             f"(red) or pulled away from it (blue).</p>"]
    rows = []
    for row in e["rows"]:
        expl = row.get("explanation", {}).get(row["axis"])
        rows.append([_num(row["rank"]), f"<td class='passage'>{highlight(row['text'], expl)}<div class='muted'>{escape(row['passage_id'])}</div></td>",
                     escape(row["axis"]), escape(row["given"]), escape(row["predicted"]), _num(row["predicted_prob"]), _num(row["given_prob"]),
                     "<span class='flag'>flagged</span>" if row["flagged"] else ""])
    parts.append(_table(["#", "passage", "axis", "given", "predicted", "p(predicted)", "p(given)", "confident learning"], rows, "errors"))
    return "".join(parts)


def _queue(r: dict) -> str:
    q, axes = r["queue"], list(r["schema"]["axes"])
    if not q["rows"]:
        return f"<p class='muted'>No unlabelled passages ({escape(q['source'])}); pass --unlabelled FILE.</p>"
    parts = [f"<p class='muted'>{len(q['rows'])} of {q['candidates']} passages from {escape(q['source'])}, least sure first by {escape(q['method'])}, "
             f"at most {q['per_document']} per document before any document gives more. Highlight: words behind the first axis's suggestion.</p>"]
    rows = []
    for item in q["rows"]:
        expl = item.get("explanation", {}).get(axes[0])
        rows.append([_num(item["rank"]), f"<td class='passage'>{highlight(item['text'], expl)}<div class='muted'>{escape(item['passage_id'])}</div></td>",
                     escape(item["doc_id"]), _num(item["uncertainty"])] + [escape(f"{item[a]['suggested']} ({item[a]['prob']:.2f})") for a in axes])
    parts.append(_table(["#", "passage", "document", "uncertainty"] + [f"{a} suggestion" for a in axes], rows, "queue"))
    return "".join(parts)


def _learning(r: dict) -> str:
    lc, axes = r["learning_curve"], list(r["schema"]["axes"])
    series = []
    for learner in sorted({s["learner"] for s in lc["summary"]}):
        for a in axes:
            pts = [(s["fraction"], s[a]["mean"], s[a]["min"], s[a]["max"]) for s in lc["summary"] if s["learner"] == learner]
            series.append((f"{learner}: {a}", pts))
    rows = [[escape(s["learner"]), _num(s["fraction"], 2), _num(s["passages"]), _num(s["runs"])] +
            [escape(f"{s[a]['mean']:.3f} ± {s[a]['std']:.3f}") for a in axes] for s in lc["summary"]]
    return (f"<p class='muted'>Macro-F1 on the {escape(lc['eval_split'])} split when training on a share of the training documents; "
            f"points are means over seeds, bars span min to max. A curve still rising at 100% says more data should help.</p>"
            f"<div class='plots'>{learning_curve_svg(series, 'learning curve')}</div>"
            + _table(["learner", "share", "passages", "runs"] + [f"{a} mean ± sd" for a in axes], rows))


def _agreement(r: dict) -> str:
    parts = []
    axes = list(r["schema"]["axes"])
    for unit, g in r["agreement"].items():
        parts.append(f"<h3>{escape(unit.capitalize())}: {g['multiply_annotated']} with two or more annotators</h3>")
        if not g["multiply_annotated"]:
            continue
        alpha = ", ".join(f"{a} {_f(v)}" for a, v in g["alpha"].items())
        parts.append(f"<p>Krippendorff's alpha (nominal): {escape(alpha)}</p>")
        parts.append(_table(["annotators", "axis", "n", "raw agreement", "Cohen's kappa"],
                            [[escape(" / ".join(p["annotators"])), escape(p["axis"]), _num(p["n"]), _num(p["agreement"]), _num(p["kappa"])] for p in g["pairs"]]))
        rows = []
        for d in g["disagreements"]:
            labels = "<br>".join(escape(f"{who}: " + " / ".join(v[a] for a in axes)) for who, v in d["labels"].items())
            adj = escape(" / ".join(d["adjudicated"][a] for a in axes)) if d["adjudicated"] else "<span class='flag'>needs adjudication</span>"
            rows.append([f"<td class='passage'>{escape(d['text'])}<div class='muted'>{escape(d['id'])}</div></td>", escape(", ".join(d["axes"])), labels, adj])
        parts.append(f"<p>{len(rows)} disagreement(s), for adjudication:</p>" + _table(["text", "axes that differ", "labels (" + " / ".join(axes) + ")", "adjudicated"], rows, "disagreements"))
    return "".join(parts)


def _explanations(r: dict) -> str:
    return ("<p>Every passage shown above is explained by occlusion through the same scorer that made its prediction: each word is dropped in turn "
            "and the change in the probability of the explained label is that word's weight.</p>"
            "<p class='legend'><span style='background:rgba(220,40,40,.5)'>pushed toward the label</span>"
            "<span style='background:rgba(40,90,220,.5)'>pushed away</span> (hover a word for its weight)</p>")


def render(report: dict) -> str:
    """The whole page."""
    body = {"summary": _summary, "where-it-errs": _where, "calibration": _calibration, "suspected-errors": _errors,
            "annotate-next": _queue, "learning-curve": _learning, "agreement": _agreement, "explanations": _explanations}
    nav = "".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, title in SECTIONS)
    sections = "".join(f'<section id="{sid}"><h2>{escape(title)}</h2>{body[sid](report)}</section>' for sid, title in SECTIONS)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(report["title"])}</title>'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">'
            f"<style>{CSS}</style></head><body><h1>{escape(report['title'])}</h1>"
            f"<p class='muted'>generated {escape(report['generated'])}</p><nav>{nav}</nav>{sections}</body></html>")
