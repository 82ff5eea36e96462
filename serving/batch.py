"""`framing score`: score a JSONL, CSV or Parquet file of passages (or whole articles) into another.

Nothing is lost and nothing is written twice:
- rows are read in chunks; bad rows (invalid JSON, missing/empty/non-string text, text that is not valid
  Unicode, repeated id, in `documents` mode an article with no passage in it) go to an errors file with
  their line number and reason, and the run goes on (`strict` stops it);
- each scored chunk is committed to `<output>.parts/` with an atomic rename, and the final file is
  assembled (again atomically) only at the end, so a crash never leaves a torn output;
- a rerun resumes: rows whose ids are already in the parts folder or the existing output are skipped, and
  so are rows already reported as bad.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tqdm.auto import tqdm

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


class BatchError(ValueError):
    """A batch run that cannot go on; the message names the file and line."""


@dataclass
class Row:
    line: int  # 1-based line in a JSONL/CSV file, row number in a Parquet file
    id: object | None
    text: object | None
    error: str | None = None


@dataclass
class Summary:
    scored: int = 0
    rejected: int = 0
    skipped: int = 0
    seconds: float = 0.0
    output: str = ""
    errors: str = ""

    def __str__(self) -> str:
        rate = self.scored / self.seconds if self.seconds else 0.0
        return (f"scored {self.scored} rows, rejected {self.rejected}, skipped {self.skipped} already scored; "
                f"{self.seconds:.1f} s, {rate:.1f} rows/s\noutput: {self.output}\nerrors: {self.errors}")


def file_format(path: Path) -> str:
    """The format named by the file extension, or a BatchError listing the supported ones."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise BatchError(f"{path}: unsupported extension {Path(path).suffix!r}; use one of {', '.join(sorted(FORMATS))}")
    return fmt


def _not_unicode(value: str) -> str | None:
    """Why `value` cannot be written as UTF-8 (a lone surrogate from a JSON escape such as \\ud800), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"holds an unpaired surrogate {value[e.start]!r} at character {e.start}, which is not valid Unicode"
    return None


def check_record(line: int, record: object, text_field: str, id_field: str) -> Row:
    """One parsed input record as a Row: its id (the line when it has none) and text, or the reason it is bad."""
    if not isinstance(record, dict):
        return Row(line, None, None, f"row is a JSON {type(record).__name__}, expected an object with a {text_field!r} field")
    rid = record.get(id_field)
    rid = line if rid is None or rid == "" else rid
    if isinstance(rid, (dict, list)):
        return Row(line, None, None, f"field {id_field!r} must be a string or number")
    if isinstance(rid, str) and _not_unicode(rid):
        return Row(line, None, None, f"field {id_field!r} {_not_unicode(rid)}")
    if text_field not in record or record[text_field] is None:
        return Row(line, rid, None, f"missing field {text_field!r}")
    text = record[text_field]
    if not isinstance(text, str):
        return Row(line, rid, None, f"field {text_field!r} must be a string, got {type(text).__name__}")
    if not text.strip():
        return Row(line, rid, None, f"field {text_field!r} is empty")
    if _not_unicode(text):
        return Row(line, rid, None, f"field {text_field!r} {_not_unicode(text)}")
    return Row(line, rid, text)


def read_rows(path: Path, *, text_field: str = "text", id_field: str = "id") -> Iterator[Row]:
    """Stream rows from a JSONL, CSV or Parquet file; malformed rows come back with `error` set."""
    fmt = file_format(path)
    if fmt == "jsonl":
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError as e:
                    yield Row(line, None, None, f"invalid JSON: {e.msg} at column {e.colno}")
                    continue
                yield check_record(line, record, text_field, id_field)
    elif fmt == "csv":
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or text_field not in reader.fieldnames:
                raise BatchError(f"{path}:1: no {text_field!r} column in the header {reader.fieldnames}; pass --text-field")
            for record in reader:
                # reader.line_num is the line the record ended on, which is what an editor shows.
                if None in record:
                    yield Row(reader.line_num, None, None, f"row has {len(record[None]) + len(reader.fieldnames)} fields, header has {len(reader.fieldnames)}")
                    continue
                yield check_record(reader.line_num, record, text_field, id_field)
    else:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        if text_field not in pf.schema_arrow.names:
            raise BatchError(f"{path}: no {text_field!r} column (columns: {', '.join(pf.schema_arrow.names)}); pass --text-field")
        columns = [c for c in (text_field, id_field) if c in pf.schema_arrow.names]
        n = 0
        for batch in pf.iter_batches(batch_size=1024, columns=columns):
            for record in batch.to_pylist():
                n += 1
                yield check_record(n, record, text_field, id_field)


def _flat(rec: dict, axes: dict[str, list[str]]) -> dict:
    """One CSV/Parquet row: id, label and probability columns per axis, truncated, model."""
    row = {"id": rec["id"]}
    for a, labels in axes.items():
        row[a] = rec[a]["label"]
        row.update({f"{a}.{lab}": rec[a]["probs"][lab] for lab in labels})
    row["truncated"] = rec.get("truncated", False)
    row["model"] = rec["model"]
    return row


def _read_output_ids(path: Path) -> list[dict]:
    """Records of an existing output file (to resume from), as JSON objects."""
    fmt = file_format(path)
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if fmt == "csv":
        with open(path, encoding="utf-8", newline="") as fh:
            return [{"id": r["id"], "_flat": r} for r in csv.DictReader(fh)]
    import pyarrow.parquet as pq

    return [{"id": r["id"], "_flat": r} for r in pq.read_table(path).to_pylist()]


def _commit(path: Path, lines: list[str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    tmp.replace(path)


def _key(rid: object) -> str:
    # Ids from CSV come back as strings; compare as text so a resumed run matches them.
    return str(rid)


def _record_line(kind: str, value: dict) -> str:
    return json.dumps({"kind": kind, kind if kind == "error" else "record": value}, ensure_ascii=False) + "\n"


class _Parts:
    """The chunks a run has committed to `<output>.parts/`: which ids are scored, which bad lines reported, what comes next."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.done: set[str] = set()
        self.errored: set[int] = set()
        chunk_files = sorted(folder.glob("chunk-*.jsonl"))
        for chunk in chunk_files:
            for line in chunk.read_text(encoding="utf-8").splitlines():
                item = json.loads(line)
                if item["kind"] == "row":
                    self.done.add(_key(item["record"]["id"]))
                else:
                    self.errored.add(item["error"]["line"])
        self.next_chunk = 1 + max((int(c.stem.split("-")[1]) for c in chunk_files), default=0)

    @classmethod
    def open(cls, output_path: Path, errors_path: Path, overwrite: bool) -> "_Parts":
        """The parts folder beside the output, started afresh or resumed (an earlier complete output and its errors count as chunk 0)."""
        folder = output_path.with_name(output_path.name + ".parts")
        if overwrite:
            shutil.rmtree(folder, ignore_errors=True)
            output_path.unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        if output_path.exists() and not (folder / "chunk-000000.jsonl").exists():
            previous = [_record_line("row", r) for r in _read_output_ids(output_path)]
            if errors_path.exists():
                errors = [json.loads(line) for line in errors_path.read_text(encoding="utf-8").splitlines() if line.strip()]
                previous = [_record_line("error", e) for e in errors] + previous
            _commit(folder / "chunk-000000.jsonl", previous)
        return cls(folder)

    def commit(self, lines: list[str]) -> None:
        if lines:
            _commit(self.folder / f"chunk-{self.next_chunk:06d}.jsonl", lines)
            self.next_chunk += 1


