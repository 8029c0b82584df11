#!/bin/bash
# Call C: conv1d_silu_proj with the projections as a second loop over the stored u (two_pass; 94-153 registers): sweep, A/B against the unfused prologue, GPU tests
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p $OUT/callC
S=benchmarks/session_1203g_h200
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callC/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callC/$name.log | tail -${TAILN:-12}; }
TAILN=30 T 280 sweep python3 $S/sweep_convproj.py
TAILN=12 T 60 prologue_ab env SWEEP=0 python3 $S/prologue_ab.py
TAILN=4 T 100 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_conv_proj.py
