# Copyright (c) mmmamba contributors. All rights reserved.
"""Deterministic demo datasets in the exact on-disk formats of ADE20K, COCO
and ImageNet.

Every image is a procedurally drawn scene (flat shapes on textured
backgrounds) whose pixels are a pure function of ``(seed, split, index)``, so
the same call writes the same bytes. The layouts are the ones the real
datasets ship with, so that mmseg's ``ADE20KDataset``, mmdet's
``CocoDataset`` and mmpretrain's ``ImageNet`` / ``CustomDataset`` read them
unchanged:

* ADE20K (``<out>/ADEChallengeData2016``)::

      images/{training,validation}/ADE_{train,val}_%08d.jpg
      annotations/{training,validation}/ADE_{train,val}_%08d.png

  The label PNGs are single-channel ``uint8`` maps in the ADE20K convention:
  ``0`` is "other" (ignored after ``reduce_zero_label``) and ``k`` in
  ``1..150`` is class ``k - 1`` of the 150 SceneParsing classes.
* COCO (``<out>``)::

      {train,val}2017/%012d.jpg
      annotations/instances_{train,val}2017.json

  The JSON holds ``info``, ``licenses``, ``images``, ``annotations`` (polygon
  ``segmentation``, ``bbox`` as ``[x, y, w, h]``, ``area``, ``iscrowd``) and
  all 80 ``categories`` with their official ids; the scenes use a few of
  them.
* ImageNet (``<out>``)::

      train/<wnid>/<wnid>_<n>.JPEG
      val/ILSVRC2012_val_%08d.JPEG
      meta/{train,val}.txt   # "<relative path> <label>" per line
      meta/classes.txt       # the subset's class names, one per line

  Labels are the official ImageNet-1k indices of the first classes, so the
  1000-class ``ImageNet`` dataset and a subset ``CustomDataset``
  (``classes='meta/classes.txt'``) both read it.

Only numpy, PIL and json are used here, so that writing the data does not
need any downstream toolbox.
"""
import hashlib
import json
import math
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    'ADE20K_DEMO_CLASSES', 'COCO_CATEGORIES', 'COCO_DEMO_CATEGORIES',
    'IMAGENET_DEMO_CLASSES', 'make_ade20k', 'make_coco', 'make_imagenet',
    'make_demo_data'
]

#: Bumped whenever the drawing changes, so stale data is rewritten.
GENERATOR_VERSION = 1
STAMP_FILE = 'mmmamba_demo_data.json'
JPEG_QUALITY = 90

# ADE20K SceneParsing class index (0-based, as in mmseg's ADE20KDataset)
# of the classes the scenes use. The label PNG stores index + 1.
ADE20K_DEMO_CLASSES: Dict[str, int] = {
    'wall': 0,
    'sky': 2,
    'floor': 3,
    'tree': 4,
    'road': 6,
    'grass': 9,
    'person': 12,
    'car': 20,
}

