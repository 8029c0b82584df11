#!/bin/bash
# Call A: conv1d_silu_proj (conv + SiLU + x_proj + dt_proj in one kernel) for Vim inference: GPU tests, kernel A/B and config sweep, Vim-Ti inference old/new vs DeiT-Ti, inference profile
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p $OUT/callA
S=benchmarks/session_1203g_h200
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callA/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callA/$name.log | tail -${TAILN:-12}; }
TAILN=6 T 150 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_conv_proj.py tests/test_models/test_layers/test_bimamba.py
TAILN=40 T 150 prologue_ab python3 $S/prologue_ab.py
TAILN=20 T 130 ab_infer python3 $S/ab_infer.py
TAILN=45 T 80 prof_1248_b64 python3 tools/analysis_tools/profile_train_step.py --inference vim-tiny --batch-size 64 --resolution 1248 --top 20
