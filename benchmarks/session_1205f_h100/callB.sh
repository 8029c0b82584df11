#!/bin/bash
# Call B (2026-12-05, sixth part): Vim-Ti end to end at 1248² and 2048² b8
# (bf16, kernel time), the default against the split inference configs
# with l1_ahead = 2 (bench_l1.py), DeiT-Ti beside them.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callB
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
D=benchmarks/session_1205f_h100
A="--resolutions 1248 2048 --batch-size 8 --precisions bf16 --warmup 5 --repeats 15 --kernel-time --no-plot"
timeout 150 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa $A --out-dir $OUT/callB/def > $OUT/callB/def.log 2>&1; echo rc=$?
L1=2 timeout 150 python3 $D/bench_l1.py --models vim-tiny $A --out-dir $OUT/callB/l1 > $OUT/callB/l1.log 2>&1; echo rc=$?
timeout 150 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny $A --out-dir $OUT/callB/def2 > $OUT/callB/def2.log 2>&1; echo rc=$?
grep -h "img/s" $OUT/callB/def.log $OUT/callB/l1.log $OUT/callB/def2.log
date -u
