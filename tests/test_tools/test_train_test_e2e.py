# Copyright (c) mmmamba contributors. All rights reserved.
"""End to end on CPU: ``tools/train.py`` then ``tools/test.py`` (as
subprocesses) on tiny-dims variants of the real configs and the demo data.

Each variant is the real config loaded with ``Config.fromfile`` (so every
inherited ``mmpretrain::`` / ``mmseg::`` / ``mmdet::`` base, custom import,
pipeline step, optimizer constructor and evaluator is the shipped one), with
only sizes shrunk: a 2-4 layer, 32-dim Vim (or a 4-block, 16-dim VMamba),
32-64 px images, a handful of iterations, no pretrained checkpoint, no
dataloader workers. The variant is dumped to a file and run exactly as a user
would run a config.
"""
import glob
import json
import math
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

pytest.importorskip('mmpretrain')
pytest.importorskip('mmseg')
pytest.importorskip('mmdet')
# 4-6 minutes for the whole file on 2 (shared) CPU cores
pytestmark = pytest.mark.slow

from mmengine.config import Config  # noqa: E402

from mmmamba.utils.demo_data import make_demo_data  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLS_CONFIG = 'configs/vim/vim-tiny-p16_8xb128_in1k.py'
SEG_CONFIG = 'configs/upernet_vim_s_ade20k.py'
DET_CONFIG = 'configs/vim/cascade-mask-rcnn_vim-t_simple-fpn_8xb8-lsj-380k_coco.py'  # noqa: E501
VMAMBA_SEG_CONFIG = 'configs/vmamba/upernet_vmamba-t_8xb2-160k_ade20k-512x512.py'  # noqa: E501
TINY_VIM = dict(embed_dims=32, num_layers=2, d_state=4)
TINY_VMAMBA = dict(
    embed_dims=16, depths=(1, 1, 1, 1), d_state=2, ssm_ratio=1.0)
TIMEOUT = 300

# A hook (only for the distributed test) that saves each rank's weights; it
# is found through the config's custom_imports and PYTHONPATH.
RANK_DUMP_HOOK = '''
import os.path as osp

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankDumpHook(Hook):

    def _dump(self, runner, tag):
        model = getattr(runner.model, 'module', runner.model)
        state = {k: v.detach().cpu().clone()
                 for k, v in model.state_dict().items()}
        torch.save(dict(state=state, world_size=get_world_size()),
                   osp.join(runner.work_dir, f'{tag}_rank{get_rank()}.pth'))

    def before_train(self, runner):
        self._dump(runner, 'init')

    def after_train(self, runner):
        self._dump(runner, 'final')
'''

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _env(**extra):
    env = dict(os.environ)
    env.setdefault('OMP_NUM_THREADS', '2')
    env.update(extra)
    return env


