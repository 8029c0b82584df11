#!/usr/bin/env bash
# callF (2026-12-07, fifth part): callE cut to its GPU tests of the
# one-launch scan (8-step chunks by default under Triton 3.6), for the
# device time left after the refused starts.
set -uo pipefail
. benchmarks/device_preamble.sh callF
timeout 100 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 95 \
    -rfEs tests/test_ops/test_bidir_fused_scan.py > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
python3 -c 'from mmmamba.ops.selective_scan import triton_bidir as t
print("BIDIR_BLOCK_T", t.BIDIR_BLOCK_T)' >> "$D/env.txt" 2>&1
date -u >> "$D/env.txt"
