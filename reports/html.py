"""Render the report dict as one self-contained HTML page: inline CSS and SVG, no scripts, no external requests.

The page is the Jinja2 template reports/templates/report.html.j2, with autoescaping on: every value from
the report is text. Only two kinds of Markup reach it, both built here or in reports/svg.py with every
piece of text escaped: the inline SVG plots and the passages with their highlighted words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from reports.reliability import N_BINS
from reports.scoring import BASELINE, MODEL, SYSTEM_NAMES
from reports.side_by_side import COVERAGE
from reports.svg import confusion_svg, learning_curve_svg, reliability_svg
from training.calibration import ECE_BINS

SECTIONS = (("summary", "Summary"), ("where-it-errs", "Where it errs"), ("calibration", "Calibration"),
            ("suspected-errors", "Suspected label errors"), ("annotate-next", "What to annotate next"),
            ("learning-curve", "Does more real coverage still help?"), ("agreement", "Agreement"), ("explanations", "Explanations"))
PER_CLASS_HEADER = ["label", "precision", "recall", "F1", "support"]
CALIBRATION_HEADER = ["axis", "n", "temperature", "ECE before", "ECE after"]
FLAGGED = Markup('<span class="flag">flagged</span>')
NEEDS_ADJUDICATION = Markup('<span class="flag">needs adjudication</span>')

CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 18px 60px;color:#1b1b1b;line-height:1.4}
h1{margin:18px 0 4px}h2{border-bottom:2px solid #ddd;padding-bottom:3px;margin-top:34px}
nav a{margin-right:12px}table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;vertical-align:top;text-align:left}th{background:#f2f2f2}
td.num{text-align:right;font-variant-numeric:tabular-nums}.plots{display:flex;flex-wrap:wrap;gap:14px}
.muted{color:#666;font-size:13px}.passage{max-width:560px}.flag{color:#b00;font-weight:600}
mark.w{padding:0 1px;border-radius:2px;color:inherit}.legend span{padding:1px 6px;margin-right:6px}
"""


@dataclass(frozen=True)
class Num:
    """A table cell holding a number: right-aligned, floats to `digits` places, None as a dash."""

    value: object
    digits: int = 3

    def __str__(self) -> str:
        return _f(self.value, self.digits) if isinstance(self.value, float) or self.value is None else str(self.value)


@dataclass(frozen=True)
class Passage:
    """A table cell holding a passage: its text with highlighted words, and its id underneath."""

    text: str
    explanation: dict | None
    id: str

    @property
    def html(self) -> Markup:
        return highlight(self.text, self.explanation)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.tests["num_cell"] = lambda c: isinstance(c, Num)
    env.tests["passage_cell"] = lambda c: isinstance(c, Passage)
    return env