def run_tool(args, env=None, timeout=TIMEOUT, expect_ok=True):
    """Run a tool from the repository root; return (returncode, output)."""
    proc = subprocess.run(
        args,
        cwd=REPO,
        env=env or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
    if expect_ok:
        assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.returncode, proc.stdout


def train(config, work_dir, *extra, env=None):
    run_tool([
        sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
        *extra
    ],
             env=env)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def evaluate(config, checkpoint, work_dir):
    out_json = osp.join(work_dir, 'metrics.json')
    _, log = run_tool([
        sys.executable, 'tools/test.py', config, checkpoint, '--work-dir',
        work_dir, '--metrics-out', out_json
    ])
    with open(out_json) as f:
        return json.load(f), log


def train_losses(work_dir):
    """Every logged training loss (mmengine's scalars.json)."""
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    losses = []
    for path in files:
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'loss' in record:
                    losses.append(record['loss'])
    assert losses, 'no loss was logged'
    return losses


def _resize_pipeline(pipeline, size):
    """Shrink every size in a pipeline, keeping its transforms."""
    out = []
    for t in pipeline:
        t = dict(t)
        for key in ('scale', 'crop_size', 'size'):
            if key in t and isinstance(t[key], (tuple, list, int)):
                t[key] = size
        if t.get('type') == 'Resize' and 'scale' in t:
            t['scale'] = size
        out.append(t)
    return out


def _loader(cfg_loader, data_root, pipeline, batch_size):
    cfg_loader.batch_size = batch_size
    cfg_loader.num_workers = 0
    cfg_loader.persistent_workers = False
    cfg_loader.dataset.data_root = data_root
    cfg_loader.dataset.pipeline = pipeline


def _no_validation(cfg):
    """Evaluation is tools/test.py's job here: no validation loop."""
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None


def _dump(cfg, path):
    cfg.dump(path)
    return path


# --------------------------------------------------------------------------
# tiny variants of the real configs
# --------------------------------------------------------------------------


def tiny_cls_config(tmp, data_root, **kw):
    cfg = Config.fromfile(osp.join(REPO, CLS_CONFIG))
    cfg.model.backbone.update(
        arch=TINY_VIM, img_size=32, patch_size=8, stride=8)
    cfg.model.head.in_channels = TINY_VIM['embed_dims']
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=32, backend='pillow'),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=36, edge='short', backend='pillow'),
        dict(type='CenterCrop', crop_size=32),
        dict(type='PackInputs'),
    ]
    _loader(cfg.train_dataloader, data_root, train_pipeline, 4)
    _loader(cfg.val_dataloader, data_root, test_pipeline, 8)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.update(kw)
    return _dump(cfg, osp.join(tmp, 'tiny_cls.py'))


def tiny_seg_config(tmp, data_root, iters=4, family='vim'):
    size = (64, 64)
    if family == 'vim':
        cfg = Config.fromfile(osp.join(REPO, SEG_CONFIG))
        dims = TINY_VIM['embed_dims']
        cfg.model.backbone.update(
            arch=dict(TINY_VIM, num_layers=4),
            img_size=size,
            out_indices=(0, 1, 2, 3),
            init_cfg=None)
        cfg.model.neck.in_channels = dims
        in_channels = [dims] * 4
    else:
        cfg = Config.fromfile(osp.join(REPO, VMAMBA_SEG_CONFIG))
        cfg.model.backbone.update(arch=TINY_VMAMBA, init_cfg=None)
        in_channels = [TINY_VMAMBA['embed_dims'] * 2**i for i in range(4)]
    cfg.model.data_preprocessor.size = size
    cfg.model.decode_head.update(in_channels=in_channels, channels=16)
    cfg.model.auxiliary_head.update(in_channels=in_channels[2], channels=16)
    if cfg.model.test_cfg.get('mode') == 'slide':
        cfg.model.test_cfg.update(crop_size=size, stride=(48, 48))
    _loader(cfg.train_dataloader, data_root,
            _resize_pipeline(cfg.train_dataloader.dataset.pipeline, size), 2)
    test_pipeline = _resize_pipeline(cfg.test_dataloader.dataset.pipeline,
                                     (96, 64))
    _loader(cfg.val_dataloader, data_root, test_pipeline, 1)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_iters = iters
    _no_validation(cfg)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = iters
    return _dump(cfg, osp.join(tmp, 'tiny_seg.py'))