def _scored(predictor, rows: list[Row], documents: bool, strict: bool, source: Path) -> tuple[list[str], list[dict]]:
    """The rows scored (whole articles when `documents`) as chunk lines, and the rows the predictor refused."""
    if not rows:
        return [], []
    if not documents:
        preds = predictor.predict([r.text for r in rows])
        return [_record_line("row", {"id": r.id, **p}) for r, p in zip(rows, preds)], []
    from inference.predictor import InputError

    lines, refused = [], []
    for r in rows:
        try:
            lines.append(_record_line("row", {"id": r.id, **predictor.predict_document(r.text)}))
        except InputError as e:  # e.g. an article with no passage in it: one bad row, not a failed run
            if strict:
                raise BatchError(f"{source}:{r.line}: {e} (--strict stops at the first bad row)") from None
            refused.append({"line": r.line, "id": r.id, "reason": str(e)})
    return lines, refused


def _check_paths(input_path: Path, output_path: Path, chunk_size: int) -> str:
    """The output format, once both files and the chunk size are known to be usable."""
    if not input_path.exists():
        raise BatchError(f"{input_path}: no such file")
    out_fmt = file_format(output_path)
    file_format(input_path)
    if chunk_size < 1:
        raise BatchError(f"chunk_size must be at least 1, got {chunk_size}")
    return out_fmt


