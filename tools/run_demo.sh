#!/usr/bin/env bash
# Copyright (c) mmmamba contributors. All rights reserved.
# The README's "main job": write the procedural ADE20K-format demo data
# (idempotent), train UperNet + a small Vim on it with tools/train.py, then
# evaluate the checkpoint with tools/test.py, which prints mIoU.
#
#   bash tools/run_demo.sh [PYTHON]
#
# PYTHON defaults to .venv/bin/python (tools/install.sh). WORK_DIR
# (default work_dirs/demo) and CONFIG can be overridden; extra train.py
# options go in TRAIN_ARGS, e.g. TRAIN_ARGS="--cfg-options train_cfg.max_iters=50".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${1:-${PYTHON:-$ROOT/.venv/bin/python}}"
CONFIG="${CONFIG:-configs/demo/upernet_vim-demo_1xb4-100iter_ade20k-demo-128x128.py}"
WORK_DIR="${WORK_DIR:-work_dirs/demo}"
TRAIN_ARGS="${TRAIN_ARGS:-}"

cd "$ROOT"
if ! command -v "$PY" >/dev/null 2>&1; then
    echo "python interpreter '$PY' not found; run tools/install.sh first" \
        "or pass one: bash tools/run_demo.sh /path/to/python" >&2
    exit 2
fi

start=$(date +%s)
echo "[demo] 1/3 demo data (ADE20K format) under data/demo"
"$PY" tools/dataset_converters/make_demo_data.py --out data/demo \
    --datasets ade20k

echo "[demo] 2/3 train: $CONFIG"
# shellcheck disable=SC2086  # TRAIN_ARGS holds several words on purpose
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" $TRAIN_ARGS

checkpoint="$(cat "$WORK_DIR/last_checkpoint")"
echo "[demo] 3/3 test: $checkpoint"
"$PY" tools/test.py "$CONFIG" "$checkpoint" --work-dir "$WORK_DIR" \
    --metrics-out "$WORK_DIR/metrics.json"

echo "[demo] done in $(( $(date +%s) - start )) s; metrics in $WORK_DIR/metrics.json"
