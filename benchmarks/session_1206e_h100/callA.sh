#!/usr/bin/env bash
# callA (2026-12-06, fifth part): sub-batches on concurrent CUDA streams.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callA"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 540 python3 benchmarks/session_1206e_h100/streams_probe.py \
    > "$D/probe.log" 2>&1
echo "probe rc $?"; grep -v Warn "$D/probe.log" | tail -40
