#!/bin/bash
# Write head_kernels.py beside this script: commit 3ba1cd8's (the session's
# start) mmmamba/ops/selective_scan/triton_kernels.py with its relative
# imports made absolute, so that bwd_ab.py times the previous backward beside
# the working tree's in one process. Run it from the repository root before a
# device call and name the file in the call's carry list (git ignores it).
set -euo pipefail
git show 3ba1cd8:mmmamba/ops/selective_scan/triton_kernels.py | sed \
    -e 's/^from \.\._utils import/from mmmamba.ops._utils import/' \
    -e 's/from \.triton_steps import/from mmmamba.ops.selective_scan.triton_steps import/' \
    > "$(dirname "$0")/head_kernels.py"
