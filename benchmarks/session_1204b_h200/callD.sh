#!/bin/bash
# Call D (callC's tree, machine still warm): the GPU tests of test_selective_scan.py that callC's 200 s limit cut
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p $OUT/callD
timeout 280 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_selective_scan.py > $OUT/callD/gpu_tests.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callD/gpu_tests.log | tail -5
