#!/usr/bin/env bash
# callE (2026-12-06, third part): the conv + projection kernel's launch
# configurations under dt_low (sweep_convproj_dtlow.py), batch-64 shapes.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callE"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 240 python3 benchmarks/session_1206c_h100/sweep_convproj_dtlow.py \
    > "$D/sweep.log" 2>&1
echo "sweep rc $?"
tail -20 "$D/sweep.log"
date -u >> "$D/env.txt"
