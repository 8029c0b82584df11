#!/usr/bin/env bash
# callB (2026-12-06, fifth part): decays on the FMA pipe in the split
# inference scan: GPU tests, kernel A/B, Vim-Ti end to end at batch 8.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callB"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 200 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 150 \
    -rfEs tests/test_ops/test_triton_math.py \
    tests/test_ops/test_selective_scan.py -k "exp_fma or mix_is_close" \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "passed|failed|FAIL|ERROR" "$D/tests.log" | tail -8
timeout 360 python3 benchmarks/session_1206e_h100/exp_fma_bench.py \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -v Warn "$D/bench.log" | tail -45
