#!/bin/bash
# Call B: host-cost changes (fast launch, no Function in inference, conv taps rounded in the kernel) against HEAD 25cd8bc's sources; GPU tests
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callB
S=benchmarks/session_1204_h200
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callB/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callB/$name.log | tail -${TAILN:-30}; }
PYTHONPATH=.:/tmp/site TAILN=20 T 200 ab_tree env LABEL=new python3 $S/ab_host.py
PYTHONPATH=.head_src:/tmp/site TAILN=20 T 150 ab_head env LABEL=head python3 $S/ab_host.py
PYTHONPATH=.:/tmp/site TAILN=8 T 200 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_launch.py tests/test_ops/test_conv_proj.py tests/test_ops/test_rms_norm.py tests/test_models/test_layers/test_bimamba.py
