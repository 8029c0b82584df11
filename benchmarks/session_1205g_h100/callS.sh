#!/bin/bash
# Call S (prepared 2026-12-05, seventh part; NOT RUN: the session's
# device time was spent): where the conv + projection kernel waits.
# callN had it at 57% of DRAM peak with 17% occupancy and callP showed
# its launch configuration at its best, so the next question is inside
# the kernel: ncu's source page (stall reasons per SASS instruction) of
# both directions' conv_proj_fwd at 1248² b8 bf16, summarised by
# stalls.py (long scoreboard = waiting on global loads; barrier = the
# pass boundaries; math / MIO throttles).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callS
export PYTHONPATH=.:/tmp/site
date -u
timeout 200 ncu --clock-control none --section SourceCounters --section WarpStateStats --section SpeedOfLight -k regex:"conv_proj_fwd" --launch-skip 2 -c 2 -o $OUT/callS/conv python3 benchmarks/session_1205c_h200/prof_mixer_b8.py > $OUT/callS/ncu_run.log 2>&1; echo ncu rc=$?
ncu -i $OUT/callS/conv.ncu-rep --page source --csv --print-source sass > $OUT/callS/source.csv 2>&1; echo source rc=$?
ncu -i $OUT/callS/conv.ncu-rep --page details --csv > $OUT/callS/details.csv 2>&1
rm -f $OUT/callS/conv.ncu-rep
for reason in stall_long_sb stall_barrier stall_wait stall_math_pipe_throttle; do
  python3 benchmarks/session_1205f_h100/stalls.py $OUT/callS/source.csv $reason 6
done
date -u
