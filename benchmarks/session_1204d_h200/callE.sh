#!/bin/bash
# Call E: the committed tree (patch GEMM, conv + projection config, the register cap of the unsplit inference scan). The cap re-timed in the other order (cap first); Vim-Ti against DeiT-Ti SDPA, bf16 eager inference, 738²-2048², batch 64 and 8 (benchmark_backbone.py); GPU tests of the changed code
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204d_h200
mkdir -p $OUT/callE
export PYTHONPATH=.:/tmp/site
date -u; uptime
CAPS=168,0,168,0 SHAPES="Vim-Ti 1248² b64,Vim-Ti 224² b128" timeout 120 python3 $S/scan_caps.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callE/scan_caps.log
for b in 64 8; do
  timeout 200 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 738 1024 1248 1536 2048 --batch-size $b --precisions bf16 --warmup 5 --repeats 15 --no-plot --out-dir $OUT/callE/b$b > $OUT/callE/b$b.log 2>&1; echo rc=$?
  grep "^| " $OUT/callE/b$b/summary.md | tail -18
done
date -u
timeout 150 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_models/test_layers/test_embed.py tests/test_ops/test_conv_proj.py tests/test_models/test_backbones/test_vision_mamba.py tests/test_ops/test_selective_scan.py -k "not mamba_ssm" > $OUT/callE/gpu_tests.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callE/gpu_tests.log | tail -6
