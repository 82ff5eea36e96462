#!/usr/bin/env bash
# Create .venv and install the project with everything it needs (CPU-only torch, BentoML, test tools).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --quiet)
"${PIP[@]}" install --upgrade pip
# Pinned first: an unpinned torch would pull a CUDA build of several GB.
"${PIP[@]}" install "torch==2.13.0"
if ! "$VENV/bin/python" -c "import sys, bentoml; from packaging.version import Version; sys.exit(Version(bentoml.__version__) < Version('1.4.40'))" 2>/dev/null; then
  # bentoml 1.4.40 asks for certifi>=2026.10.19; where the package index has no such certifi yet,
  # install its other requirements and then bentoml itself without resolving that one pin.
  "${PIP[@]}" install "bentoml>=1.4.40" 2>/dev/null || {
    "${PIP[@]}" install -r requirements/bentoml-deps.txt certifi
    "${PIP[@]}" install --no-deps "bentoml==1.4.40"
  }
fi
"${PIP[@]}" install -e ".[test,spark]"
# `framing score --engine spark` runs on a Java runtime (17 or newer); its tests are skipped without one.
if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; } >/dev/null 2>&1 \
      || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-21-jre-headless >/dev/null 2>&1; } \
      || echo "no Java runtime could be installed (openjdk-17/21-jre-headless): --engine spark and its tests need one" >&2
  else
    echo "java not found and apt-get is unavailable or needs root: install a Java runtime (17 or newer) for --engine spark; its tests will be skipped" >&2
  fi
fi
# Headless Chromium renders the report page in its test; that test is skipped when chromium is missing.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
      || echo "chromium could not be installed: the report's browser test will be skipped" >&2
  else
    echo "chromium not found and apt-get is unavailable or needs root: the report's browser test will be skipped" >&2
  fi
fi
echo "environment ready: $VENV" >&2
