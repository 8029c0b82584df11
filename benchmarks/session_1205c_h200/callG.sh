#!/bin/bash
# Call G (prepared 2026-12-05, third part; no device that session): where
# the batch-8 scan's time goes.
# 1. b8_tiles.py: the mixer core's kernels for split, lane-split and
#    fewer-register tiles, and the pre-pass on its own tile.
# 2. ncu of the default batch-8 scan kernels (stall reasons).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1205c_h200
mkdir -p $OUT/callG
export PYTHONPATH=.:/tmp/site
date -u
timeout 380 python3 $S/b8_tiles.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callG/b8_tiles.log
SEC="--section SpeedOfLight --section WarpStateStats --section Occupancy --section SchedulerStats --section SourceCounters --print-details all"
timeout 150 ncu --clock-control none -k regex:"tmajor_kernel|seg_kernel" --launch-skip 4 -c 4 $SEC python3 $S/prof_mixer_b8.py > $OUT/callG/ncu_b8.log 2>&1; echo ncu rc=$?
grep -E "^  _|Duration|Issue Slots Busy|Executed Ipc A|Registers Per|Achieved Occ|Eligible Warps|Warp Cycles Per Issued|Stall|stall" $OUT/callG/ncu_b8.log | head -90
date -u
