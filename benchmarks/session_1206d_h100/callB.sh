#!/usr/bin/env bash
# callB (2026-12-06, fourth part): e2e_conv.py, Vim-Ti against DeiT-Ti
# SDPA under CUDA graphs at the four target points; at batch 64 with the
# conv + projection in one launch and in two (new / old / new).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callB"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 500 python3 benchmarks/session_1206d_h100/e2e_conv.py "$D" \
    > "$D/e2e.log" 2>&1
echo "e2e rc $?"; grep -E "^==|img/s|kernel|peak" "$D/e2e.log" | grep -v Warn | head -60
for d in new old new2 b8; do echo "== $d"; cat "$D/$d/summary.md" 2>/dev/null | head -30; done
