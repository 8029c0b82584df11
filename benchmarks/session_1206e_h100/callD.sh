#!/usr/bin/env bash
# callD (2026-12-06, fifth part): dt_proj on the tensor cores in the
# batch-64 one-launch scan: GPU tests, kernel A/B, Vim-Ti end to end.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callD"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 150 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 120 \
    -rfEs tests/test_ops/test_bidir_fused_scan.py \
    tests/test_models/test_layers/test_bimamba.py -k "bidir or one_launch" \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "PASS|FAIL|ERROR|passed|failed" "$D/tests.log" | tail -12
timeout 420 python3 benchmarks/session_1206e_h100/dt_dot_bench.py \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -v Warn "$D/bench.log" | tail -24
