#!/usr/bin/env bash
# callE (2026-12-06, fourth part): out_proj fused into the next add +
# RMSNorm (linear_add_rms_norm). (1) GPU tests of the op, the backbone's
# fused loop and the Vim GPU tests; (2) linear_norm_bench.py; (3)
# e2e_out_proj.py.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callE"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 200 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 150 \
    -rfEs tests/test_ops/test_linear_add_rms_norm.py \
    tests/test_models/test_backbones/test_vision_mamba.py \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "PASS|FAIL|ERROR|SKIP" "$D/tests.log" | tail -12
timeout 120 python3 benchmarks/session_1206d_h100/linear_norm_bench.py \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; cat "$D/bench.log"
timeout 240 python3 benchmarks/session_1206d_h100/e2e_out_proj.py "$D" \
    > "$D/e2e.log" 2>&1
echo "e2e rc $?"; grep -E "^==|img/s" "$D/e2e.log" | grep -v Warn
