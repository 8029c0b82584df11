#!/bin/bash
# Call F (2026-12-05, sixth part): ncu source page of the batch-8 scan
# kernels with this part's defaults (main kernel pipelined, fp32 B, C),
# both directions, 1248² b8 bf16: where the stalls are now.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callF
export PYTHONPATH=.:/tmp/site
date -u
timeout 200 ncu --clock-control none --section SourceCounters --section WarpStateStats --section SpeedOfLight -k regex:"tmajor_kernel|seg_kernel" --launch-skip 4 -c 4 -o $OUT/callF/src python3 benchmarks/session_1205c_h200/prof_mixer_b8.py > $OUT/callF/ncu_run.log 2>&1; echo ncu rc=$?
ncu -i $OUT/callF/src.ncu-rep --page source --csv --print-source sass > $OUT/callF/source.csv 2>&1; echo source rc=$?
ncu -i $OUT/callF/src.ncu-rep --page details --csv > $OUT/callF/details.csv 2>&1
python3 benchmarks/session_1205f_h100/stalls.py $OUT/callF/source.csv stall_long_sb 6
python3 benchmarks/session_1205f_h100/stalls.py $OUT/callF/source.csv stall_wait 4 | grep -v "^=="
grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput" $OUT/callF/details.csv | head -12
date -u
