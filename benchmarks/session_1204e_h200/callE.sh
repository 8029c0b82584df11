#!/bin/bash
# Call E: ncu of the inference mixer core's kernels as now shipped (conv + projection with the step epilogue, scan direction 1 ungated, direction 2 gating the sum), Vim-Ti 1248² batch 64, second call of prof_mixer.py
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204e_h200
mkdir -p $OUT/callE
export PYTHONPATH=.:/tmp/site
SEC="--section SpeedOfLight --section WarpStateStats --section Occupancy --section InstructionStats --section LaunchStats --section SchedulerStats"
BATCH=64 timeout 230 ncu --clock-control none -k regex:"conv_proj|tmajor" --launch-skip 4 -c 4 $SEC python3 $S/prof_mixer.py > $OUT/callE/ncu_b64.log 2>&1; echo rc=$?
grep -E "^  _|Duration|DRAM Throughput|Memory Throughput|Compute \(SM\)|Issue Slots Busy|Executed Ipc A|Registers Per|Achieved Occ|Theoretical Occ|Eligible Warps|No Eligible|Active Warps Per|Executed Instructions  " $OUT/callE/ncu_b64.log | head -80
