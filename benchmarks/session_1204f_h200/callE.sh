#!/bin/bash
# Call E: the committed tree (8cc1586): Vim-Ti against DeiT-Ti SDPA, bf16 eager inference, 738²-2048², batch 64 and 8 (benchmark_backbone.py, the README table's command)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callE
export PYTHONPATH=.:/tmp/site
date -u; uptime
for b in 64 8; do
  timeout 190 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 738 1024 1248 1536 2048 --batch-size $b --precisions bf16 --warmup 5 --repeats 15 --no-plot --out-dir $OUT/callE/b$b > $OUT/callE/b$b.log 2>&1; echo rc=$?
  grep "^| " $OUT/callE/b$b/summary.md | tail -12
done
date -u
