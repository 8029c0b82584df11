# Copyright (c) mmmamba contributors. All rights reserved.
"""The demo data is read unchanged by the real dataset classes and metrics,
and is a pure function of its seed."""
import filecmp
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmmamba.utils.demo_data import (ADE20K_DEMO_CLASSES, COCO_CATEGORIES,
                                     COCO_DEMO_CATEGORIES,
                                     IMAGENET_DEMO_CLASSES, make_ade20k,
                                     make_coco, make_demo_data, make_imagenet)


def _files(root):
    out = []
    for dirpath, _, names in os.walk(root):
        out += [osp.relpath(osp.join(dirpath, n), root) for n in sorted(names)]
    return sorted(out)


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('demo'))
    return make_demo_data(
        out, seed=0, num_train=6, num_val=3, img_size=64), out


def test_same_seed_same_bytes_other_seed_other_images(tmp_path, demo):
    roots, _ = demo
    again = make_demo_data(
        str(tmp_path / 'a'), seed=0, num_train=6, num_val=3, img_size=64)
    other = make_demo_data(
        str(tmp_path / 'b'), seed=1, num_train=6, num_val=3, img_size=64)
    for name in ('ade20k', 'coco', 'imagenet'):
        files = _files(roots[name])
        assert files == _files(again[name])
        _, mismatch, errors = filecmp.cmpfiles(
            roots[name], again[name], files, shallow=False)
        assert not mismatch and not errors, (name, mismatch, errors)
        images = [f for f in files if f.lower().endswith(('.jpg', '.jpeg'))]
        _, mismatch, _ = filecmp.cmpfiles(
            roots[name], other[name], images, shallow=False)
        assert len(mismatch) == len(images), name


def test_rerun_is_a_noop_and_new_params_rewrite(tmp_path):
    root = make_ade20k(str(tmp_path), num_train=2, num_val=1, img_size=32)
    img = osp.join(root, 'images', 'training', 'ADE_train_00000001.jpg')
    os.utime(img, (0, 0))
    make_ade20k(str(tmp_path), num_train=2, num_val=1, img_size=32)
    assert os.stat(img).st_mtime == 0
    make_ade20k(str(tmp_path), num_train=2, num_val=1, img_size=32, seed=3)
    assert os.stat(img).st_mtime > 0


def test_bad_sizes_raise(tmp_path):
    with pytest.raises(ValueError, match='num_train'):
        make_coco(str(tmp_path), num_train=0)
    with pytest.raises(ValueError, match='num_classes'):
        make_imagenet(str(tmp_path), num_classes=11)
    with pytest.raises(ValueError, match='unknown demo datasets'):
        make_demo_data(str(tmp_path), datasets=['voc'])


def test_ade20k_loads_with_mmseg(demo):
    pytest.importorskip('mmseg')
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets import ADE20KDataset
    from mmseg.datasets.transforms import LoadAnnotations
    roots, _ = demo
    classes = ADE20KDataset.METAINFO['classes']
    for name, index in ADE20K_DEMO_CLASSES.items():
        assert classes[index].strip() == name

    pipeline = [LoadImageFromFile(), LoadAnnotations(reduce_zero_label=True)]
    for prefix, num in (('training', 6), ('validation', 3)):
        ds = ADE20KDataset(
            data_root=roots['ade20k'],
            data_prefix=dict(
                img_path=f'images/{prefix}',
                seg_map_path=f'annotations/{prefix}'),
            pipeline=pipeline)
        assert len(ds) == num
        seen = set()
        for i in range(num):
            item = ds[i]
            seg = item['gt_seg_map']
            assert seg.shape == item['img'].shape[:2]
            seen |= set(np.unique(seg).tolist())
        # reduce_zero_label: stored k -> class k - 1, stored 0 -> 255
        assert seen <= set(ADE20K_DEMO_CLASSES.values()) | {255}
        assert len(seen - {255}) >= 3


def test_ade20k_label_pngs_are_single_channel_uint8(demo):
    roots, _ = demo
    ann_dir = osp.join(roots['ade20k'], 'annotations', 'training')
    img_dir = osp.join(roots['ade20k'], 'images', 'training')
    for name in sorted(os.listdir(ann_dir)):
        label = Image.open(osp.join(ann_dir, name))
        img = Image.open(osp.join(img_dir, name.replace('.png', '.jpg')))
        assert label.mode == 'L' and img.mode == 'RGB'
        assert label.size == img.size
        values = set(np.unique(np.asarray(label)).tolist())
        assert values <= {0} | {v + 1 for v in ADE20K_DEMO_CLASSES.values()}


