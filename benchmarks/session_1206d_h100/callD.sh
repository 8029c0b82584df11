#!/usr/bin/env bash
# callD (2026-12-06, fourth part): BIDIR_CONFIG (4 warps, cap 128) for the
# one-launch conv + projection. (1) its GPU tests; (2) sweep_conv_b8.py;
# (3) e2e_bidir_config.py.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callD"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 150 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 100 \
    -rfEs tests/test_ops/test_conv_proj.py \
    tests/test_models/test_layers/test_bimamba.py \
    -k "gpu_bidir or one_launch" > "$D/tests.log" 2>&1
echo "tests rc $?"; tail -3 "$D/tests.log"
timeout 120 python3 benchmarks/session_1206d_h100/sweep_conv_b8.py \
    > "$D/sweep.log" 2>&1
echo "sweep rc $?"; cat "$D/sweep.log"
timeout 280 python3 benchmarks/session_1206d_h100/e2e_bidir_config.py "$D" \
    > "$D/e2e.log" 2>&1
echo "e2e rc $?"; grep -E "^==|img/s" "$D/e2e.log" | grep -v Warn
