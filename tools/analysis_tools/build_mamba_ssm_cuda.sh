#!/usr/bin/env bash
# Build mamba-ssm's CUDA selective scan (`selective_scan_cuda`) for one GPU
# architecture, so that benchmark_scan.py can time it beside our kernels in
# the same run. Only the selective-scan extension is compiled (no
# causal-conv1d), for sm_90 by default: about 3 minutes on 16 cores.
#
#   bash tools/analysis_tools/build_mamba_ssm_cuda.sh SDIST.tar.gz TARGET [ARCH]
#
# SDIST: mamba-ssm's source distribution from PyPI, e.g. fetched with
#   MAMBA_FORCE_BUILD=TRUE MAMBA_SKIP_CUDA_BUILD=TRUE pip download --no-deps \
#       --no-binary :all: --no-build-isolation mamba-ssm==2.3.2.post1
# TARGET: folder that receives `mamba_ssm/` and `selective_scan_cuda*.so`; put
#   it on PYTHONPATH afterwards.
set -euo pipefail
sdist="$1"; target="$2"; arch="${3:-90}"
work="$(mktemp -d)"
tar -xzf "$sdist" -C "$work"
src="$(ls -d "$work"/mamba_ssm-*)"
# setup.py hard-codes gencode flags for every architecture from sm_75 up:
# keep only the one we run on. torch >= 2.10's headers need C++20.
python3 - "$src/setup.py" "$arch" <<'PY'
import re, sys
path, arch = sys.argv[1], sys.argv[2]
s = open(path).read()
anchor = '    # HACK: The compiler flag -D_GLIBCXX_USE_CXX11_ABI'
assert anchor in s, 'mamba-ssm setup.py layout changed'
s = s.replace(anchor, f'    cc_flag = ["-gencode", "arch=compute_{arch},code=sm_{arch}"]\n'
              + anchor)
s = s.replace('"-std=c++17"', '"-std=c++20"')
open(path, 'w').write(s)
PY
cd "$src"
MAMBA_FORCE_BUILD=TRUE MAX_JOBS="$(nproc)" python3 setup.py -q build_ext --inplace
mkdir -p "$target"
cp selective_scan_cuda*.so "$target/"
cp -r mamba_ssm "$target/"
echo "built $(ls "$target"/selective_scan_cuda*.so)"