def tiny_det_config(tmp, data_root):
    cfg = Config.fromfile(osp.join(REPO, DET_CONFIG))
    size = (64, 64)
    c = 32
    cfg.model.data_preprocessor.batch_augments[0].size = size
    cfg.model.backbone.update(arch=TINY_VIM, img_size=size, init_cfg=None)
    cfg.model.neck.update(in_channels=TINY_VIM['embed_dims'], out_channels=c)
    cfg.model.rpn_head.update(in_channels=c, feat_channels=c)
    roi = cfg.model.roi_head
    roi.bbox_roi_extractor.out_channels = c
    roi.mask_roi_extractor.out_channels = c
    for head in roi.bbox_head:
        head.update(in_channels=c, conv_out_channels=c, fc_out_channels=64)
    roi.mask_head.update(in_channels=c, conv_out_channels=c)
    # fewer proposals and RoIs than the COCO-scale defaults
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    for stage in cfg.model.train_cfg.rcnn:
        stage.sampler.num = 64
    cfg.model.test_cfg.rpn.update(nms_pre=200, max_per_img=100)
    # a 4-iteration model scores every class ~1/81: keep its boxes so that
    # COCO evaluation has detections to score
    cfg.model.test_cfg.rcnn.update(score_thr=0.0, max_per_img=20)
    train_pipeline = _resize_pipeline(cfg.train_dataloader.dataset.pipeline,
                                      size)
    for t in train_pipeline:
        if t['type'] == 'RandomResize':
            # 64 px x 0.1 (the real jitter) would leave images smaller
            # than the smallest (32 px) RPN anchor
            t['ratio_range'] = (0.8, 1.25)
    _loader(cfg.train_dataloader, data_root, train_pipeline, 2)
    _loader(cfg.val_dataloader, data_root,
            _resize_pipeline(cfg.val_dataloader.dataset.pipeline, size), 1)
    cfg.test_dataloader = cfg.val_dataloader
    ann = osp.join(data_root, 'annotations', 'instances_val2017.json')
    cfg.val_evaluator.ann_file = ann
    cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg.max_iters = 4
    _no_validation(cfg)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 4
    return _dump(cfg, osp.join(tmp, 'tiny_det.py'))


@pytest.fixture(scope='module')
def demo_roots(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('demo_data'))
    roots = make_demo_data(
        out, datasets=['ade20k', 'coco'], num_train=8, num_val=4, img_size=64)
    roots.update(
        make_demo_data(
            out,
            datasets=['imagenet'],
            num_train_per_class=2,
            num_val_per_class=1,
            img_size=40))
    return roots


@pytest.fixture(scope='module')
def cls_run(demo_roots, tmp_path_factory):
    """One classification training run, shared by the tests below."""
    tmp = str(tmp_path_factory.mktemp('cls'))
    config = tiny_cls_config(tmp, demo_roots['imagenet'])
    work_dir = osp.join(tmp, 'work')
    ckpt = train(config, work_dir)
    return config, work_dir, ckpt


# --------------------------------------------------------------------------
# train -> test for each task
# --------------------------------------------------------------------------


def test_classification_train_then_test(cls_run):
    config, work_dir, ckpt = cls_run
    assert all(math.isfinite(x) for x in train_losses(work_dir))
    metrics, log = evaluate(config, ckpt, work_dir)
    assert 0 <= metrics['accuracy/top1'] <= metrics['accuracy/top5'] <= 100
    assert 'classification metrics' in log and 'accuracy/top5' in log


@pytest.mark.parametrize('family', ['vim', 'vmamba'])
def test_segmentation_train_then_test(demo_roots, tmp_path, family):
    config = tiny_seg_config(
        str(tmp_path), demo_roots['ade20k'], family=family)
    work_dir = str(tmp_path / 'work')
    ckpt = train(config, work_dir)
    assert all(math.isfinite(x) for x in train_losses(work_dir))
    metrics, log = evaluate(config, ckpt, work_dir)
    assert 0 <= metrics['mIoU'] <= 100 and 0 <= metrics['aAcc'] <= 100
    assert 'segmentation metrics' in log and 'mIoU' in log


def test_detection_cascade_mask_rcnn_train_then_test(demo_roots, tmp_path):
    config = tiny_det_config(str(tmp_path), demo_roots['coco'])
    work_dir = str(tmp_path / 'work')
    ckpt = train(config, work_dir)
    assert all(math.isfinite(x) for x in train_losses(work_dir))
    metrics, log = evaluate(config, ckpt, work_dir)
    for key in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert 0 <= metrics[key] <= 1, (key, metrics)
    assert 'detection metrics' in log


