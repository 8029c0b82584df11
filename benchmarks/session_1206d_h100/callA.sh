#!/usr/bin/env bash
# callA (2026-12-06, fourth part): the conv + projection of both
# directions in one launch. (1) GPU tests of the conv + projection kernel
# (all but the row-group sweep test) and of BiMamba; (2)
# conv_bidir_bench.py: kernel ms per mixer core, two launches against one,
# with the model's layouts.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callA"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 330 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 150 \
    -rfEs tests/test_ops/test_conv_proj.py -k "not row_group" \
    > "$D/tests_conv_proj.log" 2>&1
echo "conv_proj tests rc $?"; tail -3 "$D/tests_conv_proj.log"
timeout 150 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 100 \
    -rfEs tests/test_models/test_layers/test_bimamba.py \
    > "$D/tests_bimamba.log" 2>&1
echo "bimamba tests rc $?"; tail -3 "$D/tests_bimamba.log"
timeout 100 python3 benchmarks/session_1206d_h100/conv_bidir_bench.py \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; cat "$D/bench.log"
