#!/bin/bash
# Call B: ncu of the fused inference mixer's kernels at Vim-Ti 1248² (conv + projections, the scan's pre-pass and main kernel), batch 64 and 8, second call of prof_mixer.py
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204d_h200
mkdir -p $OUT/callB
export PYTHONPATH=.:/tmp/site
SEC="--section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy --section InstructionStats --section LaunchStats --section SchedulerStats"
BATCH=64 timeout 200 ncu --clock-control none -k regex:"conv_proj|tmajor|seg_kernel" --launch-skip 4 -c 2 $SEC python3 $S/prof_mixer.py > $OUT/callB/ncu_b64.log 2>&1; echo rc=$?
BATCH=8 timeout 200 ncu --clock-control none -k regex:"conv_proj|tmajor|seg_kernel" --launch-skip 6 -c 3 $SEC python3 $S/prof_mixer.py > $OUT/callB/ncu_b8.log 2>&1; echo rc=$?
for f in $OUT/callB/ncu_b64.log $OUT/callB/ncu_b8.log; do grep -E "^  _|Duration|DRAM Throughput|Memory Throughput|Compute \(SM\)|Issue Slots Busy|Executed Ipc A|Registers Per|Achieved Occ|Theoretical Occ|stalled|Eligible Warps|No Eligible|Active Warps Per|L1/TEX Hit|L2 Hit|Block Size|Grid Size|Dynamic Shared|Static Shared" $f | head -120; done
