"""Summarise an ``ncu --page details --csv`` export: per kernel launch,
the metrics that say which limit it is at (duration, SM / memory / DRAM
throughput, the busiest pipes, shared-memory wavefronts and bank
conflicts, registers, occupancy). Usage: ``python ncu_table.py details.csv``
(callN of this session)."""
import csv
import sys
from collections import OrderedDict

WANT = ('Duration', 'Compute (SM) Throughput', 'Memory Throughput',
        'DRAM Throughput', 'L1/TEX Cache Throughput', 'Executed Ipc Active',
        'Issue Slots Busy', 'Registers Per Thread', 'Achieved Occupancy',
        'Theoretical Occupancy', 'Shared Memory Configuration Size',
        'Block Limit Registers', 'Block Limit Shared Mem')


def main(path):
    rows = list(csv.DictReader(open(path, newline='')))
    launches = OrderedDict()
    for r in rows:
        key = (r['ID'], r['Kernel Name'][:40])
        launches.setdefault(key, []).append(r)
    for (lid, name), rs in launches.items():
        print(f'== launch {lid}: {name}')
        for r in rs:
            metric, unit, value = (r['Metric Name'], r['Metric Unit'],
                                   r['Metric Value'])
            section = r['Section Name']
            if (metric in WANT or 'Pipe' in metric or 'Bank' in metric
                    or 'Wavefront' in metric or 'conflict' in metric.lower()
                    or section == 'Memory Workload Analysis Tables'
                    or section == 'Command line profiler metrics'):
                print(f'   {section[:28]:28s} {metric[:48]:48s} '
                      f'{value:>12s} {unit}')


if __name__ == '__main__':
    main(sys.argv[1])
