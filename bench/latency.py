#!/usr/bin/env python3
"""Alert latency of a live pipeline at a fixed input rate.

    latency.py --antimony BIN --topology T --rate R --seconds S --workers W --results FILE

Runs

    antimony gen --format windows-dns --rate R --probes P --records R*S
      | antimony run T --input - --alerts - --workers W

`gen --rate` writes at R records per second (a batch every ~100 us) and stamps records with
the wall clock; P times a second it mixes in a probe, a lookup of t<ns>.update-java.net
whose first label is the wall-clock time (ns) at which the line was handed to the pipe.
Every probe is block-listed and caught by the keyword rules, so it raises alerts whose
`domain` carries that birth time. This script timestamps each alert line as it comes out
of `antimony run` (same clock, CLOCK_REALTIME) and reports the latency of every probe alert:
record written -> alert written, through the pipe, the spout's line cutting, the dataflow,
deduplication and the sink. The first second (start-up) is left out. Reports p50, p90,
p99, p99.9 (nearest rank: with fewer than 1,000 probe alerts p99.9 is close to the maximum,
so --seconds 10 at the default 200 probes/s gives about 1,800 of them) and the maximum.
"""

import argparse
import json
import re
import subprocess
import sys
import time

PROBE = re.compile(rb'"domain":"t(\d{19})\.update-java\.net"')


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[i]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--antimony", required=True)
    ap.add_argument("--topology", required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--probes", type=float, default=200)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--data", default=None)
    ap.add_argument("--name", default="antimony latency")
    ap.add_argument("--results", required=True)
    a = ap.parse_args()

    records = int(a.rate * a.seconds)
    gen = [a.antimony, "gen", "--format", "windows-dns", "--records", str(records),
           "--rate", str(a.rate), "--probes", str(a.probes), "--quiet"]
    if a.data:
        gen += ["--data", a.data]
    run = [a.antimony, "run", a.topology, "--input", "-", "--alerts", "-",
           "--workers", str(a.workers), "--quiet"]
    start_ns = time.time_ns()
    producer = subprocess.Popen(gen, stdout=subprocess.PIPE)
    consumer = subprocess.Popen(run, stdin=producer.stdout, stdout=subprocess.PIPE)
    producer.stdout.close()
    arrivals = []
    for line in consumer.stdout:
        arrivals.append((time.time_ns(), line))
    consumer.wait()
    producer.wait()
    if consumer.returncode != 0 or producer.returncode != 0:
        sys.exit(f"latency: the pipeline failed (gen {producer.returncode}, run {consumer.returncode})")

    latencies = []
    for arrived, line in arrivals:
        m = PROBE.search(line)
        if m:
            born = int(m.group(1))
            if born - start_ns > 1_000_000_000:
                latencies.append((arrived - born) / 1e6)
    latencies.sort()
    probes_sent = int(a.probes * a.seconds)
    result = {
        "name": a.name,
        "group": "latency",
        "workers": a.workers,
        "rate": a.rate,
        "seconds": a.seconds,
        "alerts": len(arrivals),
        "probe_alerts": len(latencies),
        "probes_sent": probes_sent,
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "p999_ms": percentile(latencies, 99.9),
        "max_ms": latencies[-1] if latencies else None,
        "cmd": " ".join(gen) + " | " + " ".join(run),
    }
    with open(a.results, "a") as f:
        f.write(json.dumps(result) + "\n")
    if not latencies:
        sys.exit("latency: no probe alert came out; is update-java.net still caught?")
    print(f"  {a.name:<34} {a.rate:>12,.0f} rec/s in: p50 {result['p50_ms']:.2f} ms, "
          f"p90 {result['p90_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
          f"p99.9 {result['p999_ms']:.2f} ms, max {result['max_ms']:.2f} ms "
          f"({len(latencies)} probe alerts of {len(arrivals)})")


if __name__ == "__main__":
    main()
