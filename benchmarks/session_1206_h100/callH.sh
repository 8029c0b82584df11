#!/usr/bin/env bash
# callH (2026-12-06): harness_check.py at Vim-Ti 2048² b64: the main scan
# kernel of layer 12's mixer core on the model's own xz, on randn, and the
# b8_tiles harness's mixer on randn, old rule against new.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p "$OUT/callH"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$OUT/callH/env.txt" 2>&1
timeout 200 python3 benchmarks/session_1206_h100/harness_check.py 2048 64 \
    > "$OUT/callH/check.log" 2>&1; echo "rc $?"
grep -viE "warn" "$OUT/callH/check.log" | tail -16
date -u >> "$OUT/callH/env.txt"
