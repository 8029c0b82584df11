#!/bin/bash
# Call C: host-side cost of the one-direction inference path after the eager conv launch fix; memory per layer after the layer-loop change; GPU tests of the changed paths
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/callC
S=benchmarks/session_1203d_h200
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callC/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callC/$name.log | tail -${TAILN:-12}; }
ONLY=seq T 80 ab_infer python3 $S/ab_infer.py
SHAPES=1248x64,1248x8,2048x8,738x64 ONLY=deit T 60 ab_infer_deit python3 $S/ab_infer.py
TAILN=45 T 40 mem_seq python3 $S/mem_vim.py 1248 64
T 110 gpu_tests_a python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_bidir_scan.py tests/test_ops/test_causal_conv1d.py tests/test_models/test_layers/test_bimamba.py
