#!/bin/bash
# Call D (prepared 2026-12-05, not run: no device was lent that session):
# ConvProjConfig.row_group, the conv + projection kernel's conv pass in
# groups of G rows, each shifted row set loaded once (offline Triton 3.6:
# the conv pass loop 755 -> 578 / 554 instructions per 32 outputs a thread
# at G = 4 / 8, 168 registers either way). Its GPU bit-identity tests, then
# rowgroup_ab.py: the kernel's time per call for G = 1, 2, 4, 8 at five
# Vim-Ti shapes (outputs equal to G = 1's), and Vim-Ti img/s with G = 1, 4,
# 8 alternating in one process. Run after session_1204g_h200/callC.sh,
# whose widen_bc outcome it does not depend on.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callD
export PYTHONPATH=.:/tmp/site
date -u; uptime
timeout 150 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_conv_proj.py -k row_group > $OUT/callD/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "PASSED|FAILED|ERROR|passed|failed" $OUT/callD/gpu_tests.log | tail -8
timeout 400 python3 benchmarks/session_1205_h200/rowgroup_ab.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callD/rowgroup_ab.log
date -u
