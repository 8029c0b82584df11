#!/bin/bash
# Call H (prepared 2026-12-05, third part; no device that session): ncu of
# the default batch-8 scan kernels (pre-pass and main kernel, both
# directions, Vim-Ti 1248² b8 bf16): stall reasons and their locations.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1205c_h200
mkdir -p $OUT/callH
export PYTHONPATH=.:/tmp/site
date -u
# one profile with every section (--set full), then its details page and its
# raw metrics (every stall reason per kernel) printed from the report
timeout 200 ncu --clock-control none --set full -k regex:"tmajor_kernel|seg_kernel" --launch-skip 4 -c 4 -o $OUT/callH/ncu_b8 python3 $S/prof_mixer_b8.py > $OUT/callH/ncu_run.log 2>&1; echo ncu rc=$?
ncu -i $OUT/callH/ncu_b8.ncu-rep --page details > $OUT/callH/ncu_b8_details.log 2>&1
ncu -i $OUT/callH/ncu_b8.ncu-rep --page raw --csv > $OUT/callH/ncu_b8_raw.csv 2>&1
grep -E "^  _|Duration|Issue Slots Busy|Executed Ipc A|Registers Per|Achieved Occ|Eligible Warps|Warp Cycles Per Issued" $OUT/callH/ncu_b8_details.log | head -40
date -u
