#!/bin/bash
# Call B: GPU tests of the changed kernels and paths; Vim-Ti training step with the new softplus; compiled inference profile
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/callB
S=benchmarks/session_1203d_h200
P=tools/analysis_tools/profile_train_step.py
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callB/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callB/$name.log | tail -${TAILN:-12}; }
T 240 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_selective_scan.py tests/test_ops/test_bidir_scan.py tests/test_ops/test_causal_conv1d.py tests/test_models/test_layers/test_bimamba.py tests/test_ops/test_ss2d_scan.py
TAILN=45 T 150 train_step python3 $P --compile reduce-overhead vim-tiny --top 12
