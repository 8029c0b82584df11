#!/usr/bin/env bash
# callB (2026-12-06), run inline on the machine callA left warm (mamba-ssm
# in .mssm): Vim-Ti's reduce-overhead bf16 inference compile test, which
# failed in callZ2 of 2026-12-05 (a bool tuple index under torch 2.11's
# Dynamo) and was fixed after it without a GPU rerun. The whole compile
# file was planned here; callA's overrun left the budget for this one test.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site:$PWD/.mssm
mkdir -p $OUT/callB; date -u > $OUT/callB/env.txt
timeout 200 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 180 -rfEs tests/test_models/test_model_compile.py -k "reduce_overhead and triton-vim" > $OUT/callB/compile_gpu_vim_ro.log 2>&1; echo rc $?
grep -E "PASS|FAIL|ERROR|passed|failed" $OUT/callB/compile_gpu_vim_ro.log | tail -8; date -u >> $OUT/callB/env.txt
