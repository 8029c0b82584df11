#!/usr/bin/env bash
# callB (2026-12-06, seventh part): what is alive at the peak at 738² b8
# (mem_at_peak.py).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callB"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c 'import torch, triton; print(torch.__version__, triton.__version__)'
} > "$D/env.txt" 2>&1
timeout 400 python3 benchmarks/session_1206g_h100/mem_at_peak.py "$D" \
    > "$D/probe.log" 2>&1
echo "probe rc $?"; grep -E "^part|^==|^  |Error|error" "$D/probe.log" | tail -70
date -u >> "$D/env.txt"
