# Copyright (c) mmmamba contributors. All rights reserved.
"""Vim's input tokens for inference in one op: the non-overlapping patch
conv, the middle class token and the position embedding::

    tokens = conv(x, weight, bias, stride=p).flatten(2).transpose(1, 2)
    tokens = cat(tokens[:, :c], cls_token, tokens[:, c:]) + pos_embed

with ``c = Hp * Wp // 2``, the conv run in the weight's 16-bit dtype
(autocast's) and its rounded output added to the fp32 embeddings.

Backends (one file each):

* ``'reference'`` (:mod:`.reference`): that composition in PyTorch. The
  oracle.
* ``'triton'`` (:mod:`.triton_kernels`): one GEMM kernel that gathers the
  patches from the image by index arithmetic (no patch copy) and adds the
  bias, the rounding and the position embedding in its epilogue, writing
  the tokens around the class token's row (one small add fills that row).
  Forward only: ``VisionMamba`` runs it for inference under 16-bit
  autocast on CUDA (``vision_mamba.FUSED_TOKENS``).

``backend='auto'`` picks ``'triton'`` for CUDA tensors (or CPU tensors under
``TRITON_INTERPRET=1``) when triton imports and the weight is bf16 or fp16;
``'reference'`` otherwise.
"""
from typing import Optional

import torch
from torch import Tensor

from .._utils import is_triton_available, triton_interpret
from .reference import patch_tokens_ref

__all__ = ['patch_tokens', 'patch_tokens_ref', 'PATCH_TOKENS_BACKENDS']

PATCH_TOKENS_BACKENDS = ('auto', 'reference', 'triton')


def _triton_runs(x: Tensor, weight: Tensor) -> bool:
    """Whether the Triton kernel can run these tensors."""
    return ((x.device.type == 'cuda' or triton_interpret())
            and weight.dtype in (torch.bfloat16, torch.float16)
            and is_triton_available())


def patch_tokens(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                 pos_embed: Tensor, cls_token: Optional[Tensor],
                 patch_size: int, backend: str = 'auto') -> Tensor:
    """Vim's input tokens from an image batch (module docstring).

    Args:
        x (Tensor): (B, C, Hp * p, Wp * p) images, p = ``patch_size``.
        weight (Tensor): the patch conv's weight (D, C, p, p) in the
            compute dtype (bf16 / fp16 under autocast).
        bias (Tensor | None): (D,) conv bias, cast to the weight's dtype.
        pos_embed (Tensor): (1, T, D) position embedding (fp32 for the
            Triton backend), T = Hp * Wp (+ 1 with a class token).
        cls_token (Tensor | None): (1, 1, D) class token, inserted at
            ``Hp * Wp // 2``.
        patch_size (int): the conv's kernel and stride.
        backend (str): 'auto', 'reference' or 'triton'.

    Returns:
        Tensor: (B, T, D) tokens (fp32 for fp32 embeddings).
    """
    if backend not in PATCH_TOKENS_BACKENDS:
        raise ValueError(f'patch_tokens: unknown backend {backend!r}; '
                         f'choose one of {PATCH_TOKENS_BACKENDS}')
    if backend == 'auto':
        backend = 'triton' if _triton_runs(x, weight) else 'reference'
    if backend == 'reference':
        return patch_tokens_ref(x, weight, bias, pos_embed, cls_token,
                                patch_size)
    if not is_triton_available():
        raise RuntimeError("patch_tokens: backend 'triton' needs the triton "
                           "package (pip install triton); use backend="
                           "'reference'")
    if x.device.type != 'cuda' and not triton_interpret():
        raise ValueError("patch_tokens: backend 'triton' runs CUDA tensors "
                         '(or CPU tensors under TRITON_INTERPRET=1); got '
                         f'{x.device.type}')
    from .triton_kernels import patch_tokens_fwd
    return patch_tokens_fwd(x, weight, bias, pos_embed, cls_token,
                            patch_size)
