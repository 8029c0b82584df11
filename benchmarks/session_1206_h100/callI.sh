#!/usr/bin/env bash
# callI (prepared 2026-12-06, not run): is callF's 2048² b64 loss of the
# pipelined tile in the model a clock / power effect? prof_ab.py at 2048²
# (old rule and new, the model end to end) with nvidia-smi sampling SM
# clock, power and temperature every 100 ms beside it; then
# harness_check.py (the mixer core alone) under the same sampling. If the
# new tile's model run shows lower SM clocks than the old one's (and the
# mixer core alone does not), the loss is the power limit.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p "$OUT/callI"
{ date -u; nvidia-smi --query-gpu=name,driver_version,power.limit \
    --format=csv,noheader; } > "$OUT/callI/env.txt" 2>&1
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,\
temperature.gpu,clocks_throttle_reasons.active --format=csv -lms 100 \
    > "$OUT/callI/smi.csv" 2>&1 &
SMI=$!
for step in "prof_ab.py 2048" "harness_check.py 2048 64"; do
    set -- $step
    echo "== $(date -u +%T.%N) $1" | tee -a "$OUT/callI/marks.txt"
    timeout 200 python3 "benchmarks/session_1206_h100/$1" "${@:2}" \
        >> "$OUT/callI/run.log" 2>&1; echo "$1 rc $?"
done
echo "== $(date -u +%T.%N) end" >> "$OUT/callI/marks.txt"
kill $SMI
grep -E "^== |scan|_selective_scan_fwd|main " "$OUT/callI/run.log" | head -30
date -u >> "$OUT/callI/env.txt"
