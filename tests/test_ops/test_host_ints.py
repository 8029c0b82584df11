# Copyright (c) mmmamba contributors. All rights reserved.
"""The launchers' host-side integer helpers (:func:`mmmamba.ops._utils.cdiv`
and :func:`~mmmamba.ops._utils.next_power_of_2`) agree with Triton's."""
import math

import pytest

from mmmamba.ops._utils import cdiv, next_power_of_2
from mmmamba.testing import requires_triton


@requires_triton
@pytest.mark.parametrize('n', [1, 2, 3, 5, 15, 16, 17, 31, 33, 1000, 6085,
                               16385, 2**20 + 1])
def test_host_int_helpers_match_triton(n):
    import triton
    assert next_power_of_2(n) == triton.next_power_of_2(n)
    for d in (1, 4, 8, 16, 128):
        assert cdiv(n, d) == triton.cdiv(n, d) == math.ceil(n / d)


@pytest.mark.parametrize('n,want', [(1, 1), (2, 2), (3, 4), (16, 16),
                                    (17, 32), (6085, 8192)])
def test_next_power_of_2(n, want):
    assert next_power_of_2(n) == want
