#!/bin/bash
# Call C: register caps on the two scan variants Vim's inference now runs (scan_caps.py); the conv + projection kernel's configurations with the step epilogue (sweep_convproj.py); GPU tests of the mixer and the bidirectional scan
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204e_h200
mkdir -p $OUT/callC
export PYTHONPATH=.:/tmp/site
date -u
timeout 150 python3 $S/scan_caps.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callC/scan_caps.log
timeout 150 python3 $S/sweep_convproj.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callC/sweep_convproj.log
date -u
timeout 100 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_models/test_layers/test_bimamba.py > $OUT/callC/gpu_tests_bimamba.log 2>&1; echo rc=$?
grep -E "PASSED|FAILED|ERROR|SKIPPED|passed|failed" $OUT/callC/gpu_tests_bimamba.log | tail -8
timeout 120 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA --durations=5 tests/test_ops/test_bidir_scan.py > $OUT/callC/gpu_tests_bidir.log 2>&1; echo rc=$?
grep -E "PASSED|FAILED|ERROR|SKIPPED|passed|failed|s call" $OUT/callC/gpu_tests_bidir.log | tail -16
date -u
