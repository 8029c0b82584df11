#!/bin/bash
# Call 2 (2026-12-05, fifth part): callG's b8_tiles.py (session_1205c_h200)
# with the launcher-cache fix, on the tiles that decide the batch-8 split:
# the default, its pre-pass on three tiles of its own, fewer-register main
# tiles with more segments, and the one-pass lane-split d8 t16 (earlier
# sweeps had the other lane-split tiles ~2x slower).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p $OUT/call2
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export TILES='def,def+p16t8,def+p16t4,def+p8t16,d32t2s32w,d32t2s32wr128+p16t8,d16t4s16w,d16t4s16w+p16t8,d8t16s1w'
timeout 560 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/call2/b8_tiles.log
date -u
