# Copyright (c) mmmamba contributors. All rights reserved.
"""tools/analysis_tools/get_flops.py and mmmamba.utils.flops against hand
counts.

Convention (mmmamba.utils.flops): one multiply-add = 1 FLOP for linear and
conv layers (bias free), LayerNorm 5 FLOPs per element, adaptive average
pooling 1 per input element, element-wise ops 0, and per selective scan
9*B*L*D*N + B*D*L (D skip) [+ B*D*L if gated by z].
"""
import os.path as osp

import pytest
import torch
import torch.nn as nn

from mmmamba.ops import (bidir_selective_scan, selective_scan,
                         selective_scan_into)
from mmmamba.testing import load_script, requires_triton_interpreter
from mmmamba.utils.flops import (count_flops, selective_scan_flop_jit,
                                 selective_scan_flops)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'get_flops.py')


_CLS_CONFIG = """
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmmamba.models'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone={backbone},
    neck={neck},
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=8,
        loss=dict(type='CrossEntropyLoss')))
"""

# One-stage VMamba: C=8, depth 1, d_state N=1, ssm_ratio 1 (d_inner D=8),
# dt_rank R=ceil(8/16)=1, 3x3 depthwise conv, no z, MLP ratio 4, patch embed
# v2, channel-first.
_VMAMBA = ("dict(type='mmmamba.VMamba', arch=dict(embed_dims=8, "
           'depths=(1, ), d_state=1, ssm_ratio=1.0), out_indices=(0, ))')
# input 1x3x16x16 -> stem 8x8 (C/2=4) -> 4x4 (C=8); L = 16 tokens
VMAMBA_FLOPS = (
    # stem
    4 * 8 * 8 * (3 * 3 * 3)  # conv 3->4, k3 s2: 256 outputs x 27 MACs
    + 4 * 8 * 8 * 5  # LayerNorm(4): 256 elements x 5
    + 8 * 4 * 4 * (4 * 3 * 3)  # conv 4->8, k3 s2: 128 outputs x 36 MACs
    + 8 * 4 * 4 * 5  # LayerNorm(8)
    # VSS block
    + 128 * 5  # norm
    + 16 * 8 * 8  # in_proj (1x1 conv 8->8) over 16 positions
    + 128 * 9  # depthwise 3x3 conv: 128 outputs x 9
    + (4 * (1 + 2 * 1) * 16) * 8  # x_proj: K*(R+2N)=12 ch x L, 8 MACs each
    + (4 * 8 * 16) * 1  # dt_proj: K*D=32 ch x L, R=1 MAC each
    + 9 * 1 * 16 * (4 * 8) * 1  # scan over u (1, K*D=32, 16), N=1
    + 1 * (4 * 8) * 16  # D skip of the scan
    # cross scan / merge: 0
    + 128 * 5  # out_norm LayerNorm(8)
    + 16 * 8 * 8  # out_proj
    + 128 * 5  # norm2
    + 16 * 8 * 32  # fc1
    + 16 * 32 * 8  # fc2
    # outputs and head
    + 128 * 5  # outnorm0
    + 128  # global average pooling: one FLOP per input element
    + 8 * 10)  # fc
VMAMBA_SCAN_FLOPS = 9 * 16 * 32 + 32 * 16
VMAMBA_PARAMS = (
    (4 * 3 * 9 + 4) + 2 * 4 + (8 * 4 * 9 + 8) + 2 * 8  # stem
    + 2 * 8  # norm
    + 4 * 3 * 8  # x_proj_weight (K, R+2N, D)
    + 32 * 1 + 32  # A_logs (K*D, N), Ds (K*D)
    + 4 * 8 * 1 + 4 * 8  # dt_projs_weight (K, D, R), dt_projs_bias (K, D)
    + 2 * 8  # out_norm
    + 8 * 8 + 8 * 9 + 8 * 8  # in_proj, depthwise conv (no bias), out_proj
    + 2 * 8  # norm2
    + (8 * 32 + 32) + (32 * 8 + 8)  # fc1, fc2
    + 2 * 8  # outnorm0
    + 8 * 10 + 10)  # head

# One-layer Vim: D=8, E=expand*D=16, N=2, R=ceil(8/16)=1, d_conv 4; a 16x16
# image with 8x8 patches (stride 8) gives 4 patches + the middle class
# token: L = 5.
_VIM = ("dict(type='mmmamba.VisionMamba', arch=dict(embed_dims=8, "
        'num_layers=1, d_state=2), img_size=16, patch_size=8, stride=8, '
        "out_type='cls_token')")
