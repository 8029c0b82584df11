# Copyright (c) mmmamba contributors. All rights reserved.
"""Speed and memory of backbones: the Vim paper's Fig. 1(b)(c), and VMamba's
throughput columns.

Mode ``resolution`` (default): batch inference of backbone features
(``torch.inference_mode``) for every model x resolution x precision: images/s
(batch / median time of one batch over ``--repeats`` timed runs after
``--warmup`` untimed ones; CUDA events on GPU) and the peak memory
(``torch.cuda.max_memory_allocated`` over warm-up and timed runs, weights
included; each point starts as a fresh process would, with nothing left
allocated by earlier points, cuBLAS's per-stream workspaces included).
Writes ``results.csv``, ``fig1.png`` (FPS on a log axis and memory against
resolution, as Fig. 1(b)(c)) and ``summary.md`` (tables and the
Vim-vs-DeiT ratios) to ``--out-dir``. All models of one run use the same
batch size at a given resolution and the same precision. With
``--kernel-time`` (CUDA) every point also records its GPU kernel time per
batch (``kernel_ms``, torch.profiler over a few more batches): a wall time
well above it is bound by the host (Python and launches), not the GPU.

Mode ``vmamba-throughput``: classifiers at 224², batch 128, measured as
VMamba's README measures them: inference throughput (fp32 and bf16
autocast) and training throughput with bf16 AMP, both as forward +
backward (no optimizer) and as a full step (forward + backward + AdamW
step). VMamba models get global average pooling and a linear head, Vim
models their class token (``out_type='cls_token'``) and a linear head.

With ``--compile [MODE]`` every model is wrapped in ``torch.compile(model,
fullgraph=True, mode=MODE)`` (``--compile-backend``, default Inductor) and
called :data:`COMPILE_CALLS` times, untimed, before the warm-up, so that
compilation (and, for ``reduce-overhead``, the CUDA-graph recording) is not
timed; the ``compile`` column of the CSV says how each row was run (empty
for eager). Compare with an eager run of the same command.

With ``--cuda-graph`` (CUDA, inference points) every model's eager forward
is captured in one ``torch.cuda.CUDAGraph`` after :data:`GRAPH_WARM_CALLS`
untimed calls on a side stream, and the timed step replays it (the
``compile`` column reads ``cuda-graph``): the host's Python and launch
time leave the measurement, which is then the GPU's alone, as a deployed
model replaying a graph runs. Autocast runs with its weight-cast cache off
inside the capture (casts become graph nodes). Not with ``--compile``
(``reduce-overhead`` records its own graphs).

Precisions: ``fp32`` (no autocast; PyTorch's default TF32 settings) and
``bf16`` (``torch.autocast(dtype=torch.bfloat16)``, fp32 weights, as AMP
inference runs). An out-of-memory error at one point is recorded as
``OOM`` and the run goes on; any other error is recorded as ``error`` with
its message.

Models (``--models``): preset names (see ``--list``), or
``LABEL=JSON`` with a backbone dict built by ``mmmamba.registry.MODELS``
(e.g. ``toy='{"type": "mmmamba.VisionMamba", "arch": "tiny"}'``), or
``LABEL=path/to/config.py`` (its ``model.backbone``; the config's
``_base_`` packages must be importable). Vim models are built with
``img_size`` = the resolution (as the official benchmark builds them), so no
position-embedding interpolation is timed (at 738, which the 16-pixel grid
does not cover, Vim gets the top-left 736² crop: the 46x46 tokens that the
official and timm's convs take from a 738² image); their features are the
final-normed patch tokens (``out_type='featmap'``, no class token, as the
official segmentation backbone). DeiT comes from timm
(``deit_tiny_patch16_224`` with ``img_size`` = resolution,
``forward_features``) in two forms: ``deit-tiny-naive``, explicit
softmax(QKᵀ)V as in 2023 (``timm.layers.set_fused_attn(False)`` and
``fused_attn=False`` on every attention module), and ``deit-tiny-sdpa``,
PyTorch's fused scaled-dot-product attention.

Only torch, timm (for DeiT), matplotlib (for the figure) and mmmamba (with
mmengine and mmcv's cnn bricks) are imported.

Examples::

    # H100: Fig. 1 (about 5 minutes)
    python tools/analysis_tools/benchmark_backbone.py \\
        --models vim-tiny deit-tiny-naive deit-tiny-sdpa \\
        --resolutions 512 640 738 1024 1248 1536 2048 \\
        --batch-size 64 --batch-size-at 1536=16 2048=8 \\
        --precisions fp32 bf16 --out-dir benchmarks/fig1_h100
    # H100: VMamba-T/S/B throughput at 224², batch 128
    python tools/analysis_tools/benchmark_backbone.py \\
        --mode vmamba-throughput \\
        --models vmamba-tiny vmamba-small vmamba-base \\
        --out-dir benchmarks/vmamba_throughput_h100
    # H100: compiled (Inductor with CUDA graphs); the same command without
    # --compile gives the eager numbers to compare with
    python tools/analysis_tools/benchmark_backbone.py \\
        --models vim-tiny deit-tiny-sdpa --resolutions 512 1024 \\
        --compile reduce-overhead --out-dir benchmarks/fig1_h100_compiled
    # CPU smoke test at toy sizes
    python tools/analysis_tools/benchmark_backbone.py --device cpu \\
        --models deit-tiny-sdpa --resolutions 32 --batch-size 2 \\
        --warmup 1 --repeats 2 --out-dir /tmp/bench
"""
import argparse
import csv
import datetime
import gc
import json
import os
import os.path as osp
import platform
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_scan import kernel_ms  # noqa: E402

