"""Distillation from a larger teacher: its logits on the training passages and on views of them, stored once.

The teacher (all-mpnet-base-v2 fine-tuned on the same corpus: a 45-minute run on 2 cores) is too slow to train
at every `framing train` and about 6x slower to serve. `framing teach` scores the transfer set with it once and
writes labels/teacher/; `framing train` reads that folder and trains the small encoder on the gold labels and
the teacher's soft labels together (Hinton et al., 2015), so the served model keeps the small encoder's speed.

The transfer set is the training passages plus views of them: the passage without its lead sentence (authored
passages announce their label there; real coverage rarely does), a window of two sentences, and the passage
run into the next one of its article (real passages are often mixed). Views have no gold label: the teacher's
soft label is all the student learns from them. Dev and test passages are never in the transfer set.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from inference.machine import machine_info
from inference.predictor import Predictor
from labels.corpus import LABELS_DIR, TEACHER_DIR
from labels.dataset import CorpusRow, corpus_fingerprint, gold_ids
from training.metrics import macro_f1

META_FILE, LOGITS_FILE = "teacher.json", "logits.jsonl"
VIEWS = ("drop_lead", "window", "join_next")
# A sentence ends at . ! or ? (a closing quote or bracket may follow) before a capital, digit or opening quote.
_SENTENCE_END = re.compile(r'(?<=[.!?])["”’)]?\s+(?=["“‘(]?[A-Z0-9])')
_JOIN_MAX_WORDS = 140  # longer joins would be cut at the student's 256 tokens anyway


class TeacherFileError(ValueError):
    """The stored teacher logits cannot be used: the message names the file, line and fix."""


def text_key(text: str) -> str:
    """A short hash of a text: how a passage finds its teacher logits, and how a changed passage is noticed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def sentences(text: str) -> list[str]:
    """The text split into sentences (a plain rule: good enough to cut views, not a parser)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def passage_views(text: str, next_text: str | None) -> dict[str, str]:
    """Every view a passage offers, by name; a short passage offers fewer."""
    sents = sentences(text)
    views = {}
    if len(sents) >= 3:
        views["drop_lead"] = " ".join(sents[1:])
    if len(sents) >= 4:
        views["window"] = " ".join(sents[1:3])
    if next_text and len(text.split()) + len(next_text.split()) <= _JOIN_MAX_WORDS:
        views["join_next"] = f"{text} {next_text}"
    return views


def transfer_views(rows: list[CorpusRow], *, per_passage: int, seed: int) -> list[dict]:
    """Up to `per_passage` views of each row (chosen at random, reproducibly), as {source_id, view, text}."""
    if per_passage < 0:
        raise ValueError(f"views per passage must be 0 or more, got {per_passage}")
    ordered = sorted(rows, key=lambda r: (r.doc_id, r.paragraph_index))
    following = {a.id: b.text for a, b in zip(ordered, ordered[1:]) if a.doc_id == b.doc_id}
    rng = np.random.default_rng(seed)
    out = []
    for row in rows:
        views = passage_views(row.text, following.get(row.id))
        names = [v for v in VIEWS if v in views]
        for name in sorted(rng.permutation(names)[:per_passage].tolist(), key=VIEWS.index):
            out.append({"source_id": row.id, "view": name, "text": views[name]})
    return out


def teach(teachers: Predictor | list[Predictor], rows: list[CorpusRow], out_dir: Path = TEACHER_DIR, *,
          views_per_passage: int = 3, seed: int = 13, corpus_root: Path = LABELS_DIR, command: str = "",
          progress: bool = True, dev_rows: list[CorpusRow] | None = None) -> dict:
    """Score the training rows and their views with the teacher; write teacher.json and logits.jsonl; return the meta.

    Several teachers make an ensemble: their logits are averaged (each fine-tune errs on different passages,
    so the mean is a better soft label than either alone). With `dev_rows`, the meta records the averaged
    logits' dev macro-F1 beside each member's, so an ensemble is kept only where it beats its members.
    """
    teachers = [teachers] if isinstance(teachers, Predictor) else list(teachers)
    if not teachers:
        raise ValueError("teach needs at least one teacher artifact")
    for other in teachers[1:]:
        if other.axes != teachers[0].axes:
            raise ValueError(f"teachers {teachers[0].version} and {other.version} have different axes: "
                             f"{teachers[0].axes} vs {other.axes}; an ensemble needs one schema")
    splits = sorted({r.split for r in rows})
    if any(s.startswith("coverage_") or s in ("dev", "test") for s in splits):
        raise ValueError(f"the transfer set must hold training passages only, got splits {splits}")
    views = transfer_views(rows, per_passage=views_per_passage, seed=seed)
    records = [{"source_id": r.id, "view": "passage", "text": r.text} for r in rows] + views
    texts = [r["text"] for r in records]
    logits = _mean_logits([_all_logits(t, texts, progress) for t in teachers])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / LOGITS_FILE, "w", encoding="utf-8") as f:
        for i, rec in enumerate(records):
            line = {"key": text_key(rec["text"]), "source_id": rec["source_id"], "view": rec["view"],
                    "text": rec["text"] if rec["view"] != "passage" else None,
                    "logits": {a: [round(float(x), 5) for x in logits[a][i]] for a in logits}}
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    meta = _teacher_meta(teachers, rows, records, views_per_passage, seed, corpus_root, command)
    if dev_rows:
        meta["dev"] = dev_scores(teachers, dev_rows)
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta


def _all_logits(predictor: Predictor, texts: list[str], progress: bool) -> dict[str, np.ndarray]:
    """One teacher's raw logits on every text, in chunks so the progress bar moves."""
    logits = {a: [] for a in predictor.axes}
    step = 256
    for start in tqdm(range(0, len(texts), step), desc=f"teacher logits ({predictor.version})", unit="chunk",
                      disable=not progress):
        chunk, _ = predictor.logits(texts[start:start + step])
        for a in logits:
            logits[a].append(chunk[a])
    return {a: np.concatenate(v) for a, v in logits.items()}


