#!/bin/bash
# Call C: the GPU tests callB's limit cut (mixer, conv, Vision Mamba, bidirectional scan); Vim-Ti training step (compiled, reduce-overhead) with the new forward defaults
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
export MMMAMBA_FIXTURES=$PWD/.dev/fixtures
mkdir -p $OUT/callC
T() { local t=$1; shift; local name=$1; shift; echo "=== $name $(date +%T)"; timeout $t "$@" > $OUT/callC/$name.log 2>&1; echo "rc=$?"; grep -v "Warning\|warn\|^$" $OUT/callC/$name.log | tail -${TAILN:-12}; }
TAILN=8 T 200 gpu_tests python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_models/test_layers/test_bimamba.py tests/test_ops/test_causal_conv1d.py tests/test_models/test_backbones/test_vision_mamba.py tests/test_ops/test_bidir_scan.py -k "not mamba_ssm"
TAILN=30 T 170 train_step python3 tools/analysis_tools/profile_train_step.py --compile reduce-overhead vim-tiny --top 12
