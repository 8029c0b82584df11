#!/bin/bash
# Call A: step-loop forward (triton_steps): GPU check, sweep (channel-last), scan table vs mamba-ssm (channel-last), Vim-Ti vs DeiT-Ti inference, ncu of one launch
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/logs
S=benchmarks/session_1203c_h200
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/logs/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$\|DEBUG\|_warn_once" $OUT/logs/$name.log | tail -${TAILN:-12}; }
(bash tools/analysis_tools/build_mamba_ssm_cuda.sh .whl/mamba_ssm-2.3.2.post1.tar.gz /tmp/mssm 90 > /tmp/build.log 2>&1; echo "build rc=$?" >> /tmp/build.log) &
BP=$!
TAILN=10 T 60 check python3 $S/check_steps.py
TAILN=30 T 40 ncu ncu --clock-control none -k regex:"fwd_(steps|tmajor)_kernel" -c 2 --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section Occupancy --section InstructionStats --section LaunchStats python3 $S/prof_fwd.py
TAILN=60 T 170 sweep python3 tools/analysis_tools/sweep_scan_configs.py --layout channel-last --kernels steps --modes infer train --top 4 --repeats 10 --out $OUT/logs/sweep.csv
TAILN=12 T 100 vim_deit python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size 64 --batch-size-at 2048=8 --precisions bf16 --no-plot --out-dir /tmp/vim_deit
cat /tmp/vim_deit/summary.md >> $OUT/logs/vim_deit.log; tail -20 /tmp/vim_deit/summary.md
wait $BP; tail -2 /tmp/build.log
export PYTHONPATH=$PYTHONPATH:/tmp/mssm
TAILN=25 T 120 scan_cl python3 tools/analysis_tools/benchmark_scan.py --backends triton mamba_ssm --repeats 30 --layout channel-last --out $OUT/logs/scan_cl.md