CSV_COLUMNS = [
    'mode', 'label', 'measure', 'resolution', 'batch_size', 'precision',
    'status', 'images_per_s', 'median_ms', 'kernel_ms', 'peak_mem_gib',
    'params', 'warmup', 'repeats', 'device', 'torch', 'scan_backend',
    'compile', 'message'
]

COMPILE_MODES = ('default', 'reduce-overhead', 'max-autotune',
                 'max-autotune-no-cudagraphs')
#: Untimed calls of a compiled step before the warm-up: compilation of the
#: forward (and backward), then, under ``reduce-overhead``, CUDA-graph
#: warm-up and recording.
COMPILE_CALLS = 3
#: Untimed eager calls on a side stream before a ``--cuda-graph`` capture
#: (Triton compiles and the lazily cached inference parameters are built
#: here, outside the graph).
GRAPH_WARM_CALLS = 3

RESOLUTIONS = (512, 640, 738, 1024, 1248, 1536, 2048)

# label: (builder kind, options)
PRESETS: Dict[str, Tuple[str, dict]] = {
    'vim-tiny': ('vim', dict(arch='tiny')),
    'vim-small': ('vim', dict(arch='small')),
    'vim-base': ('vim', dict(arch='base')),
    'vmamba-tiny': ('vmamba', dict(arch='tiny', drop_path_rate=0.2)),
    'vmamba-small': ('vmamba', dict(arch='small', drop_path_rate=0.3)),
    'vmamba-base': ('vmamba', dict(arch='base', drop_path_rate=0.6)),
    'deit-tiny-naive':
    ('deit', dict(name='deit_tiny_patch16_224', fused=False)),
    'deit-tiny-sdpa': ('deit', dict(name='deit_tiny_patch16_224', fused=True)),
    'deit-small-naive':
    ('deit', dict(name='deit_small_patch16_224', fused=False)),
    'deit-small-sdpa':
    ('deit', dict(name='deit_small_patch16_224', fused=True)),
}


# ----------------------------------------------------------------------
# model construction
# ----------------------------------------------------------------------
class FeatureModel(nn.Module):
    """Wrap a backbone so that ``forward(x)`` returns its features.

    Args:
        body (nn.Module): the backbone.
        call (str): method to call (``'forward'`` or
            ``'forward_features'``).
        crop_to (int, optional): crop the input to its top-left
            ``crop_to`` x ``crop_to`` pixels first. Vim's patch embedding
            refuses images its patch grid does not cover (738 = 46·16 + 2);
            the official (and timm's) stride-16 conv silently ignores those
            last pixels, so cropping gives the same 46x46 tokens.
    """

    def __init__(self,
                 body: nn.Module,
                 call: str = 'forward',
                 crop_to: Optional[int] = None) -> None:
        super().__init__()
        self.body = body
        self.call = call
        self.crop_to = crop_to

    def forward(self, x: torch.Tensor) -> Any:
        if self.crop_to is not None:
            x = x[..., :self.crop_to, :self.crop_to]
        return getattr(self.body, self.call)(x)


def covered_size(resolution: int,
                 patch_size: int = 16,
                 stride: int = 16) -> int:
    """Largest size <= ``resolution`` that a patch grid covers exactly."""
    return resolution - (resolution - patch_size) % stride


class Classifier(nn.Module):
    """Backbone -> global average pooling -> linear head (the VMamba
    classifier; its final norm is the backbone's last ``outnorm``).

    Args:
        backbone (nn.Module): returns a tuple whose last item is (B, C, H, W).
        channels (int): C.
        num_classes (int): classes of the head. Defaults to 1000.
    """

    def __init__(self,
                 backbone: nn.Module,
                 channels: int,
                 num_classes: int = 1000) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.backbone(x)[-1]
        return self.head(feat.mean(dim=(2, 3)))


def _set_deit_attention(model: nn.Module, fused: bool) -> int:
    """Switch every timm attention module to fused SDPA or explicit
    softmax(QK^T)V; returns how many modules were switched."""
    count = 0
    for module in model.modules():
        if hasattr(module, 'fused_attn'):
            module.fused_attn = fused
            count += 1
    return count


def build_deit(name: str, fused: bool, resolution: int) -> nn.Module:
    import timm
    from timm.layers import set_fused_attn
    set_fused_attn(fused)
    try:
        model = timm.create_model(
            name, pretrained=False, img_size=resolution, num_classes=0)
    finally:
        set_fused_attn(True)
    if _set_deit_attention(model, fused) == 0:
        raise RuntimeError(f'timm model {name} has no attention module '
                           'with a fused_attn switch')
    return FeatureModel(model, 'forward_features')


def _scan_kwargs(scan_backend: Optional[str]) -> dict:
    return {} if scan_backend is None else dict(scan_backend=scan_backend)


