#!/usr/bin/env python3
"""Write RESULTS.md and an SVG chart from bench/out/results.jsonl (see bench/run.sh)."""

import argparse
import collections
import csv
import glob
import json
import os
import subprocess


def sh(cmd):
    try:
        out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception:
        return "n/a"


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def fmt(n):
    if n is None:
        return "-"
    if isinstance(n, float) and n < 100:
        return f"{n:.2f}"
    return f"{int(round(n)):,}"


def ratio(a, b):
    return f"{a / b:.1f}x" if a and b else "-"


def times(a, b):
    """a / b as `1.23x`, for ratios to the floor (which may be below 1)."""
    return f"{a / b:.2f}x" if a and b else "-"


def target(name, measured, value, goal, higher=True):
    """A row of the Targets table: met, or missed by how many times."""
    if value is None:
        return (name, measured, "not measured")
    if (value >= goal) if higher else (value < goal):
        return (name, measured, "met")
    factor = goal / value if higher else value / goal
    return (name, measured, f"**missed by {factor:.2f}x**" if value else "**missed**")


def svg_memory(samples, path, limit_mb=300):
    """RSS over records read (or seconds, when no record count was sampled) as a line."""
    width, height, left, right, top, bottom = 860, 360, 70, 20, 40, 50
    use_records = any(r["records"] for r in samples)
    xs = [r["records"] if use_records else r["seconds"] for r in samples]
    ys = [r["run_rss_mb"] for r in samples]
    x_max = max(xs, default=1) or 1
    y_max = max(max(ys, default=1), limit_mb) * 1.1
    sx = lambda x: left + (width - left - right) * x / x_max
    sy = lambda y: top + (height - top - bottom) * (1 - y / y_max)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="13">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="10" y="24" font-weight="bold" font-size="15">RSS of antimony run '
             f'(full topology, 2 workers) over {"records read" if use_records else "seconds"}</text>']
    for i in range(6):
        y = y_max * i / 5
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#e2e8f0"/>')
        parts.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.0f} MB</text>')
        x = x_max * i / 5
        label = f"{x / 1e6:.0f}M" if use_records and x_max >= 5e6 else f"{x:,.0f}"
        parts.append(f'<text x="{sx(x):.1f}" y="{height - bottom + 18}" text-anchor="middle">{label}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(limit_mb):.1f}" y2="{sy(limit_mb):.1f}" '
                 f'stroke="#c53030" stroke-dasharray="6 4"/>')
    parts.append(f'<text x="{width - right}" y="{sy(limit_mb) - 6:.1f}" text-anchor="end" fill="#c53030">'
                 f'target: {limit_mb} MB</text>')
    points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#2b6cb0" stroke-width="2"/>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">'
                 f'{"records read (from the bytes antimony gen wrote)" if use_records else "seconds"}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def svg_chart(groups, path):
    """Horizontal bars, one panel per group: [(title, unit, [(label, value, colour)])]."""
    width, bar_h, gap, left, right = 860, 22, 6, 300, 150
    height = 20 + sum(40 + len(rows) * (bar_h + gap) for _, _, rows in groups)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="13">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    y = 20
    for title, unit, rows in groups:
        parts.append(f'<text x="10" y="{y + 14}" font-weight="bold" font-size="15">{title}</text>')
        y += 30
        top = max((v for _, v, _ in rows if v), default=1)
        for label, value, colour in rows:
            w = 0 if not value else max(1, (width - left - right) * value / top)
            parts.append(f'<text x="{left - 8}" y="{y + bar_h - 6}" text-anchor="end">{label}</text>')
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
            parts.append(f'<text x="{left + w + 6:.1f}" y="{y + bar_h - 6}">{fmt(value)} {unit}</text>')
            y += bar_h + gap
        y += 10
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def alert_counts(out_dir):
    """Alerts per detector family in each system's output, for the cross-check."""
    counts = {}
    for path in sorted(glob.glob(os.path.join(out_dir, "alerts-dns-stateless-2.jsonl"))) + \
            sorted(glob.glob(os.path.join(out_dir, "alerts-peer-2.jsonl"))):
        c = collections.Counter()
        keys = set()
        with open(path) as f:
            for line in f:
                a = json.loads(line)
                if a["detector"] == "keyword":
                    keys.add((a["client"], a["domain"]))
                else:
                    c[a["detector"]] += 1
        c["keyword"] = len(keys)
        counts["antimony (" + os.path.basename(path) + ")"] = c
    for path in sorted(glob.glob(os.path.join(out_dir, "flink-alerts-2"))):
        c = collections.Counter()
        keys = set()
        for part in glob.glob(os.path.join(path, "**", "*"), recursive=True):
            if os.path.isfile(part):
                with open(part) as f:
                    for row in csv.reader(f):
                        if row and row[0].startswith("keyword"):
                            keys.add((row[1], row[2]))
                        elif row:
                            c[row[0]] += 1
        c["keyword"] = len(keys)
        counts["flink"] = c
    for path in sorted(glob.glob(os.path.join(out_dir, "bytewax-alerts-2.txt"))):
        c = collections.Counter()
        keys = set()
        with open(path) as f:
            for line in f:
                det, client, qname, _ = line.rstrip("\n").split("|")
                if det.startswith("keyword"):
                    keys.add((client, qname))
                else:
                    c[det] += 1
        c["keyword"] = len(keys)
        counts["bytewax"] = c
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--svg", required=True)
    ap.add_argument("--memory-svg", default=None)
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    rows = [json.loads(l) for l in open(a.results) if l.strip()]
    meta = next((r for r in rows if r.get("meta")), {})
    by = {r["name"]: r for r in rows if "name" in r}
    out_dir = os.path.dirname(a.results)

    venv = os.environ.get("BENCH_VENV", "bench/.venv")
    versions = {
        "rustc": sh("rustc --version"),
        "antimony": sh(f"{a.bin} --version") + " built at git " + meta.get("git", sh("git rev-parse --short HEAD")),
        "Apache Flink (PyFlink)": sh(f"{venv}/bin/pip show apache-flink | grep Version"),
        "Bytewax": sh(f"{venv}/bin/pip show bytewax | grep Version"),
        "Java": sh("${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}/bin/java -version 2>&1"),
        "Python": sh("python3 --version"),
        "tshark": sh("tshark --version"),
        "tcpdump": sh("tcpdump --version 2>&1"),
    }
    L = []
    L.append("# Benchmarks: Antimony side by side with Flink, Bytewax, tshark and tcpdump\n")
    L.append("Written by `bench/report.py` from one run of `bench/run.sh`; rerun it after every "
             "performance change. Benchmarks, never test assertions.\n")
    L.append("## Machine, versions, command\n")
    L.append(f"- CPU: {cpu_model()}, {os.cpu_count()} cores; memory "
             f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB")
    L.append(f"- Load average (1, 5, 15 min) before the run: {meta.get('load_before', '?')}; "
             f"after: {' '.join(open('/proc/loadavg').read().split()[:3])} (a shared machine: "
             "colleagues' builds run beside the benchmark)")
    for k, v in versions.items():
        L.append(f"- {k}: {v}")
    L.append(f"- Command: `{meta.get('command', 'bench/run.sh').strip()}` "
             f"(log records {fmt(meta.get('size'))}, peers' records {fmt(meta.get('peer_size'))}, "
             f"pcap packets {fmt(meta.get('pcap_size'))}, Nexmark events {fmt(meta.get('nexmark_size'))} "
             f"/ Flink {fmt(meta.get('nexmark_peer_size'))})")
    L.append("- Figures: wall time of the whole command (start-up included) unless said; "
             "*per worker* = records/s / workers (the cores given); *per CPU-s* = records / (user + "
             "system CPU time of the process tree); peak RSS = the largest sum over the process tree "
             "(a JVM and its Python driver together), sampled every 20 ms.\n")

    # DNS job.
    L.append("## The DNS job\n")
    L.append("Input: `antimony gen --format windows-dns` (Windows DNS debug log, seed 1). "
             "`dns-threats` is the shipped full topology (parse, threat-intel list, keywords, DGA, "
             "long names, stateful tunnel/beacon/new-domain/NXDOMAIN-burst detectors, dedup, alerts "
             "file); `dns-stateless` is the job the peers run (parse, list, keywords, long names, "
             "dedup, alerts file; Antimony also runs its DGA model there, the peers do not). "
             "`floor dns-stateless` is the hand-written single-thread floor of that job "
             "(`examples/floor.rs`: no engine, no timely, no Tokio; "
             "the same library calls, its alerts checked byte-identical to Antimony's). "
             "*vs floor* is records/s over the floor's.\n")
    floor = by.get("floor dns-stateless", {}).get("records_per_s")
    L.append("| system | workers | records | wall s | records/s | vs floor | per worker | per CPU-s | peak RSS MB | runs |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    dns = [r for r in rows if r.get("group") == "dns"]
    for r in dns:
        runs = r.get("runs", 1)
        runs = f"{runs} (median; {', '.join(str(w) for w in r['walls'])} s)" if runs > 1 else "1"
        L.append(f"| {r['name']} | {r['workers']} | {fmt(r['records'])} | {r['wall_s']} | "
                 f"{fmt(r['records_per_s'])} | {times(r['records_per_s'], floor)} | "
                 f"{fmt(r['records_per_s_per_worker'])} | "
                 f"{fmt(r['records_per_cpu_s'])} | {r['peak_rss_mb']} | {runs} |")
    startup = {r["name"]: r for r in rows if r.get("group") == "startup"}
    flink_net = {}
    for w in (1, 2):
        f, s = by.get(f"flink dns p{w}"), startup.get(f"flink dns start-up p{w}")
        if f and s and f["wall_s"] > s["wall_s"]:
            flink_net[w] = f["records"] / (f["wall_s"] - s["wall_s"])
    if flink_net:
        L.append("")
        L.append("Flink's start-up (a 1,000-record run: JVM, mini-cluster, planning) is "
                 + ", ".join(f"{startup[f'flink dns start-up p{w}']['wall_s']} s at p{w}" for w in flink_net)
                 + "; net of it Flink did "
                 + ", ".join(f"{fmt(v)} records/s at p{w}" for w, v in flink_net.items()) + ".")
    L.append("")

    # COST.
    if floor:
        L.append("McSherry's COST on the stateless job: Antimony against the hand-written "
                 "single-thread floor, same file, same run, same alerts:\n")
        floor_cpu = by["floor dns-stateless"].get("records_per_cpu_s")
        L.append("| what | records/s | vs floor | target | per CPU-s | vs floor (CPU) |")
        L.append("|---|---|---|---|---|---|")
        L.append(f"| floor (1 thread, no engine) | {fmt(floor)} | 1.00x | - | {fmt(floor_cpu)} | 1.00x |")
        for name, goal in (("antimony dns-stateless w1", ">= 0.67x"), ("antimony dns-stateless w2", ">= 1.30x"),
                           ("antimony dns-threats w1", "(1.1M records/s)"), ("antimony dns-threats w2", "(2M records/s)")):
            v = by.get(name, {}).get("records_per_s")
            c = by.get(name, {}).get("records_per_cpu_s")
            L.append(f"| {name} | {fmt(v)} | {times(v, floor)} | {goal} | {fmt(c)} | {times(c, floor_cpu)} |")
        L.append("\nThe targets are on wall time (what a deployment gets from its cores); the CPU "
                 "ratio says how much more work per record the engine does than the plain loop, "
                 "which a loaded machine disturbs less.\n")

    # Ratios.
    peer_size = meta.get("peer_size") != meta.get("size")
    ant = {w: by.get(f"antimony dns-stateless w{w}" + (" (peer size)" if peer_size else "")) for w in (1, 2)}
    L.append("Per-core ratios on the same job and the same file (Antimony `dns-stateless`, records/s "
             "per worker; Flink net of start-up):\n")
    L.append("| workers | Antimony per worker | Flink per worker | Antimony / Flink | Bytewax per worker | Antimony / Bytewax |")
    L.append("|---|---|---|---|---|---|")
    for w in (1, 2):
        ar = ant[w]["records_per_s_per_worker"] if ant[w] else None
        fr = flink_net.get(w, 0) / w if flink_net.get(w) else None
        br = by.get(f"bytewax dns w{w}", {}).get("records_per_s_per_worker")
        L.append(f"| {w} | {fmt(ar)} | {fmt(fr)} | {ratio(ar, fr)} | {fmt(br)} | {ratio(ar, br)} |")
    L.append("")
    L.append("The same on CPU time, which a busy shared machine disturbs less than wall time "
             "(records per CPU-second of the whole process tree, start-up included for every "
             "system):\n")
    L.append("| workers | Antimony per CPU-s | Flink per CPU-s | Antimony / Flink | Flink net of start-up CPU | Antimony / Flink (net) | Bytewax per CPU-s | Antimony / Bytewax |")
    L.append("|---|---|---|---|---|---|---|---|")
    for w in (1, 2):
        ac = ant[w]["records_per_cpu_s"] if ant[w] else None
        f, s0 = by.get(f"flink dns p{w}", {}), startup.get(f"flink dns start-up p{w}", {})
        fc = f.get("records_per_cpu_s")
        fn = f["records"] / (f["cpu_s"] - s0["cpu_s"]) if f and s0 and f["cpu_s"] > s0["cpu_s"] else None
        bc = by.get(f"bytewax dns w{w}", {}).get("records_per_cpu_s")
        L.append(f"| {w} | {fmt(ac)} | {fmt(fc)} | {ratio(ac, fc)} | {fmt(fn)} | {ratio(ac, fn)} | "
                 f"{fmt(bc)} | {ratio(ac, bc)} |")
    counts = alert_counts(out_dir)
    if counts:
        L.append("\nAlerts, as a check that the jobs agree (keyword alerts counted per client and name; "
                 "Antimony's DGA alerts left out):\n")
        L.append("| output | threat_intel | keyword | long_name |")
        L.append("|---|---|---|---|")
        for name, c in counts.items():
            L.append(f"| {name} | {c.get('threat_intel', 0)} | {c.get('keyword', 0)} | {c.get('long_name', 0)} |")
    L.append("")

    # Latency.
    lat = [r for r in rows if r.get("group") == "latency"]
    if lat:
        L.append("## Alert latency (full topology, paced input at half the measured maximum)\n")
        L.append("`antimony gen --rate R --probes 200` piped into `antimony run topologies/dns-threats.toml "
                 "--input - --alerts -`; each probe is a lookup whose first label is the wall-clock time "
                 "its line was written, and the latency is from then to the alert line leaving "
                 "`antimony run` (`bench/latency.py`). The first second is left out.\n")
        L.append("| run | workers | input records/s | probe alerts | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for r in lat:
            L.append(f"| {r['name']} | {r['workers']} | {fmt(r['rate'])} | {r['probe_alerts']} | {fmt(r['p50_ms'])} | "
                     f"{fmt(r.get('p90_ms'))} | {fmt(r['p99_ms'])} | {fmt(r.get('p999_ms'))} | {fmt(r['max_ms'])} |")
        L.append("")

    # Multilang.
    ml = {r["name"]: r for r in rows if r.get("group") == "multilang"}
    native, python = ml.get("antimony multilang-native w1"), ml.get("antimony multilang-python w1")
    if native and python:
        L.append("## A Python multilang bolt against native (1 worker)\n")
        L.append("The same log parsed and written as JSON (`bench/multilang-native.toml`), then with a "
                 "storm.py bolt between that emits every event back (`bench/multilang-python.toml`): "
                 "the difference is what the multilang protocol and a Python process cost per record.\n")
        per = lambda r: 1e6 * r["wall_s"] / max(r["records"], 1)
        per_cpu = lambda r: 1e6 * r["cpu_s"] / max(r["records"], 1) if "cpu_s" in r else None
        L.append("| pipeline | records/s | vs floor | µs per record (wall) | µs per record (CPU) |")
        L.append("|---|---|---|---|---|")
        for r in (native, python):
            cpu = per_cpu(r)
            L.append(f"| {r['name']} | {fmt(r['records_per_s'])} | {times(r['records_per_s'], floor)} | "
                     f"{per(r):.2f} | {'-' if cpu is None else f'{cpu:.2f}'} |")
        L.append(f"\nThe Python bolt adds {per(python) - per(native):.2f} µs per record (wall).\n")

    # JSON formats and score.
    formats = [r for r in rows if r.get("group") == "formats"]
    score = by.get("antimony score")
    if formats or score:
        L.append("## JSON formats and `antimony score`\n")
        L.append(f"The log's first {fmt(meta.get('json_size'))} records as `antimony parse` prints them "
                 "(JSON lines), as Zeek dns.log JSON and as Suricata eve DNS events "
                 "(`bench/jsonlogs.py`, one line per record), each read by `antimony parse --format F "
                 "FILE` (1 worker; every event written as a JSON line to /dev/null, so JSON writing "
                 "is in the figure), beside the Windows log they came from. `antimony score` reads the "
                 "records' names on standard input (one thread; every name scored, repeats included).\n")
        L.append("| what | lines | wall s | lines/s | per CPU-s | peak RSS MB |")
        L.append("|---|---|---|---|---|---|")
        for r in formats + ([score] if score else []):
            L.append(f"| {r['name']} | {fmt(r['records'])} | {r['wall_s']} | {fmt(r['records_per_s'])} | "
                     f"{fmt(r['records_per_cpu_s'])} | {r['peak_rss_mb']} |")
        L.append("")

    # Memory.
    mem = next((r for r in rows if r.get("group") == "memory"), None)
    samples = []
    if mem:
        csv_path = os.path.join(out_dir, "memory.csv")
        if os.path.exists(csv_path):
            with open(csv_path) as f:
                samples = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
        L.append("## Memory over a long run\n")
        L.append(f"`{mem['cmd']}` (`bench/memory.py`): RSS of `antimony run` sampled every second "
                 f"({mem['samples']} samples, `bench/out/memory.csv`); records read estimated from the "
                 "bytes `antimony gen` had written to the pipe.\n")
        first, peak = mem.get("peak_first_10pct_mb"), mem["peak_rss_mb"]
        L.append("| records | wall s | records/s | peak RSS MB | peak over the first 10% of records, MB | peak / first 10% |")
        L.append("|---|---|---|---|---|---|")
        L.append(f"| {fmt(mem['records'])} | {mem['wall_s']} | {fmt(mem['records_per_s'])} | {peak} | "
                 f"{first if first is not None else '-'} | {times(peak, first)} |")
        L.append("")
        if samples and a.memory_svg:
            L.append(f"![RSS over the run]({os.path.basename(a.memory_svg)})\n")

    # pcap.
    pcap = [r for r in rows if r.get("group") == "pcap"]
    if pcap:
        L.append("## pcap decoding (the same file, `antimony gen --format pcap`)\n")
        L.append("`antimony parse FILE` (every packet to a JSON event), `tshark -n -r FILE` and "
                 "`tcpdump -n -r FILE` (one text line per packet), all to /dev/null.\n")
        base = by.get("antimony parse", {}).get("records_per_s")
        base_cpu = by.get("antimony parse", {}).get("records_per_cpu_s")
        L.append("| decoder | packets | wall s | packets/s | per CPU-s | peak RSS MB | Antimony is (wall) | Antimony is (CPU) |")
        L.append("|---|---|---|---|---|---|---|---|")
        for r in pcap:
            own = r["name"] == "antimony parse"
            L.append(f"| {r['name']} | {fmt(r['records'])} | {r['wall_s']} | {fmt(r['records_per_s'])} | "
                     f"{fmt(r['records_per_cpu_s'])} | {r['peak_rss_mb']} | "
                     f"{'-' if own else ratio(base, r['records_per_s'])} | "
                     f"{'-' if own else ratio(base_cpu, r['records_per_cpu_s'])} |")
        L.append("")

    # Nexmark.
    nex = [r for r in rows if r.get("group") == "nexmark"]
    if nex:
        L.append("## Nexmark-style queries: the engine apart from DNS\n")
        L.append("Bids made in memory by each system (a parallel spout; Flink's `datagen`), results "
                 "dropped (a counting sink; Flink's `blackhole`). q0 passthrough, q1 map, q2 filter, "
                 "q5 count per auction per 10 s tumbling event-time window (an exchange by key). "
                 "Flink net of its start-up (q0 on 1,000 events).\n")
        L.append("| query | Antimony w1 | Antimony w2 | Flink p1 (net) | Flink p2 (net) | Antimony / Flink, 2 cores |")
        L.append("|---|---|---|---|---|---|")
        for q in ("q0", "q1", "q2", "q5"):
            cells = []
            for w in (1, 2):
                cells.append(by.get(f"antimony nexmark {q} w{w}", {}).get("records_per_s"))
            for w in (1, 2):
                f = by.get(f"flink nexmark {q} p{w}")
                s = startup.get(f"flink nexmark {q} start-up p{w}") or startup.get(f"flink nexmark q0 start-up p{w}")
                cells.append(f["records"] / (f["wall_s"] - s["wall_s"]) if f and s and f["wall_s"] > s["wall_s"] else None)
            L.append(f"| {q} | " + " | ".join(fmt(c) for c in cells) + f" | {ratio(cells[1], cells[3])} |")
        L.append("")

    # Targets (issue 15): each measured, met or missed by how many times.
    L.append("## Targets\n")
    full2 = by.get("antimony dns-threats w2", {}).get("records_per_s")
    full1 = by.get("antimony dns-threats w1", {}).get("records_per_s")
    st2 = by.get("antimony dns-stateless w2", {}).get("records_per_s")
    st1 = by.get("antimony dns-stateless w1", {}).get("records_per_s")
    gain = lambda one, two: (two / one if one and two else None)
    pct = lambda g: f"{(g - 1) * 100:+.0f}%" if g else "-"
    tgt = [
        target("Full DNS topology >= 2,000,000 records/s on 2 workers", fmt(full2), full2, 2e6),
        target("Full DNS topology >= 1,100,000 records/s on 1 worker", fmt(full1), full1, 1.1e6),
        target("Stateless job, 1 worker >= 0.67x the single-thread floor", times(st1, floor),
               st1 / floor if st1 and floor else None, 0.67),
        target("Stateless job, 2 workers >= 1.3x the single-thread floor", times(st2, floor),
               st2 / floor if st2 and floor else None, 1.3),
        target("Second worker adds >= 80% (full topology)", pct(gain(full1, full2)), gain(full1, full2), 1.8),
        target("Second worker adds >= 80% (stateless job)", pct(gain(st1, st2)), gain(st1, st2), 1.8),
    ]
    for r in lat:
        tgt.append(target(f"Alert latency p99 < 10 ms at half load ({r['workers']} worker{'s' if r['workers'] > 1 else ''})",
                          f"{fmt(r['p99_ms'])} ms", r["p99_ms"], 10, higher=False))
        tgt.append(target(f"Alert latency p99.9 < 50 ms at half load ({r['workers']} worker{'s' if r['workers'] > 1 else ''})",
                          f"{fmt(r.get('p999_ms'))} ms", r.get("p999_ms"), 50, higher=False))
    base = by.get("antimony parse", {}).get("records_per_s")
    for peer, want in (("tshark", 20), ("tcpdump", 2)):
        p = by.get(peer, {}).get("records_per_s")
        if p:
            tgt.append(target(f"pcap >= {want}x {peer}", ratio(base, p), base / p if base else None, want))
    for fmt_name in ("json", "zeek-json", "suricata"):
        r = by.get(f"antimony parse {fmt_name}")
        tgt.append(target(f"`{fmt_name}` >= 2,000,000 lines/s on 1 worker",
                          fmt(r["records_per_s"]) if r else "-", r["records_per_s"] if r else None, 2e6))
    tgt.append(target("`antimony score` >= 3,000,000 names/s on one core",
                      fmt(score["records_per_s"]) if score else "-", score["records_per_s"] if score else None, 3e6))
    if mem:
        size = f"{fmt(mem['records'])} records"
        tgt.append(target(f"Full topology peak RSS < 300 MB ({size})", f"{mem['peak_rss_mb']} MB",
                          mem["peak_rss_mb"], 300, higher=False))
        first = mem.get("peak_first_10pct_mb")
        tgt.append(target("Peak RSS independent of run length (whole run within 10% of the first 10%'s peak)",
                          f"{times(mem['peak_rss_mb'], first)} the first 10%'s {first} MB",
                          mem["peak_rss_mb"] / first if first else None,
                          1.1, higher=False))
    ar2 = ant[2]["records_per_s_per_worker"] if ant[2] else None
    if flink_net.get(2):
        tgt.append(target(">= 10x Flink per core", ratio(ar2, flink_net[2] / 2),
                          ar2 / (flink_net[2] / 2) if ar2 else None, 10))
    bw2 = by.get("bytewax dns w2", {}).get("records_per_s_per_worker")
    if bw2:
        tgt.append(target(">= 50x Bytewax per core", ratio(ar2, bw2), ar2 / bw2 if ar2 else None, 50))
    L.append("| target | measured | met |")
    L.append("|---|---|---|")
    for name, value, met in tgt:
        L.append(f"| {name} | {value} | {met} |")
    L.append("")
    L.append(f"![throughput by system]({os.path.basename(a.svg)})\n")

    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTES.md")
    if os.path.exists(notes) and not meta.get("smoke"):
        L.append(open(notes).read())
    with open(a.out, "w") as f:
        f.write("\n".join(L) + "\n")

    colours = {"antimony": "#2b6cb0", "flink": "#dd6b20", "bytewax": "#805ad5", "tshark": "#718096", "tcpdump": "#a0aec0"}
    colour = lambda n: next((c for k, c in colours.items() if n.startswith(k)), "#4a5568")
    groups = [("DNS job (Windows DNS debug log)", "rec/s",
               [(r["name"], r["records_per_s"], colour(r["name"])) for r in dns])]
    if flink_net:
        groups[0][2].extend((f"flink dns p{w} (net of start-up)", v, colour("flink")) for w, v in flink_net.items())
    if formats or score:
        groups.append(("JSON formats and score (1 worker / 1 thread)", "lines/s",
                       [(r["name"], r["records_per_s"], colour(r["name"])) for r in formats + ([score] if score else [])]))
    if pcap:
        groups.append(("pcap decoding", "pkt/s", [(r["name"], r["records_per_s"], colour(r["name"])) for r in pcap]))
    if nex:
        groups.append(("Nexmark-style queries", "ev/s", [(r["name"], r["records_per_s"], colour(r["name"])) for r in nex]))
    svg_chart(groups, a.svg)
    written = [a.out, a.svg]
    if samples and a.memory_svg:
        svg_memory(samples, a.memory_svg)
        written.append(a.memory_svg)
    print(f"report: wrote {', '.join(written)}")


if __name__ == "__main__":
    main()
