#!/usr/bin/env bash
# callF (2026-12-06, third part): callE's faster conv chunks (block_ec 64)
# on the kernel with its third pass (delta stored), the batch-8 inference
# path's: sweep_convproj_ec64.py, kernel time (TIMER=profiler).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callF"
mkdir -p "$D"
TIMER=profiler timeout 200 python3 \
    benchmarks/session_1206c_h100/sweep_convproj_ec64.py > "$D/sweep.log" 2>&1
echo "sweep rc $?"
tail -12 "$D/sweep.log"
