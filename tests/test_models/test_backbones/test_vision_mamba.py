# Copyright (c) mmmamba contributors. All rights reserved.
"""Tests of the Vision Mamba (Vim) backbone (tiny archs on CPU)."""
import math
from copy import deepcopy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmmamba.models.backbones import VisionMamba
from mmmamba.models.layers import BiMamba
from mmmamba.registry import MODELS

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='requires CUDA')

TINY = dict(embed_dims=16, num_layers=2, d_state=4)
MICRO = dict(embed_dims=8, num_layers=1, d_state=2)


def _randomize(model: nn.Module, seed: int = 0, scale: float = 0.1) -> None:
    """Perturb every parameter so that no init symmetry hides a bug."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


def _tiny(**kwargs) -> VisionMamba:
    cfg = dict(arch=TINY, img_size=64)
    cfg.update(kwargs)
    torch.manual_seed(0)
    model = VisionMamba(**cfg)
    model.init_weights()
    _randomize(model)
    return model


# --------------------------------------------------------------------------
# architecture and parameter counts
# --------------------------------------------------------------------------
@pytest.mark.parametrize('arch,stride,expected', [
    ('tiny', 16, 7_148_008),
    ('small', 16, 25_796_584),
    ('base', 16, 97_598_440),
    ('tiny', 8, 7_250_344),
    ('small', 8, 26_001_256),
])
def test_param_counts_with_1000_class_head(arch, stride, expected):
    # Built on the meta device: exact shapes, no memory, same code path.
    with torch.device('meta'):
        backbone = VisionMamba(arch=arch, img_size=224, stride=stride)
        head = nn.Linear(backbone.embed_dims, 1000)  # LinearClsHead.fc
    total = sum(p.numel() for p in backbone.parameters()) + \
        sum(p.numel() for p in head.parameters())
    assert total == expected


def test_param_count_through_mmpretrain_classifier():
    mmpretrain = pytest.importorskip('mmpretrain')  # noqa: F841
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    with torch.device('meta'):
        model = PRETRAIN_MODELS.build(
            dict(
                type='ImageClassifier',
                backbone=dict(type='mmmamba.VisionMamba', arch='tiny'),
                neck=None,
                head=dict(
                    type='LinearClsHead', num_classes=1000, in_channels=192)))
    assert sum(p.numel() for p in model.parameters()) == 7_148_008


def test_arch_zoo_settings():
    with torch.device('meta'):
        model = VisionMamba(arch='small')
    mixer = model.layers[0].mixer
    assert (model.embed_dims, model.num_layers) == (384, 24)
    assert (mixer.d_inner, mixer.d_state, mixer.d_conv, mixer.dt_rank) == \
        (768, 16, 4, 24)
    assert model.patch_resolution == (14, 14)
    assert model.pos_embed.shape == (1, 197, 384)
    with torch.device('meta'):
        model8 = VisionMamba(arch='t', stride=8)
    assert model8.patch_resolution == (27, 27)
    assert model8.pos_embed.shape == (1, 730, 192)


def test_bad_arch_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown VisionMamba arch 'huge'"):
        VisionMamba(arch='huge')
    with pytest.raises(ValueError, match='needs the keys'):
        VisionMamba(arch=dict(embed_dims=16))
    with pytest.raises(ValueError, match="Unknown VisionMamba arch keys"):
        VisionMamba(arch=dict(embed_dims=16, num_layers=2, depth=3))
    with pytest.raises(ValueError, match="'d_state' must be a positive int"):
        VisionMamba(arch=dict(embed_dims=16, num_layers=2, d_state=0))
    with pytest.raises(ValueError, match='out_type'):
        VisionMamba(arch=TINY, img_size=64, out_type='tokens')
    with pytest.raises(ValueError, match='out of range'):
        VisionMamba(arch=TINY, img_size=64, out_indices=(2, ))
    with pytest.raises(ValueError, match='frozen_stages'):
        VisionMamba(arch=TINY, img_size=64, frozen_stages=3)


def test_deleted_model_is_freed_without_garbage_collection():
    """No reference cycle keeps a deleted backbone (and its weights, on the
    GPU too) alive until the next gc run; the load-state-dict pre-hook
    still converts official keys (other tests) and runs on this model."""
    import gc
    import weakref
    gc.disable()
    try:
        model = VisionMamba(arch=TINY, img_size=64)
        alive = weakref.ref(model)
        del model
        assert alive() is None
    finally:
        gc.enable()
    model = VisionMamba(arch=TINY, img_size=64, with_cls_token=False,
                        out_type='featmap')
    state = VisionMamba(arch=TINY, img_size=64).state_dict()
    model.load_state_dict(state)  # the hook drops the class token


def test_build_from_registry():
    model = MODELS.build(
        dict(type='VisionMamba', arch=TINY, img_size=32, out_type='raw'))
    assert isinstance(model, VisionMamba)
    assert isinstance(model.layers[1].mixer, BiMamba)


# --------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------
def test_out_types_shapes_and_consistency():
    x = torch.randn(2, 3, 64, 64)
    outs = {}
    for out_type in ('raw', 'cls_token', 'featmap', 'avg_featmap'):
        model = _tiny(out_type=out_type).eval()
        with torch.no_grad():
            out = model(x)
        assert isinstance(out, tuple) and len(out) == 1
        outs[out_type] = out[0]
    assert outs['raw'].shape == (2, 17, 16)
    assert outs['cls_token'].shape == (2, 16)
    assert outs['featmap'].shape == (2, 16, 4, 4)
    assert outs['avg_featmap'].shape == (2, 16)
    # the class token sits at index M // 2 = 8 of the 17 tokens
    torch.testing.assert_close(outs['cls_token'], outs['raw'][:, 8])
    patches = torch.cat([outs['raw'][:, :8], outs['raw'][:, 9:]], dim=1)
    torch.testing.assert_close(
        outs['featmap'],
        patches.reshape(2, 4, 4, 16).permute(0, 3, 1, 2))
    torch.testing.assert_close(outs['avg_featmap'], patches.mean(1))


def test_multiple_out_indices_and_feat_source():
    x = torch.randn(1, 3, 64, 64)
    arch = dict(TINY, num_layers=3)
    res = _tiny(
        arch=arch, out_indices=(0, 1, -1), out_type='raw',
        final_norm=False).eval()
    mix = _tiny(
        arch=arch,
        out_indices=(0, 1, 2),
        out_type='raw',
        final_norm=False,
        feat_source='mixer').eval()
    mix.load_state_dict(res.state_dict())
    with torch.no_grad():
        r0, r1, r2 = res(x)
        m0, m1, m2 = mix(x)
    # residual stream = x0 + sum of mixer outputs, so consecutive residual
    # features differ by exactly that layer's mixer output
    torch.testing.assert_close(r1 - r0, m1, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(r2 - r1, m2, atol=1e-5, rtol=1e-5)
    assert (r1 - m1).abs().max() > 1e-3


def test_final_norm_is_rmsnorm_of_residual_stream():
    x = torch.randn(1, 3, 64, 64)
    normed = _tiny(out_type='raw').eval()
    plain = _tiny(out_type='raw', final_norm=False).eval()
    state = {
        k: v
        for k, v in normed.state_dict().items() if not k.startswith('norm_f')
    }
    plain.load_state_dict(state)
    with torch.no_grad():
        a = normed(x)[0]
        b = plain(x)[0]
    w = normed.norm_f.weight
    expected = b * torch.rsqrt(b.pow(2).mean(-1, keepdim=True) + 1e-5) * w
    torch.testing.assert_close(a, expected, atol=1e-5, rtol=1e-5)


def test_autocast_first_mixer_input_in_autocast_dtype(monkeypatch):
    """Under autocast the first layer's fp32 hidden (tokens + fp32 position
    embedding) is normalised straight into autocast's dtype (no fp32 copy
    at the peak of inference); the features are bit-identical to those of
    the fp32 norm output that ``in_proj`` casts."""
    from mmmamba.models.layers.norm import AddRMSNorm
    model = _tiny(out_type='raw', out_indices=(0, 1)).eval()
    x = torch.randn(2, 3, 64, 64)
    seen = []
    for layer in model.layers:
        layer.mixer.register_forward_pre_hook(
            lambda m, args: seen.append(args[0].dtype))

    def run():
        seen.clear()
        with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
            return model(x), list(seen)

    (out0, out1), dtypes = run()
    assert dtypes == [torch.bfloat16, torch.bfloat16]
    forward = AddRMSNorm.forward
    monkeypatch.setattr(  # the norm as before: output in the input's dtype
        AddRMSNorm, 'forward',
        lambda self, x, residual=None, out_dtype=None: forward(
            self, x, residual))
    (want0, want1), dtypes = run()
    assert dtypes == [torch.float32, torch.bfloat16]
    assert torch.equal(out0, want0) and torch.equal(out1, want1)
    with torch.no_grad():  # without autocast: fp32 throughout, as before
        model(x)
    assert seen[-2:] == [torch.float32, torch.float32]


@pytest.mark.parametrize('stride', [16, 8])
@pytest.mark.parametrize('hw', [(512, 512), (480, 640)])
def test_dense_featmap_shapes(stride, hw):
    model = VisionMamba(
        arch=MICRO,
        img_size=224,
        stride=stride,
        out_type='featmap',
        out_indices=0,
        final_norm=False).eval()
    with torch.no_grad():
        (feat, ) = model(torch.randn(1, 3, *hw))
    grid = ((hw[0] - 16) // stride + 1, (hw[1] - 16) // stride + 1)
    assert feat.shape == (1, 8, *grid)
    assert torch.isfinite(feat).all()


def test_bidirectional_backbone_is_not_causal():
    """With one scan direction, patch 0 could not see the last patch. Here
    the first patch's layer-0 feature changes when only the last 16x16
    patch of the image changes (the class token is in the middle), and the
    last patch's feature when only the first patch changes."""
    model = _tiny(
        img_size=32, out_type='featmap', out_indices=0,
        final_norm=False).eval()
    x = torch.randn(1, 3, 32, 32)
    x2 = x.clone()
    x2[:, :, 16:, 16:] += 3.0  # last patch only
    x3 = x.clone()
    x3[:, :, :16, :16] += 3.0  # first patch only
    with torch.no_grad():
        f, f2, f3 = model(x)[0], model(x2)[0], model(x3)[0]
    assert (f2[..., 0, 0] - f[..., 0, 0]).abs().max() > 1e-5
    assert (f3[..., -1, -1] - f[..., -1, -1]).abs().max() > 1e-5


