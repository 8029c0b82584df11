#!/bin/bash
# Call A: time-major forward variants (bc_f32, n_seg, register cap) at Vim-Ti's inference shapes; GPU tests of the scan op
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
S=benchmarks/session_1204b_h200
mkdir -p $OUT/callA
date -u; uptime
timeout 330 python3 $S/scan_variants.py > $OUT/callA/scan_variants.log 2>&1; echo rc=$?
grep -v "Warn\|warn" $OUT/callA/scan_variants.log | grep -v "^Vim" ; grep "^Vim" $OUT/callA/scan_variants.log | awk -F'|' '{c[$1]++; if (c[$1] <= 6) print}'
timeout 200 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_selective_scan.py > $OUT/callA/gpu_tests.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callA/gpu_tests.log | tail -4