_VIM_DIRECTION = (
    16 * 5 * 4  # causal depthwise conv1d, k=4: 80 outputs x 4
    + 5 * 16 * (1 + 2 * 2)  # x_proj E -> R+2N
    + 5 * 1 * 16  # dt_proj R -> E (its bias is added inside the scan)
    + 9 * 1 * 5 * 16 * 2  # scan over u (1, E=16, L=5), N=2
    + 16 * 5  # D skip
    + 16 * 5)  # silu(z) gate
VIM_FLOPS = (
    8 * 2 * 2 * (3 * 8 * 8)  # patch conv: 32 outputs x 192 MACs
    # RMSNorms (element-wise) and the position embedding add: 0
    + 5 * 8 * 32  # in_proj D -> 2E, shared by both directions
    + 2 * _VIM_DIRECTION  # forward and backward branch
    + 5 * 16 * 8  # out_proj E -> D
    + 8 * 10)  # head fc
VIM_SCAN_FLOPS = 2 * (9 * 5 * 16 * 2 + 16 * 5 + 16 * 5)
VIM_PARAMS = (
    8 + 5 * 8  # cls_token, pos_embed (1, 5, 8)
    + 8 * 3 * 8 * 8 + 8  # patch conv
    + 2 * (16 * 2 + 16)  # A_log, D and A_b_log, D_b
    + 8 * 32  # in_proj (no bias)
    + 2 * ((16 * 4 + 16) + 5 * 16 + (1 * 16 + 16))  # conv1d, x_proj, dt_proj
    + 16 * 8  # out_proj (no bias)
    + 8  # layer RMSNorm weight
    + 8  # norm_f
    + 8 * 10 + 10)  # head


@pytest.fixture(scope='module')
def tool():
    return load_script(TOOL)


@pytest.mark.parametrize('backbone,neck,flops,scan,params', [
    (_VMAMBA, "dict(type='GlobalAveragePooling')", VMAMBA_FLOPS,
     VMAMBA_SCAN_FLOPS, VMAMBA_PARAMS),
    (_VIM, 'None', VIM_FLOPS, VIM_SCAN_FLOPS, VIM_PARAMS),
])
def test_get_flops_matches_hand_count(tool, tmp_path, backbone, neck, flops,
                                      scan, params):
    cfg = tmp_path / 'tiny.py'
    cfg.write_text(_CLS_CONFIG.format(backbone=backbone, neck=neck))
    rec = tool.get_flops(str(cfg), shape=(16, 16))
    assert rec['task'] == 'mmpretrain'
    assert rec['params'] == params
    assert rec['scan_flops'] == scan
    assert rec['flops'] == flops


def test_get_flops_cli_writes_json(tool, tmp_path, capsys):
    cfg = tmp_path / 'tiny.py'
    cfg.write_text(
        _CLS_CONFIG.format(
            backbone=_VMAMBA, neck="dict(type='GlobalAveragePooling')"))
    out = tmp_path / 'flops.jsonl'
    tool.main([str(cfg), '--shape', '16', '16', '--out-json', str(out)])
    import json
    rec = json.loads(out.read_text().splitlines()[0])
    assert rec['flops'] == VMAMBA_FLOPS and rec['params'] == VMAMBA_PARAMS
    assert 'FLOPs: 34,768' in capsys.readouterr().out


class _Scan(nn.Module):

    def __init__(self, with_d: bool, with_z: bool):
        super().__init__()
        self.with_d, self.with_z = with_d, with_z

    def forward(self, u):
        batch, dim, length = u.shape
        A = -torch.ones(dim, 3)
        B = torch.ones(batch, 3, length)
        D = torch.ones(dim) if self.with_d else None
        z = u if self.with_z else None
        return selective_scan(u, u, A, B, B, D=D, z=z, delta_softplus=True)


@pytest.mark.parametrize('with_d,with_z,expected', [
    (True, False, 9 * 2 * 7 * 6 * 3 + 2 * 6 * 7),
    (False, False, 9 * 2 * 7 * 6 * 3),
    (True, True, 9 * 2 * 7 * 6 * 3 + 2 * (2 * 6 * 7)),
    (False, True, 9 * 2 * 7 * 6 * 3 + 2 * 6 * 7),
])
def test_scan_handle_reads_optional_inputs(with_d, with_z, expected):
    # u (B=2, D=6, L=7), N=3
    res = count_flops(_Scan(with_d, with_z), (torch.randn(2, 6, 7), ))
    assert res.scan == expected == res.total
    assert selective_scan_flops(2, 6, 7, 3, with_d, with_z) == expected