def test_backward_branch_params_get_gradients():
    model = _tiny(out_type='cls_token')
    model.train()
    out = model(torch.randn(2, 3, 64, 64))[0]
    out.square().mean().backward()
    for name, p in model.named_parameters():
        if '_b' in name.split('.')[-1] or '_b.' in name:
            assert p.grad is not None and p.grad.abs().max() > 0, name


# --------------------------------------------------------------------------
# position embedding
# --------------------------------------------------------------------------
def test_on_the_fly_resize_equals_loading_resized_checkpoint():
    """A 64px model run on 96x128 input equals a 96x128 model loading the
    64px checkpoint: both resize the same way, keeping the middle cls."""
    src = _tiny(out_type='raw').eval()
    dst = VisionMamba(arch=TINY, img_size=(96, 128), out_type='raw').eval()
    dst.load_state_dict(src.state_dict())
    assert dst.pos_embed.shape == (1, 6 * 8 + 1, 16)
    # the class position moved from the middle of 17 to the middle of 49
    torch.testing.assert_close(dst.pos_embed[:, 24], src.pos_embed[:, 8])
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        torch.testing.assert_close(src(x)[0], dst(x)[0])


def test_pos_embed_resize_round_trip():
    small = _tiny()
    grid = torch.stack(
        torch.meshgrid(
            torch.linspace(0, 1, 4), torch.linspace(0, 1, 4), indexing='ij'),
        dim=-1).reshape(16, 2)
    smooth = torch.cat(
        [torch.sin(grid * math.pi / 2),
         torch.cos(grid * math.pi / 3)], dim=-1)  # (16, 4)
    smooth = smooth.repeat(1, 4).unsqueeze(0)  # (1, 16, 16)
    cls_pos = torch.randn(1, 1, 16)
    with torch.no_grad():
        small.pos_embed.copy_(
            torch.cat([smooth[:, :8], cls_pos, smooth[:, 8:]], dim=1))
    big = VisionMamba(arch=TINY, img_size=128)  # 8x8 grid
    big.load_state_dict(small.state_dict())
    back = VisionMamba(arch=TINY, img_size=64)
    back.load_state_dict(big.state_dict())
    # the class position survives exactly, the smooth grid approximately
    torch.testing.assert_close(back.pos_embed[:, 8], cls_pos[:, 0])
    err = (back.pos_embed - small.pos_embed).abs().max()
    assert err < 0.05, err
    # the same grid is an exact round trip
    same = VisionMamba(arch=TINY, img_size=64)
    same.load_state_dict(small.state_dict())
    assert torch.equal(same.pos_embed, small.pos_embed)