def build_backbone_dict(cfg: dict, resolution: int,
                        scan_backend: Optional[str]) -> nn.Module:
    """Build a backbone dict with mmmamba's registry."""
    from mmmamba.registry import MODELS
    cfg = dict(cfg)
    if str(cfg.get('type', '')).endswith('VisionMamba'):
        cfg.setdefault('img_size', resolution)
    if scan_backend is not None and str(cfg.get('type', '')).endswith(
        ('VisionMamba', 'VMamba')):
        cfg.setdefault('scan_backend', scan_backend)
    return MODELS.build(cfg)


def build_feature_model(spec: Tuple[str, Any], resolution: int,
                        scan_backend: Optional[str]) -> nn.Module:
    """The model whose ``forward(images)`` gives the features to time.

    Args:
        spec (tuple): (kind, options) from :func:`parse_model`.
        resolution (int): input side length.
        scan_backend (str, optional): selective-scan backend override.
    """
    kind, opts = spec
    if kind == 'deit':
        return build_deit(opts['name'], opts['fused'], resolution)
    from mmmamba.models.backbones import VisionMamba, VMamba
    if kind == 'vim':
        size = covered_size(resolution)
        body = VisionMamba(
            arch=opts['arch'],
            img_size=size,
            out_type='featmap',
            with_cls_token=False,
            final_norm=True,
            **_scan_kwargs(scan_backend))
        return FeatureModel(body, crop_to=size if size != resolution else None)
    if kind == 'vmamba':
        body = VMamba(
            arch=opts['arch'],
            out_indices=(0, 1, 2, 3),
            **_scan_kwargs(scan_backend))
        return FeatureModel(body)
    if kind == 'dict':
        crop = None
        if str(opts.get('type', '')).endswith('VisionMamba'):
            crop = covered_size(resolution, opts.get('patch_size', 16),
                                opts.get('stride', 16))
        body = build_backbone_dict(opts, crop or resolution, scan_backend)
        return FeatureModel(body, crop_to=crop if crop != resolution else None)
    raise ValueError(f'unknown model kind {kind!r}')


class TokenClassifier(Classifier):
    """Vim classifier: backbone with ``out_type='cls_token'`` (its last
    output is (B, C)) -> linear head; arguments as :class:`Classifier`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)[-1])


def build_classifier(spec: Tuple[str, Any], scan_backend: Optional[str],
                     resolution: int = 224) -> nn.Module:
    """A classifier for the throughput mode: VMamba (preset or dict) with
    average pooling, or Vim (preset or dict) with its class token."""
    kind, opts = spec
    from mmmamba.models.backbones import VisionMamba, VMamba
    model_type = str(opts.get('type', '')) if kind == 'dict' else ''
    if kind == 'vmamba':
        backbone = VMamba(
            arch=opts['arch'],
            out_indices=(-1, ),
            drop_path_rate=opts.get('drop_path_rate', 0.),
            **_scan_kwargs(scan_backend))
    elif model_type.endswith('VMamba'):
        cfg = dict(opts, out_indices=(-1, ))
        backbone = build_backbone_dict(cfg, resolution, scan_backend)
    elif kind == 'vim':
        backbone = VisionMamba(
            arch=opts['arch'],
            img_size=resolution,
            out_type='cls_token',
            **_scan_kwargs(scan_backend))
        return TokenClassifier(backbone, backbone.embed_dims)
    elif model_type.endswith('VisionMamba'):
        cfg = dict(opts, out_type='cls_token', with_cls_token=True)
        backbone = build_backbone_dict(cfg, resolution, scan_backend)
        return TokenClassifier(backbone, backbone.embed_dims)
    else:
        raise ValueError('the vmamba-throughput mode needs VMamba or Vim '
                         'models (presets vmamba-*, vim-* or backbone '
                         f'dicts), got {kind!r}')
    return Classifier(backbone, backbone.dims[-1])


def parse_model(text: str) -> Tuple[str, Tuple[str, Any]]:
    """``NAME`` (a preset), ``LABEL=JSON`` or ``LABEL=config.py`` ->
    (label, (kind, options))."""
    if text in PRESETS:
        return text, PRESETS[text]
    if '=' not in text:
        raise ValueError(f'unknown model {text!r}: use a preset '
                         f'({", ".join(PRESETS)}), LABEL=JSON backbone dict '
                         'or LABEL=config.py')
    label, value = text.split('=', 1)
    value = value.strip()
    if value.startswith('{'):
        cfg = json.loads(value)
    elif value.endswith('.py'):
        from mmengine.config import Config
        cfg = Config.fromfile(value).model.backbone.to_dict()
    else:
        raise ValueError(f'model {text!r}: expected a JSON dict or a .py '
                         'config after "="')
    if 'type' not in cfg:
        raise ValueError(f'model {label!r}: the backbone dict needs a '
                         "'type'")
    return label, ('dict', cfg)


# ----------------------------------------------------------------------
# measurement
# ----------------------------------------------------------------------
def is_oom(err: BaseException) -> bool:
    """Whether ``err`` is an out-of-memory error (CUDA or host)."""
    oom_types = tuple(
        t for t in (getattr(torch, 'OutOfMemoryError', None),
                    getattr(torch.cuda, 'OutOfMemoryError', None))
        if t is not None)
    if oom_types and isinstance(err, oom_types):
        return True
    if isinstance(err, MemoryError):
        return True
    msg = str(err).lower()
    return isinstance(err,
                      RuntimeError) and ('out of memory' in msg
                                         or 'cuda_error_out_of_memory' in msg)


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_fn(fn: Callable[[], Any], device: torch.device, warmup: int,
            repeats: int) -> List[float]:
    """Seconds of each of ``repeats`` timed calls after ``warmup`` calls
    (CUDA events on GPU, ``perf_counter`` on CPU)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        if device.type == 'cuda':
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return times


