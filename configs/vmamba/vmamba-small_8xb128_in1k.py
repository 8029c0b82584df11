# VMamba-S [s2l15]: the recipe of vmamba-tiny_8xb128_in1k.py, drop path 0.3.
_base_ = './vmamba-tiny_8xb128_in1k.py'

model = dict(backbone=dict(arch='small', drop_path_rate=0.3))
