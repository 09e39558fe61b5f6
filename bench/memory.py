#!/usr/bin/env python3
"""Memory of a long run: RSS over time while the full topology reads a generated log.

    memory.py --antimony BIN --topology T --records N --workers W --csv FILE --results FILE

Runs

    antimony gen --format windows-dns --records N | antimony run T --input - --workers W

and every second writes a row to FILE: seconds since start, records read so far, RSS of
`antimony run` and its children (MB, the sum over the process tree as bench/measure.py
counts it) and of `antimony gen`. Records read are estimated from the bytes `gen` has
written to the pipe (its /proc/PID/io `wchar`, at most a pipe buffer ahead of the reader)
divided by the bytes per record of the log `--sample` (a log of the same generator).
Appends to --results one row: wall time, records/s, peak RSS of the run, and the peak over
the first 10% of the records (when at least three samples fall there), so that report.py
can say whether the peak depends on run length.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import tree_rss  # noqa: E402


def wchar(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--antimony", required=True)
    ap.add_argument("--topology", required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data", default=None)
    ap.add_argument("--sample", required=True, help="a log of the same generator, for bytes per record")
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--name", default="antimony memory")
    ap.add_argument("--csv", required=True)
    ap.add_argument("--results", required=True)
    a = ap.parse_args()

    with open(a.sample, "rb") as f:
        sample_lines = sum(1 for _ in f)
    bytes_per_record = os.path.getsize(a.sample) / max(sample_lines, 1)

    gen = [a.antimony, "gen", "--format", "windows-dns", "--records", str(a.records), "--quiet"]
    if a.data:
        gen += ["--data", a.data]
    run = [a.antimony, "run", a.topology, "--input", "-", "--alerts", os.devnull,
           "--workers", str(a.workers), "--quiet"]
    start = time.perf_counter()
    producer = subprocess.Popen(gen, stdout=subprocess.PIPE)
    consumer = subprocess.Popen(run, stdin=producer.stdout, stdout=subprocess.DEVNULL)
    producer.stdout.close()
    rows = []
    cpu_seen = {}
    with open(a.csv, "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["seconds", "records", "run_rss_mb", "gen_rss_mb"])
        while True:
            done = consumer.poll() is not None
            written = wchar(producer.pid)
            if written is not None:
                records = min(a.records, int(written / bytes_per_record))
            else:
                records = rows[-1][1] if rows else 0
            if producer.poll() is not None and done:
                records = a.records
            row = (round(time.perf_counter() - start, 2), records,
                   round(tree_rss(consumer.pid, cpu_seen) / 1e6, 1),
                   round(tree_rss(producer.pid) / 1e6, 1))
            if not done:
                rows.append(row)
                w.writerow(row)
                out.flush()
            if done:
                break
            time.sleep(a.interval)
    consumer.wait()
    producer.wait()
    wall = time.perf_counter() - start
    if consumer.returncode != 0 or producer.returncode != 0:
        sys.exit(f"memory: the pipeline failed (gen {producer.returncode}, run {consumer.returncode})")
    peak = max((r[2] for r in rows), default=0)
    # Too few samples in the first 10% (a short run) say nothing about growth: no figure.
    first = [r[2] for r in rows if r[1] <= a.records / 10]
    first = first if len(first) >= 3 else []
    result = {
        "name": a.name,
        "group": "memory",
        "records": a.records,
        "workers": a.workers,
        "wall_s": round(wall, 3),
        "records_per_s": round(a.records / wall),
        "cpu_s": round(sum(cpu_seen.values()), 3),
        "peak_rss_mb": peak,
        "peak_first_10pct_mb": max(first) if first else None,
        "samples": len(rows),
        "csv": a.csv,
        "cmd": " ".join(gen) + " | " + " ".join(run),
    }
    with open(a.results, "a") as f:
        f.write(json.dumps(result) + "\n")
    print(f"  {a.name:<34} {result['records_per_s']:>12,} rec/s  peak RSS {peak} MB "
          f"(first 10% of records: {result['peak_first_10pct_mb']} MB), {len(rows)} samples, "
          f"{wall:.1f} s")


if __name__ == "__main__":
    main()