def _autocast(device: torch.device, precision: str,
              cache_enabled: bool = True):
    if precision == 'fp32':
        return torch.autocast(device.type, enabled=False)
    if precision == 'bf16':
        return torch.autocast(
            device.type, dtype=torch.bfloat16, cache_enabled=cache_enabled)
    raise ValueError(f"precision must be 'fp32' or 'bf16', got "
                     f'{precision!r}')


def _free(device: torch.device) -> None:
    """Free what the last point left, so that the next point's peak starts
    where a fresh process's would: unreferenced objects, the allocator's
    cached blocks, and cuBLAS's workspaces. PyTorch allocates one
    workspace (32 MiB on an H100) for each (cuBLAS handle, stream) that
    runs a GEMM and keeps it as allocated memory until told otherwise, so
    without the last step every stream a point used raised the peaks of
    all later points in the process (``benchmarks/NOTES.md``,
    2026-12-06, seventh part)."""
    gc.collect()
    if device.type == 'cuda':
        clear = getattr(torch._C, '_cuda_clearCublasWorkspaces', None)
        if clear is None:
            raise RuntimeError(
                'benchmark_backbone: this torch has no '
                'torch._C._cuda_clearCublasWorkspaces, which the peak '
                'memory of every point after the first relies on; run '
                'one point per process or update torch')
        torch.cuda.synchronize(device)
        clear()
        torch.cuda.empty_cache()


def _reset_peak(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)


def _peak_gib(device: torch.device) -> Optional[float]:
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**30
    return None


def maybe_compile(model: nn.Module, args) -> nn.Module:
    """``torch.compile(model, fullgraph=True, mode=args.compile,
    backend=args.compile_backend)``, or ``model`` itself without
    ``--compile``. Dynamo's caches are reset first: every point builds a
    new model, and the recompilations would otherwise reach Dynamo's limit
    and silently fall back to eager."""
    if not args.compile:
        return model
    torch._dynamo.reset()
    kwargs = dict(fullgraph=True, backend=args.compile_backend)
    if args.compile_backend == 'inductor':
        kwargs['mode'] = args.compile
    return torch.compile(model, **kwargs)


_SIDE_STREAMS: Dict[torch.device, 'torch.cuda.Stream'] = {}


def _side_stream(device: torch.device) -> 'torch.cuda.Stream':
    """One side stream per device for every capture's warm-up calls (a new
    stream per point would take a new cuBLAS workspace each time)."""
    if device not in _SIDE_STREAMS:
        _SIDE_STREAMS[device] = torch.cuda.Stream(device)
    return _SIDE_STREAMS[device]


def cuda_graph_step(forward: Callable[[], Any], device: torch.device,
                    precision: str) -> Callable[[], Any]:
    """``forward()`` under inference mode and ``precision``'s autocast,
    captured in one CUDA graph; returns a step that replays it and returns
    the graph's (static) outputs. :data:`GRAPH_WARM_CALLS` untimed calls
    run first on a side stream, as capture requires."""
    if device.type != 'cuda':
        raise ValueError(f'--cuda-graph needs a CUDA device, not {device}')

    def run():
        with torch.inference_mode(), _autocast(
                device, precision, cache_enabled=False):
            return forward()

    side = _side_stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(GRAPH_WARM_CALLS):
            run()
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = run()

    def replay():
        graph.replay()
        return out

    return replay


def compile_label(args) -> str:
    """The ``compile`` column: '' (eager), 'cuda-graph', the mode, or
    mode/backend."""
    if args.cuda_graph:
        return 'cuda-graph'
    if not args.compile:
        return ''
    if args.compile_backend == 'inductor':
        return args.compile
    return f'{args.compile}/{args.compile_backend}'


def warm_compiled(step: Callable[[], Any], args) -> None:
    """Run a compiled step :data:`COMPILE_CALLS` times (untimed)."""
    if args.compile:
        for _ in range(COMPILE_CALLS):
            step()


