#!/bin/bash
# Call O (2026-12-05, seventh part): conv + projection kernel configs
# (sweep_convproj.py) at Vim-Ti's inference shapes, H100.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callO
export PYTHONPATH=.:/tmp/site
date -u
timeout 400 python3 benchmarks/session_1205g_h100/sweep_convproj.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callO/sweep.log
date -u
