# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of the VMamba backbone (tiny archs on CPU, official parity)."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn

from mmmamba.models.backbones import VMamba
from mmmamba.models.backbones.vmamba import translate_official_arch
from mmmamba.models.utils import vmamba_converter
from mmmamba.registry import MODELS
from mmmamba.testing import load_parity_fixture, requires_cuda

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CLS_FIXTURE = 'vmamba_s1l8_reduced.pt'
BACKBONE_FIXTURE = 'vmamba_backbone_s1l8_reduced.pt'

TINY = dict(embed_dims=8, depths=(1, 1, 2, 1), d_state=1, ssm_ratio=1.0)
TINY_V0 = dict(
    embed_dims=8,
    depths=(1, 1, 1, 1),
    d_state=2,
    ssm_ratio=2.0,
    conv_bias=True,
    use_z_gate=True,
    force_fp32=True,
    mlp_ratio=0.,
    patch_embed_version='v1',
    downsample_version='v1',
    channel_first=False)

# the official VSSM kwargs of the reduced fixtures (s1l8 recipe)
S1L8_OFFICIAL = dict(
    depths=[1, 1, 2, 1],
    dims=16,
    patch_size=4,
    in_chans=3,
    ssm_d_state=1,
    ssm_ratio=1.0,
    ssm_dt_rank='auto',
    ssm_act_layer='silu',
    ssm_conv=3,
    ssm_conv_bias=False,
    ssm_drop_rate=0.0,
    ssm_init='v0',
    forward_type='v05_noz',
    mlp_ratio=4.0,
    mlp_act_layer='gelu',
    mlp_drop_rate=0.0,
    gmlp=False,
    patch_norm=True,
    norm_layer='ln2d',
    downsample_version='v3',
    patchembed_version='v2',
    posembed=False,
    imgsize=224)


def _randomize(model, seed=0, scale=0.05):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


# --------------------------------------------------------------------------
# parameter counts (acceptance)
# --------------------------------------------------------------------------
@pytest.mark.parametrize('arch,expected', [
    ('tiny', 30_249_064),
    ('small', 50_147_752),
    ('base', 88_557_800),
    ('tiny-s2l5', 30_705_832),
    ('small-s1l20', 49_012_840),
    ('base-s1l20', 86_614_504),
    ('vanilla-tiny', 22_893_448),
    ('vanilla-small', 44_417_416),
    ('vanilla-base', 76_254_056),
])
def test_param_counts_with_1000_class_head(arch, expected):
    # meta device: exact shapes, no memory; classification form: one output
    # norm (the official classifier.norm) + a 1000-class linear head
    with torch.device('meta'):
        backbone = VMamba(arch=arch, out_indices=(3, ))
        head = nn.Linear(backbone.dims[-1], 1000)
    total = sum(p.numel() for p in backbone.parameters()) + \
        sum(p.numel() for p in head.parameters())
    assert total == expected


def test_param_count_through_mmpretrain_classifier():
    mmpretrain_models = pytest.importorskip('mmpretrain.models')
    with torch.device('meta'):
        model = mmpretrain_models.ImageClassifier(
            backbone=dict(
                type='mmmamba.VMamba', arch='tiny', out_indices=(3, )),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=1000, in_channels=768))
    assert sum(p.numel() for p in model.parameters()) == 30_249_064


# --------------------------------------------------------------------------
# official parity (acceptance)
# --------------------------------------------------------------------------
@pytest.mark.parametrize('channel_first', [True, False])
def test_backbone_parity_four_maps_non_square(channel_first):
    d = load_parity_fixture(BACKBONE_FIXTURE)
    model = VMamba(
        arch=dict(S1L8_OFFICIAL),
        channel_first=channel_first,
        out_indices=(0, 1, 2, 3)).eval()
    state_dict = vmamba_converter(d['checkpoint']['model'], backbone_prefix='')
    model.load_state_dict(state_dict, strict=True)
    assert d['inputs'].shape == (1, 3, 64, 96)
    with torch.no_grad():
        outs = model(d['inputs'])
    assert len(outs) == 4
    for out, ref in zip(outs, d['outputs']):
        assert out.shape == ref.shape
        torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


