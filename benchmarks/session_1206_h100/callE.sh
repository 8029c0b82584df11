#!/usr/bin/env bash
# callE (prepared 2026-12-06, not run: the device budget was spent): the
# GPU files callA did not reach, one pytest run per file with -v (so a cap
# shows which tests ran): RMSNorm, selective scan (with this session's
# unsplit pipelined test), SS2D scan, tools; then the compile file. Needs
# the parity fixtures carried (.fixtures) and mamba-ssm (built here if the
# machine has no .mssm). About 10 minutes in all: run it in two calls
# (FILES=... to pick) if one call's 600 s does not hold it.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p "$OUT/callE"
date -u > "$OUT/callE/env.txt"
if ! ls .mssm/selective_scan_cuda*.so >/dev/null 2>&1; then
    bash tools/analysis_tools/build_mamba_ssm_cuda.sh \
        .whl/mamba_ssm-2.3.2.post1.tar.gz "$PWD/.mssm" 90 \
        > "$OUT/callE/build_mamba_ssm.log" 2>&1 || echo "mamba-ssm build failed"
fi
export PYTHONPATH="$PYTHONPATH:$PWD/.mssm"
export MMMAMBA_FIXTURES="$PWD/.fixtures"
FILES=${FILES:-"tests/test_ops/test_rms_norm.py tests/test_ops/test_selective_scan.py tests/test_ops/test_ss2d_scan.py tests/test_tools tests/test_models/test_model_compile.py"}
for f in $FILES; do
    log="$OUT/callE/$(basename "$f" .py).log"
    timeout 280 python3 -m pytest -m gpu -v -p no:cacheprovider \
        --timeout 200 -rfEs "$f" > "$log" 2>&1
    echo "$f rc $?"; grep -E "passed|failed" "$log" | tail -1
done
date -u >> "$OUT/callE/env.txt"
