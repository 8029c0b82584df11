#!/bin/bash
# Call A: softplus A/B of the scan kernels; Vim-Ti inference one direction at a time vs both (time, memory, equal outputs) beside DeiT-Ti; memory per stage; the inference profile
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
mkdir -p $OUT/callA
S=benchmarks/session_1203d_h200
P=tools/analysis_tools/profile_train_step.py
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callA/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callA/$name.log | tail -${TAILN:-40}; }
T 60 softplus_new python3 $S/softplus_ab.py new
T 60 softplus_old python3 $S/softplus_ab.py old
T 170 ab_infer python3 $S/ab_infer.py
SHAPES=1248x64,2048x8 ONLY=seq OLD_SOFTPLUS=1 T 60 ab_infer_old_softplus python3 $S/ab_infer.py
T 40 mem_seq python3 $S/mem_vim.py 1248 64
T 40 mem_bidir python3 $S/mem_vim.py 1248 64 bidir
TAILN=80 T 80 prof_1248_b64 python3 $P --inference vim-tiny deit-tiny-sdpa --batch-size 64 --resolution 1248 --top 30
