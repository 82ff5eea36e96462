#!/usr/bin/env bash
# The teacher for distillation (training/distill.py): two all-mpnet-base-v2 fine-tunes on the corpus (seeds 13 and 14),
# then `framing teach` stores their averaged logits on every training passage and views of them in labels/teacher/,
# which `framing train` reads by default. The ensemble beat each member on coverage dev (model card).
# Long: about 30 min per teacher on a 2-core CPU with native bf16 (AMX), several hours in fp32 elsewhere.
# Run it again after the corpus changes (`framing train` says when the stored logits are from another corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
FRAMING="${FRAMING:-.venv/bin/framing}"
PYTHON="${PYTHON:-.venv/bin/python}"
THREADS="${THREADS:-2}"  # 1 when other work shares the cores: torch training collapses under contention
[ -f models/all-mpnet-base-v2/model.safetensors ] || PYTHON="$PYTHON" bash scripts/get_mpnet.sh models
for seed in 13 14; do
  "$FRAMING" train --base-model models/all-mpnet-base-v2 --learning-rate 5e-5 --epochs 4 --num-threads "$THREADS" \
    --teacher none --seed "$seed" --out "artifacts/teacher-mpnet-$seed" --no-register
done
# bf16-native scores about 3x faster than fp32 where the CPU multiplies bf16 natively; elsewhere fp32.
backend=$("$PYTHON" -c "from inference.backends import native_bf16; print('bf16-native' if native_bf16() else 'fp32')")
"$FRAMING" teach --teacher artifacts/teacher-mpnet-13 --teacher artifacts/teacher-mpnet-14 --views 3 \
  --backend "$backend" --threads "$THREADS"