def test_official_finetune_quirk_only_behind_flag():
    src = _tiny()  # 4x4 grid, cls position at index 8
    pos = src.pos_embed.detach().clone()
    correct = VisionMamba(arch=TINY, img_size=128)
    quirk = VisionMamba(arch=TINY, img_size=128, pos_embed_resize_quirk=True)
    correct.load_state_dict(src.state_dict())
    quirk.load_state_dict(src.state_dict())
    # A.6: index 0 is kept as "the class position" and the other 16
    # entries (which include the true class position) are the 4x4 grid
    grid = pos[:, 1:].reshape(1, 4, 4, 16).permute(0, 3, 1, 2)
    expected = F.interpolate(
        grid, size=(8, 8), mode='bicubic', align_corners=False)
    expected = torch.cat(
        [pos[:, :1], expected.flatten(2).transpose(1, 2)], dim=1)
    torch.testing.assert_close(quirk.pos_embed.detach(), expected)
    # without the flag the class position lands, intact, at index 64 // 2
    torch.testing.assert_close(correct.pos_embed[:, 32], pos[:, 8])
    assert not torch.allclose(correct.pos_embed, quirk.pos_embed)


def test_checkpoint_without_cls_token_for_dense_model():
    src = _tiny()
    dense = VisionMamba(
        arch=TINY, img_size=64, with_cls_token=False, out_type='featmap')
    dense.load_state_dict(src.state_dict())
    pos = src.pos_embed.detach()
    torch.testing.assert_close(dense.pos_embed,
                               torch.cat([pos[:, :8], pos[:, 9:]], dim=1))
    assert not hasattr(dense, 'cls_token')


