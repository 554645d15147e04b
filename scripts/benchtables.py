#!/usr/bin/env python3
"""Make BENCHMARKS.md's comparison tables from benchmark output taken in rounds.

Each input file holds the output of several rounds, each round starting with
a line "ROUND n" and holding one sample of every side (-test.count 1), as the
commands in BENCHMARKS.md write them. A ratio is taken between two sides of
the same round, and the table shows the median over the rounds: the sides of
one round ran minutes apart at most, so a drift of the machine moves both.

    scripts/benchtables.py rec RUN1_FILES RUN2_FILES   # recording vs the baseline
    scripts/benchtables.py exp RUN1_FILES RUN2_FILES   # export vs otlpmetrichttp

RUNn_FILES is a comma-separated list of files (rec.txt,update.txt or
small.txt,big.txt). Times in the tables are run 2's medians.
"""
import collections
import re
import statistics
import sys

ROW = re.compile(r'\s(\d+)\s+([\d.]+) ns/op(.*)$')
NAME = re.compile(r'(Benchmark\S+?)/impl=(\w+?)(-(\d+))?$')


def load(files):
    """rows[(benchmark, cpu)][round][impl] = (wall ns, cpu ns, body B, allocs)."""
    rows = collections.defaultdict(lambda: collections.defaultdict(dict))
    for f in files.split(','):
        rnd, name = 0, None
        for line in open(f):
            if line.startswith('ROUND'):
                rnd = int(line.split()[1])
                continue
            m = re.match(r'^(Benchmark\S+)', line)
            if m:  # a log line may split a result from its name: keep the name
                name = m.group(1)
            m = ROW.search(line)
            if not m or not name:
                continue
            n = NAME.match(name)
            name = None
            if not n:
                continue
            rest = m.group(3)

            def unit(u):
                x = re.search(r'([\d.]+) ' + u, rest)
                return float(x.group(1)) if x else 0.0
            rows[(n.group(1), n.group(4) or '1')][rnd][n.group(2)] = (
                float(m.group(2)), unit('cpu-ns/op'), unit('body-B/export'), int(unit('allocs/op')))
    return rows


def ratios(rounds, side, ref, i=0):
    return [r[side][i] / r[ref][i] for r in rounds.values() if side in r and ref in r and r[ref][i]]


def without(rounds, side, ref, shared):
    """Ratios of the two sides' times less the shared part's, per round."""
    return [(r[side][0] - r[shared][0]) / (r[ref][0] - r[shared][0])
            for r in rounds.values() if side in r and ref in r and shared in r and r[ref][0] > r[shared][0]]


def median_of(rounds, impl, i=0):
    return statistics.median(r[impl][i] for r in rounds.values() if impl in r)


def mark(x, target):
    """x with two decimals, in bold above the target; three where two would hide it."""
    if target is None or x <= target:
        return f'{x:.2f}'
    return f'**{x:.2f}**' if round(x, 2) > target else f'**{x:.3f}**'


def export_table(run1, run2):
    print('| points | attributes | -cpu | telemetry, ms | otlpmetrichttp, ms | exchange, ms | ratio run 1 (wall / CPU) | ratio run 2 (wall / CPU) | body KiB, telemetry / otlp |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')

    def order(k):
        return (int(re.search(r'points=(\d+)', k[0]).group(1)), int(re.search(r'attrs=(\d+)', k[0]).group(1)), k[1])
    for k in sorted(run2, key=order):
        points, attrs, cpu = order(k)
        cells = []
        for run in (run1, run2):
            rs = run[k]
            cells.append(f"{mark(statistics.median(ratios(rs, 'telemetry', 'otlpmetrichttp')), .5)} / "
                         f"{mark(statistics.median(ratios(rs, 'telemetry', 'otlpmetrichttp', 1)), .5)}")
        rs = run2[k]
        print(f"| {points:,} | {attrs} | {cpu} | {median_of(rs, 'telemetry') / 1e6:.2f} | "
              f"{median_of(rs, 'otlpmetrichttp') / 1e6:.2f} | {median_of(rs, 'exchange') / 1e6:.2f} | "
              f"{cells[0]} | {cells[1]} | "
              f"{median_of(rs, 'telemetry', 2) / 1024:,.0f} / {median_of(rs, 'otlpmetrichttp', 2) / 1024:,.0f} |")


TARGETS = {'Increment': .5, 'AppendUnique': .75, 'Set': .75, 'SetNested': 1.0,
           'SetNestedChanging': 1.0, 'AppendUniqueFresh': .6, 'Request': .7, 'Update': 1.0}


def recording_table(run1, run2):
    print('| benchmark | target | run 1, -cpu 1, 2 (CPU) | run 2, -cpu 1, 2 (CPU) | run 2, -cpu 1: compat / baseline / caller | recording alone, run 2, -cpu 1 / 2 | allocs/op baseline → compat |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for name, target in TARGETS.items():
        for side in (['compat', 'compat_spooled'] if name == 'Update' else ['compat']):
            t = target if side == 'compat' else None
            cells = []
            for run in (run1, run2):
                parts = []
                for cpu in '12':
                    rs = run[('Benchmark' + name, cpu)]
                    parts.append(f"{mark(statistics.median(ratios(rs, side, 'baseline')), t)} "
                                 f"({statistics.median(ratios(rs, side, 'baseline', 1)):.2f})")
                cells.append(', '.join(parts))
            cpu1, cpu2 = run2[('Benchmark' + name, '1')], run2[('Benchmark' + name, '2')]
            scale, unit = (1e6, 'ms') if median_of(cpu1, 'baseline') > 1e5 else (1, 'ns')
            has_caller = any('caller' in r for r in cpu1.values())
            caller = f"{median_of(cpu1, 'caller') / scale:.1f}" if has_caller else '—'
            alone = '—'
            if has_caller:
                alone = (f"{statistics.median(without(cpu1, side, 'baseline', 'caller')):.2f} / "
                         f"{statistics.median(without(cpu2, side, 'baseline', 'caller')):.2f}")
            first = next(iter(cpu1.values()))
            label = name + (' (spooled, as `Init`)' if side == 'compat_spooled' else ' (in memory)' if name == 'Update' else '')
            print(f"| {label} | {'≤ %.2g' % t if t else ''} | {cells[0]} | {cells[1]} | "
                  f"{median_of(cpu1, side) / scale:.1f} / {median_of(cpu1, 'baseline') / scale:.1f} / {caller} {unit} | "
                  f"{alone} | {first['baseline'][3]:,} → {first[side][3]:,} |")


if __name__ == '__main__':
    if len(sys.argv) != 4 or sys.argv[1] not in ('rec', 'exp'):
        sys.exit(__doc__)
    table = recording_table if sys.argv[1] == 'rec' else export_table
    table(load(sys.argv[2]), load(sys.argv[3]))
