#!/bin/bash
# Call B: step-loop forward with rows-only tile loads (default layout on Triton 3.6) and loads two steps ahead: GPU check, ncu, sweep bf16 (channel-last), Vim-Ti vs DeiT-Ti inference
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/logs
S=benchmarks/session_1203c_h200
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/logs/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$\|DEBUG\|_warn_once" $OUT/logs/$name.log | tail -${TAILN:-12}; }
TAILN=9 T 60 check python3 $S/check_steps.py
TAILN=4 T 40 ncu ncu --clock-control none -k regex:"fwd_(steps|tmajor)_kernel" -c 2 --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section Occupancy --section InstructionStats --section LaunchStats python3 $S/prof_fwd.py
grep -E "_kernel \(|Duration|Executed Ipc Active|Registers Per|Achieved Active Warps|Executed Instructions  |Warp Cycles Per Issued|stalled waiting" $OUT/logs/ncu.log
TAILN=70 T 220 sweep python3 tools/analysis_tools/sweep_scan_configs.py --layout channel-last --kernels steps --dtypes bf16 --modes infer train --top 3 --repeats 10 --out $OUT/logs/sweep.csv
TAILN=12 T 100 vim_deit python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size 64 --batch-size-at 2048=8 --precisions bf16 --no-plot --out-dir /tmp/vim_deit
cat /tmp/vim_deit/summary.md >> $OUT/logs/vim_deit.log
