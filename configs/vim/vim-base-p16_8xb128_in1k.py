# Vim-B, ImageNet-1K from scratch, 224x224, patch 16 / stride 16.
# hustvl/Vim ships no training script for Vim-B. This follows the paper
# (v3 sec. 4.1: total batch 1024, AdamW, lr 1e-3, weight decay 0.05, 300
# epochs, cosine, EMA) and the Vim-Ti/S scripts for the rest; the drop path
# rate 0.1 is the default of the official VisionMamba class (A.2), not a
# published Vim-B setting.
_base_ = './vim-tiny-p16_8xb128_in1k.py'

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.1), head=dict(in_channels=768))

optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05))
