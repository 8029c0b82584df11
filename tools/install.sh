#!/usr/bin/env bash
# Set up everything mmmamba needs in ./.venv: torch, the OpenMMLab stack (mmengine,
# mmcv with compiled ops, mmpretrain, mmdet, mmsegmentation), triton, mamba-ssm's
# Python package, test tools, and mmmamba itself (editable).
#
# Idempotent: a stamp in .venv records a hash of requirements/ and this script; when
# it matches, the script returns in about a second. Measured on this 2-core machine:
# 16 min from nothing while other jobs shared the cores (mmcv's compile took 14 min of
# it); about 2.5 min with the mmcv wheel cached.
#
# Environment:
#   PYTHON               interpreter for the venv (default: python3, needs 3.9-3.12)
#   MMMAMBA_VENV         venv folder (default: .venv in the repository)
#   MMMAMBA_WHEEL_CACHE  where the built mmcv wheel is kept and looked up first
#                        (default: ~/.cache/mmmamba/wheels)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMMAMBA_VENV:-$ROOT/.venv}"
WHEELS="${MMMAMBA_WHEEL_CACHE:-$HOME/.cache/mmmamba/wheels}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.mmmamba-installed"
MMCV_VERSION=2.1.0

want_stamp="$(cat "$ROOT"/requirements/*.txt "$ROOT/tools/install.sh" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]]; then
    exit 0
fi

log() { printf '[install %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

[[ -x "$VENV/bin/python" ]] || { log "creating $VENV"; "$PY" -m venv "$VENV"; }
VPY="$VENV/bin/python"
PIP=("$VPY" -m pip install --disable-pip-version-check -q)

log "torch, build tools"
"${PIP[@]}" -r "$ROOT/requirements/torch.txt"
"${PIP[@]}" -r "$ROOT/requirements/build.txt"
"${PIP[@]}" -r "$ROOT/requirements/runtime.txt"

if ! "$VPY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
    mkdir -p "$WHEELS"
    # A wheel built against another torch would fail to load its ops: key the cache by torch version.
    torch_tag="$("$VPY" -c 'import torch; print(torch.__version__.replace("+", "_"))')"
    cached="$WHEELS/torch-$torch_tag"
    if ! ls "$cached"/mmcv-$MMCV_VERSION-*.whl >/dev/null 2>&1; then
        log "building mmcv $MMCV_VERSION with ops (10-15 minutes on 2 cores)"
        src="$(mktemp -d)"
        "$VPY" -m pip download -q --no-deps --no-binary :all: --no-build-isolation \
            "mmcv==$MMCV_VERSION" -d "$src"
        tar -xzf "$src"/mmcv-$MMCV_VERSION.tar.gz -C "$src"
        # torch >= 2.10's headers refuse C++17 ("C++20 or later compatible compiler is
        # required to use ATen"), and mmcv's setup.py appends -std=c++17 after any
        # CFLAGS, so the flag itself has to be patched. No mmcv release fixes this.
        sed -i 's/-std=c++17/-std=c++20/g' "$src/mmcv-$MMCV_VERSION/setup.py"
        # -g0 shrinks the wheel from 32 MB to 1.4 MB and cuts the compile by ~30%; the
        # other flags keep setuptools' defaults (plain CFLAGS=-g0 would drop -O3).
        # --no-build-isolation: build against the torch in this venv, not a downloaded one.
        mkdir -p "$cached"
        MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" CFLAGS="-DNDEBUG -g0 -fwrapv -O3 -Wall" \
            "$VPY" -m pip wheel -q --no-build-isolation --no-deps \
            "$src/mmcv-$MMCV_VERSION" -w "$cached"
        rm -rf "$src"
    else
        log "using cached mmcv wheel from $cached"
    fi
    "${PIP[@]}" --no-deps "$cached"/mmcv-$MMCV_VERSION-*.whl
    # mmcv's own runtime dependencies (addict, yapf, opencv, ...), without touching torch.
    "${PIP[@]}" addict packaging Pillow pyyaml yapf opencv-python-headless numpy
fi

log "OpenMMLab toolboxes, extras, test tools"
"${PIP[@]}" -r "$ROOT/requirements/downstream.txt" -r "$ROOT/requirements/tests.txt"
"${PIP[@]}" triton
# mamba-ssm's default build downloads a prebuilt CUDA binary from the internet and its
# dependencies add ~700 MB we do not use; install only its Python package. Its CUDA
# scan stays unavailable here, which mmmamba detects (backend 'mamba_ssm').
if ! "$VPY" -m pip show -q mamba-ssm >/dev/null 2>&1; then
    MAMBA_FORCE_BUILD=TRUE MAMBA_SKIP_CUDA_BUILD=TRUE \
        "${PIP[@]}" --no-build-isolation --no-deps "$(grep '^mamba-ssm' "$ROOT/requirements/optional.txt")"
fi
"${PIP[@]}" --no-build-isolation --no-deps -e "$ROOT"

"$VPY" -c "import mmcv.ops, mmdet.models, mmseg.models, mmpretrain.models, mmmamba" \
    || { log "import check failed"; exit 1; }
echo "$want_stamp" > "$STAMP"
log "done: $VENV"
