"""Round trip with Label Studio: export review tasks with pre-annotations, import finished annotations.

Export: a JSON list of tasks (`data` + `predictions`) for Label Studio's import, and the labelling
config (one single-choice block per schema axis, hard-case tags, a note). Import: a Label Studio JSON
export becomes lines of `labels/annotations/*.jsonl`, checked by the corpus loader and validator.
"""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

from labels.corpus import LABELS_DIR, CorpusError, build_records, load_annotations, parse_annotation
from labels.schema import Schema, load_schema
from labels.validate import check_passages

TEXT_NAME = "text"
HARD_CASES = "hard_cases"
NOTE = "note"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class LabelStudioError(ValueError):
    """A Label Studio export that cannot be imported; the message names the file, task and fix."""


def labeling_config(schema: Schema | None = None) -> str:
    """The Label Studio labelling interface for this schema (XML)."""
    schema = schema or load_schema()
    parts = ["<View>", f'  <Text name="{TEXT_NAME}" value="$text"/>']
    for axis in schema.axes:
        parts.append(f'  <Header value="{escape(axis.name)}: {escape(axis.description)}"/>')
        parts.append(f'  <Choices name="{axis.name}" toName="{TEXT_NAME}" choice="single" showInline="true" required="true">')
        parts += [f'    <Choice value="{escape(lab)}" hint="{escape(axis.definitions[lab])}"/>' for lab in axis.labels]
        parts.append("  </Choices>")
    parts.append('  <Header value="hard cases (optional)"/>')
    parts.append(f'  <Choices name="{HARD_CASES}" toName="{TEXT_NAME}" choice="multiple" showInline="true">')
    parts += [f'    <Choice value="{escape(tag)}" hint="{escape(desc)}"/>' for tag, desc in schema.hard_case_tags.items()]
    parts.append("  </Choices>")
    parts.append(f'  <TextArea name="{NOTE}" toName="{TEXT_NAME}" placeholder="note (optional)" maxSubmissions="1"/>')
    parts.append("</View>")
    return "\n".join(parts) + "\n"


def _choices(labels: dict[str, str], prefix: str) -> list[dict]:
    return [{"id": f"{prefix}-{axis}", "from_name": axis, "to_name": TEXT_NAME, "type": "choices",
             "value": {"choices": [label]}} for axis, label in labels.items()]


def export_tasks(suspected: list[dict], queue: list[dict], gold: dict[str, dict[str, str]], model_version: str) -> list[dict]:
    """Tasks for review: suspected errors pre-annotated with their current gold labels, queue items with the model's."""
    axes = [a.name for a in load_schema().axes]
    tasks, seen = [], set()
    for row in suspected:
        if row["passage_id"] in seen:
            continue  # a passage suspect on both axes is one task
        seen.add(row["passage_id"])
        why = [f"{r['axis']}: given {r['given']}, model says {r['predicted']} ({r['predicted_prob']:.2f})"
               for r in suspected if r["passage_id"] == row["passage_id"]]
        tasks.append({
            "data": {TEXT_NAME: row["text"], "passage_id": row["passage_id"], "doc_id": row["doc_id"],
                     "review": "suspected label error", "reason": "; ".join(why)},
            "predictions": [{"model_version": "current gold label", "score": row["quality"],
                             "result": _choices(gold[row["passage_id"]], "gold")}],
        })
    for item in queue:
        if item["passage_id"] in seen:
            continue
        seen.add(item["passage_id"])
        tasks.append({
            "data": {TEXT_NAME: item["text"], "passage_id": item["passage_id"], "doc_id": item["doc_id"],
                     "review": "annotate next", "reason": f"model uncertainty {item['uncertainty']:.2f}"},
            "predictions": [{"model_version": model_version, "score": 1 - item["uncertainty"],
                             "result": _choices({a: item[a]["suggested"] for a in axes}, "model")}],
        })
    return tasks


def _annotator_of(annotation: dict, fixed: str | None, where: str) -> str:
    if fixed:
        return fixed
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    if isinstance(who, str) and "@" in who:
        who = who.split("@", 1)[0]
    if isinstance(who, int):
        who = f"labelstudio-user-{who}"
    if not isinstance(who, str) or not _SAFE_NAME.match(who):
        raise LabelStudioError(f"{where}: cannot tell who annotated it (completed_by={annotation.get('completed_by')!r}); "
                               "pass --annotator NAME")
    return who


