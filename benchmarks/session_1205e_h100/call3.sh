#!/bin/bash
# Call 3 (2026-12-05, fifth part): session_1204g_h200/callA.sh with its
# limits trimmed to fit one 600 s call. Call A (prepared 2026-12-04, not run:
# the LayerNorm2d kernels' first GPU run. Their GPU tests; the op's table
# (reference vs Triton, VMamba-T's four stage shapes, channels-last and
# NCHW, fp32 and bf16 outputs); then VMamba-T's training step and
# inference with the norms on the reference (default) and on Triton
# (VMamba(norm_backend='triton')), eager, AMP bf16, 224² b128, fused
# SS2D.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p $OUT/callA
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
timeout 150 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_layer_norm2d.py > $OUT/callA/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "PASSED|FAILED|ERROR|passed|failed" $OUT/callA/gpu_tests.log | tail -12
timeout 110 python3 tools/analysis_tools/benchmark_layer_norm2d.py --out $OUT/callA/layer_norm2d.md 2>&1 | grep -v "Warn\|warn" | tail -24
REF='vmamba-ln-ref={"type": "mmmamba.VMamba", "arch": "tiny", "drop_path_rate": 0.2, "fuse_cross_scan": true}'
TRI='vmamba-ln-triton={"type": "mmmamba.VMamba", "arch": "tiny", "drop_path_rate": 0.2, "fuse_cross_scan": true, "norm_backend": "triton"}'
timeout 180 python3 tools/analysis_tools/profile_train_step.py "$REF" "$TRI" --top 20 2>&1 | grep -v "Warn\|warn" > $OUT/callA/train.log; echo train rc=$?
timeout 120 python3 tools/analysis_tools/profile_train_step.py "$REF" "$TRI" --inference --top 20 2>&1 | grep -v "Warn\|warn" > $OUT/callA/infer.log; echo infer rc=$?
grep -iE "ms per step|img/s|norm" $OUT/callA/train.log $OUT/callA/infer.log | head -24
date -u
