# Copyright (c) mmmamba contributors. All rights reserved.
"""``type='mmmamba.X'`` resolves from mmengine's root registries with no
import of mmmamba beforehand (the registry ``locations``)."""
import subprocess
import sys

CODE = '''
import sys
from mmengine.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
assert 'mmmamba' not in sys.modules
names = {
    'mmmamba.VisionMamba': MODELS, 'mmmamba.VMamba': MODELS,
    'mmmamba.VSSBlock': MODELS, 'mmmamba.SS2D': MODELS,
    'mmmamba.BiMamba': MODELS, 'mmmamba.DeconvFeaturePyramid': MODELS,
    'mmmamba.SimpleFPN': MODELS,
    'mmmamba.LayerDecayOptimWrapperConstructor': OPTIM_WRAPPER_CONSTRUCTORS,
}
for name, registry in names.items():
    cls = registry.get(name)
    assert cls is not None and cls.__name__ == name.split('.')[1], name
print('ok')
'''


def test_scoped_names_resolve_without_imports():
    res = subprocess.run([sys.executable, '-c', CODE], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == 'ok'
