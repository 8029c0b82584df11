# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU checks of tools/analysis_tools/profile_train_step.py (its GPU results
are in benchmarks/NOTES.md)."""
import os.path as osp

import pytest

from mmmamba.testing import load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'profile_train_step.py')


@pytest.mark.parametrize('name, want', [
    ('_selective_scan_bwd_tmajor_kernel', 'scan'),
    ('SelectiveScanRefFn', 'scan'),
    ('_ss2d_scan_fwd_kernel', 'scan'),
    ('nvjet_sm90_tst_192x192_64x4_2x1_v_bz_coopB_TNN', 'gemm'),
    ('void at::native::conv_depthwise2d_forward_kernel_generic<float>', 'conv'),
    ('void at::native::vectorized_layer_norm_kernel<float, float>', 'norm'),
    ('void at::native::elementwise_kernel<direct_copy_kernel_cuda>', 'copy'),
    ('cudnn::engines_precompiled::nchwToNhwcKernel<bf16>', 'copy'),
    ('multi_tensor_apply_kernel<AdamFunctor>', 'optimizer'),
    ('void at::native::silu_kernel<bf16>', 'elementwise/other'),
])
def test_category(name, want):
    assert load_script(SCRIPT).category(name) == want


def test_cpu_smoke_profiles_both_backbones():
    """A tiny Vim and VMamba: step times, categories that add up to the
    profiled time, and the scan found among them."""
    prof = load_script(SCRIPT)
    res = prof.main([
        '--device', 'cpu', '--batch-size', '2', '--resolution', '32',
        '--warmup', '1', '--steps', '1', '--profile-steps', '1', '--top',
        '3', 'vim={"type": "mmmamba.VisionMamba", "arch": '
        '{"embed_dims": 32, "num_layers": 2}}',
        'vm={"type": "mmmamba.VMamba", "arch": {"dims": 16, '
        '"depths": [1, 1, 1, 1]}}'
    ])
    assert [r['label'] for r in res] == ['vim', 'vm']
    for r in res:
        assert r['step_ms'] > 0
        assert set(r['categories']) <= set(prof.CATEGORIES)
        assert r['categories'].get('scan', 0) > 0
        assert sum(r['categories'].values()) == pytest.approx(r['kernel_ms'])


def test_cpu_smoke_profiles_inference():
    """``--inference``: the feature model's forward only (no backward, no
    optimizer), labelled as such, the scan among its ops and nothing of
    the training step's (no optimizer time)."""
    prof = load_script(SCRIPT)
    res = prof.main([
        '--device', 'cpu', '--batch-size', '2', '--resolution', '32',
        '--warmup', '1', '--steps', '1', '--profile-steps', '1', '--top',
        '3', '--inference', 'vim={"type": "mmmamba.VisionMamba", "arch": '
        '{"embed_dims": 32, "num_layers": 2}}'
    ])
    assert [r['label'] for r in res] == ['vim (inference)']
    cats = res[0]['categories']
    assert cats.get('scan', 0) > 0
    assert 'optimizer' not in cats
    assert sum(cats.values()) == pytest.approx(res[0]['kernel_ms'])
