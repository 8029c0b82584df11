#!/bin/bash
# Call K (2026-12-05, seventh part): register caps for the batch-8
# pre-pass (ScanConfig.pre_maxnreg: more resident one-warp programs), on
# the default 8 x 16 tile (72: no spills offline; 64: 2 spill
# instructions in the loop) and with pre_td_first (16 x 8 at 96, 8 x 16
# at 80). Mixer core kernel ms at 1248² / 2048² b8, default first and
# last.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callK
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
TILES='def,def+pr72,def+pr64,def+p16t8+ptd,def+p16t8+ptd+pr96,def+ptd+pr80,def' SHAPES='1248x8,2048x8' timeout 300 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callK/pre.log
date -u
