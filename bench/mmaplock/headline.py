#!/usr/bin/env python3
"""The one-table summary for RESULTS.md: lock counts (lockcount.md) + 10 Hz and flood runs (runs.tsv).

    python3 headline.py LOCKCOUNT.md RUNS.tsv [RUNS.tsv ...]
"""
import csv
import re
import statistics
import sys


def med(vals, digits=0):
    f = f"{{:.{digits}f}}"
    return f"{f.format(statistics.median(vals))} [{f.format(min(vals))}–{f.format(max(vals))}]"


def main(lockfile, paths):
    locks = {}
    for line in open(lockfile):
        m = re.match(r"\| (\S+) \| \d+ \| (-?[\d.]+) \|", line)
        if m:
            # Differences of +-0.01 are one event in 200 reads: the reader's own start-up varies.
            v = float(m.group(2))
            locks[m.group(1).replace("TID", "T")] = 0.0 if abs(v) < 0.05 else v
    rows = []
    for p in paths:
        rows += list(csv.DictReader(open(p), delimiter="\t"))

    def runs(mode, label):
        return [r for r in rows if r["mode"] == mode and r["label"] == label]

    base = {m: runs(m, "baseline") for m in ("rate", "flood")}
    bp = {m: statistics.median(float(r["p999_us"]) for r in base[m]) for m in base}
    print("| file | mmap-lock takes per read | 10/s: p99.9 µs | vs baseline | max µs | stalls > 1 ms per 8 s run (all runs) | flood: p99.9 vs baseline | flood: stalls > 1 ms per run |")
    print("|---|---|---|---|---|---|---|---|")
    b = base["rate"]
    print(f"| (baseline, no reader) | – | {med([float(r['p999_us']) for r in b])} | – | {med([float(r['max_us']) for r in b])} | "
          f"{med([int(r['over1ms']) for r in b])} ({sum(int(r['over1ms']) for r in b)} in {len(b)} runs) | – | "
          f"{med([int(r['over1ms']) for r in base['flood']])} |")
    order = ["numa_maps", "smaps", "smaps_rollup", "maps", "cmdline", "environ", "status", "stat", "statm",
             "task/T/stat", "task/T/status", "exe", "cgroup", "cpuset", "io", "wchan", "sched"]
    for f in order:
        for label in (f + "@10Hz", f + "@1Hz", f + "@10Hz,256K"):
            rr = runs("rate", label)
            if not rr:
                continue
            fl = runs("flood", f + "@flood") if label.endswith("@10Hz") else []
            p = [float(r["p999_us"]) for r in rr]
            flood_ratio = f"x{statistics.median(float(r['p999_us']) for r in fl) / bp['flood']:.2f}" if fl else "–"
            flood_stalls = med([int(r["over1ms"]) for r in fl]) if fl else "–"
            name = label.replace("@10Hz,256K", " (10/s, 256 KiB reads)").replace("@10Hz", "").replace("@1Hz", " (1/s)")
            lk = locks.get(f)
            lk = "–" if lk is None else f"{lk:.0f}"
            print(f"| {name} | {lk} | {med(p)} | x{statistics.median(p) / bp['rate']:.2f} | {med([float(r['max_us']) for r in rr])} | "
                  f"{med([int(r['over1ms']) for r in rr])} ({sum(int(r['over1ms']) for r in rr)} in {len(rr)} runs) | {flood_ratio} | {flood_stalls} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
