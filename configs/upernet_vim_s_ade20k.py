# Short alias of the canonical UperNet + Vim-S ADE20K config:
#   python tools/train.py configs/upernet_vim_s_ade20k.py
_base_ = './vim/upernet_vim-s_8xb2-160k_ade20k-512x512.py'