def test_non_square_checkpoint_grid_is_an_error():
    src = VisionMamba(arch=TINY, img_size=(64, 96))
    dst = VisionMamba(arch=TINY, img_size=64)
    with pytest.raises(ValueError, match='not a square'):
        dst.load_state_dict(src.state_dict())


# --------------------------------------------------------------------------
# init, freezing, optimizer helpers
# --------------------------------------------------------------------------
def test_init_weights_follow_official_rules():
    torch.manual_seed(0)
    model = VisionMamba(arch=dict(embed_dims=64, num_layers=4), img_size=64)
    model.init_weights()
    assert torch.equal(model.patch_embed.projection.bias, torch.zeros(64))
    fan_in = 3 * 16 * 16
    w = model.patch_embed.projection.weight
    lecun_std = math.sqrt(1 / fan_in)
    assert abs(w.std().item() - lecun_std) < 0.1 * lecun_std
    assert w.abs().max() <= 2 * lecun_std / .8796 + 1e-6
    assert abs(model.pos_embed.std().item() - 0.02) < 0.004
    assert 0 < model.cls_token.abs().max() < 0.2
    for layer in model.layers:
        mixer = layer.mixer
        bound = math.sqrt(6 / ((1 + 5) * mixer.d_inner)) / math.sqrt(4)
        assert mixer.out_proj.weight.abs().max() <= bound + 1e-7
        assert mixer.out_proj.weight.abs().max() > 0.8 * bound
        assert torch.equal(layer.norm.weight, torch.ones(64))
        # the dt biases keep their inverse-softplus init (_no_reinit)
        dt = F.softplus(mixer.dt_proj.bias)
        assert dt.min() > 0.9e-3 and dt.max() < 0.11
        assert torch.equal(mixer.D, torch.ones(128))


