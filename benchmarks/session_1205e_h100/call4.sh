#!/bin/bash
# Call 4 (2026-12-05, fifth part). carry [".whl", ".head_src"]; .head_src/
# mmmamba = `git archive HEAD mmmamba` (the scan kernels before the
# deferred widening of prefetched chunks).
# (1) GPU tests: LayerNorm2d (AUTO_TRITON on, the reference's mixed-dtype
#     fix), the scan's widen / pre-pass / 1248² parity, the launchers.
# (2) A/B of the mixer core's kernels, HEAD vs tree, alternating, two
#     rounds: b8_tiles.py with the default and the pre-pass on 8x16 tiles,
#     1248² / 2048² b8 and 1248² b64.
# (3) The README table's command at 1248² / 2048² b8 on the tree.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/call4
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 200 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_layer_norm2d.py tests/test_ops/test_selective_scan.py tests/test_models/test_layers/test_bimamba.py -k "layer_norm or widen_bc or pre_pass or vim-ti-1248 or launch" > $OUT/call4/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(FAILED|ERROR)|passed|failed" $OUT/call4/gpu_tests.log | tail -12
export TILES='def,def+p8t16' SHAPES='1248x8,2048x8,1248x64'
for r in 1 2; do
  for tree in head tree; do
    if [ $tree = head ]; then P=.head_src:/tmp/site; else P=.:/tmp/site; fi
    echo "== round $r $tree"
    PYTHONPATH=$P python3 -c "import mmmamba; print(mmmamba.__file__)"
    PYTHONPATH=$P timeout 150 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn"
  done
done 2>&1 | tee $OUT/call4/ab.log
date -u
timeout 150 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size 8 --precisions bf16 --warmup 5 --repeats 15 --kernel-time --no-plot --out-dir $OUT/call4/b8 > $OUT/call4/b8.log 2>&1; echo rc=$?
grep -E "img/s" $OUT/call4/b8.log
date -u
