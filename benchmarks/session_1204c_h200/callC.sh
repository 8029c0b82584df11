#!/bin/bash
# Call C: the committed tree, Vim-Ti against DeiT-Ti (SDPA), bf16 eager inference, speed and peak memory at every resolution from 738² to 2048², batch 64 and batch 8 (benchmark_backbone.py, gc + empty_cache between points)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callC
date -u; uptime
export PYTHONPATH=.:/tmp/site
for b in 64 8; do
  timeout 280 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 738 1024 1248 1536 2048 --batch-size $b --precisions bf16 --warmup 5 --repeats 15 --no-plot --out-dir $OUT/callC/b$b > $OUT/callC/b$b.log 2>&1; echo rc=$?
  grep -v "Warn\|warn" $OUT/callC/b$b/summary.md | tail -16
done
