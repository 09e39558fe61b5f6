#!/usr/bin/env python3
"""Run one command and measure it the same way for every system.

    measure.py --name NAME --records N --results FILE [--stdout F] [--stdin F] [--workers W]
               [--repeat K] -- CMD...

Records wall time, CPU time (user + system of the whole process tree, from the kernel's
rusage of waited-for children) and peak memory: the largest sum of RSS over the process tree
seen by a 20 ms sampler of /proc (a JVM plus its Python driver counts as both). Appends one
JSON object to FILE; exits with the command's status. With --repeat K the command runs K
times and the row is the run of median wall time (`walls` lists every run's).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

PAGE = os.sysconf("SC_PAGE_SIZE")


TICK = os.sysconf("SC_CLK_TCK")


def tree_rss(root, cpu_seen=None):
    """Sum of resident memory of `root` and all its descendants, in bytes; records each
    one's CPU time (user + system, seconds) in `cpu_seen`."""
    children = {}
    rss = {}
    cpu = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces: fields after the last ')' are plain.
        fields = stat[stat.rfind(")") + 2 :].split()
        ppid, pages = int(fields[1]), int(fields[21])
        children.setdefault(ppid, []).append(int(pid))
        rss[int(pid)] = pages * PAGE
        cpu[int(pid)] = (int(fields[11]) + int(fields[12])) / TICK
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        if cpu_seen is not None and pid in cpu:
            cpu_seen[pid] = max(cpu_seen.get(pid, 0), cpu[pid])
        todo.extend(children.get(pid, []))
    return total


def run_once(cmd, a):
    """Runs `cmd` once; returns (wall s, CPU s, peak RSS bytes), or exits with its status."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    stderr = open(a.stderr, "wb") if a.stderr else subprocess.PIPE
    with open(a.stdout, "wb") as out, open(a.stdin or os.devnull, "rb") as stdin:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=stderr)
        peak = [0]
        cpu_seen = {}
        done = threading.Event()

        def sample():
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], tree_rss(proc.pid, cpu_seen))
                except Exception:
                    pass
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, err = proc.communicate()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Processes the command's children did not wait for (a JVM started by PyFlink) are
    # missing from rusage: take their CPU time as last sampled when it is larger.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu = max(cpu, sum(cpu_seen.values()))
    if proc.returncode != 0:
        sys.stderr.write(f"measure: {a.name} failed with status {proc.returncode}\n")
        if err:
            sys.stderr.write(err.decode(errors="replace")[-4000:])
        sys.exit(proc.returncode or 1)
    if err:
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return wall, cpu, peak[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--workers", type=int, default=1, help="cores the system was given")
    ap.add_argument("--stdout", default=os.devnull)
    ap.add_argument("--stdin", default=None, help="a file the command reads on standard input")
    ap.add_argument("--stderr", default=None)
    ap.add_argument("--repeat", type=int, default=1, help="runs; the row is the median's")
    ap.add_argument("--group", default="")
    ap.add_argument("--note", default="")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd

    runs = []
    for _ in range(max(1, a.repeat)):
        runs.append(run_once(cmd, a))
    walls = sorted(r[0] for r in runs)
    wall, cpu, peak = next(r for r in runs if r[0] == walls[(len(walls) - 1) // 2])
    result = {
        "name": a.name,
        "group": a.group,
        "records": a.records,
        "workers": a.workers,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "records_per_s": round(a.records / wall),
        "records_per_cpu_s": round(a.records / cpu) if cpu > 0 else None,
        "records_per_s_per_worker": round(a.records / wall / a.workers),
        "peak_rss_mb": round(peak / 1e6, 1),
        "runs": len(walls),
        "walls": [round(w, 3) for w in walls],
        "note": a.note,
        "cmd": " ".join(cmd),
    }
    with open(a.results, "a") as f:
        f.write(json.dumps(result) + "\n")
    print(
        f"  {a.name:<34} {result['records_per_s']:>12,} rec/s  "
        f"{result['records_per_cpu_s'] or 0:>12,} rec/cpu-s  {result['peak_rss_mb']:>8} MB  "
        f"{wall:7.2f} s wall {cpu:7.2f} s cpu"
    )


if __name__ == "__main__":
    main()
