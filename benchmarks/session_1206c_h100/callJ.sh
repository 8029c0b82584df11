#!/usr/bin/env bash
# callJ (2026-12-06, third part; BiMamba passing contiguous (E, K) taps),
# run as this one command line:
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1; export PYTHONPATH=.:/tmp/site; D=$OUT/callJ; mkdir -p $D; for a in "2048 64" "1248 8"; do set -- $a; timeout 45 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny --resolutions $1 --batch-size $2 --precisions bf16 --warmup 5 --repeats 15 --kernel-time 3 --cuda-graph --no-plot --out-dir $D/r$1b$2 > $D/r$1b$2.log 2>&1; echo "rc $?"; grep "img/s" $D/r$1b$2.log | grep -v Warn; done
