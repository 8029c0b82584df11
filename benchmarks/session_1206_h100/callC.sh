#!/usr/bin/env bash
# callC (2026-12-06): batch-64 main-kernel tiles A/B. The unsplit batch-64
# inference forward runs d16 t8 (a channel's 16 states over 2 lanes, the
# register prefetch, 1536 one-warp programs per direction); batch 8 runs
# d32 t8 (one lane per channel) pipelined by Triton (4 stages, fp32 B and C)
# in 16 segments. Never timed at batch 64: the batch-8 main tile unsplit
# (768 programs per direction), with 3 / 4 stages, with and without the
# 168-register cap; d16 t8 pipelined with fp32 B and C at 4 stages; d32 t8
# in 2 segments (1536 programs, a pre-pass over half the sequence).
# Mixer core kernel ms per call (benchmarks/session_1205c_h200/b8_tiles.py).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p "$OUT/callC"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$OUT/callC/env.txt" 2>&1
TILES='def,d32t8s1wr168+f+s4,d32t8s1w+f+s4,d32t8s1wr168+f+s3,d32t4s1wr168,d16t8s1wr168+f+s4,d32t8s2wr168+f+s4+p16t8+ptd,def' \
SHAPES='1248x64,2048x64' timeout 400 \
    python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 \
    | grep -v "Warn\|warn" | tee "$OUT/callC/b64_tiles.log"
date -u >> "$OUT/callC/env.txt"
