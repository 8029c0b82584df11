#!/bin/bash
# Call H2 (prepared 2026-12-05, fifth part; not yet run): where the batch-8
# scan kernels' long-scoreboard stalls are. ncu's source-level sampling of
# the default pre-pass and main kernel (one direction each, 1248² b8 bf16),
# printed per SASS instruction with its stall samples; the top 40 lines by
# long-scoreboard samples are printed, the whole page kept.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1205c_h200
mkdir -p $OUT/callH2
export PYTHONPATH=.:/tmp/site
date -u
timeout 200 ncu --clock-control none --section SourceCounters --section WarpStateStats -k regex:"tmajor_kernel|seg_kernel" --launch-skip 4 -c 2 -o $OUT/callH2/src python3 $S/prof_mixer_b8.py > $OUT/callH2/ncu_run.log 2>&1; echo ncu rc=$?
ncu -i $OUT/callH2/src.ncu-rep --page source --csv --print-source sass > $OUT/callH2/source.csv 2>&1; echo source rc=$?
python3 - $OUT/callH2/source.csv <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
hdr = next(r for r in rows if 'Source' in r)
i0 = rows.index(hdr)
col = next(i for i, h in enumerate(hdr) if 'long_scoreboard' in h.lower()
           or 'Long Scoreboard' in h)
def num(s):
    try:
        return float(s.replace(',', ''))
    except ValueError:
        return 0.0
body = [r for r in rows[i0 + 1:] if len(r) == len(hdr)]
for r in sorted(body, key=lambda r: -num(r[col]))[:40]:
    print(f'{num(r[col]):8.0f}  {r[hdr.index("Source")][:100]}')
PY
date -u
