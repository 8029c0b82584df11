#!/bin/bash
# Call C: the committed tree, Vim-Ti against DeiT-Ti (SDPA), bf16 eager inference, speed and peak memory at every resolution from 738² to 2048², batch 64 and batch 8 (benchmark_backbone.py, gc + empty_cache between points); then the GPU tests of the changed ops that callB's time limit cut
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callC
date -u; uptime
export PYTHONPATH=.:/tmp/site
for b in 64 8; do
  timeout 200 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 738 1024 1248 1536 2048 --batch-size $b --precisions bf16 --warmup 5 --repeats 15 --no-plot --out-dir $OUT/callC/b$b > $OUT/callC/b$b.log 2>&1; echo rc=$?
  grep "^| " $OUT/callC/b$b/summary.md | tail -18
done
date -u
timeout 190 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_rms_norm.py tests/test_models/test_backbones/test_vision_mamba.py tests/test_models/test_layers/test_bimamba.py tests/test_ops/test_bidir_scan.py tests/test_ops/test_selective_scan.py -k "not mamba_ssm" > $OUT/callC/gpu_tests.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callC/gpu_tests.log | tail -6
