#!/bin/bash
# Call C: the forward split's pre-pass with prefetch against HEAD (fwd_ab.py); GPU tests of the scan at 1248² (split forward and backward) and the bidirectional scan at 1248² b8
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
mkdir -p $OUT/callC
S=benchmarks/session_1203f_h200
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callC/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callC/$name.log | tail -${TAILN:-12}; }
T 90 fwd_ab python3 $S/fwd_ab.py
TAILN=6 T 90 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_selective_scan.py tests/test_ops/test_bidir_scan.py -k "not mamba_ssm and 1248 and not step_loop"