def run_point(make: Callable[[], Tuple[Callable[[], Any],
                                       int]], device: torch.device,
              warmup: int, repeats: int,
              kernel_steps: int = 0) -> Dict[str, Any]:
    """Build (``make`` returns the step function and the parameter count),
    time and measure one point (with ``kernel_steps``, also the GPU kernel
    time per call, ``benchmark_scan.kernel_ms``, after the peak memory is
    read); OOM and other errors become a status."""
    _free(device)
    _reset_peak(device)
    result: Dict[str, Any] = dict(status='ok', message='')
    try:
        fn, params = make()
        result['params'] = params
        times = time_fn(fn, device, warmup, repeats)
        result['median_s'] = statistics.median(times)
        result['peak_mem_gib'] = _peak_gib(device)
        if kernel_steps:
            result['kernel_s'] = kernel_ms(fn, kernel_steps) / 1e3
    except Exception as err:  # noqa: BLE001 - recorded, the run goes on
        result['status'] = 'OOM' if is_oom(err) else 'error'
        result['message'] = f'{type(err).__name__}: {err}'.splitlines(
        )[0][:300]
    fn = None  # drop the model and activations before the next point
    _free(device)
    return result


def _row(mode: str, label: str, measure: str, resolution: int, batch: int,
         precision: str, res: Dict[str, Any], args,
         device: torch.device) -> Dict[str, Any]:
    row = dict(
        mode=mode,
        label=label,
        measure=measure,
        resolution=resolution,
        batch_size=batch,
        precision=precision,
        status=res['status'],
        images_per_s='',
        median_ms='',
        kernel_ms='',
        peak_mem_gib='',
        params=res.get('params', ''),
        warmup=args.warmup,
        repeats=args.repeats,
        device=device_name(device),
        torch=torch.__version__,
        scan_backend=resolved_scan_backend(args.scan_backend, device),
        compile=compile_label(args),
        message=res['message'])
    if res['status'] == 'ok':
        row['images_per_s'] = round(batch / res['median_s'], 3)
        row['median_ms'] = round(res['median_s'] * 1e3, 3)
        if 'kernel_s' in res:
            row['kernel_ms'] = round(res['kernel_s'] * 1e3, 3)
        if res['peak_mem_gib'] is not None:
            row['peak_mem_gib'] = round(res['peak_mem_gib'], 3)
    return row


def resolved_scan_backend(name: Optional[str], device: torch.device) -> str:
    """The selective-scan backend mmmamba models run with on ``device``."""
    from mmmamba.ops import resolve_backend
    try:
        return resolve_backend(name or 'auto', device)
    except (RuntimeError, ValueError) as err:
        return f'unavailable ({err})'.splitlines()[0][:80]


def device_name(device: torch.device) -> str:
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    return f'cpu ({platform.processor() or platform.machine()}, ' \
           f'{torch.get_num_threads()} threads)'


def batch_for(resolution: int, args) -> int:
    return args.batch_size_at.get(resolution, args.batch_size)


def bench_resolution(
    args,
    device: torch.device,
    on_row: Callable[[List[Dict[str, Any]]], None] = print
) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    models = [parse_model(m) for m in args.models]
    for resolution in args.resolutions:
        batch = batch_for(resolution, args)
        for label, spec in models:
            for precision in args.precisions:

                def make(spec=spec,
                         resolution=resolution,
                         batch=batch,
                         precision=precision):
                    model = build_feature_model(spec, resolution,
                                                args.scan_backend)
                    model = model.to(device).eval()
                    params = sum(p.numel() for p in model.parameters())
                    model = maybe_compile(model, args)
                    x = torch.randn(
                        batch, 3, resolution, resolution, device=device)
                    if args.cuda_graph:
                        return cuda_graph_step(lambda: model(x), device,
                                               precision), params

                    def step():
                        with torch.inference_mode(), _autocast(
                                device, precision):
                            return model(x)

                    warm_compiled(step, args)
                    return step, params

                res = run_point(make, device, args.warmup, args.repeats,
                                args.kernel_time)
                row = _row('resolution', label, 'inference', resolution, batch,
                           precision, res, args, device)
                print(_format_row(row), flush=True)
                rows.append(row)
                if on_row is not None:
                    on_row(rows)
    return rows


def bench_vmamba(
    args,
    device: torch.device,
    on_row: Callable[[List[Dict[str, Any]]], None] = print
) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    models = [parse_model(m) for m in args.models]
    resolutions = args.resolutions
    for resolution in resolutions:
        batch = batch_for(resolution, args)
        for label, spec in models:
            points = [('inference', p) for p in args.precisions]
            points += [('train_fwd_bwd', 'bf16'), ('train_step', 'bf16')]
            points = [pt for pt in points if pt[0] in args.measures]
            for measure, precision in points:

                def make(spec=spec,
                         resolution=resolution,
                         batch=batch,
                         measure=measure,
                         precision=precision):
                    torch.manual_seed(0)
                    model = build_classifier(spec, args.scan_backend,
                                             resolution)
                    model = model.to(device)
                    params = sum(p.numel() for p in model.parameters())
                    x = torch.randn(
                        batch, 3, resolution, resolution, device=device)
                    if measure == 'inference':
                        model.eval()
                        if args.cuda_graph:
                            return cuda_graph_step(lambda: model(x), device,
                                                   precision), params
                        run = maybe_compile(model, args)

                        def step():
                            with torch.inference_mode(), _autocast(
                                    device, precision):
                                return run(x)

                        warm_compiled(step, args)
                        return step, params
                    model.train()
                    run = maybe_compile(model, args)
                    target = torch.randint(0, 1000, (batch, ), device=device)
                    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

                    def step():
                        optimizer.zero_grad(set_to_none=True)
                        with _autocast(device, precision):
                            loss = F.cross_entropy(run(x), target)
                        loss.backward()
                        if measure == 'train_step':
                            optimizer.step()

                    warm_compiled(step, args)
                    return step, params

                res = run_point(make, device, args.warmup, args.repeats,
                                args.kernel_time)
                row = _row('vmamba-throughput', label, measure, resolution,
                           batch, precision, res, args, device)
                print(_format_row(row), flush=True)
                rows.append(row)
                if on_row is not None:
                    on_row(rows)
    return rows