class _BidirScan(nn.Module):

    def __init__(self, with_d: bool, with_z: bool, backend: str):
        super().__init__()
        self.with_d, self.with_z, self.backend = with_d, with_z, backend

    def forward(self, u):
        batch, dim, length = u.shape
        A = -torch.ones(dim, 3)
        B = torch.ones(batch, 3, length)
        D = torch.ones(dim) if self.with_d else None
        z = u if self.with_z else None
        return bidir_selective_scan(u, u, A, B, B, D, None, u, u, A, B, B, D,
                                    None, z, backend=self.backend)


@pytest.mark.parametrize('backend', [
    'reference',
    pytest.param('triton', marks=requires_triton_interpreter),
])
@pytest.mark.parametrize('with_d,with_z', [(True, True), (False, False),
                                           (True, False)])
def test_bidir_scan_counts_two_scans(backend, with_d, with_z):
    """bidir_selective_scan is two scans: two SelectiveScanRefFn nodes on
    the reference backend, one fused Function on Triton (its own handle)."""
    res = count_flops(_BidirScan(with_d, with_z, backend),
                      (torch.randn(2, 6, 7), ))
    expected = 2 * selective_scan_flops(2, 6, 7, 3, with_d, with_z)
    assert res.scan == expected == res.total
    if backend == 'triton':
        assert 'PythonOp.BidirSelectiveScanTritonFn' in res.by_operator


class _ScanInto(torch.nn.Module):
    """Both directions through selective_scan_into, as Vim's mixer runs
    them without gradients."""

    def forward(self, u):
        batch, dim, length = u.shape
        A = -torch.ones(dim, 3)
        B = torch.ones(batch, 3, length)
        D = torch.ones(dim)
        out = torch.empty_like(u)
        for reverse in (False, True):
            out = selective_scan_into(out, u, u, A, B, B, D, u, None, True,
                                      reverse=reverse, out_scale=0.5,
                                      accumulate=reverse, backend='triton')
        return out


@requires_triton_interpreter
def test_scan_into_counts_one_scan_per_call():
    """selective_scan_into's Function is a scan node of its own: two calls
    count as two scans (with D and z), nothing else."""
    with torch.no_grad():
        res = count_flops(_ScanInto(), (torch.randn(2, 6, 7), ))
    expected = 2 * selective_scan_flops(2, 6, 7, 3, True, True)
    assert res.scan == expected == res.total
    assert 'PythonOp.SelectiveScanIntoTritonFn' in res.by_operator


@requires_triton_interpreter
def test_vim_inference_path_counts_like_the_reference():
    """On the Triton backend Vim's mixer runs its inference core (the conv
    + projection kernel, scan-into); traced for counting it falls back to
    the unfused prologue, so the conv and both linear layers are counted:
    the same totals, per operator, as the reference backend's path."""
    from mmmamba.models.backbones import VisionMamba
    counts = {}
    for backend in ('reference', 'triton'):
        torch.manual_seed(0)
        model = VisionMamba(
            arch=dict(embed_dims=16, num_layers=2, d_state=4), img_size=32,
            scan_backend=backend).eval()
        res = count_flops(model, (torch.randn(1, 3, 32, 32), ))
        counts[backend] = res
    ref, tri = counts['reference'], counts['triton']
    assert 'PythonOp.SelectiveScanIntoTritonFn' in tri.by_operator
    assert tri.total == ref.total and tri.scan == ref.scan
    for op in ('conv', 'linear'):
        assert tri.by_operator[op] == ref.by_operator[op] > 0, op


def test_scan_handle_rejects_bad_inputs():

    class _Value:

        def __init__(self, sizes):
            self._sizes = sizes

        def type(self):
            return self

        def sizes(self):
            return self._sizes

    with pytest.raises(ValueError, match='u \\(B, D, L\\)'):
        selective_scan_flop_jit(
            [_Value([2, 3]), _Value([2, 3]),
             _Value([3, 1])], [])


def test_scan_internals_are_not_traced(monkeypatch):
    """The tracer records the scan as one node but pauses inside it, so a
    backend's Python code (sizes as ints) need not be traceable."""
    from mmmamba.ops.selective_scan import reference
    original = reference.SelectiveScanRefFn.forward
    seen = []

    def forward(ctx, *args):
        seen.append(torch._C._get_tracing_state() is None)
        length = args[0].shape[-1]
        assert isinstance(length, int)  # a traced size would be a tensor
        return original(ctx, *args)

    monkeypatch.setattr(reference.SelectiveScanRefFn, 'forward',
                        staticmethod(forward))
    res = count_flops(_Scan(True, False), (torch.randn(2, 6, 7), ))
    assert seen == [True]
    assert res.scan == 9 * 2 * 7 * 6 * 3 + 2 * 6 * 7
    # the Function's forward is restored after counting
    assert reference.SelectiveScanRefFn.forward is forward
