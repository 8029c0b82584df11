# Copyright (c) mmmamba contributors. All rights reserved.
"""Install mmmamba: ``pip install -e .`` (see tools/install.sh for the full stack)."""
import os.path as osp

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(ROOT, 'mmmamba', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(name: str) -> list:
    reqs = []
    with open(osp.join(ROOT, 'requirements', name)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                reqs.append(line)
    return reqs


setup(
    name='mmmamba',
    version=read_version(),
    description='Vision Mamba (Vim) and VMamba backbones for the OpenMMLab 2.x stack',
    long_description=open(osp.join(ROOT, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docker')),
    include_package_data=True,
    python_requires='>=3.9',
    # torch and mmcv are deliberately not hard requirements: torch's build is the
    # user's choice and mmcv must be built with ops (tools/install.sh).
    install_requires=['einops', 'mmengine>=0.10.0,<1.0.0'],
    extras_require={
        'triton': ['triton'],
        'mamba': ['mamba-ssm', 'causal-conv1d'],
        'downstream': read_requirements('downstream.txt'),
        'tests': read_requirements('tests.txt'),
    },
    zip_safe=False,
)
