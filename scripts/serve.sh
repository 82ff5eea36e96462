#!/usr/bin/env bash
# Install everything, train a model if there is none yet, then serve it on http://127.0.0.1:3000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
if [ -z "${FRAMING_MODEL:-}" ] && ! bentoml models get news-framing:latest >/dev/null 2>&1; then
  echo "no trained model in the BentoML store yet: training one (about 11 minutes on 2 cores with native bf16, about 25 in fp32)" >&2
  framing train --out artifacts/model
fi
exec framing serve --host "${HOST:-127.0.0.1}" --port "${PORT:-3000}" ${FRAMING_MODEL:+--model "$FRAMING_MODEL"}