# All 80 COCO categories: (id, name, supercategory), as in the official
# instances_*2017.json files.
# yapf: disable
COCO_CATEGORIES: List[Tuple[int, str, str]] = [
    (1, 'person', 'person'), (2, 'bicycle', 'vehicle'),
    (3, 'car', 'vehicle'), (4, 'motorcycle', 'vehicle'),
    (5, 'airplane', 'vehicle'), (6, 'bus', 'vehicle'),
    (7, 'train', 'vehicle'), (8, 'truck', 'vehicle'), (9, 'boat', 'vehicle'),
    (10, 'traffic light', 'outdoor'), (11, 'fire hydrant', 'outdoor'),
    (13, 'stop sign', 'outdoor'), (14, 'parking meter', 'outdoor'),
    (15, 'bench', 'outdoor'), (16, 'bird', 'animal'), (17, 'cat', 'animal'),
    (18, 'dog', 'animal'), (19, 'horse', 'animal'), (20, 'sheep', 'animal'),
    (21, 'cow', 'animal'), (22, 'elephant', 'animal'), (23, 'bear', 'animal'),
    (24, 'zebra', 'animal'), (25, 'giraffe', 'animal'),
    (27, 'backpack', 'accessory'), (28, 'umbrella', 'accessory'),
    (31, 'handbag', 'accessory'), (32, 'tie', 'accessory'),
    (33, 'suitcase', 'accessory'), (34, 'frisbee', 'sports'),
    (35, 'skis', 'sports'), (36, 'snowboard', 'sports'),
    (37, 'sports ball', 'sports'), (38, 'kite', 'sports'),
    (39, 'baseball bat', 'sports'), (40, 'baseball glove', 'sports'),
    (41, 'skateboard', 'sports'), (42, 'surfboard', 'sports'),
    (43, 'tennis racket', 'sports'), (44, 'bottle', 'kitchen'),
    (46, 'wine glass', 'kitchen'), (47, 'cup', 'kitchen'),
    (48, 'fork', 'kitchen'), (49, 'knife', 'kitchen'),
    (50, 'spoon', 'kitchen'), (51, 'bowl', 'kitchen'),
    (52, 'banana', 'food'), (53, 'apple', 'food'), (54, 'sandwich', 'food'),
    (55, 'orange', 'food'), (56, 'broccoli', 'food'), (57, 'carrot', 'food'),
    (58, 'hot dog', 'food'), (59, 'pizza', 'food'), (60, 'donut', 'food'),
    (61, 'cake', 'food'), (62, 'chair', 'furniture'),
    (63, 'couch', 'furniture'), (64, 'potted plant', 'furniture'),
    (65, 'bed', 'furniture'), (67, 'dining table', 'furniture'),
    (70, 'toilet', 'furniture'), (72, 'tv', 'electronic'),
    (73, 'laptop', 'electronic'), (74, 'mouse', 'electronic'),
    (75, 'remote', 'electronic'), (76, 'keyboard', 'electronic'),
    (77, 'cell phone', 'electronic'), (78, 'microwave', 'appliance'),
    (79, 'oven', 'appliance'), (80, 'toaster', 'appliance'),
    (81, 'sink', 'appliance'), (82, 'refrigerator', 'appliance'),
    (84, 'book', 'indoor'), (85, 'clock', 'indoor'), (86, 'vase', 'indoor'),
    (87, 'scissors', 'indoor'), (88, 'teddy bear', 'indoor'),
    (89, 'hair drier', 'indoor'), (90, 'toothbrush', 'indoor')
]
# yapf: enable

# The COCO categories drawn in the detection scenes: id -> shape.
COCO_DEMO_CATEGORIES: Dict[int, str] = {
    13: 'octagon',  # stop sign
    37: 'circle',  # sports ball
    38: 'diamond',  # kite
    72: 'rectangle',  # tv
}

# The first ImageNet-1k classes (official label order): (wnid, name) with
# the names as mmpretrain's IMAGENET_CATEGORIES spells them.
IMAGENET_DEMO_CLASSES: List[Tuple[str, str]] = [
    ('n01440764', 'tench, Tinca tinca'),
    ('n01443537', 'goldfish, Carassius auratus'),
    ('n01484850', 'great white shark, white shark, man-eater, '
     'man-eating shark, Carcharodon carcharias'),
    ('n01491361', 'tiger shark, Galeocerdo cuvieri'),
    ('n01494475', 'hammerhead, hammerhead shark'),
    ('n01496331', 'electric ray, crampfish, numbfish, torpedo'),
    ('n01498041', 'stingray'),
    ('n01514668', 'cock'),
    ('n01514859', 'hen'),
    ('n01518878', 'ostrich, Struthio camelus'),
]

_SPLIT_IDS = {'train': 0, 'val': 1}

# --------------------------------------------------------------------------
# Drawing primitives
# --------------------------------------------------------------------------


def _rng(seed: int, dataset: str, split: str,
         index: int) -> np.random.Generator:
    """A generator that depends only on ``(seed, dataset, split, index)``."""
    tag = int(hashlib.sha256(dataset.encode()).hexdigest()[:8], 16)
    return np.random.default_rng([seed, tag, _SPLIT_IDS[split], index])


