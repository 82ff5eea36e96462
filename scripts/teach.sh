#!/usr/bin/env bash
# The teacher for distillation (training/distill.py): fine-tune all-mpnet-base-v2 on the corpus, then store its
# logits on every training passage and views of them in labels/teacher/, which `framing train` reads by default.
# Long: about 45 min of training (one thread: a second one gains little when other work shares the cores) on a 2-core CPU with native bf16 (AMX), several hours in fp32 elsewhere.
# Run it again after the corpus changes (`framing train` says when the stored logits are from another corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
FRAMING="${FRAMING:-.venv/bin/framing}"
[ -f models/all-mpnet-base-v2/model.safetensors ] || PYTHON=.venv/bin/python bash scripts/get_mpnet.sh models
"$FRAMING" train --base-model models/all-mpnet-base-v2 --learning-rate 5e-5 --epochs 4 --num-threads 1 --teacher none \
  --out artifacts/teacher-mpnet --no-register
"$FRAMING" teach --teacher artifacts/teacher-mpnet --views 3
