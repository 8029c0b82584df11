#!/bin/bash
# Call D: Vim-Ti and DeiT-Ti inference under torch.compile(mode='reduce-overhead') (CUDA graphs: no per-kernel host cost) at batch 8
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
mkdir -p $OUT/callD
timeout 270 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size 8 --precisions bf16 --compile reduce-overhead --out-dir $OUT/callD --no-plot > $OUT/callD/compiled_infer.log 2>&1; echo rc=$?
grep -v "Warning\|warn\|^$" $OUT/callD/compiled_infer.log | tail -20
