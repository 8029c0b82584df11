#!/usr/bin/env bash
# callH (2026-12-06, fourth part): scan_split_bench.py, the one-launch scan
# with its in-thread sums split in two halves (untracked variant copies
# _tb_ysplit.py / _tb_both.py of triton_bidir.py) against the tree's.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callH"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
cp mmmamba/ops/selective_scan/_tb_*.py "$D/" 2>/dev/null
timeout 150 python3 benchmarks/session_1206d_h100/scan_split_bench.py \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; cat "$D/bench.log"