def _mean_logits(per_teacher: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The ensemble's logits: each axis averaged over the teachers."""
    return {a: np.mean([z[a] for z in per_teacher], axis=0) for a in per_teacher[0]}


def dev_scores(teachers: list[Predictor], rows: list[CorpusRow]) -> dict:
    """Macro-F1 per axis on `rows` of each teacher and of their averaged logits (the soft labels `teach` stores)."""
    gold = gold_ids(rows, teachers[0].axes)
    per_teacher = [t.logits([r.text for r in rows])[0] for t in teachers]

    def score(logits):
        return {a: round(macro_f1(gold[a], logits[a].argmax(1), len(labels)), 4) for a, labels in teachers[0].axes.items()}

    return {"split": sorted({r.split for r in rows}), "n": len(rows),
            "members": {t.version: score(z) for t, z in zip(teachers, per_teacher)}, "stored": score(_mean_logits(per_teacher))}


def _teacher_meta(teachers: list[Predictor], rows, records, views_per_passage, seed, corpus_root, command) -> dict:
    first = teachers[0]
    members = [{"teacher_version": t.version, "base_model": t.config.get("base_model"), "backend": t.backend,
                "metrics": t.config.get("metrics", {}),
                "train_seconds": t.config.get("train_seconds"), "temperatures": t.temperatures} for t in teachers]
    return {
        # One teacher keeps the single-teacher fields as they were; an ensemble joins the versions with "+".
        "teacher_version": "+".join(t.version for t in teachers), "base_model": first.config.get("base_model"),
        "teacher_metrics": first.config.get("metrics", {}) if len(teachers) == 1 else {},
        "teacher_train_seconds": sum(t.config.get("train_seconds") or 0 for t in teachers),
        "teachers": members, "axes": first.axes, "temperatures": first.temperatures,
        "corpus_fingerprint": corpus_fingerprint(corpus_root),
        "splits": sorted({r.split for r in rows}), "passages": len(rows), "views": len(records) - len(rows),
        "views_per_passage": views_per_passage, "seed": seed, "command": command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine_info(),
    }


@dataclass
class Teacher:
    """Stored teacher logits: by text key for passages, and the views with their texts."""

    meta: dict
    by_key: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    views: list[dict] = field(default_factory=list)  # {source_id, view, text, logits}
    folder: Path | None = None


def load_teacher(folder: Path, axes: dict[str, list[str]]) -> Teacher:
    """Read a teacher folder written by `framing teach`; its axes and labels must be the schema's."""
    folder = Path(folder)
    meta_path, logits_path = folder / META_FILE, folder / LOGITS_FILE
    for path in (meta_path, logits_path):
        if not path.exists():
            raise TeacherFileError(f"{path} not found: run `framing teach --teacher ARTIFACT` or train with --teacher none")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("axes") != axes:
        raise TeacherFileError(f"{meta_path}: the teacher's axes {meta.get('axes')} are not the schema's {axes}; "
                               "run `framing teach` again with a teacher trained on this schema")
    teacher = Teacher(meta=meta, folder=folder)
    with open(logits_path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            try:
                rec = json.loads(line)
                logits = {a: np.asarray(rec["logits"][a], dtype=np.float32).reshape(len(labels)) for a, labels in axes.items()}
            except (ValueError, KeyError, TypeError) as e:
                raise TeacherFileError(f"{logits_path}:{line_no}: unreadable teacher record ({e}); run `framing teach` again") from None
            if rec["view"] == "passage":
                teacher.by_key[rec["key"]] = logits
            else:
                teacher.views.append({**rec, "logits": logits})
    return teacher


def choose_views(teacher: Teacher, rows: list[CorpusRow], *, per_passage: int, seed: int) -> list[dict]:
    """Up to `per_passage` stored views of each training row, chosen reproducibly; views of other rows are ignored."""
    ids = {r.id for r in rows}
    by_source: dict[str, list[dict]] = {}
    for v in teacher.views:
        if v["source_id"] in ids:
            by_source.setdefault(v["source_id"], []).append(v)
    rng = np.random.default_rng(seed)
    chosen = []
    for row in rows:
        options = by_source.get(row.id, [])
        for i in sorted(rng.permutation(len(options))[:per_passage].tolist()):
            chosen.append(options[i])
    return chosen