# ----------------------------------------------------------------------
# output
# ----------------------------------------------------------------------
def _format_row(row: Dict[str, Any]) -> str:
    if row['status'] != 'ok':
        value = f"{row['status']} {row['message']}"
    else:
        mem = (f"{row['peak_mem_gib']:.2f} GiB"
               if row['peak_mem_gib'] != '' else '-')
        value = f"{row['images_per_s']:.1f} img/s  {mem}"
        if row.get('kernel_ms', '') != '':
            value += (f"  wall {row['median_ms']:.2f} ms, kernels "
                      f"{row['kernel_ms']:.2f} ms")
    return (f"{row['label']:<18s} {row['measure']:<14s} "
            f"{row['resolution']:>5d}² b{row['batch_size']:<4d} "
            f"{row['precision']:<5s} {value}")


def write_csv(rows: List[Dict[str, Any]], path: str) -> None:
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, '') for k in CSV_COLUMNS})


def batch_text(rows: List[Dict[str, Any]]) -> str:
    """'batch 64 (8 at 2048²)': the common batch size and exceptions."""
    per_res = {r['resolution']: r['batch_size'] for r in rows}
    common = max(set(per_res.values()), key=list(per_res.values()).count)
    other = ', '.join(f'{b} at {r}²' for r, b in sorted(per_res.items())
                      if b != common)
    return f'batch {common}' + (f' ({other})' if other else '')


def read_csv(path: str) -> List[Dict[str, Any]]:
    """Rows of a ``results.csv`` written by this tool, numbers parsed."""
    ints = ('resolution', 'batch_size', 'warmup', 'repeats', 'params')
    floats = ('images_per_s', 'median_ms', 'kernel_ms', 'peak_mem_gib')
    rows = []
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            for key in ints + floats:
                if row.get(key, '') != '':
                    row[key] = (int if key in ints else float)(row[key])
            rows.append(row)
    return rows


