# Copyright (c) mmmamba contributors. All rights reserved.
"""CPU smoke test of tools/analysis_tools/benchmark_backbone.py at toy
sizes: CSV columns, positive numbers, figure and summary, OOM recording."""
import csv
import json
import os.path as osp

import pytest
import torch

from mmmamba.testing import load_script

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_backbone.py')

EXPECTED_COLUMNS = [
    'mode', 'label', 'measure', 'resolution', 'batch_size', 'precision',
    'status', 'images_per_s', 'median_ms', 'kernel_ms', 'peak_mem_gib',
    'params', 'warmup', 'repeats', 'device', 'torch', 'scan_backend',
    'compile', 'message'
]

# 2-layer Vim of width 16 (1 token per 16x16 patch): a few ms per batch
TOY_VIM = json.dumps(
    dict(
        type='mmmamba.VisionMamba',
        arch=dict(embed_dims=16, num_layers=2, d_state=4),
        out_type='featmap',
        with_cls_token=False))
TOY_VMAMBA = json.dumps(
    dict(
        type='mmmamba.VMamba',
        arch=dict(embed_dims=8, depths=[1, 1], d_state=1, ssm_ratio=1.0)))


@pytest.fixture(scope='module')
def tool():
    return load_script(TOOL)


def _read_csv(path):
    with open(path, newline='') as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def test_resolution_mode_cpu(tool, tmp_path):
    out = tmp_path / 'bench'
    rows = tool.main([
        '--device', 'cpu', '--models', f'vim-toy={TOY_VIM}', 'deit-tiny-naive',
        '--resolutions', '32', '--batch-size', '2', '--warmup', '0',
        '--repeats', '2', '--precisions', 'fp32', 'bf16', '--out-dir',
        str(out)
    ])
    assert len(rows) == 2 * 2
    columns, written = _read_csv(out / 'results.csv')
    assert columns == EXPECTED_COLUMNS
    assert len(written) == 4
    for row in written:
        assert row['status'] == 'ok', row['message']
        assert float(row['images_per_s']) > 0
        assert float(row['median_ms']) > 0
        assert int(row['params']) > 0
        assert row['resolution'] == '32' and row['batch_size'] == '2'
        # images/s is batch / median time
        assert float(row['images_per_s']) == pytest.approx(
            2 / (float(row['median_ms']) / 1e3), rel=1e-2)
    labels = {r['label'] for r in written}
    assert labels == {'vim-toy', 'deit-tiny-naive'}
    assert osp.getsize(out / 'fig1.png') > 10_000
    summary = (out / 'summary.md').read_text()
    for label in labels:
        assert f'| {label} | inference | 32 | 2 | fp32 |' in summary

    # redraw from the CSV alone (e.g. after a run was cut short)
    again = tmp_path / 'again'
    redrawn = tool.main(
        ['--from-csv',
         str(out / 'results.csv'), '--out-dir',
         str(again)])
    assert [r['images_per_s']
            for r in redrawn] == [float(r['images_per_s']) for r in written]
    assert osp.getsize(again / 'fig1.png') > 10_000
    assert (again / 'summary.md').read_text().count('| inference |') == 4


