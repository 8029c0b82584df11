# Copyright (c) mmmamba contributors. All rights reserved.
"""What is alive at the peak of a backbone's GPU memory, and who made it.

For each model and shape, in a clean state (``gc.collect``,
``empty_cache``, peak reset), records the CUDA caching allocator's history
(``torch.cuda.memory._record_memory_history`` with Python stacks) from
before the model is built, runs eager inference a few times
(``benchmark_backbone.py``'s feature models; bf16 autocast by default, an
fp32 image), replays the recorded allocations and frees to the peak of
allocated bytes, and prints the blocks alive there, grouped by the
innermost frame of mmmamba, timm, torch.nn or this tool that allocated
them. ``max_memory_allocated`` is printed beside the replayed peak (they
agree when no memory was allocated before the recording). Where
``benchmark_backbone.py`` says *how much*, this says *what*.

Example::

    python tools/analysis_tools/peak_memory.py --models vim-tiny \\
        deit-tiny-sdpa --shapes 1248x8 738x64
"""
import argparse
import collections
import gc
import os.path as osp
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark_backbone as bb  # noqa: E402

#: Frames whose file path contains one of these name the allocating site.
SITE_KEYS = ('mmmamba/', 'timm/', 'torch/nn/', 'peak_memory.py',
             'benchmark_backbone.py')

Block = Tuple[int, str]  # (bytes, site)


def site_of(frames: Sequence[dict], keys: Sequence[str] = SITE_KEYS) -> str:
    """``path:line function`` of the innermost frame whose file matches
    one of ``keys`` (the path from the matched key on), else of the
    innermost frame, else ``'?'``. Frames are dicts with ``filename``,
    ``line``, ``name``, innermost first (the allocator history's order)."""
    for frame in frames:
        name = frame['filename']
        for key in keys:
            at = name.rfind(key)
            if at >= 0:
                return f'{name[at:]}:{frame["line"]} {frame["name"]}'
    if frames:
        return f'{frames[0]["filename"]}:{frames[0]["line"]}'
    return '?'


def replay_to_peak(events: Iterable[dict],
                   base: int = 0) -> Tuple[int, Dict[int, Block]]:
    """Replay allocator events to the peak of allocated bytes.

    Args:
        events: the device trace of ``torch.cuda.memory._snapshot()``
            (dicts with ``action``, ``addr``, ``size``, ``frames``): an
            ``alloc`` adds a block, a ``free_completed`` removes it; other
            actions (segment maps, ``free_requested``) change nothing.
        base: bytes allocated before the recording began.

    Returns:
        The peak (bytes, ``base`` included) and the blocks alive at it,
        ``{addr: (bytes, site)}`` (those allocated before the recording are
        not among them).
    """
    live: Dict[int, Block] = {}
    current = peak = base
    at_peak: Dict[int, Block] = {}
    for ev in events:
        action = ev['action']
        if action == 'alloc':
            live[ev['addr']] = (ev['size'], site_of(ev.get('frames', ())))
            current += ev['size']
            if current > peak:
                peak, at_peak = current, dict(live)
        elif action == 'free_completed' and ev['addr'] in live:
            current -= live.pop(ev['addr'])[0]
    return peak, at_peak


def group_by_site(blocks: Dict[int, Block]) -> List[Tuple[str, int, int]]:
    """(site, bytes, number of blocks), largest first."""
    groups: Dict[str, List[int]] = collections.defaultdict(lambda: [0, 0])
    for size, site in blocks.values():
        groups[site][0] += size
        groups[site][1] += 1
    return sorted(((s, b, n) for s, (b, n) in groups.items()),
                  key=lambda row: -row[1])


def parse_shape(text: str) -> Tuple[int, int]:
    """'RESxBATCH' -> (resolution, batch)."""
    try:
        res, batch = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'a shape is RESxBATCH, e.g. 1248x8; got {text!r}') from None
    return res, batch


def measure(model_text: str, resolution: int, batch: int, precision: str,
            runs: int) -> Tuple[float, int, Dict[int, Block]]:
    """One model at one shape: (max_memory_allocated GiB, replayed peak
    bytes, blocks alive at the peak)."""
    device = torch.device('cuda')
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    torch.cuda.memory._record_memory_history(
        max_entries=4_000_000, stacks='python')
    try:
        torch.manual_seed(0)
        model = bb.build_feature_model(
            bb.parse_model(model_text)[1], resolution, None).to(device).eval()
        image = torch.randn(batch, 3, resolution, resolution, device=device)
        with torch.inference_mode(), bb._autocast(device, precision):
            for _ in range(runs):
                model(image)
        torch.cuda.synchronize()
        snapshot = torch.cuda.memory._snapshot()
    finally:
        torch.cuda.memory._record_memory_history(enabled=None)
    peak, blocks = replay_to_peak(snapshot['device_traces'][0], base)
    return torch.cuda.max_memory_allocated() / 2**30, peak, blocks


def format_report(model_text: str, resolution: int, batch: int,
                  max_gib: float, peak: int, blocks: Dict[int, Block],
                  min_mib: float) -> str:
    """A markdown table of the live set at the peak (sites of at least
    ``min_mib`` MiB, the rest summed in one row)."""
    lines = [
        f'### {model_text} {resolution}² batch {batch}: '
        f'max_memory_allocated {max_gib:.3f} GiB, replayed peak '
        f'{peak / 2**30:.3f} GiB', '',
        '| site | MiB | % of peak | blocks |', '|---|---|---|---|'
    ]
    rest, rest_n = 0, 0
    for site, size, n in group_by_site(blocks):
        if size < min_mib * 2**20:
            rest, rest_n = rest + size, rest_n + n
            continue
        lines.append(f'| `{site}` | {size / 2**20:.2f} | '
                     f'{100 * size / max(peak, 1):.1f} | {n} |')
    if rest_n:
        lines.append(f'| (smaller sites) | {rest / 2**20:.2f} | '
                     f'{100 * rest / max(peak, 1):.1f} | {rest_n} |')
    return '\n'.join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=['vim-tiny'],
                        help="benchmark_backbone.py's presets or LABEL=JSON "
                        'backbone dicts')
    parser.add_argument('--shapes', nargs='+', type=parse_shape,
                        default=[(1248, 8)], metavar='RESxBATCH')
    parser.add_argument('--precision', choices=['bf16', 'fp32'],
                        default='bf16')
    parser.add_argument('--runs', type=int, default=3,
                        help='inference calls recorded per point')
    parser.add_argument('--min-mib', type=float, default=1.0,
                        help='smallest site listed on its own row')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[str]:
    args = parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit('peak_memory.py reads the CUDA caching allocator: '
                         'run it on a machine with a CUDA GPU')
    reports = []
    for model_text in args.models:
        for resolution, batch in args.shapes:
            max_gib, peak, blocks = measure(model_text, resolution, batch,
                                            args.precision, args.runs)
            reports.append(format_report(model_text, resolution, batch,
                                         max_gib, peak, blocks,
                                         args.min_mib))
            print(reports[-1] + '\n', flush=True)
    return reports


if __name__ == '__main__':
    main()
