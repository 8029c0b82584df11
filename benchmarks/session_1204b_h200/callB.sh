#!/bin/bash
# Call B: B/C layouts (contiguous bf16, N-last bf16 read in place, N-last fp32) x bc_f32 / n_seg at Vim-Ti's inference shapes; then end to end, the pre-pass's B in fp32 (PATCH bcf=1) against the defaults, alternated
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
S=benchmarks/session_1204b_h200
mkdir -p $OUT/callB
date -u; uptime
timeout 300 python3 $S/scan_layouts.py > $OUT/callB/scan_layouts.log 2>&1; echo rc=$?
grep -v "Warn\|warn" $OUT/callB/scan_layouts.log | grep -v "^Vim" ; grep "^Vim" $OUT/callB/scan_layouts.log | awk -F'|' '{c[$1]++; if (c[$1] <= 7) print}'
for r in 1 2; do
  for p in "" "bcf=1"; do
    PATCH=$p LABEL="r$r[$p]" SHAPES=1248x8,2048x8 timeout 120 python3 $S/e2e.py 2>&1 | grep "img/s" >> $OUT/callB/e2e.log
  done
done
cat $OUT/callB/e2e.log