def test_init_cfg_pretrained_loads_converted_weights(tmp_path):
    src = _tiny()
    ckpt = tmp_path / 'vim.pth'
    torch.save(
        dict(state_dict={
            f'backbone.{k}': v
            for k, v in src.state_dict().items()
        }), ckpt)
    dst = VisionMamba(
        arch=TINY,
        img_size=128,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    dst.init_weights()
    torch.testing.assert_close(dst.layers[1].mixer.A_b_log,
                               src.layers[1].mixer.A_b_log)
    torch.testing.assert_close(dst.pos_embed[:, 32], src.pos_embed[:, 8])


def test_no_weight_decay_names_exist():
    model = _tiny()
    names = dict(model.named_parameters())
    assert model.no_weight_decay() == {'pos_embed', 'cls_token'}
    assert model.no_weight_decay() <= set(names)


def test_frozen_stages():
    model = _tiny(frozen_stages=1, drop_path_rate=0.1)
    model.train()
    assert not model.pos_embed.requires_grad
    assert not model.cls_token.requires_grad
    assert not any(p.requires_grad for p in model.patch_embed.parameters())
    assert not any(p.requires_grad for p in model.layers[0].parameters())
    assert all(p.requires_grad for p in model.layers[1].parameters())
    assert all(p.requires_grad for p in model.norm_f.parameters())
    assert not model.layers[0].training and model.layers[1].training
    model(torch.randn(1, 3, 64, 64))[0].sum().backward()
    assert model.layers[0].mixer.in_proj.weight.grad is None
    assert model.layers[1].mixer.in_proj.weight.grad is not None

    all_frozen = _tiny(frozen_stages=2)
    all_frozen.train()
    assert not any(p.requires_grad for p in all_frozen.parameters())


def test_drop_path_schedule_matches_official():
    model = VisionMamba(
        arch=dict(TINY, num_layers=5), img_size=32, drop_path_rate=0.4)
    rates = [
        getattr(layer.drop_path, 'drop_prob', 0.0) for layer in model.layers
    ]
    # inter_dpr = [0] + linspace(0, 0.4, 5): layer i gets 0.1 * (i - 1)
    assert rates == pytest.approx([0.0, 0.0, 0.1, 0.2, 0.3])
    assert model.drop_path.drop_prob == pytest.approx(0.4)


def test_get_layer_depth():
    model = _tiny()
    assert model.get_layer_depth('backbone.pos_embed', 'backbone.') == (0, 4)
    assert model.get_layer_depth('backbone.patch_embed.projection.weight',
                                 'backbone.') == (0, 4)
    assert model.get_layer_depth('backbone.layers.0.mixer.A_log',
                                 'backbone.') == (1, 4)
    assert model.get_layer_depth('backbone.layers.1.norm.weight',
                                 'backbone.') == (2, 4)
    assert model.get_layer_depth('backbone.norm_f.weight',
                                 'backbone.') == (3, 4)
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (3, 4)


def test_layer_decay_with_mmpretrain_constructor():
    pytest.importorskip('mmpretrain')
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS
    model = PRETRAIN_MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='mmmamba.VisionMamba', arch=TINY, img_size=32),
            neck=None,
            head=dict(type='LinearClsHead', num_classes=5, in_channels=16)))
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='LearningRateDecayOptimWrapperConstructor',
            optim_wrapper_cfg=dict(
                optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05)),
            paramwise_cfg=dict(layer_decay_rate=0.5)))
    optim_wrapper = constructor(model)
    lr_of = {}
    for group in optim_wrapper.optimizer.param_groups:
        for p in group['params']:
            lr_of[id(p)] = group['lr']
    names = dict(model.named_parameters())

    def lr(name):
        return lr_of[id(names[name])]

    # 4 layer ids (embeddings, layers.0, layers.1, rest): scale 0.5 ** (3-i)
    assert lr('backbone.pos_embed') == pytest.approx(0.125)
    assert lr('backbone.layers.0.mixer.in_proj.weight') == pytest.approx(0.25)
    assert lr('backbone.layers.1.mixer.in_proj.weight') == pytest.approx(0.5)
    assert lr('head.fc.weight') == pytest.approx(1.0)


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------
def test_cpu_training_step_finite():
    torch.manual_seed(0)
    model = VisionMamba(arch=TINY, img_size=32, drop_path_rate=0.1)
    model.init_weights()
    head = nn.Linear(16, 4)
    params = list(model.parameters()) + list(head.parameters())
    optim = torch.optim.AdamW(params, lr=1e-3)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    before = model.layers[0].mixer.A_b_log.detach().clone()
    loss = F.cross_entropy(head(model(x)[0]), y)
    loss.backward()
    assert torch.isfinite(loss)
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    optim.step()
    assert not torch.equal(before, model.layers[0].mixer.A_b_log)


def test_with_cp_same_outputs_and_grads():
    ref = _tiny(out_type='featmap', drop_path_rate=0.0)
    ckp = _tiny(out_type='featmap', drop_path_rate=0.0, with_cp=True)
    ckp.load_state_dict(ref.state_dict())
    x = torch.randn(1, 3, 64, 64)
    for model in (ref, ckp):
        model.train()
        model(x)[0].square().mean().backward()
    for (name, p), q in zip(ref.named_parameters(), ckp.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=lambda m: name + m)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
