"""Summarise an ncu source page (``ncu -i R --page source --csv
--print-source sass``): per kernel, the warp-stall reasons' shares of all
samples and the instructions with the most samples of one reason.

Usage: python stalls.py source.csv [reason, default stall_long_sb] [top]
"""
import collections
import csv
import sys


def kernels(path):
    """[(kernel name, header, rows)] of the page."""
    out, cur = [], None
    for row in csv.reader(open(path)):
        if row and row[0] == 'Kernel Name':
            cur = [row[1], None, []]
            out.append(cur)
        elif row and row[0] == 'Address' and cur is not None:
            cur[1] = row
        elif cur is not None and cur[1] and len(row) == len(cur[1]):
            cur[2].append(row)
    return out


def num(s):
    try:
        return float(s.replace(',', ''))
    except ValueError:
        return 0.0


def main():
    path = sys.argv[1]
    key = sys.argv[2] if len(sys.argv) > 2 else 'stall_long_sb'
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    for name, hdr, rows in kernels(path):
        col = {h: i for i, h in enumerate(hdr)}
        reasons = [h for h in hdr if h.startswith('stall_')
                   and '(Not' not in h]
        total = collections.Counter()
        for r in rows:
            for h in reasons:
                total[h] += num(r[col[h]])
        alls = sum(num(r[col['Warp Stall Sampling (All Samples)']])
                   for r in rows)
        print(f'== {name}: {len(rows)} instructions, {alls:.0f} samples')
        print('   ' + ', '.join(f'{h[6:]} {v / alls:.1%}'
                               for h, v in total.most_common(9)))
        order = sorted(range(len(rows)), key=lambda i: -num(rows[i][col[key]]))
        for i in order[:top]:
            r = rows[i]
            print(f'   {i:5d} {key[6:]} {num(r[col[key]]):6.0f} '
                  f'({num(r[col[key]]) / alls:5.1%})  '
                  f'{r[col["Source"]].strip()[:64]}')


if __name__ == '__main__':
    main()