def score_file(input_path: Path, output_path: Path, predictor, *, text_field: str = "text", id_field: str = "id",
               documents: bool = False, errors_path: Path | None = None, strict: bool = False,
               chunk_size: int = 256, overwrite: bool = False, progress: bool = True) -> Summary:
    """Score every good row of `input_path` into `output_path`; see the module docstring."""
    input_path, output_path = Path(input_path), Path(output_path)
    out_fmt = _check_paths(input_path, output_path, chunk_size)
    errors_path = Path(errors_path) if errors_path else output_path.with_name(output_path.stem + ".errors.jsonl")
    parts = _Parts.open(output_path, errors_path, overwrite)
    summary = Summary(output=str(output_path), errors=str(errors_path))
    started = time.perf_counter()
    bar = tqdm(desc=f"scoring {input_path.name}", unit="row", disable=not progress, dynamic_ncols=True)
    seen: set[str] = set()
    pending: list[Row] = []
    bad: list[dict] = []
    for row in read_rows(input_path, text_field=text_field, id_field=id_field):
        key = _key(row.id) if row.id is not None else None
        if row.error is None and key in seen:
            row.error = f"id {row.id!r} repeats an earlier row; ids must be unique"
        if key is not None and row.error is None:
            seen.add(key)
        if row.error is None and key in parts.done:
            summary.skipped += 1
            bar.update(1)
            continue
        if row.error is None and row.line in parts.errored:  # refused by the predictor in an earlier run
            summary.rejected += 1
            bar.update(1)
            continue
        if row.error is not None:
            if strict:
                bar.close()
                raise BatchError(f"{input_path}:{row.line}: {row.error} (--strict stops at the first bad row)")
            summary.rejected += 1
            if row.line not in parts.errored:
                bad.append({"line": row.line, "id": row.id, "reason": row.error})
            continue
        pending.append(row)
        if len(pending) >= chunk_size:
            _flush(parts, predictor, pending, bad, documents, summary, bar, strict=strict, source=input_path)
            pending, bad = [], []
    _flush(parts, predictor, pending, bad, documents, summary, bar, strict=strict, source=input_path)
    bar.close()
    _assemble(parts.folder, output_path, out_fmt, errors_path, predictor.axes, documents)
    shutil.rmtree(parts.folder)
    summary.seconds = time.perf_counter() - started
    return summary


def _flush(parts: _Parts, predictor, rows: list[Row], bad: list[dict], documents: bool, summary: Summary, bar, *,
           strict: bool, source: Path) -> None:
    """Score the pending rows and commit them with the bad rows met since the last chunk (in line order)."""
    scored, refused = _scored(predictor, rows, documents, strict, source)
    errors = sorted(bad + refused, key=lambda e: e["line"])
    parts.commit([_record_line("error", e) for e in errors] + scored)
    summary.scored += len(rows) - len(refused)
    summary.rejected += len(refused)
    bar.update(len(rows) + len(bad))


def _assemble(parts: Path, output_path: Path, fmt: str, errors_path: Path, axes: dict[str, list[str]], documents: bool) -> None:
    """Join the committed chunks into the final output and errors files, each written atomically."""
    tmp = output_path.with_name(output_path.name + ".tmp")
    err_tmp = errors_path.with_name(errors_path.name + ".tmp")
    writer = None
    seen_err: set[int] = set()
    with open(err_tmp, "w", encoding="utf-8") as errors:
        sink = open(tmp, "w", encoding="utf-8", newline="") if fmt in ("jsonl", "csv") else None
        try:
            for chunk in sorted(parts.glob("chunk-*.jsonl")):
                flat_rows = []
                for line in chunk.read_text(encoding="utf-8").splitlines():
                    item = json.loads(line)
                    if item["kind"] == "error":
                        if item["error"]["line"] not in seen_err:
                            seen_err.add(item["error"]["line"])
                            errors.write(json.dumps(item["error"], ensure_ascii=False) + "\n")
                        continue
                    rec = item["record"]
                    if fmt == "jsonl":
                        sink.write(json.dumps({k: v for k, v in rec.items() if k != "_flat"}, ensure_ascii=False) + "\n")
                    else:
                        flat = rec.get("_flat") or (_flat_document(rec, axes) if documents else _flat(rec, axes))
                        flat_rows.append(flat)
                if fmt == "csv" and flat_rows:
                    if writer is None:
                        writer = csv.DictWriter(sink, fieldnames=list(flat_rows[0]))
                        writer.writeheader()
                    writer.writerows(flat_rows)
                elif fmt == "parquet" and flat_rows:
                    import pyarrow as pa
                    import pyarrow.parquet as pq

                    table = pa.Table.from_pylist([{k: (str(v) if k == "id" else v) for k, v in r.items()} for r in flat_rows])
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table.cast(writer.schema))
        finally:
            if sink is not None:
                sink.close()
            if fmt == "parquet" and writer is not None:
                writer.close()
    if fmt == "parquet" and writer is None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"id": pa.array([], pa.string())}), tmp)
    tmp.replace(output_path)
    err_tmp.replace(errors_path)


def _flat_document(rec: dict, axes: dict[str, list[str]]) -> dict:
    """One CSV/Parquet row for a scored article: document labels and probabilities, passage count, headline."""
    row = {"id": rec["id"]}
    for a, labels in axes.items():
        row[a] = rec["document"][a]["label"]
        row.update({f"{a}.{lab}": rec["document"][a]["probs"][lab] for lab in labels})
        row[f"{a}.supporting_passages"] = json.dumps(rec["document"][a]["supporting_passages"])
    row["passages"] = len(rec["passages"])
    row["headline"] = (rec.get("headline") or {}).get("text", "")  # "" not None: one column type across Parquet chunks
    row["model"] = rec["model"]
    return row


def print_summary(summary: Summary) -> None:
    print(summary, file=sys.stderr)