def test_bad_inputs_are_clear_errors():
    model = _tiny()
    with pytest.raises(ValueError, match='Expected 3 input channels, got 1'):
        model(torch.randn(1, 1, 64, 64))
    with pytest.raises(ValueError, match='smaller than one patch'):
        model(torch.randn(1, 3, 8, 64))
    with pytest.raises(ValueError, match='not covered by the patch grid'):
        model(torch.randn(1, 3, 64, 70))


def test_checkpoint_missing_or_extra_keys_raise():
    model = _tiny()
    state = model.state_dict()
    missing = deepcopy(state)
    del missing['layers.1.mixer.dt_proj_b.bias']
    with pytest.raises(RuntimeError, match='dt_proj_b.bias'):
        VisionMamba(arch=TINY, img_size=64).load_state_dict(missing)
    extra = deepcopy(state)
    extra['layers.1.mixer.gamma'] = torch.ones(16)
    with pytest.raises(RuntimeError, match='gamma'):
        VisionMamba(arch=TINY, img_size=64).load_state_dict(extra)


# --------------------------------------------------------------------------
# GPU (run by the lead on the H100): bf16 AMP training step
# --------------------------------------------------------------------------
@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize('arch,stride', [('tiny', 16), ('tiny', 8)])
def test_gpu_bf16_amp_training_step(arch, stride):
    torch.manual_seed(0)
    model = VisionMamba(
        arch=arch, stride=stride, drop_path_rate=0.1, with_cp=stride == 8)
    model.init_weights()
    model = model.cuda().train()
    head = nn.Linear(model.embed_dims, 1000).cuda()
    optim = torch.optim.AdamW(
        list(model.parameters()) + list(head.parameters()), lr=1e-3)
    x = torch.randn(8, 3, 224, 224, device='cuda')
    y = torch.randint(0, 1000, (8, ), device='cuda')
    for _ in range(2):
        optim.zero_grad()
        with torch.autocast('cuda', dtype=torch.bfloat16):
            loss = F.cross_entropy(head(model(x)[0]).float(), y)
        loss.backward()
        assert torch.isfinite(loss), loss
        for name, p in model.named_parameters():
            assert p.grad is not None, name
            assert torch.isfinite(p.grad).all(), name
        optim.step()
    print(f'vim-{arch} stride {stride} bf16 AMP loss {loss.item():.4f}')


@pytest.mark.gpu
@requires_cuda
def test_gpu_fp32_matches_cpu_reference():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = _tiny(out_type='featmap').eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        cpu = model(x)[0]
        gpu = model.cuda()(x.cuda())[0].cpu()
    torch.testing.assert_close(gpu, cpu, atol=1e-4, rtol=1e-4)



def test_layer_loop_frees_the_previous_stream_before_the_mixer():
    """Without autograd, a layer's inputs (the previous mixer output and
    residual stream) are freed once its add + RMSNorm has run, before its
    mixer allocates anything: the loop calls the block's two halves, so no
    frame holds them. The output equals chaining the blocks' forward."""
    import weakref
    model = _tiny(arch=dict(TINY, num_layers=3), out_indices=(2, ),
                  out_type='raw', final_norm=False).eval()
    inputs, dead, handles = [], [], []
    for layer in model.layers:
        handles.append(layer.norm.register_forward_pre_hook(
            lambda m, a: inputs.append([weakref.ref(t) for t in a
                                        if isinstance(t, torch.Tensor)])))
        handles.append(layer.mixer.register_forward_pre_hook(
            lambda m, a: dead.append([r() is None for r in inputs[-1]])))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = model(x)[-1]
        for h in handles:
            h.remove()
        # the same blocks, called whole
        hidden, grid = model.patch_embed(x)
        cls = model.cls_token.expand(2, -1, -1)
        mid = grid[0] * grid[1] // 2
        hidden = torch.cat([hidden[:, :mid], cls, hidden[:, mid:]], dim=1)
        hidden, residual = hidden + model._pos_embed_for(grid), None
        for layer in model.layers:
            hidden, residual = layer(hidden, residual)
        want = residual + hidden.float()
    # layer 0's input is the embedded tokens, which (fp32) the norm returns
    # as the residual stream itself; from layer 1 on, the previous mixer
    # output and residual stream are both gone
    assert len(dead) == len(model.layers)
    assert [flags for flags in dead[1:]] == [[True, True]] * 2
    torch.testing.assert_close(out, want)


