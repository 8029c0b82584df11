#!/usr/bin/env bash
# callH (2026-12-06, third part), run as this one command line:
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1; export PYTHONPATH=.:/tmp/site; mkdir -p $OUT/callH; timeout 100 python3 benchmarks/session_1206c_h100/conv_taps_check.py 2>&1 | grep -v Warn | tee $OUT/callH/check.log | tail -5
