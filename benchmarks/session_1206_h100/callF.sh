#!/usr/bin/env bash
# callF (2026-12-06): kernel time by kernel of Vim-Ti inference at 2048²
# and 1248² b64, new rule against old (prof_ab.py): which kernel makes
# callD's 2048² b64 slower with the unsplit pipelined tile.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p "$OUT/callF"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$OUT/callF/env.txt" 2>&1
timeout 400 python3 benchmarks/session_1206_h100/prof_ab.py 2048 1248 \
    > "$OUT/callF/prof.log" 2>&1
echo "rc $?"
grep -vE "Warn|warn" "$OUT/callF/prof.log" | cut -c1-150 | tail -120
date -u >> "$OUT/callF/env.txt"
