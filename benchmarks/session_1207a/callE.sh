#!/usr/bin/env bash
# callE (2026-12-07): callC (session_1206h) with mem_probe.py part 4:
# Vim-Ti without the bf16 in_proj/out_proj weight cache. Peaks with the
# hidden freed before the scans, smaller caches; the Vim GPU tests.
# Usage: bash callE.sh [PARTS [notests]]  (PARTS as mem_probe.py's, default
# 1234; a short run: 12s4 notests; the shortest: 5 notests).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callE"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c 'import torch, triton; print(torch.__version__, triton.__version__)'
} > "$D/env.txt" 2>&1
PARTS="${1:-1234}"
if [ "${2:-}" != notests ]; then
  timeout 120 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 110 \
      -rfEs tests/test_models/test_layers/test_bimamba.py \
      tests/test_models/test_backbones/test_vision_mamba.py \
      -k 'inference or matches_cpu' > "$D/tests.log" 2>&1
  echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
fi
timeout 440 python3 benchmarks/session_1206h/mem_probe.py "$D" "$PARTS" \
    > "$D/probe.log" 2>&1
echo "probe rc $?"; grep -E "^part|^==|^   |^cache|Error|error" "$D/probe.log" | tail -80
date -u >> "$D/env.txt"
