#!/bin/bash
# Call F: the bidirectional scan op alone against the copies + two scans + add/halve it replaced (benchmark_bidir_scan.py, bf16; never timed on a GPU before)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callF
export PYTHONPATH=.:/tmp/site
date -u
timeout 150 python3 tools/analysis_tools/benchmark_bidir_scan.py --dtypes bf16 --out $OUT/callF/bidir_scan.md > $OUT/callF/bidir_scan.log 2>&1; echo rc=$?
grep -v "Warn\|warn" $OUT/callF/bidir_scan.log
