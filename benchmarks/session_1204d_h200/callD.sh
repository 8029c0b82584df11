#!/bin/bash
# Call D: the time-major forward under register caps and with 8 channels per program (scan_caps.py), the same script twice (the first run compiles)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204d_h200
mkdir -p $OUT/callD
export PYTHONPATH=.:/tmp/site
date -u
timeout 200 python3 $S/scan_caps.py 2>&1 | grep -v "Warn\|warn" > /dev/null
timeout 150 python3 $S/scan_caps.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callD/scan_caps.log
