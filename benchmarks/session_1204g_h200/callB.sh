#!/bin/bash
# Call B (prepared 2026-12-04, not run: no device was lent that session):
# the README table's command on this session's tree, now with the GPU
# kernel time per batch beside the wall time (--kernel-time), Vim-Ti
# against DeiT-Ti SDPA, bf16 eager, 738²-2048², batch 64 and 8; then the
# GPU tests of the changed mixer (cached autocast weights) and of
# benchmark_backbone's kernel time.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callB
export PYTHONPATH=.:/tmp/site
date -u; uptime
for b in 64 8; do
  timeout 220 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 738 1024 1248 1536 2048 --batch-size $b --precisions bf16 --warmup 5 --repeats 15 --kernel-time --no-plot --out-dir $OUT/callB/b$b > $OUT/callB/b$b.log 2>&1; echo rc=$?
  grep "^| " $OUT/callB/b$b/summary.md | tail -12
done
timeout 150 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_models/test_layers/test_bimamba.py tests/test_tools/test_benchmark_backbone.py > $OUT/callB/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "PASSED|FAILED|ERROR|passed|failed" $OUT/callB/gpu_tests.log | tail -12
date -u
