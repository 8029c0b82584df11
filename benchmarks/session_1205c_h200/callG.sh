#!/bin/bash
# Call G (prepared 2026-12-05, third part; no device that session): where
# the batch-8 scan's time goes.
# b8_tiles.py: the mixer core's kernels for split, lane-split and
# fewer-register tiles, and the pre-pass on its own tile (~60 kernels to
# compile).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1205c_h200
mkdir -p $OUT/callG
export PYTHONPATH=.:/tmp/site
date -u
timeout 520 python3 $S/b8_tiles.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callG/b8_tiles.log
date -u
