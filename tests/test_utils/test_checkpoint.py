# Copyright (c) mmmamba contributors. All rights reserved.
import os
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from torch import nn

from mmmamba.utils.checkpoint import (_history_buffer_getattr,
                                      check_checkpoint_file,
                                      check_pretrained_backbone,
                                      check_state_dict_matches,
                                      register_checkpoint_safe_globals)


class _Toy(BaseModel):

    def __init__(self, width: int = 4, classes: int = 3) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(2, width), nn.LayerNorm(width))
        self.head = nn.Linear(width, classes)

    def forward(self, inputs, data_samples=None, mode='loss'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.head(self.backbone(x))
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return [out]


class _Data(torch.utils.data.Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.full((2, ), float(i)))


@pytest.fixture(scope='module')
def runner_ckpt(tmp_path_factory):
    """A checkpoint written by a real mmengine Runner (with message hub,
    optimizer and scheduler state)."""
    from mmengine.runner import Runner
    work_dir = str(tmp_path_factory.mktemp('toy'))
    runner = Runner(
        model=_Toy(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=_Data(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=dict(type='LinearLR', by_epoch=False, begin=0, end=2),
        train_cfg=dict(by_epoch=False, max_iters=2),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False)),
        default_scope='mmengine')
    runner.train()
    return os.path.join(work_dir, 'iter_2.pth')


@pytest.mark.skipif(
    not hasattr(torch.serialization, 'add_safe_globals'),
    reason='torch < 2.4 has no weights_only allowlist')
def test_runner_checkpoint_needs_and_gets_the_allowlist(runner_ckpt):
    # Without the allowlist, torch>=2.6's default weights_only load fails.
    code = f'import torch; torch.load({runner_ckpt!r})'
    plain = subprocess.run([sys.executable, '-c', code],
                           capture_output=True,
                           text=True)
    if plain.returncode == 0:
        pytest.skip('this torch loads mmengine checkpoints unaided')
    assert 'HistoryBuffer' in plain.stderr

    register_checkpoint_safe_globals()
    ckpt = torch.load(runner_ckpt)  # the weights_only default
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.statistics('mean') == pytest.approx(buf.mean())
    assert ckpt['meta']['iter'] == 2


def test_allowlist_refuses_other_globals(tmp_path):
    register_checkpoint_safe_globals()
    path = str(tmp_path / 'evil.pth')
    torch.save({'f': os.getcwd}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        _history_buffer_getattr(HistoryBuffer, '__init__')
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        _history_buffer_getattr(os, 'system')
    assert _history_buffer_getattr(HistoryBuffer, 'max') is HistoryBuffer.max


def test_checkpoint_file_of_same_model_passes(runner_ckpt):
    model = _Toy()
    check_checkpoint_file(model, runner_ckpt, require_all=True)
    saved = torch.load(runner_ckpt)['state_dict']
    assert torch.equal(model.head.weight, saved['head.weight'])


def test_checkpoint_of_other_backbone_size_raises(runner_ckpt):
    with pytest.raises(ValueError, match='does not fit this model'):
        check_checkpoint_file(_Toy(width=8), runner_ckpt)


def test_missing_or_extra_backbone_keys_raise():
    model = _Toy()
    sd = dict(model.state_dict())
    missing = {k: v for k, v in sd.items() if k != 'backbone.1.bias'}
    with pytest.raises(ValueError, match='backbone.1.bias'):
        check_state_dict_matches(model, missing, 'x')
    extra = dict(sd, **{'backbone.9.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match='do not exist in the model'):
        check_state_dict_matches(model, extra, 'x')


def test_head_mismatch_tolerated_for_finetuning_not_for_testing():
    model = _Toy(classes=3)
    other = _Toy(classes=5).state_dict()
    missing, unexpected = check_state_dict_matches(model, other, 'x')
    assert sorted(missing) == ['head.bias', 'head.weight']
    assert unexpected == []
    no_head = {k: v for k, v in other.items() if k.startswith('backbone')}
    check_state_dict_matches(model, no_head, 'x')
    with pytest.raises(ValueError, match='missing in the checkpoint'):
        check_state_dict_matches(model, no_head, 'x', require_all=True)
    with pytest.raises(ValueError, match='other shapes'):
        check_state_dict_matches(model, other, 'x', require_all=True)


def test_pretrained_backbone_checked(tmp_path):
    good = str(tmp_path / 'good.pth')
    torch.save(dict(state_dict=_Toy().state_dict()), good)
    model = _Toy()
    model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=good, prefix='backbone.')
    assert check_pretrained_backbone(model)

    wrong = str(tmp_path / 'wrong.pth')
    torch.save(dict(state_dict=nn.Conv2d(3, 4, 3).state_dict()), wrong)
    model.backbone.init_cfg['checkpoint'] = wrong
    with pytest.raises(ValueError, match='provides only 0%'):
        check_pretrained_backbone(model)

    bigger = str(tmp_path / 'bigger.pth')
    torch.save(dict(state_dict=_Toy(width=8).state_dict()), bigger)
    model.backbone.init_cfg['checkpoint'] = bigger
    with pytest.raises(ValueError, match='does not fit this backbone'):
        check_pretrained_backbone(model)

    model.backbone.init_cfg['checkpoint'] = str(tmp_path / 'none.pth')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        check_pretrained_backbone(model)
    model.backbone.init_cfg = None
    assert not check_pretrained_backbone(model)
