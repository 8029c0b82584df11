#!/bin/bash
# Call H (prepared 2026-12-05, sixth part, when no device time was left;
# run at 17:19 UTC in the seventh part): the 8-step pipelined default end
# to end. (1) GPU tests of the pipelined scan (t8 among them) and of Vim's launchers against its ops;
# (2) the README command at 1248² and 2048², batch 8 and 64, bf16.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callH
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 200 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_selective_scan.py tests/test_models/test_layers/test_bimamba.py -k "pipelined or launchers_equal" > $OUT/callH/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(PASSED|FAILED|ERROR)|passed|failed" $OUT/callH/gpu_tests.log | tail -6
for B in 8 64; do
  timeout 170 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size $B --precisions bf16 --warmup 5 --repeats 15 --kernel-time --no-plot --out-dir $OUT/callH/b$B > $OUT/callH/b$B.log 2>&1; echo b$B rc=$?
  grep -E "img/s" $OUT/callH/b$B.log
done
date -u
