#!/usr/bin/env bash
# callE (2026-12-06, sixth part): the fifth part's callD (dt_proj on the
# tensor cores in the batch-64 scan) and the one-kernel input tokens, in
# one machine start: GPU tests, kernel A/Bs, Vim-Ti end to end.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callE"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c 'import torch, triton; print(torch.__version__, triton.__version__)'
} > "$D/env.txt" 2>&1
timeout 170 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 120 \
    -rfEs tests/test_ops/test_bidir_fused_scan.py \
    tests/test_ops/test_patch_tokens.py \
    tests/test_models/test_layers/test_bimamba.py \
    -k "bidir or one_launch or tokens" > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "PASS|FAIL|ERROR|passed|failed" "$D/tests.log" | tail -14
timeout 190 python3 benchmarks/session_1206f_h100/patch_tokens_bench.py \
    > "$D/tokens.log" 2>&1
echo "tokens rc $?"; grep -v Warn "$D/tokens.log" | tail -60
timeout 220 python3 benchmarks/session_1206e_h100/dt_dot_bench.py \
    > "$D/dt_dot.log" 2>&1
echo "dt_dot rc $?"; grep -v Warn "$D/dt_dot.log" | tail -24
date -u >> "$D/env.txt"
