#!/usr/bin/env bash
# callD (2026-12-06): the unsplit pipelined scan tile as the default for
# long sequences at large batch (fp32 B and C from the conv kernel).
# (1) GPU tests: the tile against the d16 t8 register-prefetch one and the
# launcher's choice of it (test_gpu_unsplit_pipelined_scan_matches), the
# pipelined split tests, BiMamba's GPU tests (fused inference core);
# (2) e2e_ab.py: Vim-Ti vs DeiT-Ti at 1248² / 2048² b64 under CUDA graphs,
# new / old / new in one process.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p "$OUT/callD"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$OUT/callD/env.txt" 2>&1
timeout 150 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 120 \
    -rfEs tests/test_ops/test_selective_scan.py \
    tests/test_models/test_layers/test_bimamba.py \
    -k "unsplit_pipelined or pipelined_scan or bimamba" \
    > "$OUT/callD/gpu_tests.log" 2>&1
echo "tests rc $?"
grep -E "PASSED|FAILED|ERROR|passed|failed" "$OUT/callD/gpu_tests.log" | tail -16
timeout 330 python3 benchmarks/session_1206_h100/e2e_ab.py "$OUT/callD" \
    > "$OUT/callD/e2e.log" 2>&1
echo "e2e rc $?"
grep -E "==|img/s|vim|deit" "$OUT/callD/e2e.log" | grep -v Warn | tail -30
date -u >> "$OUT/callD/env.txt"
