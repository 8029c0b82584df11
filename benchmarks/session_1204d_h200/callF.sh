#!/bin/bash
# Call F: GPU tests of the code this session changed that callE's limit cut: the fused mixer (conv + projection kernel, inference scan), the bidirectional scan, compiled / CUDA-graph models, the rest of test_selective_scan.py
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callF
export PYTHONPATH=.:/tmp/site
date -u
timeout 270 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_models/test_layers/test_bimamba.py tests/test_ops/test_bidir_scan.py tests/test_models/test_model_compile.py > $OUT/callF/gpu_tests_a.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callF/gpu_tests_a.log | tail -5
date -u
