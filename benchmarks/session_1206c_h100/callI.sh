#!/usr/bin/env bash
# callI (2026-12-06, third part), run as this one command line:
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1; export PYTHONPATH=.:/tmp/site; mkdir -p $OUT/callI; timeout 90 python3 benchmarks/session_1206c_h100/conv_taps_check2.py 2>&1 | grep -v -i warn | tee $OUT/callI/check.log | tail -12
