#!/bin/bash
# Call I (prepared 2026-12-05, fourth part; no device that session): Vim's
# eager inference core on the ops' launchers (BiMamba._forward_core_launched)
# against HEAD 85d0c40 (the tree's mmmamba before it, carried as .head_src).
# 1. GPU tests: the launchers' core against the ops bit for bit, the
#    rewritten prologue-weights test, the inference-vs-training test.
# 2. host_overhead.py on CUDA (µs per call of one Vim-Ti layer's pieces,
#    B=1 L=197), head and tree in alternating processes, two rounds.
# 3. Vim-Ti eager wall ms per batch at 224² b1 and 1248² b8
#    (session_1204e_h200/host_ab.py), head and tree alternating, two rounds.
# 4. The one GPU test that failed without its cause captured (2026-12-02):
#    VMamba-T under torch.compile(mode='reduce-overhead'), bf16 inference,
#    with the whole traceback this time.
# Run with carry [".whl", ".head_src"], after, here:
#   rm -rf .head_src && mkdir .head_src && git archive 85d0c40 mmmamba | tar -x -C .head_src
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callI
date -u; uptime
PYTHONPATH=.:/tmp/site timeout 150 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA -k "launcher or prologue_weights or fused_inference_path" tests/test_models/test_layers/test_bimamba.py > $OUT/callI/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "PASSED|FAILED|ERROR|passed|failed" $OUT/callI/gpu_tests.log | tail -10
for round in 1 2; do
  for run in "head .head_src" "tree ."; do
    set -- $run
    echo "round $round $1" | tee -a $OUT/callI/host.log $OUT/callI/e2e.log
    PYTHONPATH=$2:/tmp/site timeout 60 python3 tools/analysis_tools/host_overhead.py --device cuda 2>&1 | grep "^|" | tee -a $OUT/callI/host.log
    LABEL=$1 PYTHONPATH=$2:/tmp/site SHAPES=224x1,1248x8 timeout 100 python3 benchmarks/session_1204e_h200/host_ab.py 2>&1 | grep "ms/batch" | tee -a $OUT/callI/e2e.log
  done
done
PYTHONPATH=.:/tmp/site timeout 240 python3 -m pytest -m gpu -p no:cacheprovider --tb=long -rA -x -k "reduce_overhead_bf16_inference and vmamba" tests/test_models/test_model_compile.py > $OUT/callI/vmamba_reduce_overhead.log 2>&1; echo vmamba reduce-overhead rc=$?
grep -E "PASSED|FAILED|ERROR|Error|passed|failed" $OUT/callI/vmamba_reduce_overhead.log | tail -12
date -u
