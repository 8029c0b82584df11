#!/bin/bash
# Call E: tools/analysis_tools/peak_memory.py (mem_peak.py made a tool) on the committed tree: Vim-Ti and DeiT-Ti at 1248² b8 and 738² b64 in one process (gc between points)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callE
export PYTHONPATH=.:/tmp/site
date -u
timeout 200 python3 tools/analysis_tools/peak_memory.py --models vim-tiny deit-tiny-sdpa --shapes 1248x8 738x64 > $OUT/callE/peak_memory.md 2>$OUT/callE/stderr.log; echo rc=$?
cat $OUT/callE/peak_memory.md
