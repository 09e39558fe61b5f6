"""Nexmark-style queries on Apache Flink (PyFlink SQL, streaming mode), the counterpart of
crates/antimony-engine/examples/nexmark.rs:

    python bench/flink_nexmark.py QUERY EVENTS PARALLELISM

Bids come from Flink's `datagen` connector (in memory, like the Antimony example's spout):
auction 0..9999, bidder 0..99999, price 100..10099, and an event time that advances 10 us
per bid (from a sequence id), with a watermark on it. Results go to the `blackhole` sink.

- q0 passthrough, q1 map (price in euros), q2 filter (auction % 123 = 0),
- q5 keyed windowed count: bids per auction per 10-second tumbling window (window TVF).
Prints one JSON line like the Rust example.
"""

import json
import sys
import time

from pyflink.table import EnvironmentSettings, TableEnvironment


def main():
    query, events, parallelism = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    t = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    conf = t.get_config()
    conf.set("parallelism.default", parallelism)
    conf.set("taskmanager.numberOfTaskSlots", parallelism)
    t.execute_sql(f"""CREATE TABLE bids (
        id BIGINT, auction BIGINT, bidder BIGINT, price BIGINT,
        ts AS TO_TIMESTAMP_LTZ(id / 100, 3),
        WATERMARK FOR ts AS ts
      ) WITH (
        'connector' = 'datagen',
        'number-of-rows' = '{events}',
        'rows-per-second' = '1000000000',
        'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '{events - 1}',
        'fields.auction.min' = '0', 'fields.auction.max' = '9999',
        'fields.bidder.min' = '0', 'fields.bidder.max' = '99999',
        'fields.price.min' = '100', 'fields.price.max' = '10099'
      )""")
    t.execute_sql("""CREATE TABLE sink_bids (auction BIGINT, bidder BIGINT, price BIGINT, ts TIMESTAMP_LTZ(3))
                     WITH ('connector' = 'blackhole')""")
    t.execute_sql("""CREATE TABLE sink_counts (auction BIGINT, window_start TIMESTAMP(3), bids BIGINT)
                     WITH ('connector' = 'blackhole')""")
    sql = {
        "q0": "INSERT INTO sink_bids SELECT auction, bidder, price, ts FROM bids",
        "q1": "INSERT INTO sink_bids SELECT auction, bidder, price * 908 / 1000, ts FROM bids",
        "q2": "INSERT INTO sink_bids SELECT auction, bidder, price, ts FROM bids WHERE MOD(auction, 123) = 0",
        "q5": """INSERT INTO sink_counts
                 SELECT auction, window_start, COUNT(*) FROM TABLE(
                   TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
                 GROUP BY auction, window_start, window_end""",
    }[query]
    started = time.perf_counter()
    t.execute_sql(sql).wait()
    secs = time.perf_counter() - started
    print(json.dumps({"query": query, "events": events, "workers": int(parallelism),
                      "seconds": round(secs, 3), "events_per_s": round(events / secs)}))


if __name__ == "__main__":
    main()