def plot_figure(rows: List[Dict[str, Any]], path: str, title: str) -> None:
    """FPS (log axis) and peak memory against resolution, one line per
    model and precision; OOM points are marked on the top of the memory
    panel and at the bottom of the FPS panel."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    series: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for row in rows:
        if row['measure'] != 'inference':
            continue
        series.setdefault((row['label'], row['precision']), []).append(row)
    fig, (ax_fps, ax_mem) = plt.subplots(1, 2, figsize=(12, 4.8))
    markers = 'os^vD<>ph*'
    for i, ((label, precision), pts) in enumerate(sorted(series.items())):
        pts = sorted(pts, key=lambda r: r['resolution'])
        ok = [r for r in pts if r['status'] == 'ok']
        style = '-' if precision == 'fp32' else '--'
        name = f'{label} ({precision})'
        line, = ax_fps.plot([r['resolution'] for r in ok],
                            [r['images_per_s'] for r in ok],
                            style,
                            marker=markers[i % len(markers)],
                            label=name)
        mem = [r for r in ok if r['peak_mem_gib'] != '']
        ax_mem.plot([r['resolution'] for r in mem],
                    [r['peak_mem_gib'] for r in mem],
                    style,
                    marker=markers[i % len(markers)],
                    color=line.get_color(),
                    label=name)
        for r in pts:
            if r['status'] == 'OOM':
                for ax in (ax_fps, ax_mem):
                    ax.annotate(
                        'OOM', (r['resolution'], 0.02),
                        xycoords=('data', 'axes fraction'),
                        color=line.get_color(),
                        ha='center',
                        fontsize=8)
    ax_fps.set_yscale('log')
    ax_fps.set_xlabel('resolution (px)')
    ax_fps.set_ylabel('FPS (images/s, log scale)')
    ax_fps.set_title('(b) inference speed')
    ax_mem.set_xlabel('resolution (px)')
    ax_mem.set_ylabel('peak GPU memory (GiB)')
    ax_mem.set_title('(c) GPU memory')
    resolutions = sorted({r['resolution'] for r in rows})
    for ax in (ax_fps, ax_mem):
        ax.set_xticks(resolutions)
        ax.grid(True, alpha=0.3)
    ax_mem.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def ratio_lines(rows: List[Dict[str, Any]], ours: str,
                baselines: Sequence[str]) -> List[str]:
    """``ours`` against each baseline at each resolution and precision:
    speed ratio and memory saving."""
    index = {
        (r['label'], r['resolution'], r['precision']): r
        for r in rows if r['measure'] == 'inference'
    }
    lines = []
    for (label, res, prec), r in sorted(
            index.items(), key=lambda kv: (kv[0][2], kv[0][1])):
        if label != ours:
            continue
        for base in baselines:
            b = index.get((base, res, prec))
            if b is None:
                continue
            if r['status'] != 'ok' or b['status'] != 'ok':
                lines.append(f'| {res} | {prec} | {base} | '
                             f"{r['status']} vs {b['status']} | - |")
                continue
            speed = r['images_per_s'] / b['images_per_s']
            saving = (
                '-'
                if r['peak_mem_gib'] == '' or b['peak_mem_gib'] in ('', 0) else
                f"{100 * (1 - r['peak_mem_gib'] / b['peak_mem_gib']):.1f}%")
            lines.append(f'| {res} | {prec} | {base} | {speed:.2f}x | '
                         f'{saving} |')
    return lines


def _compile_text(rows: List[Dict[str, Any]]) -> str:
    modes = sorted({r.get('compile') or '' for r in rows})
    if modes == ['']:
        return 'no (eager)'
    if modes == ['cuda-graph']:
        return ('no; the eager forward captured in one CUDA graph and '
                f'replayed ({GRAPH_WARM_CALLS} untimed calls before the '
                'capture)')
    return ', '.join(m or 'eager' for m in modes) + \
        f' (fullgraph; {COMPILE_CALLS} untimed calls before the warm-up)'


def write_summary(rows: List[Dict[str, Any]], path: str, args, device: str,
                  command: str) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    lines = [
        f'# Backbone benchmark ({args.mode})',
        '',
        f'- date: {now:%Y-%m-%d %H:%M} UTC',
        f'- device: {device}',
        f'- command: `{command}`',
        f"- warm-up {rows[0]['warmup'] if rows else args.warmup}, median of "
        f"{rows[0]['repeats'] if rows else args.repeats} timed batches; "
        'peak memory = torch.cuda.max_memory_allocated (weights included)',
        f'- torch.compile: {_compile_text(rows)}',
        '',
    ]
    kernels = any(r.get('kernel_ms', '') != '' for r in rows)
    if kernels:
        lines[-1:-1] = [
            '- kernel ms: GPU kernel time per batch (torch.profiler, '
            f'{args.kernel_time} batches after the timed ones); a wall time '
            'well above it is the host\'s'
        ]
    lines += [
        '| model | measure | res | batch | precision | img/s | peak GiB | '
        + ('wall ms | kernel ms | ' if kernels else '') + 'status |',
        '|---|---|---|---|---|---|---|' + ('---|---|' if kernels else '')
        + '---|',
    ]
    for r in rows:
        timing = (f"{r['median_ms'] or '-'} | "
                  f"{r.get('kernel_ms', '') or '-'} | " if kernels else '')
        lines.append(f"| {r['label']} | {r['measure']} | {r['resolution']} "
                     f"| {r['batch_size']} | {r['precision']} | "
                     f"{r['images_per_s'] or '-'} | "
                     f"{r['peak_mem_gib'] if r['peak_mem_gib'] != '' else '-'}"
                     f" | {timing}{r['status']} |")
    labels = {r['label'] for r in rows}
    ours = [m for m in ('vim-tiny', ) if m in labels]
    bases = [b for b in ('deit-tiny-naive', 'deit-tiny-sdpa') if b in labels]
    if ours and bases:
        lines += [
            '', '## Vim-Ti against DeiT-Ti (same batch, same precision, '
            'this run)', '',
            '| res | precision | baseline | Vim-Ti speed ratio | '
            'Vim-Ti memory saving |', '|---|---|---|---|---|'
        ]
        lines += ratio_lines(rows, ours[0], bases)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def _parse_batch_at(items: Sequence[str]) -> Dict[int, int]:
    out = {}
    for item in items:
        try:
            res, batch = item.split('=')
            out[int(res)] = int(batch)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f'--batch-size-at expects RES=BATCH, got {item!r}') from None
    return out


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--mode',
        choices=['resolution', 'vmamba-throughput'],
        default='resolution')
    parser.add_argument(
        '--models',
        nargs='+',
        default=None,
        help='presets, LABEL=JSON backbone dicts or LABEL=config.py '
        '(default: vim-tiny deit-tiny-naive deit-tiny-sdpa; '
        'vmamba-tiny vmamba-small vmamba-base in vmamba-throughput mode)')
    parser.add_argument(
        '--resolutions',
        type=int,
        nargs='+',
        default=None,
        help=f'image sides (default: {" ".join(map(str, RESOLUTIONS))}; '
        '224 in vmamba-throughput mode)')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help='batch size (default: 64; 128 in vmamba-throughput mode)')
    parser.add_argument(
        '--batch-size-at',
        nargs='*',
        default=[],
        metavar='RES=BATCH',
        help='per-resolution batch size, e.g. 2048=8')
    parser.add_argument(
        '--precisions',
        nargs='+',
        choices=['fp32', 'bf16'],
        default=['fp32', 'bf16'])
    parser.add_argument(
        '--measures',
        nargs='+',
        choices=['inference', 'train_fwd_bwd', 'train_step'],
        default=['inference', 'train_fwd_bwd', 'train_step'],
        help='vmamba-throughput mode: which measures to take (inference '
        'in every --precisions; training always AMP bf16). Default: all')
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument(
        '--device',
        default=None,
        help='cuda or cpu (default: cuda if available)')
    parser.add_argument(
        '--scan-backend',
        default=None,
        help='selective-scan backend of the mmmamba models (default: auto)')
    parser.add_argument(
        '--compile',
        nargs='?',
        const='default',
        default=None,
        choices=COMPILE_MODES,
        metavar='MODE',
        help='torch.compile every model (fullgraph) before timing, with '
        f'this mode (one of {", ".join(COMPILE_MODES)}; default: default); '
        f'{COMPILE_CALLS} untimed calls compile it before the warm-up')
    parser.add_argument(
        '--compile-backend',
        default='inductor',
        help='torch.compile backend (default: inductor; e.g. aot_eager for '
        'a quick check; --compile MODE applies to inductor only)')
    parser.add_argument(
        '--cuda-graph',
        action='store_true',
        help='capture every model\'s eager inference forward in one CUDA '
        'graph and time its replays (CUDA; inference measures only; not '
        'with --compile): the GPU\'s time without the host\'s')
    parser.add_argument(
        '--kernel-time',
        type=int,
        nargs='?',
        const=3,
        default=0,
        metavar='N',
        help='also record the GPU kernel time per batch of every point '
        '(torch.profiler over N batches after the timed ones, default 3; '
        'CUDA only): where the wall time is well above it, the host bounds '
        'the model')
    parser.add_argument(
        '--out-dir', required=False, default='work_dirs/benchmark_backbone')
    parser.add_argument(
        '--no-plot', action='store_true', help='do not draw the figure')
    parser.add_argument(
        '--from-csv',
        metavar='CSV',
        help='measure nothing: redraw the figure and summary from a '
        'results.csv of an earlier run into --out-dir')
    parser.add_argument(
        '--list', action='store_true', help='list the presets and exit')
    args = parser.parse_args(argv)
    vm = args.mode == 'vmamba-throughput'
    if args.models is None:
        args.models = (['vmamba-tiny', 'vmamba-small', 'vmamba-base'] if vm
                       else ['vim-tiny', 'deit-tiny-naive', 'deit-tiny-sdpa'])
    if args.resolutions is None:
        args.resolutions = [224] if vm else list(RESOLUTIONS)
    if args.batch_size is None:
        args.batch_size = 128 if vm else 64
    args.batch_size_at = _parse_batch_at(args.batch_size_at)
    if args.warmup < 0 or args.repeats < 1:
        parser.error('--warmup must be >= 0 and --repeats >= 1')
    if args.kernel_time < 0:
        parser.error('--kernel-time must be >= 1 batches')
    if args.cuda_graph and args.compile:
        parser.error('--cuda-graph and --compile exclude each other '
                     '(--compile reduce-overhead records its own graphs)')
    if args.cuda_graph and vm and set(args.measures) != {'inference'}:
        parser.error('--cuda-graph times inference only: add '
                     '--measures inference')
    return args


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    args = parse_args(argv)
    if args.list:
        for name, (kind, opts) in PRESETS.items():
            print(f'{name:<18s} {kind:<7s} {opts}')
        return []
    device = torch.device(
        args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    if args.kernel_time and device.type != 'cuda' and not args.from_csv:
        raise SystemExit('--kernel-time measures GPU kernels: it needs a '
                         f'CUDA device, not {device}')
    if args.cuda_graph and device.type != 'cuda' and not args.from_csv:
        raise SystemExit('--cuda-graph replays a CUDA graph: it needs a '
                         f'CUDA device, not {device}')
    os.makedirs(args.out_dir, exist_ok=True)
    script = osp.relpath(osp.abspath(__file__))
    command = 'python ' + ' '.join(
        [script] + list(sys.argv[1:] if argv is None else argv))
    print(
        f'device: {device_name(device)}; torch {torch.__version__}',
        flush=True)
    csv_path = osp.join(args.out_dir, 'results.csv')
    if args.from_csv:
        rows = read_csv(args.from_csv)
        if not rows:
            raise ValueError(f'{args.from_csv} has no rows')
        where = f"{rows[0]['device']}; torch {rows[0]['torch']}"
        command = f'{command}  (figure and summary redrawn from ' \
                  f'{args.from_csv})'
    else:
        where = f'{device_name(device)}; torch {torch.__version__}'

        def save(rows_so_far):  # keep partial results if the run is cut
            write_csv(rows_so_far, csv_path)

        bench = (
            bench_resolution if args.mode == 'resolution' else bench_vmamba)
        rows = bench(args, device, save)
        write_csv(rows, csv_path)
    write_summary(rows, osp.join(args.out_dir, 'summary.md'), args, where,
                  command)
    if not args.no_plot and any(
            r['measure'] == 'inference' and r['mode'] == 'resolution'
            for r in rows):
        modes = sorted({r.get('compile') or '' for r in rows} - {''})
        title = f'{where}; {batch_text(rows)}'
        compiled = [m for m in modes if m != 'cuda-graph']
        if 'cuda-graph' in modes:
            title += '; CUDA graph'
        if compiled:
            title += f"; torch.compile {', '.join(compiled)}"
        plot_figure(rows, osp.join(args.out_dir, 'fig1.png'), title)
    print(f'wrote {args.out_dir}', flush=True)
    return rows


if __name__ == '__main__':
    main()
