#!/bin/bash
# Call E (2026-12-05, sixth part): the pre-pass software-pipelined too
# (ScanConfig.pre_stages), on the main kernel's tile (d32 t4), d32 t8 and
# today's 8x16, with the new defaults (fp32 B and C, main kernel
# pipelined). Mixer core kernel ms at 1248² / 2048² b8.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callE
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
TILES='def,def+p32t4+ps4,def+p32t8+ps4,def+p32t4+ps3,def+ps4,def+p32t4,def' SHAPES='1248x8,2048x8' timeout 280 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callE/pre.log
date -u
