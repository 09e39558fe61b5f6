"""The DNS job on Bytewax: Windows DNS debug log -> parse -> threat-intel list, keyword rules,
long names -> one alert per (detector, client, name, hour) -> alerts file.

    BENCH_INPUT=dns.log BENCH_ALERTS=alerts.txt BENCH_DATA=../shared/data \
        python -m bytewax.run bench/bytewax_dns.py:flow            # one worker
    ... -i 0 -a "127.0.0.1:2101;127.0.0.1:2102" & ... -i 1 ...    # two processes

The file is one partition (read by one worker); `redistribute` spreads the lines over all
workers for parsing and detection, and `key_on` sends each alert key to one worker for the
dedup. Two processes rather than two threads: Python's GIL would hold threads to one core.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bytewax.operators as op  # noqa: E402
from bytewax.connectors.files import FileSink, FileSource  # noqa: E402
from bytewax.dataflow import Dataflow  # noqa: E402

import dnsrules  # noqa: E402

INPUT = os.environ["BENCH_INPUT"]
ALERTS = os.environ["BENCH_ALERTS"]
DATA = os.environ.get("BENCH_DATA", os.path.join(dnsrules.ROOT, "../shared/data"))
DETECTOR = dnsrules.Detector(
    os.path.join(DATA, "threatintel/blocklist.txt"),
    os.path.join(DATA, "psl/public_suffix_list.dat"),
)


def detect(line):
    parsed = dnsrules.parse_windows(line)
    if parsed is None:
        return []
    hour, client, qname = parsed
    return [f"{d}|{client}|{qname}|{hour}" for d in DETECTOR.detect(qname)]


def first_only(seen, key):
    # Per key, emit the first alert and remember that it was emitted.
    return True, (None if seen else key)


flow = Dataflow("dns_threats")
lines = op.input("logs", flow, FileSource(INPUT, batch_size=10_000))
spread = op.redistribute("spread", lines)
alerts = op.flat_map("detect", spread, detect)
keyed = op.key_on("key", alerts, lambda a: a)
firsts = op.stateful_map("dedup", keyed, first_only)
kept = op.filter_map_value("kept", firsts, lambda alert: alert)
op.output("alerts", kept, FileSink(Path(ALERTS)))
