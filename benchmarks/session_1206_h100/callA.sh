#!/usr/bin/env bash
# callA (2026-12-06): the GPU suite of HEAD on the device's torch 2.11 /
# Triton 3.6, all but the compile tests (callB) and the full-size dense
# configs (need mmcv with ops): ops, models, tools, with mamba-ssm built on
# the machine and the parity fixtures carried (.fixtures, MMMAMBA_FIXTURES).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p "$OUT/callA"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c "import torch, triton; print(torch.__version__, triton.__version__)"
} > "$OUT/callA/env.txt" 2>&1
bash tools/analysis_tools/build_mamba_ssm_cuda.sh \
    .whl/mamba_ssm-2.3.2.post1.tar.gz "$PWD/.mssm" 90 \
    > "$OUT/callA/build_mamba_ssm.log" 2>&1 || echo "mamba-ssm build failed"
export PYTHONPATH="$PYTHONPATH:$PWD/.mssm"
export MMMAMBA_FIXTURES="$PWD/.fixtures"
timeout 470 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 200 \
    -rfEs tests --ignore=tests/test_models/test_model_compile.py \
    --ignore=tests/test_downstream > "$OUT/callA/gpu_suite.log" 2>&1
echo "pytest rc $?"
tail -30 "$OUT/callA/gpu_suite.log"
