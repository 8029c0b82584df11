#!/bin/bash
# Call E (2026-12-05): the new inference defaults (widen_bc with the main
# kernel's register cap, pre-pass uncapped; conv pass row groups of 4).
# GPU tests of the widened forward (now: equal to the plain one to
# rounding) and of BiMamba; widen_diff.py (how far from the plain kernel);
# then the README table's command at 1248² and 2048², batch 64 and 8.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callE
export PYTHONPATH=.:/tmp/site
date -u
timeout 120 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA -k "widen or bimamba" tests/test_ops/test_selective_scan.py tests/test_models/test_layers/test_bimamba.py > $OUT/callE/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "PASSED|FAILED|ERROR|passed|failed" $OUT/callE/gpu_tests.log | tail -14
timeout 40 python3 benchmarks/session_1205b_h200/widen_diff.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callE/widen_diff.log
for b in 64 8; do
  timeout $((b == 64 ? 130 : 70)) python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size $b --precisions bf16 --warmup 5 --repeats 15 --kernel-time --no-plot --out-dir $OUT/callE/b$b > $OUT/callE/b$b.log 2>&1; echo rc=$?
  grep "^| " $OUT/callE/b$b/summary.md | tail -6
done
date -u
