#!/usr/bin/env bash
# callD (2026-12-06, eighth part): callC cut to fit the device time left
# (mem_probe.py parts 1 and 2 at 738² and 1024² b8; no GPU tests).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callD"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c 'import torch, triton; print(torch.__version__, triton.__version__)'
} > "$D/env.txt" 2>&1
timeout 150 python3 benchmarks/session_1206h/mem_probe.py "$D" 12s \
    > "$D/probe.log" 2>&1
echo "probe rc $?"; grep -E "^part|^==|^   |^cache|Error|error" "$D/probe.log" | tail -80
date -u >> "$D/env.txt"