def test_kernel_time_needs_cuda_and_fills_the_summary(tool, tmp_path):
    """--kernel-time refuses a CPU run (it profiles CUDA kernels); rows that
    have a kernel time get wall and kernel columns in the summary (read
    back from a CSV, as --from-csv does)."""
    with pytest.raises(SystemExit, match='needs a CUDA device'):
        tool.main(['--device', 'cpu', '--kernel-time', '--out-dir',
                   str(tmp_path / 'refused')])
    assert tool.parse_args(['--kernel-time']).kernel_time == 3
    assert tool.parse_args(['--kernel-time', '5']).kernel_time == 5
    args = tool.parse_args(['--kernel-time'])
    res = dict(status='ok', message='', params=10, median_s=0.042,
               kernel_s=0.0187, peak_mem_gib=0.44)
    row = tool._row('resolution', 'vim-tiny', 'inference', 1248, 8, 'bf16',
                    res, args, torch.device('cpu'))
    assert row['median_ms'] == 42.0 and row['kernel_ms'] == 18.7
    assert 'wall 42.00 ms, kernels 18.70 ms' in tool._format_row(row)
    tool.write_csv([row], str(tmp_path / 'results.csv'))
    rows = tool.read_csv(str(tmp_path / 'results.csv'))
    assert rows[0]['kernel_ms'] == 18.7
    tool.write_summary(rows, str(tmp_path / 'summary.md'), args, 'H200',
                       'cmd')
    text = (tmp_path / 'summary.md').read_text()
    assert '| img/s | peak GiB | wall ms | kernel ms | status |' in text
    assert '| 1248 | 8 | bf16 | 190.476 | 0.44 | 42.0 | 18.7 | ok |' in text
    assert 'kernel ms: GPU kernel time per batch' in text


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='requires CUDA')
def test_kernel_time_on_gpu(tool, tmp_path):
    rows = tool.main([
        '--models', f'vim-toy={TOY_VIM}', '--resolutions', '64',
        '--batch-size', '2', '--warmup', '1', '--repeats', '2',
        '--precisions', 'bf16', '--kernel-time', '2', '--no-plot',
        '--out-dir', str(tmp_path)
    ])
    assert rows[0]['status'] == 'ok', rows[0]['message']
    assert 0 < rows[0]['kernel_ms'] < 10 * rows[0]['median_ms']


@pytest.mark.parametrize('mode', ['resolution', 'vmamba-throughput'])
def test_compile_flag_cpu(tool, tmp_path, mode):
    """--compile wraps every model in torch.compile(fullgraph=True) before
    timing (aot_eager here: no C++ compilation) and says so in the CSV and
    the summary; the eager run leaves the column empty."""
    model = (f'vim-toy={TOY_VIM}'
             if mode == 'resolution' else f'vmamba-toy={TOY_VMAMBA}')
    out = tmp_path / 'compiled'
    rows = tool.main([
        '--mode', mode, '--device', 'cpu', '--models', model,
        '--resolutions', '32', '--batch-size', '2', '--warmup', '0',
        '--repeats', '1', '--precisions', 'fp32', '--compile',
        '--compile-backend', 'aot_eager', '--no-plot', '--out-dir',
        str(out)
    ])
    assert rows and all(r['status'] == 'ok' for r in rows), rows
    _, written = _read_csv(out / 'results.csv')
    assert {r['compile'] for r in written} == {'default/aot_eager'}
    summary = (out / 'summary.md').read_text()
    assert '- torch.compile: default/aot_eager (fullgraph;' in summary
    args = tool.parse_args(['--compile', 'reduce-overhead'])
    assert tool.compile_label(args) == 'reduce-overhead'
    assert tool.compile_label(tool.parse_args([])) == ''
    with pytest.raises(SystemExit):
        tool.parse_args(['--compile', 'fast'])


