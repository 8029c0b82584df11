#!/usr/bin/env bash
# callC (2026-12-06, fifth part): the one-launch scan's throughput against
# the warps resident per SM (batches 16-128 at 2048²).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callC"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 300 python3 benchmarks/session_1206e_h100/bidir_warps_probe.py \
    > "$D/probe.log" 2>&1
echo "probe rc $?"; cat "$D/probe.log" | tail -14
