#!/bin/bash
# Call J: odd-case check after the T_IN_THREAD fix; GPU scan tests; Vim-Ti train steps (compiled reduce-overhead; eager fused and unfused) with peak memory; bidir/bimamba GPU tests
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/logs
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/logs/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$\|DEBUG\|_warn_once" $OUT/logs/$name.log | tail -${TAILN:-12}; }
TAILN=30 T 70 diag python3 .dev/diag_odd.py
TAILN=8 T 190 gpu_scan_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=line tests/test_ops/test_selective_scan.py
TAILN=14 T 120 vim_ro python3 tools/analysis_tools/profile_train_step.py --compile reduce-overhead --top 4 vim-tiny
VIMU='vim-unfused={"type":"mmmamba.VisionMamba","arch":"tiny","mixer_cfg":{"fuse_mixer":false}}'
TAILN=24 T 90 vim_eager python3 tools/analysis_tools/profile_train_step.py --top 4 vim-tiny "$VIMU"
TAILN=6 T 80 gpu_tests2 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=line -x tests/test_ops/test_bidir_scan.py tests/test_models/test_layers/test_bimamba.py
