# Copyright (c) mmmamba contributors. All rights reserved.
"""Offline sm_90 compiles of Triton kernels for the test-suite's compile
scripts (run by :func:`mmmamba.testing.run_compiler_script` in a process
without ``TRITON_INTERPRET``). Imports triton, not pytest."""
import inspect
from typing import Any, Dict, Iterable, Optional, Tuple


def compile_sm90(fn: Any, constexprs: Dict[str, Any], dtype: str,
                 low: Iterable[str], ones: Iterable[str] = (),
                 div16: Iterable[str] = (), num_warps: int = 4,
                 num_stages: Optional[int] = None,
                 maxnreg: Optional[int] = None,
                 floats: Iterable[str] = ()) -> Any:
    """Compile the ``@triton.jit`` kernel ``fn`` for sm_90 (PTX and ptxas,
    no GPU needed), specialised as its launcher specialises a real call.

    Args:
        fn: the kernel.
        constexprs: values of its ``tl.constexpr`` arguments.
        dtype: the activations' Triton dtype (``'bf16'``, ``'fp32'``): of
            each ``NAME_ptr`` argument with NAME in ``low``; other pointers
            are fp32, the arguments in ``floats`` fp32 scalars (e.g. an
            output scale), the others i32.
        ones: integer arguments that are 1 at the launch (unit strides,
            compiled in as constants).
        div16: integer arguments divisible by 16 (pointers always are).
        num_warps, num_stages, maxnreg: launch options (None: Triton's
            default).

    Returns:
        The compiled kernel (``.asm['ttgir' | 'ptx' | 'cubin']``).
    """
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource, compile
    names = fn.arg_names
    low, ones, div16, floats = set(low), set(ones), set(div16), set(floats)
    consts = dict(constexprs)
    consts.update({k: 1 for k in names if k in ones})
    # constexpr arguments left out take their declared defaults, as at a
    # launch (else they would compile as runtime integers)
    for param in fn.params:
        default = getattr(param, 'default', inspect.Parameter.empty)
        if (param.is_constexpr and param.name not in consts
                and default is not inspect.Parameter.empty):
            consts[param.name] = default
    sig = {}
    for k in names:
        if k in consts:
            sig[k] = 'constexpr'
        elif k.endswith('_ptr'):
            sig[k] = '*' + (dtype if k[:-4] in low else 'fp32')
        elif k in floats:
            sig[k] = 'fp32'
        else:
            sig[k] = 'i32'
    attrs = {(names.index(k), ): [['tt.divisibility', 16]]
             for k in names if k.endswith('_ptr') or k in div16}
    options = dict(num_warps=num_warps)
    if num_stages is not None:
        options['num_stages'] = num_stages
    if maxnreg:
        options['maxnreg'] = maxnreg
    return compile(ASTSource(fn=fn, signature=sig, constexprs=consts,
                             attrs=attrs),
                   target=GPUTarget('cuda', 90, 32), options=options)


def resource_usage(kernel: Any) -> Optional[Tuple[int, int]]:
    """``(registers per thread, stack bytes)`` of a kernel from
    :func:`compile_sm90`, read from its cubin with the cuobjdump that
    Triton's NVIDIA backend ships; None where the wheel has none."""
    import os
    import subprocess
    import tempfile

    import triton
    cuobjdump = os.path.join(os.path.dirname(triton.__file__), 'backends',
                             'nvidia', 'bin', 'cuobjdump')
    if not os.path.isfile(cuobjdump):
        return None
    with tempfile.NamedTemporaryFile(suffix='.cubin') as f:
        f.write(kernel.asm['cubin'])
        f.flush()
        out = subprocess.run([cuobjdump, '--dump-resource-usage', f.name],
                             capture_output=True, text=True,
                             check=True).stdout
    fields = dict(kv.split(':') for kv in out.split() if kv.count(':') == 1)
    return int(fields['REG']), int(fields['STACK'])
