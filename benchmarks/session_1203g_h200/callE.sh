#!/bin/bash
# Call E: the conv + projection op under torch.compile / CUDA graphs on the GPU (compile and backbone GPU tests with Vim), compiled Vim-Ti inference at batch 8 vs DeiT-Ti
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p $OUT/callE
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callE/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callE/$name.log | tail -${TAILN:-12}; }
TAILN=6 T 240 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_models/test_model_compile.py tests/test_models/test_backbones/test_vision_mamba.py -k "(vim or vision_mamba) and not mamba_ssm and not reference"
TAILN=20 T 200 compiled_infer python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size 8 --precisions bf16 --compile reduce-overhead --out-dir $OUT/callE --no-plot
