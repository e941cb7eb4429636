#!/usr/bin/env python3
"""Table of runs.tsv files (from run.sh): per mode and configuration, median [min-max] over runs.

    python3 summarize.py results/main/runs.tsv [more runs.tsv ...]   (runs of the same mode pool)
"""
import csv
import statistics
import sys
from collections import OrderedDict, defaultdict


def fmt(values, digits=0):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    med = statistics.median(values)
    f = f"{{:.{digits}f}}"
    if len(values) == 1:
        return f.format(med)
    return f"{f.format(med)} [{f.format(min(values))}-{f.format(max(values))}]"


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def main(paths):
    rows = []
    for path in paths:
        rows += list(csv.DictReader(open(path), delimiter="\t"))
    groups = defaultdict(OrderedDict)
    for row in rows:
        groups[row["mode"]].setdefault(row["label"], []).append(row)
    for mode, configs in groups.items():
        base = configs.get("baseline", [])
        base_p999 = statistics.median([num(r["p999_us"]) for r in base]) if base else None
        print(f"\n### {mode} (n = runs per configuration; median [min-max] over runs)\n")
        print("| file (reader) | n | p99 µs | p99.9 µs | p99.9 vs baseline | max µs | >1 ms | >1 ms, all runs | >100 µs | late | read µs mean / max | reads |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        order = ["baseline"] + sorted(k for k in configs if k != "baseline")
        for label in order:
            runs = configs[label]
            p999 = [num(r["p999_us"]) for r in runs]
            ratio = "-"
            if base_p999 and label != "baseline":
                ratio = f"x{statistics.median(p999) / base_p999:.2f}"
            reads = fmt([num(r["reads"]) for r in runs]) if label != "baseline" else "-"
            readt = (f"{fmt([num(r['read_mean_us']) for r in runs], 1)} / {fmt([num(r['read_max_us']) for r in runs])}"
                     if label != "baseline" else "-")
            print(f"| {label} | {len(runs)} | {fmt([num(r['p99_us']) for r in runs])} | {fmt(p999)} | {ratio} | "
                  f"{fmt([num(r['max_us']) for r in runs])} | {fmt([num(r['over1ms']) for r in runs])} | "
                  f"{sum(int(num(r['over1ms']) or 0) for r in runs)} | "
                  f"{fmt([num(r['over100us']) for r in runs])} | {fmt([num(r['late']) for r in runs])} | {readt} | {reads} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["runs.tsv"])
