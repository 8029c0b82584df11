#!/bin/bash
# Call G (2026-12-05, sixth part): the pipelined split main kernel on
# 8-step chunks (d32 t8: offline 6.98 / 7.72 loop instructions per state
# update against t4's 7.55 / 8.39, 158-160 registers both) and with 6
# stages. Mixer core kernel ms at 1248² / 2048² b8.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callG
export PYTHONPATH=.:/tmp/site
date -u
TILES='def,d32t8s16wr168+p8t16+s4,d32t8s16wr168+p8t16+s6,def+s6,def' SHAPES='1248x8,2048x8' timeout 170 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callG/t8.log
date -u
