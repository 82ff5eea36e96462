"""Write a built report: the HTML page, the same content as JSON, review lists as CSV, Label Studio tasks."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from reports.explain import top_words
from reports.html import render
from reports.labelstudio import export_tasks, labeling_config

ERROR_COLUMNS = ("rank", "passage_id", "doc_id", "split", "axis", "given", "predicted", "predicted_prob", "given_prob",
                 "quality", "flagged", "scored_by", "top_words", "text")


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def write_report(report: dict, out_dir: Path) -> dict[str, Path]:
    """Every output file under out_dir; returns them by name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    axes = list(report["schema"]["axes"])
    files = {name: out_dir / name for name in ("report.html", "report.json", "suspected_errors.csv", "annotation_queue.csv",
                                                 "disagreements.csv", "labelstudio_tasks.json", "labelstudio_config.xml")}
    files["report.html"].write_text(render(report), encoding="utf-8")
    files["report.json"].write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")

    errors = report["suspected_errors"]["rows"]
    _write_csv(files["suspected_errors.csv"], list(ERROR_COLUMNS),
               [[e[c] for c in ERROR_COLUMNS[:-2]] + [" ".join(top_words(e["explanation"][e["axis"]])) if "explanation" in e else "", e["text"]]
                for e in errors])
    queue = report["queue"]["rows"]
    _write_csv(files["annotation_queue.csv"],
               ["rank", "passage_id", "doc_id", "uncertainty", "scored_by"] + [f"{a}_{k}" for a in axes for k in ("suggested", "prob")] + ["text"],
               [[q["rank"], q["passage_id"], q["doc_id"], q["uncertainty"], q["scored_by"]]
                + [q[a][k] for a in axes for k in ("suggested", "prob")] + [q["text"]] for q in queue])
    rows = []
    for unit in report["agreement"].values():
        for d in unit["disagreements"]:
            rows.append([d["unit"], d["id"], d["doc_id"], " ".join(d["axes"]),
                         "; ".join(f"{who}: " + "/".join(v[a] for a in axes) for who, v in d["labels"].items()),
                         "/".join(d["adjudicated"][a] for a in axes) if d["adjudicated"] else "", d["text"]])
    _write_csv(files["disagreements.csv"], ["unit", "id", "doc_id", "axes", "labels", "adjudicated", "text"], rows)

    version = (report.get("model") or {}).get("version") or "baseline"
    tasks = export_tasks(errors, queue, report["suspected_errors"]["current_gold"], version)
    files["labelstudio_tasks.json"].write_text(json.dumps(tasks, indent=1, ensure_ascii=False), encoding="utf-8")
    files["labelstudio_config.xml"].write_text(labeling_config(), encoding="utf-8")
    return files
