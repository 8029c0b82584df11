#!/bin/bash
# Calls F1 / F2 (20:06, 20:08 UTC; commit f8a72ff; output not written to files, quoted in NOTES.md): the bidirectional scan's GPU tests, split to fit the call
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1; export PYTHONPATH=.:/tmp/site; date -u; timeout 270 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_bidir_scan.py -k "224" 2>&1 | grep -E "PASSED|FAILED|ERROR|passed|failed|Error" | tail -8; timeout 60 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_bidir_scan.py -k "1248 and vim and bfloat16" 2>&1 | grep -E "PASSED|FAILED|ERROR|passed|failed" | tail -4; date -u
# F2:
export PYTHONPATH=.:/tmp/site; date -u; timeout 190 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_bidir_scan.py -k "1248-b8-vim-dtype1" 2>&1 | grep -E "PASSED|FAILED|ERROR|passed|failed|deselected" | tail -4; date -u