def test_layer_loop_frees_the_normalised_hidden_before_the_scans(
        monkeypatch):
    """Without autograd, the loop calls each mixer's parts itself
    (``BiMamba.in_projection``, ``forward_core``, the out projection) and
    drops the normalised hidden once in_proj has read it: nothing holds
    it while the scans run. The output is the whole mixers' bit for bit;
    with a hook on a mixer (which the parts would skip), or with
    gradients, the mixer is called whole."""
    import weakref

    import mmmamba.models.backbones.vision_mamba as vm
    model = _tiny(arch=dict(TINY, num_layers=3), out_indices=(2, ),
                  out_type='raw').eval()
    normed, alive = [], []

    def spy(mixer):
        core = mixer.forward_core

        def forward_core(xz, overwrite_x=False):
            alive.append(normed[-1]() is not None)
            return core(xz, overwrite_x)

        monkeypatch.setattr(mixer, 'forward_core', forward_core)

    for layer in model.layers:
        layer.norm.register_forward_hook(
            lambda m, a, out: normed.append(weakref.ref(out[0])))
        spy(layer.mixer)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        got = model(x)[-1]
        assert alive == [False] * 3
        alive.clear()
        monkeypatch.setattr(vm, 'SPLIT_MIXER', False)
        whole = model(x)[-1]
        assert alive == [True] * 3  # the call's argument outlives in_proj
        monkeypatch.setattr(vm, 'SPLIT_MIXER', True)
        alive.clear()
        calls = []
        handle = model.layers[1].mixer.register_forward_hook(
            lambda m, a, out: calls.append(out.shape))
        hooked = model(x)[-1]
        handle.remove()
        assert alive == [False, True, False] and calls == [(2, 17, 16)]
    assert torch.equal(got, whole) and torch.equal(got, hooked)
    alive.clear()
    model(x)[-1].sum().backward()  # with autograd: the mixers whole
    assert alive == [True] * 3


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('hw', [(64, 64), (48, 80)])
def test_tokens_without_autograd_equal_the_concatenation(dtype, hw):
    """Without autograd the class token and the position embedding are
    added into one output (no concatenated copy): bit for bit the
    concatenation's sum (fp32 for bf16 patch tokens, whose sum promotes),
    also for a grid other than the model's (resized embedding); with
    autograd the concatenation runs and gradients reach both."""
    model = _tiny(out_type='raw').eval()
    grid = (hw[0] // 16, hw[1] // 16)
    x = torch.randn(2, grid[0] * grid[1], 16).to(dtype)
    with torch.no_grad():
        got = model._tokens(x, grid)
    want = model._tokens(x, grid)  # grad mode: the concatenation
    assert want.requires_grad and not got.requires_grad
    assert got.dtype == want.dtype == torch.float32
    assert torch.equal(got, want.detach())
    c = (grid[0] * grid[1]) // 2
    pos = model._pos_embed_for(grid).detach()
    cls = (model.cls_token[:, 0] + pos[:, c]).detach()  # (1, D)
    assert torch.equal(got[:, c], cls.expand(2, -1))
    assert torch.equal(got[:, c + 1:], x[:, c:].float() + pos[:, c + 1:])
    want.sum().backward()
    assert model.cls_token.grad is not None
    assert model.pos_embed.grad is not None
    with torch.no_grad():  # the whole backbone, both paths
        out = model(torch.randn(1, 3, *hw))[0]
    assert out.shape == (1, grid[0] * grid[1] + 1, 16)


# --------------------------------------------------------------------------
# out_proj fused into the next add + RMSNorm (eager inference)
# --------------------------------------------------------------------------


def _spy_linear_norm(monkeypatch) -> list:
    """The shapes of ``y`` in every call of the fused op (made by
    ``AddRMSNorm.add_projected``)."""
    import mmmamba.models.layers.norm as norm_module
    calls = []
    fn = norm_module.linear_add_rms_norm
    monkeypatch.setattr(
        norm_module, 'linear_add_rms_norm',
        lambda *a, **k: calls.append(a[0].shape) or fn(*a, **k))
    return calls


@pytest.mark.parametrize('out_indices,final_norm,fused', [
    ((2, ), True, 3),  # every layer's out_proj, the last one's in norm_f
    ((0, 2), True, 2),  # layer 0's output is a feature: not fused
    ((2, ), False, 2),  # no norm_f: the last out_proj runs as a linear
])
def test_out_proj_fused_into_next_norm_matches_unfused(
        monkeypatch, out_indices, final_norm, fused):
    """Eager bf16 inference (CPU under Triton's interpreter, norms and
    scan on Triton): each mixer's out_proj runs inside the next add +
    RMSNorm (and norm_f's) where a norm consumes it, not where the layer's
    output is a feature; the features equal the unfused loop's to bf16
    rounding. With ``FUSE_OUT_PROJ`` off, ``embed_dims`` above
    ``FUSE_OUT_PROJ_MAX_DIMS``, in training mode, with a gradient, or with
    any norm on the reference backend, nothing is fused."""
    pytest.importorskip('triton')
    from mmmamba.ops._utils import triton_interpret
    if not triton_interpret():
        pytest.skip('needs TRITON_INTERPRET=1 (set by conftest)')
    import mmmamba.models.backbones.vision_mamba as vm
    from mmmamba.models.layers import AddRMSNorm
    model = _tiny(arch=dict(embed_dims=16, num_layers=3, d_state=4),
                  img_size=32, out_indices=out_indices, final_norm=final_norm,
                  out_type='featmap', scan_backend='triton').eval()
    for m in model.modules():
        if isinstance(m, AddRMSNorm):
            m.backend = 'triton'
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    calls = _spy_linear_norm(monkeypatch)
    monkeypatch.setattr(vm, 'FUSE_OUT_PROJ', True)

    def run():
        with torch.inference_mode(), torch.autocast('cpu',
                                                    dtype=torch.bfloat16):
            return model(x)

    got = run()
    assert len(calls) == fused
    monkeypatch.setattr(vm, 'FUSE_OUT_PROJ', False)
    calls.clear()
    want = run()
    assert calls == []
    assert len(got) == len(want) == len(out_indices)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        torch.testing.assert_close(g.float(), w.float(), rtol=4e-2,
                                   atol=4e-2 * w.abs().max().item())
    monkeypatch.setattr(vm, 'FUSE_OUT_PROJ', True)
    monkeypatch.setattr(vm, 'FUSE_OUT_PROJ_MAX_DIMS', 8)
    run()
    assert calls == []  # embed_dims 16: wider than the fused widths
    monkeypatch.setattr(vm, 'FUSE_OUT_PROJ_MAX_DIMS', 16)
    run()
    assert len(calls) == fused
    calls.clear()
    model.layers[-1].norm.backend = 'reference'
    run()
    assert calls == []  # one norm on the reference: the unfused loop
    for m in model.modules():
        if isinstance(m, AddRMSNorm):
            m.backend = 'reference'
    run()
    assert calls == []
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        model.train()(x)
    assert calls == []


@pytest.mark.gpu
@requires_cuda
def test_gpu_out_proj_fused_matches_unfused():
    """Vim-Ti at 224² batch 8 under bf16 autocast on the GPU: the loop with
    out_proj fused into the norms (24 kernels: 23 layers' norms and
    norm_f's) gives the unfused loop's features to bf16 rounding."""
    pytest.importorskip('triton')
    import mmmamba.models.backbones.vision_mamba as vm
    torch.manual_seed(0)
    model = VisionMamba(arch='tiny', out_type='featmap')
    _randomize(model, scale=0.02)  # (a CPU generator: before .cuda())
    model = model.cuda().eval()
    x = torch.randn(8, 3, 224, 224, device='cuda')
    outs = []
    default = vm.FUSE_OUT_PROJ
    for flag in (True, False):
        vm.FUSE_OUT_PROJ = flag
        try:
            with torch.inference_mode(), torch.autocast(
                    'cuda', dtype=torch.bfloat16):
                assert model._fuses_out_proj(x) == flag
                outs.append(model(x)[0].float())
        finally:
            vm.FUSE_OUT_PROJ = default
    scale = outs[1].abs().max().item()
    torch.testing.assert_close(outs[0], outs[1], rtol=4e-2,
                               atol=4e-2 * scale)
    assert (outs[0] - outs[1]).abs().mean().item() < 1e-2 * scale
