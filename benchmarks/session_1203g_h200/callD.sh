#!/bin/bash
# Call D: the swept default (64, 64, 2 warps, 2 stages, two-pass): A/B against the unfused prologue, GPU tests (op, mixer), Vim-Ti inference new/old vs DeiT-Ti, inference profile
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p $OUT/callD
S=benchmarks/session_1203g_h200
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callD/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callD/$name.log | tail -${TAILN:-12}; }
TAILN=12 T 60 prologue_ab env SWEEP=0 python3 $S/prologue_ab.py
TAILN=4 T 150 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_conv_proj.py tests/test_models/test_layers/test_bimamba.py tests/test_models/test_backbones/test_vision_mamba.py
TAILN=20 T 130 ab_infer python3 $S/ab_infer.py
TAILN=24 T 80 prof_1248_b64 python3 tools/analysis_tools/profile_train_step.py --inference vim-tiny --batch-size 64 --resolution 1248 --top 12