def test_resume_continues_from_checkpoint(cls_run, tmp_path):
    """--resume loads a checkpoint (message hub, optimizer, scheduler) with
    torch's weights_only loader and continues the schedule."""
    config, work_dir, ckpt = cls_run
    cfg = Config.fromfile(config)
    cfg.train_cfg.max_epochs = 2
    longer = _dump(cfg, str(tmp_path / 'tiny_cls_2ep.py'))
    new_dir = str(tmp_path / 'work')
    last = train(longer, new_dir, '--resume', ckpt)
    assert last.endswith('epoch_2.pth')
    logs = glob.glob(osp.join(new_dir, '*', '*.log'))
    text = open(logs[0]).read()
    assert 'resumed epoch: 1' in text
    assert all(math.isfinite(x) for x in train_losses(new_dir))


# --------------------------------------------------------------------------
# bad input stops early, with a message naming the fix
# --------------------------------------------------------------------------


def test_missing_config_stops(tmp_path):
    rc, out = run_tool([sys.executable, 'tools/train.py', 'configs/nope.py'],
                       expect_ok=False)
    assert rc != 0 and "config file 'configs/nope.py' does not exist" in out


def test_missing_dataset_stops_before_the_runner(cls_run, tmp_path):
    config, _, _ = cls_run
    rc, out = run_tool([
        sys.executable, 'tools/train.py', config, '--work-dir',
        str(tmp_path), '--cfg-options',
        'train_dataloader.dataset.data_root=/no/such/imagenet'
    ],
                       expect_ok=False)
    assert rc != 0
    assert "train_dataloader: the dataset data_root '/no/such/imagenet' " \
        'does not exist' in out
    assert not glob.glob(osp.join(str(tmp_path), '*', '*.log'))


def test_checkpoint_of_another_model_stops_before_testing(
        cls_run, demo_roots, tmp_path):
    _, _, cls_ckpt = cls_run
    config = tiny_seg_config(str(tmp_path), demo_roots['ade20k'])
    rc, out = run_tool([
        sys.executable, 'tools/test.py', config, cls_ckpt, '--work-dir',
        str(tmp_path / 'work')
    ],
                       expect_ok=False)
    assert rc != 0
    assert 'is not a checkpoint of this model' in out or \
        'does not fit this model' in out
    assert 'segmentation metrics' not in out


def test_unknown_backbone_arch_stops(cls_run, tmp_path):
    config, _, _ = cls_run
    rc, out = run_tool([
        sys.executable, 'tools/train.py', config, '--work-dir',
        str(tmp_path), '--cfg-options', 'model.backbone.arch=huge'
    ],
                       expect_ok=False)
    assert rc != 0 and 'huge' in out
    assert 'Epoch(train)' not in out


# --------------------------------------------------------------------------
# 2-process torch.distributed (gloo on CPU) through tools/dist_train.sh
# --------------------------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_process_training_keeps_ranks_identical(demo_roots, tmp_path):
    import torch
    hook_dir = tmp_path / 'hooks'
    hook_dir.mkdir()
    (hook_dir / 'rank_dump_hook.py').write_text(RANK_DUMP_HOOK)
    config = tiny_cls_config(
        str(tmp_path),
        demo_roots['imagenet'],
        custom_imports=dict(
            imports=['mmmamba.models', 'rank_dump_hook'],
            allow_failed_imports=False),
        custom_hooks=[dict(type='RankDumpHook')])
    work_dir = str(tmp_path / 'work')
    env = _env(
        PYTHON=sys.executable,
        PORT=str(_free_port()),
        OMP_NUM_THREADS='1',
        PYTHONPATH=os.pathsep.join(
            [str(hook_dir), os.environ.get('PYTHONPATH', '')]))
    run_tool(
        ['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work_dir],
        env=env)

    dumps = {}
    for tag in ('init', 'final'):
        for rank in (0, 1):
            path = osp.join(work_dir, f'{tag}_rank{rank}.pth')
            dumps[tag, rank] = torch.load(path)
    assert dumps['final', 0]['world_size'] == 2
    final0, final1 = dumps['final', 0]['state'], dumps['final', 1]['state']
    assert final0.keys() == final1.keys()
    for key in final0:
        assert torch.equal(final0[key], final1[key]), key
    # and training did change the weights
    init0 = dumps['init', 0]['state']
    changed = [k for k in final0 if not torch.equal(final0[k], init0[k])]
    assert len(changed) > len(final0) // 2
