#!/bin/bash
# Call P (2026-12-05, seventh part): conv + projection kernel configs
# (sweep_convproj.py) at Vim-Ti's inference shapes, H100, timed on the
# kernel alone (TIMER=profiler): callO's do_bench timing counted the
# host's launch work, which bounds 1248² b8 and 224² b128.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callP
export PYTHONPATH=.:/tmp/site
date -u
TIMER=profiler timeout 400 python3 benchmarks/session_1205g_h100/sweep_convproj.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callP/sweep.log
date -u
