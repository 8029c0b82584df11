# Copyright (c) mmmamba contributors. All rights reserved.
"""The unfused composition of Vim's input tokens in PyTorch: the oracle of
:func:`mmmamba.ops.patch_tokens.patch_tokens`."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['patch_tokens_ref']


def patch_tokens_ref(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                     pos_embed: Tensor, cls_token: Optional[Tensor],
                     patch_size: int) -> Tensor:
    """The patch conv in ``weight``'s dtype (what autocast runs), its tokens
    (B, Hp * Wp, D) with the class token inserted at ``Hp * Wp // 2``, plus
    the position embedding: (B, T, D) in the promoted dtype (fp32 for
    fp32 embeddings). Arguments as :func:`patch_tokens`."""
    dtype = weight.dtype
    tokens = F.conv2d(x.to(dtype), weight,
                      None if bias is None else bias.to(dtype),
                      stride=patch_size)
    tokens = tokens.flatten(2).transpose(1, 2)
    if cls_token is not None:
        c = tokens.shape[1] // 2
        cls = cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([tokens[:, :c].to(cls.dtype), cls,
                            tokens[:, c:].to(cls.dtype)], dim=1)
    return tokens + pos_embed
