#!/bin/bash
# Call R (2026-12-05, seventh part): GPU tests after the review's _states
# refactor of the scan kernels (no change expected: offline SASS equal):
# the time-major forward and backward against the reference, the
# td-first and pipelined batch-8 paths, Vim's launchers against its ops.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callR
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 400 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_selective_scan.py tests/test_models/test_layers/test_bimamba.py -k "td_first or pipelined or launchers_equal or matches_fp32_reference or time_major or backward" > $OUT/callR/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(FAILED|ERROR)|passed|failed" $OUT/callR/gpu_tests.log | tail -8
date -u