def test_cuda_graph_flag_checks_and_labels(tool, tmp_path):
    """--cuda-graph refuses a CPU run, --compile and training measures;
    its rows say ``cuda-graph`` in the compile column and the summary says
    the forward was replayed from a graph, not compiled."""
    with pytest.raises(SystemExit, match='needs a CUDA device'):
        tool.main(['--device', 'cpu', '--cuda-graph', '--out-dir',
                   str(tmp_path / 'refused')])
    with pytest.raises(SystemExit):
        tool.parse_args(['--cuda-graph', '--compile'])
    with pytest.raises(SystemExit):
        tool.parse_args(['--mode', 'vmamba-throughput', '--cuda-graph'])
    args = tool.parse_args(['--mode', 'vmamba-throughput', '--cuda-graph',
                            '--measures', 'inference'])
    assert tool.compile_label(args) == 'cuda-graph'
    with pytest.raises(ValueError, match='needs a CUDA device'):
        tool.cuda_graph_step(lambda: None, torch.device('cpu'), 'bf16')
    res = dict(status='ok', message='', params=10, median_s=0.02,
               peak_mem_gib=0.5)
    row = tool._row('resolution', 'vim-tiny', 'inference', 1248, 8, 'bf16',
                    res, args, torch.device('cpu'))
    assert row['compile'] == 'cuda-graph'
    tool.write_summary([row], str(tmp_path / 'summary.md'), args, 'H200',
                       'cmd')
    text = (tmp_path / 'summary.md').read_text()
    assert ('- torch.compile: no; the eager forward captured in one CUDA '
            'graph and replayed') in text


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='requires CUDA')
@pytest.mark.parametrize('precision', ['fp32', 'bf16'])
def test_cuda_graph_replays_the_eager_forward(tool, precision):
    """The captured step returns the graph's static outputs, equal to an
    eager forward of the same input under the same autocast, and each
    replay recomputes them (zeroed outputs come back)."""
    torch.manual_seed(0)
    device = torch.device('cuda')
    model = tool.build_feature_model(tool.parse_model(f'toy={TOY_VIM}')[1],
                                     64, None).to(device).eval()
    x = torch.randn(2, 3, 64, 64, device=device)
    step = tool.cuda_graph_step(lambda: model(x)[-1], device, precision)
    got = step()
    with torch.inference_mode(), tool._autocast(device, precision):
        want = model(x)[-1]
    assert got.shape == (2, 16, 4, 4)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    with torch.inference_mode():  # the static output is an inference tensor
        got.zero_()
    again = step()
    assert again.data_ptr() == got.data_ptr()
    torch.testing.assert_close(again, want, rtol=0, atol=0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='requires CUDA')
def test_free_releases_the_cublas_workspaces_of_every_stream(tool):
    """PyTorch keeps a cuBLAS workspace per stream that ran a GEMM, as
    allocated memory; ``_free`` between points releases them, so one
    point's streams do not raise the next point's peak. The capture
    warm-ups share one side stream."""
    device = torch.device('cuda')
    assert tool._side_stream(device) is tool._side_stream(device)
    tool._free(device)
    base = torch.cuda.memory_allocated(device)
    a = torch.randn(256, 256, device=device, dtype=torch.bfloat16)
    with torch.cuda.stream(torch.cuda.Stream(device)):
        b = a @ a
    torch.cuda.synchronize(device)
    del b
    held = torch.cuda.memory_allocated(device) - base - a.numel() * 2
    assert held >= 2**20, 'expected a cuBLAS workspace held for the stream'
    del a
    tool._free(device)
    assert torch.cuda.memory_allocated(device) == base


def test_vim_at_uncovered_resolution_uses_the_covered_crop(tool):
    # 40 = 2 * 16 + 8: a stride-16 conv takes 2x2 patches, so does Vim
    assert tool.covered_size(40) == 32 and tool.covered_size(48) == 48
    label, spec = tool.parse_model(f'vim-toy={TOY_VIM}')
    model = tool.build_feature_model(spec, 40, None).eval()
    x = torch.randn(1, 3, 40, 40)
    with torch.no_grad():
        feat = model(x)[0]
        ref = model.body(x[..., :32, :32])[0]
    assert feat.shape == (1, 16, 2, 2)
    torch.testing.assert_close(feat, ref)