def test_coco_loads_with_mmdet_and_perfect_predictions_score_1(demo):
    pytest.importorskip('mmdet')
    import torch
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets import CocoDataset
    from mmdet.datasets.transforms import LoadAnnotations
    from mmdet.evaluation import CocoMetric
    from pycocotools import mask as mask_util
    roots, out = demo
    root = roots['coco']

    # all 80 categories, with the names and order mmdet expects
    assert [c[1]
            for c in COCO_CATEGORIES] == list(CocoDataset.METAINFO['classes'])

    ds = CocoDataset(
        data_root=root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=[
            LoadImageFromFile(),
            LoadAnnotations(with_bbox=True, with_mask=True)
        ])
    assert len(ds) == 3
    metric = CocoMetric(
        ann_file=osp.join(root, 'annotations', 'instances_val2017.json'),
        metric=['bbox', 'segm'],
        outfile_prefix=osp.join(out, 'coco_eval'))
    metric.dataset_meta = ds.metainfo
    drawn = {
        CocoDataset.METAINFO['classes'].index(n)
        for i, n, _ in COCO_CATEGORIES if i in COCO_DEMO_CATEGORIES
    }
    for i in range(len(ds)):
        item = ds[i]
        bboxes = item['gt_bboxes'].tensor.numpy()
        labels = item['gt_bboxes_labels']
        assert len(labels) >= 1 and set(labels.tolist()) <= drawn
        masks = item['gt_masks'].to_ndarray().astype(bool)
        assert masks.shape[1:] == item['img'].shape[:2]
        pred = dict(
            bboxes=torch.from_numpy(bboxes),
            labels=torch.from_numpy(labels),
            scores=torch.ones(len(labels)),
            masks=torch.from_numpy(masks))
        metric.process({}, [
            dict(
                img_id=item['img_id'],
                ori_shape=item['ori_shape'],
                pred_instances=pred)
        ])
    results = metric.compute_metrics(metric.results)
    assert results['bbox_mAP'] == pytest.approx(1.0, abs=0.02)
    assert results['segm_mAP'] == pytest.approx(1.0, abs=0.05)

    with open(osp.join(root, 'annotations', 'instances_train2017.json')) as f:
        content = json.load(f)
    assert set(content) >= {
        'info', 'licenses', 'images', 'annotations', 'categories'
    }
    ids = [a['id'] for a in content['annotations']]
    assert len(ids) == len(set(ids))
    for ann in content['annotations']:
        img = next(i for i in content['images'] if i['id'] == ann['image_id'])
        rle = mask_util.frPyObjects(ann['segmentation'], img['height'],
                                    img['width'])
        area = float(mask_util.area(mask_util.merge(rle)))
        assert ann['area'] == pytest.approx(area, rel=0.2)
        x, y, w, h = ann['bbox']
        assert 0 <= x and 0 <= y and x + w <= img['width']
        assert y + h <= img['height'] and ann['iscrowd'] == 0


def test_imagenet_loads_with_mmpretrain(demo):
    pytest.importorskip('mmpretrain')
    from mmpretrain.datasets import CustomDataset, ImageNet
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
    roots, _ = demo
    root = roots['imagenet']
    assert [n for _, n in IMAGENET_DEMO_CLASSES
            ] == list(IMAGENET_CATEGORIES[:len(IMAGENET_DEMO_CLASSES)])

    train = ImageNet(data_root=root, split='train')
    val = ImageNet(data_root=root, split='val')
    assert len(train) == 10 * 4 and len(val) == 10 * 2
    assert len(train.CLASSES) == 1000
    assert sorted(set(train.get_gt_labels().tolist())) == list(range(10))
    assert np.bincount(val.get_gt_labels()).tolist() == [2] * 10
    for i in (0, len(train) - 1):
        info = train.get_data_info(i)
        wnid = IMAGENET_DEMO_CLASSES[info['gt_label']][0]
        assert f'/train/{wnid}/' in info['img_path']

    # a 10-class subset through the generic dataset and the classes file
    sub = CustomDataset(
        data_root=root,
        ann_file='meta/val.txt',
        data_prefix='val',
        classes=osp.join(root, 'meta', 'classes.txt'))
    assert len(sub) == 20 and len(sub.CLASSES) == 10
    # and by scanning the class folders, as ImageFolder would
    folders = CustomDataset(data_root=root, data_prefix='train')
    assert len(folders) == 40
    assert list(folders.CLASSES) == [w for w, _ in IMAGENET_DEMO_CLASSES]