def _texture(rng: np.random.Generator, h: int, w: int, color: Sequence[float],
             kind: str) -> np.ndarray:
    """A textured ``(h, w, 3)`` float image around ``color`` (0-255)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.asarray(color, dtype=np.float32)[None, None, :]
    if kind == 'stripes':
        theta = rng.uniform(0, math.pi)
        freq = rng.uniform(0.15, 0.35)
        wave = np.sin(freq * (xx * math.cos(theta) + yy * math.sin(theta)))
        pattern = 30.0 * wave[..., None]
    elif kind == 'checker':
        cell = int(rng.integers(6, 12))
        checker = ((xx // cell + yy // cell) % 2) * 2.0 - 1.0
        pattern = 25.0 * checker[..., None]
    elif kind == 'gradient':
        pattern = (40.0 * (yy / max(h - 1, 1)) - 20.0)[..., None]
    else:  # 'noise': low-frequency blotches
        coarse = rng.normal(0, 1, size=(h // 8 + 2, w // 8 + 2))
        up = np.kron(coarse, np.ones((8, 8)))[:h, :w]
        pattern = 18.0 * up[..., None].astype(np.float32)
    noise = rng.normal(0, 6.0, size=(h, w, 3)).astype(np.float32)
    return base + pattern + noise


def _jitter(rng: np.random.Generator,
            color: Sequence[int],
            amount: float = 20.0) -> np.ndarray:
    return np.asarray(color, np.float32) + rng.uniform(-amount, amount, 3)


def _polygon(shape: str, cx: float, cy: float, rx: float, ry: float,
             angle: float) -> List[Tuple[float, float]]:
    """Vertices of a shape centred at ``(cx, cy)`` with radii ``rx, ry``."""
    if shape == 'circle':
        unit = [(math.cos(t), math.sin(t))
                for t in np.linspace(0, 2 * math.pi, 24, endpoint=False)]
    elif shape == 'octagon':
        unit = [(math.cos(t), math.sin(t))
                for t in np.linspace(0, 2 * math.pi, 8, endpoint=False) +
                math.pi / 8]
    elif shape == 'diamond':
        unit = [(0, -1), (0.7, 0), (0, 1), (-0.7, 0)]
    elif shape == 'triangle':
        unit = [(0, -1), (0.9, 0.8), (-0.9, 0.8)]
    elif shape == 'star':
        unit = []
        for k in range(10):
            r = 1.0 if k % 2 == 0 else 0.45
            t = -math.pi / 2 + k * math.pi / 5
            unit.append((r * math.cos(t), r * math.sin(t)))
    elif shape == 'rectangle':
        unit = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    else:
        raise ValueError(f'unknown shape {shape!r}')
    ca, sa = math.cos(angle), math.sin(angle)
    return [(cx + rx * u * ca - ry * v * sa, cy + rx * u * sa + ry * v * ca)
            for u, v in unit]


def _mask(size: Tuple[int, int],
          polygon: Sequence[Tuple[float, float]]) -> np.ndarray:
    """Boolean ``(h, w)`` mask of a polygon; ``size`` is ``(w, h)``."""
    img = Image.new('L', size, 0)
    ImageDraw.Draw(img).polygon([tuple(p) for p in polygon], fill=1)
    return np.asarray(img, dtype=bool)


def _paste(canvas: np.ndarray, mask: np.ndarray, layer: np.ndarray) -> None:
    canvas[mask] = layer[mask]


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _image_size(rng: np.random.Generator, img_size: int) -> Tuple[int, int]:
    """``(w, h)``: the height is ``img_size``; the width is up to 25% larger,
    in steps of 16 px (so that stride-16 backbones see whole patches)."""
    extra = int(rng.integers(0, img_size // 64 + 1)) * 16
    return img_size + extra, img_size


def _save_jpeg(img: np.ndarray, path: str) -> None:
    Image.fromarray(_to_uint8(img), 'RGB').save(
        path, format='JPEG', quality=JPEG_QUALITY)


def _place_boxes(rng: np.random.Generator,
                 w: int,
                 h: int,
                 num: int,
                 min_r: float,
                 max_r: float,
                 tries: int = 60) -> List[Tuple[float, float, float, float]]:
    """Non-overlapping ``(cx, cy, rx, ry)`` placements inside the image."""
    placed: List[Tuple[float, float, float, float]] = []
    for _ in range(tries):
        if len(placed) == num:
            break
        rx = rng.uniform(min_r, max_r)
        ry = rx * rng.uniform(0.75, 1.3)
        cx = rng.uniform(rx + 1, w - rx - 1)
        cy = rng.uniform(ry + 1, h - ry - 1)
        if all(
                abs(cx - px) > rx + prx + 2 or abs(cy - py) > ry + pry + 2
                for px, py, prx, pry in placed):
            placed.append((cx, cy, rx, ry))
    return placed


# --------------------------------------------------------------------------
# Idempotency
# --------------------------------------------------------------------------


def _is_current(root: str, params: dict) -> bool:
    stamp = osp.join(root, STAMP_FILE)
    if not osp.isfile(stamp):
        return False
    with open(stamp) as f:
        try:
            return json.load(f) == params
        except json.JSONDecodeError:
            return False


def _write_stamp(root: str, params: dict) -> None:
    with open(osp.join(root, STAMP_FILE), 'w') as f:
        json.dump(params, f, indent=2, sort_keys=True)


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if value < 1:
            raise ValueError(f'{name} must be >= 1, got {value}')


# --------------------------------------------------------------------------
# ADE20K
# --------------------------------------------------------------------------

# Background (top, bottom) class pairs with their texture and colour.
_ADE_BACKGROUNDS = [
    (('sky', 'noise', (120, 170, 230)), ('grass', 'stripes', (70, 150, 60))),
    (('sky', 'noise', (120, 170, 230)), ('road', 'checker', (110, 110, 115))),
    (('wall', 'gradient', (200, 185, 160)), ('floor', 'checker', (150, 100,
                                                                  60))),
]
# Object classes: shape, colour, texture.
_ADE_OBJECTS = {
    'person': ('star', (200, 60, 60), 'noise'),
    'car': ('rectangle', (40, 60, 170), 'stripes'),
    'tree': ('triangle', (30, 100, 30), 'noise'),
}


def _ade_scene(rng: np.random.Generator,
               img_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """One ADE20K-style scene: ``(h, w, 3)`` image and ``(h, w)`` labels."""
    w, h = _image_size(rng, img_size)
    (top, top_tex, top_col), (bottom, bot_tex, bot_col) = _ADE_BACKGROUNDS[int(
        rng.integers(len(_ADE_BACKGROUNDS)))]
    horizon = int(h * rng.uniform(0.35, 0.6))
    img = np.empty((h, w, 3), np.float32)
    label = np.empty((h, w), np.uint8)
    img[:horizon] = _texture(rng, horizon, w, _jitter(rng, top_col), top_tex)
    img[horizon:] = _texture(rng, h - horizon, w, _jitter(rng, bot_col),
                             bot_tex)
    label[:horizon] = ADE20K_DEMO_CLASSES[top] + 1
    label[horizon:] = ADE20K_DEMO_CLASSES[bottom] + 1

    names = sorted(_ADE_OBJECTS)
    num = int(rng.integers(1, 5))
    for cx, cy, rx, ry in _place_boxes(rng, w, h, num, img_size * 0.08,
                                       img_size * 0.2):
        name = names[int(rng.integers(len(names)))]
        shape, color, tex = _ADE_OBJECTS[name]
        angle = rng.uniform(-0.3, 0.3) if shape != 'rectangle' else 0.0
        mask = _mask((w, h), _polygon(shape, cx, cy, rx, ry, angle))
        _paste(img, mask, _texture(rng, h, w, _jitter(rng, color), tex))
        label[mask] = ADE20K_DEMO_CLASSES[name] + 1
    # An unlabeled blob ("other", value 0): ignored with reduce_zero_label.
    if rng.random() < 0.5:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = img_size * rng.uniform(0.04, 0.08)
        mask = _mask((w, h), _polygon('circle', cx, cy, r, r, 0.0))
        _paste(img, mask,
               _texture(rng, h, w, _jitter(rng, (230, 200, 40)), 'noise'))
        label[mask] = 0
    return img, label


def make_ade20k(out_dir: str,
                num_train: int = 32,
                num_val: int = 8,
                img_size: int = 128,
                seed: int = 0) -> str:
    """Write an ADE20K-format demo set under ``out_dir``.

    Args:
        out_dir (str): Parent folder; the data goes to
            ``<out_dir>/ADEChallengeData2016``.
        num_train (int): Training images. Defaults to 32.
        num_val (int): Validation images. Defaults to 8.
        img_size (int): Image height; widths are up to 25% larger.
            Defaults to 128.
        seed (int): Seed of the scenes. Defaults to 0.

    Returns:
        str: The data root (``.../ADEChallengeData2016``), the value of
        ``data_root`` in mmseg's ADE20K configs.
    """
    _check_counts(num_train=num_train, num_val=num_val, img_size=img_size)
    root = osp.join(out_dir, 'ADEChallengeData2016')
    params = dict(
        dataset='ade20k',
        version=GENERATOR_VERSION,
        num_train=num_train,
        num_val=num_val,
        img_size=img_size,
        seed=seed)
    if _is_current(root, params):
        return root
    for split, sub, prefix, num in (('train', 'training', 'ADE_train',
                                     num_train), ('val', 'validation',
                                                  'ADE_val', num_val)):
        img_dir = osp.join(root, 'images', sub)
        ann_dir = osp.join(root, 'annotations', sub)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for i in range(num):
            img, label = _ade_scene(_rng(seed, 'ade20k', split, i), img_size)
            stem = f'{prefix}_{i + 1:08d}'
            _save_jpeg(img, osp.join(img_dir, stem + '.jpg'))
            Image.fromarray(label, 'L').save(osp.join(ann_dir, stem + '.png'))
    _write_stamp(root, params)
    return root


# --------------------------------------------------------------------------
# COCO
# --------------------------------------------------------------------------

_COCO_COLORS = {
    13: (200, 30, 30),
    37: (240, 240, 240),
    38: (230, 150, 20),
    72: (30, 30, 40),
}
_COCO_BACKGROUNDS = [((90, 140, 80), 'stripes'), ((140, 160, 200), 'noise'),
                     ((170, 150, 120), 'checker'),
                     ((100, 100, 100), 'gradient')]


def _polygon_area(poly: Sequence[Tuple[float, float]]) -> float:
    xs = np.array([p[0] for p in poly])
    ys = np.array([p[1] for p in poly])
    return float(0.5 *
                 abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))))


def _coco_scene(rng: np.random.Generator,
                img_size: int) -> Tuple[np.ndarray, List[dict]]:
    """One COCO-style scene: image and its objects (category, polygon)."""
    w, h = _image_size(rng, img_size)
    color, tex = _COCO_BACKGROUNDS[int(rng.integers(len(_COCO_BACKGROUNDS)))]
    img = _texture(rng, h, w, _jitter(rng, color), tex)
    cat_ids = sorted(COCO_DEMO_CATEGORIES)
    objects = []
    num = int(rng.integers(1, 5))
    for cx, cy, rx, ry in _place_boxes(rng, w, h, num, img_size * 0.1,
                                       img_size * 0.22):
        cat_id = cat_ids[int(rng.integers(len(cat_ids)))]
        shape = COCO_DEMO_CATEGORIES[cat_id]
        if shape in ('circle', 'octagon'):
            ry = rx
        angle = rng.uniform(-0.25, 0.25) if shape != 'circle' else 0.0
        poly = _polygon(shape, cx, cy, rx, ry, angle)
        # Keep vertices inside the image and at 0.01 px precision.
        poly = [(round(min(max(x, 0.0), w - 1.0),
                       2), round(min(max(y, 0.0), h - 1.0), 2))
                for x, y in poly]
        mask = _mask((w, h), poly)
        _paste(
            img, mask,
            _texture(rng, h, w, _jitter(rng, _COCO_COLORS[cat_id]), 'noise'))
        objects.append(dict(category_id=cat_id, polygon=poly))
    return img, objects


def make_coco(out_dir: str,
              num_train: int = 32,
              num_val: int = 8,
              img_size: int = 128,
              seed: int = 0) -> str:
    """Write a COCO-2017-format instance segmentation demo set.

    Args:
        out_dir (str): The data root (holds ``train2017``, ``val2017`` and
            ``annotations``).
        num_train (int): Training images. Defaults to 32.
        num_val (int): Validation images. Defaults to 8.
        img_size (int): Image height; widths are up to 25% larger.
            Defaults to 128.
        seed (int): Seed of the scenes. Defaults to 0.

    Returns:
        str: The data root, the value of ``data_root`` in mmdet's COCO
        configs.
    """
    _check_counts(num_train=num_train, num_val=num_val, img_size=img_size)
    root = out_dir
    params = dict(
        dataset='coco',
        version=GENERATOR_VERSION,
        num_train=num_train,
        num_val=num_val,
        img_size=img_size,
        seed=seed)
    if _is_current(root, params):
        return root
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    categories = [
        dict(id=cid, name=name, supercategory=sup)
        for cid, name, sup in COCO_CATEGORIES
    ]
    ann_id = 1
    for split, num, id_offset in (('train', num_train, 1), ('val', num_val,
                                                            1000000)):
        img_dir = osp.join(root, f'{split}2017')
        os.makedirs(img_dir, exist_ok=True)
        images, annotations = [], []
        for i in range(num):
            img, objects = _coco_scene(_rng(seed, 'coco', split, i), img_size)
            h, w = img.shape[:2]
            image_id = id_offset + i
            file_name = f'{image_id:012d}.jpg'
            _save_jpeg(img, osp.join(img_dir, file_name))
            images.append(
                dict(
                    id=image_id,
                    file_name=file_name,
                    height=h,
                    width=w,
                    license=1,
                    date_captured='2017-01-01 00:00:00'))
            for obj in objects:
                poly = obj['polygon']
                xs = [p[0] for p in poly]
                ys = [p[1] for p in poly]
                x0, y0 = min(xs), min(ys)
                annotations.append(
                    dict(
                        id=ann_id,
                        image_id=image_id,
                        category_id=obj['category_id'],
                        segmentation=[[c for p in poly for c in p]],
                        area=round(_polygon_area(poly), 2),
                        bbox=[
                            x0, y0,
                            round(max(xs) - x0, 2),
                            round(max(ys) - y0, 2)
                        ],
                        iscrowd=0))
                ann_id += 1
        content = dict(
            info=dict(
                description='mmmamba procedural COCO-format demo data',
                version='1.0',
                year=2017,
                contributor='mmmamba',
                date_created='2017-01-01'),
            licenses=[dict(id=1, name='CC0-1.0', url='')],
            images=images,
            annotations=annotations,
            categories=categories)
        with open(
                osp.join(root, 'annotations', f'instances_{split}2017.json'),
                'w') as f:
            json.dump(content, f)
    _write_stamp(root, params)
    return root


# --------------------------------------------------------------------------
# ImageNet
# --------------------------------------------------------------------------

_IMAGENET_SHAPES = ['circle', 'rectangle', 'triangle', 'diamond', 'star']
_IMAGENET_COLORS = [(220, 40, 40), (40, 80, 220)]


def _imagenet_image(rng: np.random.Generator, label: int,
                    img_size: int) -> np.ndarray:
    """A centred object whose shape and colour encode ``label``."""
    w, h = _image_size(rng, img_size)
    bg_color, tex = _COCO_BACKGROUNDS[int(
        rng.integers(len(_COCO_BACKGROUNDS)))]
    img = _texture(rng, h, w, _jitter(rng, bg_color, 30), tex)
    shape = _IMAGENET_SHAPES[label % len(_IMAGENET_SHAPES)]
    color = _IMAGENET_COLORS[(label // len(_IMAGENET_SHAPES)) %
                             len(_IMAGENET_COLORS)]
    r = img_size * rng.uniform(0.22, 0.35)
    cx = w / 2 + rng.uniform(-0.1, 0.1) * w
    cy = h / 2 + rng.uniform(-0.1, 0.1) * h
    mask = _mask((w, h), _polygon(shape, cx, cy, r, r, rng.uniform(-0.3, 0.3)))
    _paste(img, mask, _texture(rng, h, w, _jitter(rng, color), 'noise'))
    return img


def make_imagenet(out_dir: str,
                  num_classes: int = 10,
                  num_train_per_class: int = 4,
                  num_val_per_class: int = 2,
                  img_size: int = 64,
                  seed: int = 0) -> str:
    """Write an ImageNet-format classification demo set.

    Args:
        out_dir (str): The data root (holds ``train``, ``val``, ``meta``).
        num_classes (int): How many of the first ImageNet-1k classes to use
            (at most 10). Defaults to 10.
        num_train_per_class (int): Training images per class. Defaults to 4.
        num_val_per_class (int): Validation images per class. Defaults to 2.
        img_size (int): Image height; widths are up to 25% larger.
            Defaults to 64.
        seed (int): Seed of the images. Defaults to 0.

    Returns:
        str: The data root, the value of ``data_root`` in mmpretrain's
        ImageNet configs.
    """
    _check_counts(
        num_classes=num_classes,
        num_train_per_class=num_train_per_class,
        num_val_per_class=num_val_per_class,
        img_size=img_size)
    if num_classes > len(IMAGENET_DEMO_CLASSES):
        raise ValueError(f'num_classes must be <= '
                         f'{len(IMAGENET_DEMO_CLASSES)}, got {num_classes}')
    root = out_dir
    params = dict(
        dataset='imagenet',
        version=GENERATOR_VERSION,
        num_classes=num_classes,
        num_train_per_class=num_train_per_class,
        num_val_per_class=num_val_per_class,
        img_size=img_size,
        seed=seed)
    if _is_current(root, params):
        return root
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    os.makedirs(osp.join(root, 'val'), exist_ok=True)
    train_lines, val_lines = [], []
    val_index = 0
    for label, (wnid, _) in enumerate(IMAGENET_DEMO_CLASSES[:num_classes]):
        os.makedirs(osp.join(root, 'train', wnid), exist_ok=True)
        for n in range(num_train_per_class):
            rng = _rng(seed, 'imagenet', 'train',
                       label * num_train_per_class + n)
            rel = f'{wnid}/{wnid}_{n + 1}.JPEG'
            _save_jpeg(
                _imagenet_image(rng, label, img_size),
                osp.join(root, 'train', rel))
            train_lines.append(f'{rel} {label}')
    # The official val set is one flat folder in a shuffled class order.
    val_labels = [
        label for label in range(num_classes) for _ in range(num_val_per_class)
    ]
    order = np.random.default_rng([seed, 7]).permutation(len(val_labels))
    for label in (val_labels[i] for i in order):
        rng = _rng(seed, 'imagenet', 'val', val_index)
        val_index += 1
        name = f'ILSVRC2012_val_{val_index:08d}.JPEG'
        _save_jpeg(
            _imagenet_image(rng, label, img_size), osp.join(root, 'val', name))
        val_lines.append(f'{name} {label}')
    for name, lines in (('train.txt', train_lines), ('val.txt', val_lines)):
        with open(osp.join(root, 'meta', name), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    with open(osp.join(root, 'meta', 'classes.txt'), 'w') as f:
        f.write('\n'.join(name
                          for _, name in IMAGENET_DEMO_CLASSES[:num_classes]) +
                '\n')
    _write_stamp(root, params)
    return root


def make_demo_data(out_dir: str,
                   datasets: Sequence[str] = ('ade20k', 'coco', 'imagenet'),
                   seed: int = 0,
                   **kwargs) -> Dict[str, str]:
    """Write the demo sets in the default layout under ``out_dir``.

    The layout is ``<out_dir>/ade/ADEChallengeData2016``,
    ``<out_dir>/coco`` and ``<out_dir>/imagenet``, the data roots that the
    configs in ``configs/demo`` use (with ``out_dir='data/demo'``).

    Args:
        out_dir (str): Parent folder of the three data roots.
        datasets (Sequence[str]): Any of 'ade20k', 'coco', 'imagenet'.
        seed (int): Seed of the scenes. Defaults to 0.
        **kwargs: Sizes passed to every ``make_*`` function that accepts
            them (e.g. ``num_train``, ``num_val``, ``img_size``).

    Returns:
        dict[str, str]: Data root of each dataset written.
    """
    makers = dict(
        ade20k=(make_ade20k, osp.join(out_dir, 'ade')),
        coco=(make_coco, osp.join(out_dir, 'coco')),
        imagenet=(make_imagenet, osp.join(out_dir, 'imagenet')))
    unknown = set(datasets) - set(makers)
    if unknown:
        raise ValueError(f'unknown demo datasets {sorted(unknown)}; choose '
                         f'from {sorted(makers)}')
    roots = {}
    for name in datasets:
        fn, path = makers[name]
        args = fn.__code__.co_varnames[:fn.__code__.co_argcount]
        roots[name] = fn(
            path, seed=seed, **{
                k: v
                for k, v in kwargs.items() if k in args
            })
    return roots
