# Copyright (c) mmmamba contributors. All rights reserved.
from .vim_convert import (convert_vim_state_dict,
                          convert_vim_state_dict_inplace,
                          is_official_vim_state_dict)
from .vmamba_convert import is_official_vmamba_state_dict, vmamba_converter

__all__ = [
    'convert_vim_state_dict', 'convert_vim_state_dict_inplace',
    'is_official_vim_state_dict', 'vmamba_converter',
    'is_official_vmamba_state_dict'
]