def records_from_export(export: list, path: str, annotator: str | None = None) -> list[dict]:
    """Annotation lines (passage_id, annotator, one label per axis, hard_cases, note) from a Label Studio JSON export."""
    schema = load_schema()
    if not isinstance(export, list):
        raise LabelStudioError(f"{path}: expected Label Studio's JSON export (a list of tasks), got {type(export).__name__}")
    records = []
    for t, task in enumerate(export):
        where = f"{path}: task {task.get('id', t) if isinstance(task, dict) else t}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise LabelStudioError(f"{where}: not a task with a 'data' object; export with Label Studio's JSON format")
        pid = task["data"].get("passage_id")
        if not isinstance(pid, str):
            raise LabelStudioError(f"{where}: data has no 'passage_id'; import only tasks exported by `framing report`")
        done = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        if annotator and len(done) > 1:
            raise LabelStudioError(f"{where}: {len(done)} annotations but one --annotator name; drop --annotator to use completed_by")
        for ann in done:
            raw: dict = {"passage_id": pid, "annotator": _annotator_of(ann, annotator, where), "hard_cases": []}
            for item in ann.get("result", []):
                name, value = item.get("from_name"), item.get("value", {})
                if name in schema.axis_names:
                    choices = value.get("choices", [])
                    if len(choices) != 1:
                        raise LabelStudioError(f"{where}: {name} has {len(choices)} choices; pick exactly one")
                    raw[name] = choices[0]
                elif name == HARD_CASES:
                    raw["hard_cases"] = list(value.get("choices", []))
                elif name == NOTE:
                    raw["note"] = " ".join(value.get("text", []))
            try:
                parse_annotation(raw, where, schema)  # the corpus's own check of labels and tags
            except CorpusError as e:
                raise LabelStudioError(str(e)) from None
            records.append(raw)
    return records


def import_export(export_path: Path, out_name: str, *, root: Path = LABELS_DIR, annotator: str | None = None,
                  overwrite: bool = False) -> tuple[Path, list[dict], list[str]]:
    """Write a Label Studio export as `annotations/<out_name>.jsonl`; returns (file, records, validator warnings).

    Refuses (LabelStudioError, nothing written) on unknown passages, labels or tags, or an annotator
    who already labelled a passage. Warnings are what the corpus validator says about the imported
    passages afterwards, such as annotators who now disagree and need an adjudicator.
    """
    export_path, root = Path(export_path), Path(root)
    if not _SAFE_NAME.match(out_name):
        raise LabelStudioError(f"output name {out_name!r}: use letters, digits, '.', '_' or '-' (it becomes annotations/{out_name}.jsonl)")
    try:
        export = json.loads(export_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabelStudioError(f"{export_path}: not found; export the project from Label Studio as JSON") from None
    except json.JSONDecodeError as e:
        raise LabelStudioError(f"{export_path}:{e.lineno}: invalid JSON: {e.msg}; export as JSON, not JSON-MIN or CSV") from None
    records = records_from_export(export, str(export_path), annotator)
    if not records:
        raise LabelStudioError(f"{export_path}: no finished annotations to import")
    target = root / "annotations" / f"{out_name}.jsonl"
    if target.exists() and not overwrite:
        raise LabelStudioError(f"{target}: already exists; choose another name or pass --overwrite")
    known = {p["id"] for p in build_records(root)[0]}
    for r in records:
        if r["passage_id"] not in known:
            raise LabelStudioError(f"{export_path}: passage {r['passage_id']} is not in the corpus under {root}; "
                                   "was its text edited? run `framing corpus build` and re-export")
    # Write beside the target first, so the corpus loader checks duplicates against every other file.
    tmp = target.with_name(f".{out_name}.importing.jsonl")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records), encoding="utf-8")
    try:
        load_annotations(root)
        passages, _ = build_records(root)
    except CorpusError as e:
        raise LabelStudioError(f"{export_path}: not imported: {e}") from None
    else:
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    imported = {r["passage_id"] for r in records}
    lines = [(i, p) for i, p in enumerate(passages, 1)]
    warnings = [str(p) for p in check_passages(lines, "passages (rebuilt)", load_schema())
                if any(pid in p.message for pid in imported)]
    return target, records, warnings
