#!/bin/bash
# Call D: the committed tree: Vim-Ti against DeiT-Ti SDPA, bf16 eager inference, 738²-2048², batch 64 and 8 (benchmark_backbone.py); GPU tests of the backbone
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callD
export PYTHONPATH=.:/tmp/site
date -u; uptime; git log --oneline -1 2>/dev/null
for b in 64 8; do
  timeout 200 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 738 1024 1248 1536 2048 --batch-size $b --precisions bf16 --warmup 5 --repeats 15 --no-plot --out-dir $OUT/callD/b$b > $OUT/callD/b$b.log 2>&1; echo rc=$?
  grep "^| " $OUT/callD/b$b/summary.md | tail -12
done
date -u
timeout 70 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_models/test_backbones/test_vision_mamba.py > $OUT/callD/gpu_tests.log 2>&1; echo rc=$?
grep -E "PASSED|FAILED|ERROR|SKIPPED|passed|failed" $OUT/callD/gpu_tests.log | tail -6
date -u
