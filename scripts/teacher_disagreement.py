"""Where a teacher disagrees with first-pass labels on coverage articles it never saw (which labels look suspicious).

    python scripts/teacher_disagreement.py --teacher artifacts/teacher-mpnet --prefixes hijklm --out runs/coverage/teacher_disagreement.json

Counts per label (teacher against gold) and every disagreement with its text, most confident first.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from inference.predictor import Predictor
from labels.corpus import LABELS_DIR, read_jsonl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", type=Path, required=True)
    ap.add_argument("--prefixes", required=True, help="coverage writer letters, e.g. hijklm for cov-h..., cov-i...")
    ap.add_argument("--backend", help="default: the teacher's fastest qualified backend")
    ap.add_argument("--out", type=Path, default=Path("runs/coverage/teacher_disagreement.json"))
    args = ap.parse_args()
    rows = [r for _, r in read_jsonl(LABELS_DIR / "corpus" / "passages.jsonl")
            if r["source_kind"] == "coverage" and r["gold"] and r["doc_id"][4] in args.prefixes]
    predictor = Predictor.from_artifact(args.teacher, backend=args.backend, require_qualified=args.backend is None)
    probs = predictor.probabilities([r["text"] for r in rows])
    summary, disagreements = {"passages": len(rows), "teacher": predictor.version, "backend": predictor.backend}, []
    for axis, labels in predictor.axes.items():
        pred = probs[axis].argmax(1)
        gold = np.array([labels.index(r["gold"][axis]) for r in rows])
        summary[axis] = {"agreement": round(float((pred == gold).mean()), 4),
                         "teacher": dict(Counter(labels[i] for i in pred)), "gold": dict(Counter(labels[i] for i in gold))}
        disagreements += [{"axis": axis, "id": rows[i]["id"], "gold": labels[gold[i]], "teacher": labels[pred[i]],
                           "p": round(float(probs[axis][i].max()), 3), "text": rows[i]["text"]} for i in np.where(pred != gold)[0]]
    disagreements.sort(key=lambda d: -d["p"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "disagreements": disagreements}, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
