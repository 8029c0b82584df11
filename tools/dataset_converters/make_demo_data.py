# Copyright (c) mmmamba contributors. All rights reserved.
"""Write the procedural demo datasets (ADE20K, COCO and ImageNet formats).

Deterministic from ``--seed``; re-running with the same options is a no-op.
The default layout under ``--out data/demo`` is the one the configs in
``configs/demo`` read::

    data/demo/ade/ADEChallengeData2016/{images,annotations}/...
    data/demo/coco/{train2017,val2017,annotations}/...
    data/demo/imagenet/{train,val,meta}/...

Example::

    python tools/dataset_converters/make_demo_data.py --datasets ade20k
"""
import argparse

from mmmamba.utils.demo_data import make_demo_data


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write procedurally drawn demo datasets in the on-disk '
        'formats of ADE20K, COCO and ImageNet.')
    parser.add_argument(
        '--out', default='data/demo', help='parent folder of the data roots')
    parser.add_argument(
        '--datasets',
        nargs='+',
        default=['ade20k', 'coco', 'imagenet'],
        choices=['ade20k', 'coco', 'imagenet'],
        help='which datasets to write')
    parser.add_argument('--seed', type=int, default=0, help='scene seed')
    parser.add_argument(
        '--num-train',
        type=int,
        default=None,
        help='training images (ADE20K, COCO); default 32')
    parser.add_argument(
        '--num-val',
        type=int,
        default=None,
        help='validation images (ADE20K, COCO); default 8')
    parser.add_argument(
        '--img-size',
        type=int,
        default=None,
        help='image height in pixels (default 128; ImageNet 64)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    sizes = dict(
        num_train=args.num_train, num_val=args.num_val, img_size=args.img_size)
    roots = make_demo_data(
        args.out,
        datasets=args.datasets,
        seed=args.seed,
        **{
            k: v
            for k, v in sizes.items() if v is not None
        })
    for name, root in roots.items():
        print(f'{name}: {root}')


if __name__ == '__main__':
    main()