def test_deit_attention_forms(tool):
    naive = tool.build_deit('deit_tiny_patch16_224', False, 32)
    fused = tool.build_deit('deit_tiny_patch16_224', True, 32)
    attn = [m for m in naive.modules() if hasattr(m, 'fused_attn')]
    assert len(attn) == 12 and not any(m.fused_attn for m in attn)
    assert all(m.fused_attn for m in fused.modules()
               if hasattr(m, 'fused_attn'))
    fused.load_state_dict(naive.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(naive(x), fused(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('model', [
    pytest.param(f'vmamba-toy={TOY_VMAMBA}', id='vmamba'),
    pytest.param(f'vim-toy={TOY_VIM}', id='vim-class-token'),
])
def test_throughput_mode_cpu(tool, tmp_path, model):
    out = tmp_path / 'tp'
    tool.main([
        '--mode', 'vmamba-throughput', '--device', 'cpu', '--models',
        model, '--resolutions', '32', '--batch-size', '2',
        '--warmup', '0', '--repeats', '1', '--precisions', 'fp32', '--out-dir',
        str(out)
    ])
    columns, written = _read_csv(out / 'results.csv')
    assert columns == EXPECTED_COLUMNS
    assert [(r['measure'], r['precision'])
            for r in written] == [('inference', 'fp32'),
                                  ('train_fwd_bwd', 'bf16'),
                                  ('train_step', 'bf16')]
    for row in written:
        assert row['status'] == 'ok', row['message']
        assert float(row['images_per_s']) > 0


def test_oom_is_recorded_not_raised(tool, tmp_path):
    device = torch.device('cpu')

    def oom():
        raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate')

    def cuda_runtime_oom():
        raise RuntimeError('CUDA error: out of memory')

    def broken():
        raise ValueError('bad shape')

    assert tool.run_point(oom, device, 1, 1)['status'] == 'OOM'
    assert tool.run_point(cuda_runtime_oom, device, 1, 1)['status'] == 'OOM'
    res = tool.run_point(broken, device, 1, 1)
    assert res['status'] == 'error' and 'bad shape' in res['message']

    # an OOM point is written and drawn, not dropped
    args = tool.parse_args(['--batch-size', '8', '--warmup', '1'])
    ok = tool._row(
        'resolution', 'vim-tiny', 'inference', 512, 8, 'fp32',
        dict(
            status='ok', message='', median_s=0.5, peak_mem_gib=1.5, params=7),
        args, device)
    bad = tool._row('resolution', 'deit-tiny-naive', 'inference', 512, 8,
                    'fp32', tool.run_point(oom, device, 1, 1), args, device)
    assert ok['images_per_s'] == 16.0 and bad['images_per_s'] == ''
    tool.write_csv([ok, bad], str(tmp_path / 'r.csv'))
    _, written = _read_csv(tmp_path / 'r.csv')
    assert [r['status'] for r in written] == ['ok', 'OOM']
    tool.plot_figure([ok, bad], str(tmp_path / 'f.png'), 'test')
    assert osp.getsize(tmp_path / 'f.png') > 10_000
    lines = tool.ratio_lines([ok, bad], 'vim-tiny', ['deit-tiny-naive'])
    assert lines == ['| 512 | fp32 | deit-tiny-naive | ok vs OOM | - |']
    # 16 vs 8 img/s and 1.5 vs 3.0 GiB: 2x faster, 50% less memory
    base = tool._row(
        'resolution', 'deit-tiny-sdpa', 'inference', 512, 8, 'fp32',
        dict(
            status='ok', message='', median_s=1.0, peak_mem_gib=3.0, params=5),
        args, device)
    assert tool.ratio_lines([ok, base], 'vim-tiny', ['deit-tiny-sdpa']) == [
        '| 512 | fp32 | deit-tiny-sdpa | 2.00x | 50.0% |'
    ]


def test_throughput_mode_measures_subset(tool, tmp_path):
    """``--measures`` keeps only the named measures, in their order."""
    out = tmp_path / 'tp'
    tool.main([
        '--mode', 'vmamba-throughput', '--device', 'cpu', '--models',
        f'vmamba-toy={TOY_VMAMBA}', '--resolutions', '32', '--batch-size',
        '2', '--warmup', '0', '--repeats', '1', '--precisions', 'fp32',
        '--measures', 'train_step', '--out-dir',
        str(out)
    ])
    _, written = _read_csv(out / 'results.csv')
    assert [(r['measure'], r['precision'])
            for r in written] == [('train_step', 'bf16')]
