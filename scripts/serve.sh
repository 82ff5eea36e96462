#!/usr/bin/env bash
# Install everything, train a model if there is none yet and qualify its fast CPU backends, then serve it on
# http://127.0.0.1:3000. `framing serve` stops cleanly on SIGTERM/SIGINT (it drains in-flight requests first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
if [ -z "${FRAMING_MODEL:-}" ] && ! bentoml models get news-framing:latest >/dev/null 2>&1; then
  if [ ! -f artifacts/model/framing_config.json ]; then
    echo "no trained model in the BentoML store yet: training one (within 15 minutes on 2 cores, the default time budget)" >&2
    framing train --out artifacts/model --no-register
  fi
  # The documented default backend (the fastest that keeps fp32's labels and, for the service, gives a passage the
  # same answer whoever shares its batch) exists only once export has qualified it on this machine; export then
  # registers the model, ONNX files included, in the BentoML store.
  echo "qualifying the fast CPU backends on this machine (about 2-4 minutes)" >&2
  framing export --model artifacts/model
fi
exec framing serve --host "${HOST:-127.0.0.1}" --port "${PORT:-3000}" ${FRAMING_MODEL:+--model "$FRAMING_MODEL"}