def test_classifier_parity_through_mmpretrain():
    mmpretrain_models = pytest.importorskip('mmpretrain.models')
    d = load_parity_fixture(CLS_FIXTURE)
    model = mmpretrain_models.ImageClassifier(
        backbone=dict(
            type='mmmamba.VMamba', arch=dict(S1L8_OFFICIAL),
            out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=128))
    model.load_state_dict(
        vmamba_converter(d['checkpoint']['model']), strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(d['inputs'], mode='tensor')
    torch.testing.assert_close(logits, d['outputs'], atol=1e-4, rtol=1e-4)


def test_classifier_parity_plain_torch():
    # same check without mmpretrain: norm in backbone, pool, linear
    d = load_parity_fixture(CLS_FIXTURE)
    sd = vmamba_converter(d['checkpoint']['model'])
    model = VMamba(arch=dict(S1L8_OFFICIAL), out_indices=(3, )).eval()
    model.load_state_dict(
        {
            k[len('backbone.'):]: v
            for k, v in sd.items() if k.startswith('backbone.')
        },
        strict=True)
    with torch.no_grad():
        feat = model(d['inputs'])[0].mean((2, 3))
    logits = feat @ sd['head.fc.weight'].T + sd['head.fc.bias']
    torch.testing.assert_close(logits, d['outputs'], atol=1e-4, rtol=1e-4)


# --------------------------------------------------------------------------
# outputs and input sizes
# --------------------------------------------------------------------------
@pytest.mark.parametrize('arch', [TINY, TINY_V0])
@pytest.mark.parametrize('size', [(64, 96), (97, 130), (33, 33)])
def test_output_shapes_any_size(arch, size):
    model = VMamba(arch=arch).eval()
    H, W = size
    with torch.no_grad():
        outs = model(torch.randn(1, 3, H, W))
    assert [o.shape[1] for o in outs] == [8, 16, 32, 64]
    if arch.get('patch_embed_version') == 'v1':
        # v1 stem: floor(H / 4), then ceil-halving (padded merging)
        h, w = H // 4, W // 4
    else:
        # v2 stem + v3 downsample: ceil-halving at every stride-2 step
        h, w = -(-(-(-H // 2)) // 2), -(-(-(-W // 2)) // 2)
    for o in outs:
        assert o.shape[2:] == (h, w)
        assert o.is_contiguous()
        h, w = -(-h // 2), -(-w // 2)


def test_97x130_spatial_sizes_documented():
    model = VMamba(arch=TINY).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 97, 130))
    assert [tuple(o.shape[2:]) for o in outs] == [(25, 33), (13, 17), (7, 9),
                                                  (4, 5)]


def test_v1_stem_rejects_too_small_input():
    with pytest.raises(ValueError, match='patch_size'):
        VMamba(arch=TINY_V0)(torch.randn(1, 3, 3, 16))


def test_out_indices_and_channel_last_outputs_are_nchw():
    model = VMamba(arch=TINY, out_indices=(-1, 1), channel_first=False)
    assert model.out_indices == (1, 3)
    assert not hasattr(model, 'outnorm0') and hasattr(model, 'outnorm3')
    outs = model(torch.randn(2, 3, 32, 48))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 4, 6), (2, 64, 1, 2)]
    with pytest.raises(ValueError, match='out of range'):
        VMamba(arch=TINY, out_indices=(4, ))


def test_layouts_equal_with_same_weights():
    torch.manual_seed(0)
    cf = VMamba(arch=TINY).eval()
    _randomize(cf)
    cl = VMamba(arch=TINY, channel_first=False).eval()
    cl.load_state_dict(cf.state_dict(), strict=True)
    x = torch.randn(1, 3, 40, 24)
    with torch.no_grad():
        for a, b in zip(cf(x), cl(x)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_state_dict_keys_follow_official_layout():
    model = VMamba(arch=TINY)
    keys = set(model.state_dict())
    for k in ('patch_embed.0.weight', 'patch_embed.2.weight',
              'patch_embed.5.weight', 'patch_embed.7.bias',
              'layers.0.blocks.0.op.x_proj_weight',
              'layers.0.downsample.1.weight', 'layers.2.downsample.3.bias',
              'layers.3.blocks.0.mlp.fc2.bias', 'outnorm0.weight'):
        assert k in keys, k
    assert not any(k.startswith('layers.3.downsample') for k in keys)
    v0 = set(VMamba(arch=TINY_V0).state_dict())
    assert 'layers.0.downsample.reduction.weight' in v0
    assert 'layers.0.blocks.0.op.conv2d.bias' in v0


# --------------------------------------------------------------------------
# arch resolution and the official-keyword translation
# --------------------------------------------------------------------------
def test_official_arch_translation_of_released_recipes():
    tiny = translate_official_arch(
        dict(S1L8_OFFICIAL, dims=96, depths=[2, 2, 8, 2]))
    ours = {**VMamba._resolve_arch('tiny'), 'patch_size': 4, 'in_channels': 3}
    assert {k: tiny[k] for k in ours} == {**ours, 'depths': [2, 2, 8, 2]}
    # vanilla factory kwargs: the VSSM defaults + v0 settings
    v0 = translate_official_arch(
        dict(
            dims=96,
            depths=[2, 2, 9, 2],
            ssm_d_state=16,
            ssm_ratio=2.0,
            forward_type='v0',
            mlp_ratio=0.0,
            downsample_version='v1',
            patchembed_version='v1',
            norm_layer='ln'))
    van = VMamba._resolve_arch('vanilla-tiny')
    for key in ('d_state', 'ssm_ratio', 'conv_bias', 'use_z_gate',
                'force_fp32', 'mlp_ratio', 'patch_embed_version',
                'downsample_version', 'channel_first', 'd_conv'):
        assert v0[key] == van[key], key
    with torch.device('meta'):
        m = VMamba(
            arch=dict(
                dims=96,
                depths=[2, 2, 9, 2],
                ssm_d_state=16,
                ssm_ratio=2.0,
                forward_type='v0',
                mlp_ratio=0.0,
                downsample_version='v1',
                patchembed_version='v1',
                norm_layer='ln'),
            out_indices=(3, ))
    assert sum(p.numel() for p in m.parameters()) + 769_000 == 22_893_448


@pytest.mark.parametrize('forward_type,expected', [
    ('v05_noz', dict(use_z_gate=False, force_fp32=False)),
    ('v2', dict(use_z_gate=True, z_act=True, force_fp32=True)),
    ('v2_no32', dict(use_z_gate=True, force_fp32=False)),
    ('v3_nozact', dict(use_z_gate=True, z_act=False)),
    ('v05_onnone', dict(ssm_out_norm='none', use_z_gate=True)),
    ('v04_noz_oact', dict(out_act=True, use_z_gate=False)),
])
def test_forward_type_grammar(forward_type, expected):
    arch = translate_official_arch(
        dict(
            dims=8,
            depths=[1, 1],
            forward_type=forward_type,
            norm_layer='ln2d'))
    for k, v in expected.items():
        assert arch[k] == v, (forward_type, k)


@pytest.mark.parametrize('bad,match', [
    (dict(forward_type='v052d'), 'not supported'),
    (dict(forward_type='v05_ondwconv3'), '_ondwconv3'),
    (dict(norm_layer='bn'), 'norm_layer'),
    (dict(gmlp=True), 'gmlp'),
    (dict(posembed=True), 'posembed'),
    (dict(ssm_act_layer='gelu'), 'ssm_act_layer'),
    (dict(num_classes=1000), 'head'),
    (dict(drop_path_rate=0.2), 'drop_path_rate'),
    (dict(forward_type='v0', norm_layer='ln2d'), 'channel-last'),
    (dict(foo=1), 'unknown official VSSM keys'),
])
def test_official_arch_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        VMamba(arch=dict(dict(dims=8, depths=[1, 1]), **bad))


def test_arch_errors():
    with pytest.raises(ValueError, match='unknown VMamba arch'):
        VMamba(arch='huge')
    with pytest.raises(ValueError, match='missing'):
        VMamba(arch=dict(embed_dims=8, depths=(1, 1)))
    with pytest.raises(ValueError, match='unknown VMamba arch keys'):
        VMamba(arch=dict(TINY, window_size=7))
    with pytest.raises(ValueError, match='downsample_version'):
        VMamba(arch=TINY, downsample_version='v4')
    with pytest.raises(ValueError, match='patch_embed_version'):
        VMamba(arch=TINY, patch_embed_version='v3')


def test_explicit_overrides():
    m = VMamba(
        arch=TINY,
        use_z_gate=True,
        ssm_out_norm='none',
        downsample_version='v1',
        patch_embed_version='v1')
    blk = m.layers[0].blocks[0]
    assert blk.op.use_z_gate and blk.op.in_proj.out_features == 16
    assert isinstance(blk.op.out_norm, nn.Identity)
    assert hasattr(m.layers[0].downsample, 'reduction')
    assert len(m.patch_embed) == 3


def test_fuse_cross_scan_reaches_every_ss2d():
    def flags(**kwargs):
        model = VMamba(arch=TINY, **kwargs)
        return [m.fuse_cross_scan for m in model.modules()
                if type(m).__name__ == 'SS2D']

    assert flags() == [True] * 5  # the default
    assert flags(fuse_cross_scan=False) == [False] * 5


def test_norm_backend_reaches_every_layer_norm_2d():
    from mmmamba.models.layers import LayerNorm2d
    model = VMamba(arch=TINY, norm_backend='triton')
    norms = [m for m in model.modules() if isinstance(m, LayerNorm2d)]
    # stem 2, a downsample per stage but the last, per block norm / norm2
    # / SS2D out_norm, the out norms
    assert len(norms) == 2 + 3 + 3 * 5 + 4
    assert all(m.backend == 'triton' for m in norms)
    assert all(m.backend == 'auto' for m in VMamba(arch=TINY).modules()
               if isinstance(m, LayerNorm2d))
    with pytest.raises(ValueError, match="norm_backend must be one of"):
        VMamba(arch=TINY, norm_backend='fast')


# --------------------------------------------------------------------------
# training features
# --------------------------------------------------------------------------
def test_frozen_stages():
    model = VMamba(arch=TINY, frozen_stages=2)
    model.train()
    for name, p in model.named_parameters():
        frozen = name.startswith(
            ('patch_embed', 'layers.0.', 'layers.1.', 'outnorm0', 'outnorm1'))
        assert p.requires_grad is not frozen, name
    assert not model.layers[1].training and model.layers[2].training
    assert not model.patch_embed.training
    # gradients stop at the frozen part
    sum(o.sum() for o in model(torch.randn(1, 3, 32, 32))).backward()
    assert model.layers[0].blocks[0].op.A_logs.grad is None
    assert model.layers[2].blocks[0].op.A_logs.grad is not None
    with pytest.raises(ValueError, match='frozen_stages'):
        VMamba(arch=TINY, frozen_stages=5)


def test_frozen_stages_zero_freezes_only_stem():
    model = VMamba(arch=TINY, frozen_stages=0)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen and all(n.startswith('patch_embed') for n in frozen)


def test_drop_path_rates_are_linear():
    model = VMamba(arch=TINY, drop_path_rate=0.4)
    rates = [
        blk.drop_path.drop_prob for stage in model.layers
        for blk in stage.blocks
    ]
    torch.testing.assert_close(torch.tensor(rates), torch.linspace(0, 0.4, 5))


def test_with_cp_matches_plain():
    torch.manual_seed(0)
    ref = VMamba(arch=TINY)
    _randomize(ref)
    ckpt = VMamba(arch=TINY, with_cp=True)
    ckpt.load_state_dict(ref.state_dict())
    x = torch.randn(1, 3, 32, 32)
    grads = []
    for m in (ref, ckpt):
        m.train()
        sum(o.square().sum() for o in m(x)).backward()
        grads.append([p.grad for p in m.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_get_layer_depth():
    model = VMamba(arch=TINY)  # depths 1,1,2,1 -> 5 blocks, 7 layers
    f = model.get_layer_depth
    assert f('patch_embed.0.weight') == (0, 7)
    assert f('layers.0.blocks.0.op.A_logs') == (1, 7)
    assert f('layers.0.downsample.1.weight') == (1, 7)
    assert f('layers.2.blocks.1.norm.weight') == (4, 7)
    assert f('layers.3.blocks.0.mlp.fc1.weight') == (5, 7)
    assert f('outnorm3.weight') == (6, 7)
    assert f('backbone.layers.1.blocks.0.norm.bias', 'backbone.') == (2, 7)
    assert f('head.fc.weight', 'backbone.') == (6, 7)


def test_layer_decay_with_mmpretrain_constructor():
    pytest.importorskip('mmpretrain')
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.models import ImageClassifier
    model = ImageClassifier(
        backbone=dict(type='mmmamba.VMamba', arch=TINY, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
    wrapper = build_optim_wrapper(
        model,
        dict(
            type='OptimWrapper',
            optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
            constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.5)))
    lr_of = {}
    params = dict(model.named_parameters())
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            name = next(n for n, q in params.items() if q is p)
            lr_of[name] = group['lr']
    # 7 layers: lr = 0.5 ** (7 - 1 - depth)
    assert lr_of['head.fc.weight'] == pytest.approx(1.0)
    assert lr_of['backbone.outnorm3.weight'] == pytest.approx(1.0)
    assert lr_of['backbone.patch_embed.0.weight'] == pytest.approx(0.5**6)
    assert lr_of['backbone.layers.2.blocks.1.op.A_logs'] == pytest.approx(
        0.5**2)


def test_init_weights_and_pretrained(tmp_path):
    torch.manual_seed(0)
    model = VMamba(arch=TINY)
    model.init_weights()
    w = model.layers[2].blocks[0].mlp.fc1.weight
    assert w.abs().max() <= 2.0 and 0.01 < w.std() < 0.03  # trunc-normal .02
    assert torch.all(model.layers[0].blocks[0].mlp.fc1.bias == 0)
    # Pretrained init_cfg loads a converted checkpoint over the init
    src = VMamba(arch=TINY)
    _randomize(src, seed=3)
    path = str(tmp_path / 'ckpt.pth')
    torch.save(
        dict(state_dict={
            'backbone.' + k: v
            for k, v in src.state_dict().items()
        }), path)
    dst = VMamba(
        arch=TINY,
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    dst.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[k], v)


def test_registered_and_buildable():
    model = MODELS.build(dict(type='mmmamba.VMamba', arch=TINY))
    assert isinstance(model, VMamba)
    assert copy.deepcopy(model).out_indices == (0, 1, 2, 3)


# --------------------------------------------------------------------------
# GPU: bf16 autocast vs fp32 (run by the lead on the H100)
# --------------------------------------------------------------------------
@requires_cuda
@pytest.mark.gpu
@pytest.mark.parametrize('scan_backend', ['auto', 'reference'])
def test_backbone_parity_on_cuda(scan_backend):
    """The official parity check on the GPU, fp32 with TF32 off (the
    fixture README's protocol), through the CUDA scan backend."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    d = load_parity_fixture(BACKBONE_FIXTURE)
    model = VMamba(arch=dict(S1L8_OFFICIAL), scan_backend=scan_backend)
    model.load_state_dict(
        vmamba_converter(d['checkpoint']['model'], backbone_prefix=''),
        strict=True)
    model = model.cuda().eval()
    with torch.no_grad():
        outs = model(d['inputs'].cuda())
    for out, ref in zip(outs, d['outputs']):
        torch.testing.assert_close(out.cpu(), ref, atol=1e-4, rtol=1e-4)


@requires_cuda
@pytest.mark.gpu
@pytest.mark.parametrize('channel_first', [True, False])
def test_bf16_amp_forward_backward_matches_fp32(channel_first):
    """bf16 autocast forward/backward of a reduced VMamba-T (dims 32, depths
    2-2-4-2, 96x128 input, train mode) on CUDA vs the fp32 run of the same
    weights and input (TF32 off).

    The loss is a fixed random projection of the four outputs (the plain
    sum of squares of LayerNorm outputs has a ~zero input gradient).
    Tolerances (max |a - b| / max |b| unless noted): 5e-2 for every output
    map and for the input gradient; 5e-2 for the relative L2 error of all
    parameter gradients together and 2.5e-1 for each parameter's gradient
    (relative L2); everything finite. The same check with CPU bf16 autocast
    and the reference scan measured 1.4e-2 (outputs), 1.6e-2 (input grad),
    1.2e-2 (all parameter grads) and 7.6e-2 (worst parameter).
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    model = VMamba(
        arch=dict(
            embed_dims=32, depths=(2, 2, 4, 2), d_state=1, ssm_ratio=1.0),
        channel_first=channel_first).cuda().train()
    model.init_weights()
    x = torch.randn(2, 3, 96, 128, device='cuda')
    probes = [
        torch.randn(2, 32 * 2**i, 24 // 2**i, 32 // 2**i, device='cuda')
        for i in range(4)
    ]

    def run(amp):
        model.zero_grad(set_to_none=True)
        xi = x.clone().requires_grad_()
        with torch.autocast('cuda', dtype=torch.bfloat16, enabled=amp):
            outs = model(xi)
        loss = sum((o.float() * p).mean() for o, p in zip(outs, probes))
        loss.backward()
        grads = {
            n: p.grad.float().clone()
            for n, p in model.named_parameters()
        }
        return [o.float().detach() for o in outs], xi.grad.float(), grads

    outs32, g32, p32 = run(False)
    outs16, g16, p16 = run(True)

    def rel(a, b):
        return ((a - b).abs().max() / b.abs().max()).item()

    for o16, o32 in zip(outs16, outs32):
        assert torch.isfinite(o16).all()
        assert rel(o16, o32) <= 5e-2
    assert torch.isfinite(g16).all()
    assert rel(g16, g32) <= 5e-2
    a = torch.cat([p16[n].flatten() for n in p32])
    b = torch.cat([p32[n].flatten() for n in p32])
    assert torch.isfinite(a).all()
    assert ((a - b).norm() / b.norm()).item() <= 5e-2
    for n in p32:
        err = ((p16[n] - p32[n]).norm() / p32[n].norm()).item()
        assert err <= 2.5e-1, (n, err)


def test_builds_under_a_foreign_default_scope():
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmengine'):
        model = MODELS.build(dict(type='mmmamba.VMamba', arch=TINY))
    assert len(model(torch.randn(1, 3, 16, 16))) == 4


@pytest.mark.parametrize('name,arch,drop_path,channels', [
    ('tiny', 'tiny', 0.2, 768),
    ('small', 'small', 0.3, 768),
    ('base', 'base', 0.6, 1024),
])
def test_classification_configs(name, arch, drop_path, channels):
    pytest.importorskip('mmpretrain')
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    cfg = Config.fromfile(
        osp.join(ROOT, f'configs/vmamba/vmamba-{name}_8xb128_in1k.py'))
    # the official recipe (spec B.8)
    bb = cfg.model.backbone
    assert (bb.type, bb.arch, bb.out_indices) == ('mmmamba.VMamba', arch,
                                                  (3, ))
    assert bb.drop_path_rate == drop_path
    assert cfg.model.head.in_channels == channels
    assert cfg.model.neck.type == 'GlobalAveragePooling'
    opt = cfg.optim_wrapper
    assert opt.type == 'AmpOptimWrapper' and opt.clip_grad.max_norm == 5.0
    assert opt.optimizer.lr == pytest.approx(1e-3)
    assert opt.optimizer.weight_decay == 0.05
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.train_cfg.max_epochs == 300
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == 20 and warmup.start_factor == 1e-3
    assert cosine.begin == 20 and cosine.eta_min == 1e-5
    assert cosine.convert_to_iter_based
    assert cfg.custom_hooks[0].type == 'EMAHook'
    assert cfg.custom_hooks[0].momentum == pytest.approx(1e-4)
    # build a shrunk model under mmpretrain's scope; check weight decay
    cfg.model.backbone.arch = dict(TINY)
    cfg.model.head.in_channels = 64
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = PRETRAIN_MODELS.build(cfg.model)
        model.init_weights()
        logits = model(torch.randn(2, 3, 32, 32), mode='tensor')
        assert logits.shape == (2, 1000)
        opt_cfg = copy.deepcopy(cfg.optim_wrapper)
        opt_cfg.type = 'OptimWrapper'
        opt_cfg.pop('loss_scale')
        wrapper = build_optim_wrapper(model, opt_cfg)
    params = {id(p): n for n, p in model.named_parameters()}
    wd = {
        params[id(p)]: g['weight_decay']
        for g in wrapper.optimizer.param_groups
        for p in g['params']
    }
    blk = 'backbone.layers.0.blocks.0.'
    # as the official set_weight_decay: no decay for 1-D params and biases
    for name in (blk + 'norm.weight', blk + 'op.Ds', blk + 'mlp.fc1.bias',
                 'backbone.outnorm3.weight', 'head.fc.bias',
                 'backbone.patch_embed.0.bias'):
        assert wd[name] == 0, name
    for name in (blk + 'op.A_logs', blk + 'op.dt_projs_bias',
                 blk + 'op.x_proj_weight', blk + 'op.in_proj.weight',
                 'head.fc.weight', 'backbone.patch_embed.0.weight'):
        assert wd[name] == pytest.approx(0.05), name


@pytest.mark.parametrize('channel_first', [True, False])
def test_patch_merging_order_and_padding(channel_first):
    # Swin order [(0,0), (1,0), (0,1), (1,1)] (row, col offsets), padding at
    # the bottom/right for odd sizes (spec B.4, downsample v1)
    from mmmamba.models.layers import PatchMerging2D
    m = PatchMerging2D(1, 2, channel_first=channel_first)
    m.norm, m.reduction = nn.Identity(), nn.Identity()
    x = torch.arange(1., 16.).view(1, 1, 3, 5)  # odd H and W
    y = m(x if channel_first else x.permute(0, 2, 3, 1))
    if not channel_first:
        y = y.permute(0, 3, 1, 2)
    assert y.shape == (1, 4, 2, 3)
    xp = torch.nn.functional.pad(x, (0, 1, 0, 1))[0, 0]
    expected = torch.stack(
        [xp[0::2, 0::2], xp[1::2, 0::2], xp[0::2, 1::2], xp[1::2, 1::2]])
    torch.testing.assert_close(y[0], expected)
    assert expected[1, 1, 0] == 0  # a padded zero, not a wrapped pixel
