#!/usr/bin/env bash
# callA (2026-12-06, third part): Vim's two inference scans in one launch
# (triton_bidir). (1) GPU tests of the kernel and of BiMamba's one-launch
# core; (2) bidir_bench.py: the scan kernels alone at batch 64, two
# launches against the one-launch kernel at several tiles; (3)
# e2e_bidir.py: Vim-Ti vs DeiT-Ti at 1248² / 2048² b64 under CUDA graphs,
# new / old / new in one process.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callA"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 120 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 100 \
    -rfEs tests/test_ops/test_bidir_fused_scan.py \
    tests/test_models/test_layers/test_bimamba.py -k "bidir or one_launch" \
    > "$D/gpu_tests.log" 2>&1
echo "tests rc $?"
grep -E "PASSED|FAILED|ERROR|passed|failed" "$D/gpu_tests.log" | tail -8
timeout 150 python3 benchmarks/session_1206c_h100/bidir_bench.py \
    > "$D/bench.log" 2>&1
echo "bench rc $?"
cat "$D/bench.log" | tail -24
timeout 300 python3 benchmarks/session_1206c_h100/e2e_bidir.py "$D" \
    > "$D/e2e.log" 2>&1
echo "e2e rc $?"
grep -E "==|img/s|vim|deit" "$D/e2e.log" | grep -v Warn | tail -30
date -u >> "$D/env.txt"
