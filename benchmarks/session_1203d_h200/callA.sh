#!/bin/bash
# Call A: where Vim-Ti's inference time and memory go (1248² b64, 2048² b8, bf16); one-direction-at-a-time inference vs both; the B/C test of the step-loop forward
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH=.:/tmp/site:.whl/mmcvsite
mkdir -p $OUT/callA
S=benchmarks/session_1203d_h200
P=tools/analysis_tools/profile_train_step.py
timeout 170 python3 $S/ab_infer.py 2>&1 | grep -v Warn | tee $OUT/callA/ab_infer.log
{ timeout 40 python3 $S/mem_vim.py 1248 64; timeout 40 python3 $S/mem_vim.py 1248 64 bidir; } 2>&1 | grep -v Warn | tee $OUT/callA/mem.log
timeout 90 python3 $P --inference vim-tiny deit-tiny-sdpa --batch-size 64 --resolution 1248 --top 30 2>&1 | grep -v Warn | tee $OUT/callA/prof_1248_b64.log
timeout 150 python3 $P --inference vim-tiny --compile --batch-size 64 --resolution 1248 --top 30 2>&1 | grep -v Warn | tee $OUT/callA/prof_1248_b64_compiled.log
timeout 60 python3 $S/../session_1203c_h200/time_bc.py 2>&1 | grep -v Warn | tee $OUT/callA/time_bc.log
timeout 120 python3 -m pytest -q -m gpu -p no:cacheprovider tests/test_models/test_layers/test_bimamba.py tests/test_ops/test_causal_conv1d.py 2>&1 | tail -8 | tee $OUT/callA/gpu_tests.log