def _f(x, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def highlight(text: str, explanation: dict | None) -> Markup:
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
            out.append(Markup('<mark class="w" style="background:rgba({},{:.2f})" title="{:+.3f}">{}</mark>').format(
                rgb, alpha, w["weight"], token))
        pos = w["end"]
    out.append(escape(text[pos:]))
    return Markup("").join(out)


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


def _system(who: str) -> str:
    """The name a scoring system ("model", "baseline") is shown under."""
    return SYSTEM_NAMES.get(who, who)


def _column_cells(columns: list[dict], axes: list[str], cell: Callable[[dict, str], str | None]) -> list[str] | None:
    """Per axis, one cell per test split (adjacent); None when no split has a figure for this row."""
    cells = [cell(c, a) for a in axes for c in columns]
    return None if all(v is None for v in cells) else ["–" if v is None else v for v in cells]


def _ece(c: dict, a: str) -> str | None:
    e = c.get("calibration", {}).get(a)
    return f"{e['ece']:.3f}" if e else None


def _seed_spread(s: dict) -> Callable[[dict, str], str | None]:
    """The training-seed spread, which `framing evaluate` measures on its own test split (coverage) only."""
    spread = s.get("training_seeds") or {}
    return lambda c, a: (_points_range(spread["summary"][a]["minus_baseline"])
                         if c["key"] == COVERAGE and a in spread.get("summary", {}) else None)


def _side_by_side_rows(s: dict, axes: list[str]) -> list[list]:
    """The headline table's rows: each axis's figures on real coverage and on authored text in adjacent columns."""
    cols = s.get("columns", [])
    seeds = len((s.get("training_seeds") or {}).get("seeds", []))
    candidates = [("passages", _system(MODEL), lambda c, a: _ci(c[MODEL].get(a)) if MODEL in c else None),
                  ("passages", _system(BASELINE), lambda c, a: _ci(c[BASELINE].get(a)) if BASELINE in c else None),
                  ("passages", "fine-tuned minus baseline (paired bootstrap)",
                   lambda c, a: _points(c["model_minus_baseline"][a]) if a in c.get("model_minus_baseline", {}) else None),
                  (f"passages, {seeds} training seeds", "fine-tuned minus baseline (mean, range)", _seed_spread(s)),
                  ("passages", "fine-tuned, expected calibration error", _ece),
                  ("documents", _system(MODEL), lambda c, a: _ci(c["documents"].get(a)) if "documents" in c else None)]
    rows = []
    for label, who, cell in candidates:
        cells = _column_cells(cols, axes, cell)
        if cells:
            rows.append([label, who] + cells)
    return rows


def _seed_rows(s: dict, axes: list[str]) -> list[list]:
    """The seed articles (real text, each held out of its own training run): one column per axis."""
    block, rows = s.get("seed", {}), []
    for who in (MODEL, BASELINE):
        if block.get(who):
            rows.append(["passages", _system(who)] + [_ci(block[who].get(a)) for a in axes])
    diff = block.get("model_minus_baseline")
    if diff:
        rows.append(["passages", "fine-tuned minus baseline (paired bootstrap)"] + [_points(diff[a]) if a in diff else "–" for a in axes])
    if block.get("documents"):
        rows.append(["documents", _system(MODEL)] + [_ci(block["documents"].get(a)) for a in axes])
    return rows


def _summary(r: dict) -> dict:
    s, axes = r["summary"], list(r["schema"]["axes"])
    c, cols = s["corpus"], s.get("columns", [])
    return {"model": str(s.get("model_version") or "none (baseline only)"), "fingerprint": c["fingerprint"], "passages": c["passages"],
            "passages_with_gold": c["passages_with_gold"], "documents": c["documents"],
            "by_split": ", ".join(f"{k} {v}" for k, v in c["gold_by_split"].items()), "source": s["source"], "mode": r["mode"],
            "column_sources": "; ".join(f"{col['label']}: {col['source']}" for col in cols),
            "header": ["set", "system"] + [f"{a}, {col['label']}" for a in axes for col in cols], "rows": _side_by_side_rows(s, axes),
            "seed_header": ["set", "system"] + [f"{a} macro-F1 [95% CI]" for a in axes], "seed_rows": _seed_rows(s, axes)}


def _confusion_plot(rep: dict, labels: list[str], title: str) -> dict:
    """A confusion matrix with its per-class table beneath."""
    rows = [[lab, Num(m["precision"]), Num(m["recall"]), Num(m["f1"]), Num(m["support"])] for lab, m in rep["per_class"].items()]
    return {"svg": Markup(confusion_svg(rep["confusion"], labels, title)), "header": PER_CLASS_HEADER, "rows": rows}


def _joint(w: dict, axes: dict) -> dict:
    first, second = list(axes)
    rows = []
    for j in w["joint"]:
        err = j.get("commonest_error")
        rows.append([j[first], j[second], Num(j["n"]), Num(j.get(f"{first}_correct")), Num(j.get(f"{second}_correct")),
                     Num(j.get("both_correct")), f"{err[first]} + {err[second]} ({err['n']})" if err else ""])
    return {"first": first, "second": second, "rows": rows,
            "header": [f"gold {first}", f"gold {second}", "n", f"{first} right", f"{second} right", "both right", "commonest wrong prediction"]}


def _test_plots(w: dict, axes: dict) -> list[dict]:
    """Per system, per axis, its confusion matrices on each test split: real coverage first, authored beside it."""
    out = []
    for who in (MODEL, BASELINE):
        pairs = [[_confusion_plot(col[who][a], axes[a], f"{a}: {col['label']}") for col in w["test_splits"]
                  if col.get(who, {}).get(a, {}).get("n")] for a in axes]
        if any(pairs):
            out.append({"name": _system(who), "pairs": [p for p in pairs if p]})
    return out


def _side_by_side_breakdowns(w: dict, axes: list[str]) -> dict:
    """Per field, a row per value: passages and macro-F1 per axis on each test split, in adjacent columns."""
    t = w["test_breakdowns"]
    labels = t["splits"]
    tables = []
    for field, table in t["fields"].items():
        header = [field] + [f"n, {lab}" for lab in labels] + [f"{a} macro-F1, {lab}" for a in axes for lab in labels]
        rows = [[e["value"]] + [Num(e["n"][lab]) for lab in labels]
                + [Num(e[a][lab]["macro_f1"] if e[a][lab] else None) for a in axes for lab in labels] for e in table]
        tables.append({"title": field.replace("_", " "), "header": header, "rows": rows})
    return {"scored_by": _system(t["scored_by"]), "splits": " beside ".join(labels), "tables": tables}


def _where(r: dict) -> dict:
    w, axes = r["where_it_errs"], r["schema"]["axes"]
    breakdowns = [{"title": field.replace("_", " "), "header": [field, "n"] + [f"{a} {m}" for a in axes for m in ("accuracy", "macro-F1")],
                   "rows": [[t["value"], Num(t["n"])] + [c for a in axes for c in (Num(t[a]["accuracy"]), Num(t[a]["macro_f1"]))] for t in table]}
                  for field, table in w["breakdowns"].items()]
    return {"test": _test_plots(w, axes), "splits": " beside ".join(col["label"] for col in w["test_splits"]),
            "sources": "; ".join(f"{col['label']}: {col['source']}" for col in w["test_splits"]),
            "test_breakdowns": _side_by_side_breakdowns(w, list(axes)), "scored_by": _system(w["scored_by"]), "note": w["note"],
            "held_out": [_confusion_plot(w["held_out"][a], axes[a], f"{a} (held out)") for a in axes],
            "breakdowns": breakdowns, "joint": _joint(w, axes)}


def _calibration(r: dict) -> dict:
    c = r["calibration"]
    plots, rows = [], []
    for a, v in c["axes"].items():
        curves = ([("before temperature scaling", v["before"]["bins"])] if v["before"] else []) + [("after" if v["before"] else _system(c["scored_by"]), v["after"]["bins"])]
        plots.append(Markup(reliability_svg(curves, f"{a} reliability")))
        rows.append([a, Num(v["n"]), Num(v["temperature"], 2), Num(v["before"]["ece"] if v["before"] else None), Num(v["after"]["ece"])])
    dev_rows = [[a, Num(v["n"]), Num(v["temperature"], 2), Num(v["ece_before"]), Num(v["ece_after"])] for a, v in (c.get("dev") or {}).items()]
    return {"scored_by": _system(c["scored_by"]), "split": c["split"], "bins": N_BINS, "dev_bins": ECE_BINS, "plots": plots,
            "header": CALIBRATION_HEADER, "rows": rows, "dev_rows": dev_rows}


def _errors(r: dict) -> dict:
    e = r["suspected_errors"]
    rows = [[Num(row["rank"]), Passage(row["text"], row.get("explanation", {}).get(row["axis"]), row["passage_id"]), row["axis"], row["given"],
             row["predicted"], Num(row["predicted_prob"]), Num(row["given_prob"]), FLAGGED if row["flagged"] else ""] for row in e["rows"]]
    return {"folds": e["folds"], "scored_by": _system(e["scored_by"]), "method": e["method"].replace("_", " "), "candidates": e["candidates"],
            "header": ["#", "passage", "axis", "given", "predicted", "p(predicted)", "p(given)", "confident learning"], "rows": rows}


def _queue(r: dict) -> dict:
    q, axes = r["queue"], list(r["schema"]["axes"])
    rows = [[Num(item["rank"]), Passage(item["text"], item.get("explanation", {}).get(axes[0]), item["passage_id"]), item["doc_id"],
             Num(item["uncertainty"])] + [f"{item[a]['suggested']} ({item[a]['prob']:.2f})" for a in axes] for item in q["rows"]]
    return {"source": q["source"], "candidates": q["candidates"], "method": q["method"], "per_document": q["per_document"],
            "header": ["#", "passage", "document", "uncertainty"] + [f"{a} suggestion" for a in axes], "rows": rows}


def _learning(r: dict) -> dict:
    lc, axes = r["learning_curve"], list(r["schema"]["axes"])
    series = []
    for learner in sorted({s["learner"] for s in lc["summary"]}):
        for a in axes:
            pts = [(s["fraction"], s[a]["mean"], s[a]["min"], s[a]["max"]) for s in lc["summary"] if s["learner"] == learner]
            series.append((f"{_system(learner)}: {a}", pts))
    rows = [[_system(s["learner"]), Num(s["fraction"], 2), Num(s["coverage_documents"], 1), Num(s["passages"], 1), Num(s["runs"])]
            + [f"{s[a]['mean']:.3f} ± {s[a]['std']:.3f}" for a in axes] for s in lc["summary"]]
    always = lc["always_in"]
    return {"eval_split": lc["eval_split"], "coverage_documents": lc["coverage_documents"], "always_in": always["passages"],
            "always_in_kinds": ", ".join(f"{k} {n}" for k, n in sorted(always["by_source_kind"].items())),
            "teacher": lc["model_teacher"], "fine_tuned": any(s["learner"] == MODEL for s in lc["summary"]), "svg": Markup(learning_curve_svg(series, "learning curve")),
            "header": ["learner", "coverage share", "coverage articles", "passages", "runs"] + [f"{a} mean ± sd" for a in axes],
            "rows": rows}


def _disagreement_row(d: dict, axes: list[str]) -> list:
    labels = Markup("<br>").join(f"{who}: " + " / ".join(v[a] for a in axes) for who, v in d["labels"].items())
    adjudicated = " / ".join(d["adjudicated"][a] for a in axes) if d["adjudicated"] else NEEDS_ADJUDICATION
    return [Passage(d["text"], None, d["id"]), ", ".join(d["axes"]), labels, adjudicated]


def _agreement(r: dict) -> dict:
    axes = list(r["schema"]["axes"])
    units = [{"title": unit.capitalize(), "multiply_annotated": g["multiply_annotated"],
              "alpha": ", ".join(f"{a} {_f(v)}" for a, v in g["alpha"].items()),
              "pairs": [[" / ".join(p["annotators"]), p["axis"], Num(p["n"]), Num(p["agreement"]), Num(p["kappa"])] for p in g["pairs"]],
              "disagreements": [_disagreement_row(d, axes) for d in g["disagreements"]]}
             for unit, g in r["agreement"].items()]
    return {"units": units, "pair_header": ["annotators", "axis", "n", "raw agreement", "Cohen's kappa"],
            "disagreement_header": ["text", "axes that differ", "labels (" + " / ".join(axes) + ")", "adjudicated"]}


VIEWS = {"summary": _summary, "where-it-errs": _where, "calibration": _calibration, "suspected-errors": _errors,
         "annotate-next": _queue, "learning-curve": _learning, "agreement": _agreement, "explanations": lambda r: {}}


def render(report: dict) -> str:
    """The whole page."""
    template = _environment().get_template("report.html.j2")
    return template.render(title=report["title"], generated=report["generated"], css=Markup(CSS), sections=SECTIONS,
                           views={sid: VIEWS[sid](report) for sid, _ in SECTIONS})
