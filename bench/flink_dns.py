"""The DNS job on Apache Flink (PyFlink, Table API / SQL only, no Python UDF):
Windows DNS debug log -> parse -> threat-intel list, keyword rules, long names -> one alert
per (detector, client, name, hour) -> alerts file.

    python bench/flink_dns.py INPUT ALERTS_DIR PARALLELISM [DATA_DIR]

Everything is SQL:
- parse: REGEXP_EXTRACT on the line; the length-prefixed name `(3)www(6)google(3)com(0)`
  becomes dotted with REGEXP_REPLACE;
- registered domain: joins with the Public Suffix List's rules and wildcard rules (the last
  one, two and three labels looked up; the longest public suffix wins, plus one label);
- threat intel: the name and its parent domains (UNNEST of up to four suffixes) joined with
  the same list file Antimony reads;
- keyword rules: POSITION(...) > 0 per word, generated from Antimony's keywords.toml, with its
  allow-list as NOT IN;
- long names: CHAR_LENGTH and a regular expression;
- dedup: SELECT DISTINCT over (detector, client, name, hour).

It runs in batch mode. Streaming mode cannot hold the joins with the two lists: a streaming
join keeps every event in state waiting for list rows that might still come, and the other
way to express the lists, `IN (...)` with 19,087 literals, overflows Flink's planner stack
(FlinkRexUtil.toCnf). Batch mode hash-joins the broadcast lists, Flink's fastest plan for a
file. The price is that Flink's figures here are for replaying a file, not for a live
stream.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pyflink.table import EnvironmentSettings, TableEnvironment  # noqa: E402

import dnsrules  # noqa: E402


def main():
    source, alerts, parallelism = sys.argv[1], sys.argv[2], sys.argv[3]
    data = sys.argv[4] if len(sys.argv) > 4 else os.path.join(dnsrules.ROOT, "../shared/data")
    t = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    conf = t.get_config()
    conf.set("parallelism.default", parallelism)
    conf.set("taskmanager.numberOfTaskSlots", parallelism)
    conf.set("table.exec.resource.default-parallelism", parallelism)

    t.execute_sql(f"""CREATE TABLE logs (line STRING) WITH (
        'connector' = 'filesystem', 'path' = '{source}', 'format' = 'raw')""")
    t.execute_sql(f"""CREATE TABLE blocklist (entry STRING) WITH (
        'connector' = 'filesystem', 'path' = '{data}/threatintel/blocklist.txt', 'format' = 'raw')""")
    # The PSL as two tables of plain rules, one per line: the rules, and the wildcard rules
    # (`*.jm` stored as `jm`). Exception rules (`!www.ck`, a handful) are left out.
    psl_rules = os.path.join(os.path.dirname(alerts.rstrip("/")) or ".", "psl_rules.txt")
    psl_wild = psl_rules.replace("psl_rules", "psl_wild")
    os.makedirs(os.path.dirname(psl_rules), exist_ok=True)
    with open(os.path.join(data, "psl/public_suffix_list.dat"), encoding="utf-8") as f, \
            open(psl_rules, "w") as out, open(psl_wild, "w") as wild:
        for line in f:
            rule = line.strip().split(" ")[0]
            if not rule or rule.startswith(("//", "!")) or not rule.isascii():
                continue
            if rule.startswith("*."):
                wild.write(rule[2:].lower() + "\n")
            else:
                out.write(rule.lower() + "\n")
    for table, path in (("psl", psl_rules), ("psl_wild", psl_wild)):
        t.execute_sql(f"""CREATE TABLE {table} (rule STRING) WITH (
            'connector' = 'filesystem', 'path' = '{path}', 'format' = 'raw')""")
    t.execute_sql(f"""CREATE TABLE alerts (
        detector STRING, client STRING, qname STRING, hour_bucket STRING) WITH (
        'connector' = 'filesystem', 'path' = '{alerts}', 'format' = 'csv')""")

    # Parse. Columns: the hour bucket, the client (remote address of a received query or a
    # sent response), the dotted lower-case name.
    t.execute_sql(r"""CREATE TEMPORARY VIEW parsed AS
    SELECT hour_bucket, client, qname,
           REGEXP_EXTRACT(qname, '([^.]+)$', 1) AS l1,
           REGEXP_EXTRACT(qname, '([^.]+\.[^.]+)$', 1) AS l2,
           REGEXP_EXTRACT(qname, '([^.]+\.[^.]+\.[^.]+)$', 1) AS l3,
           REGEXP_EXTRACT(qname, '([^.]+\.[^.]+\.[^.]+\.[^.]+)$', 1) AS l4
    FROM (
      SELECT
        REGEXP_EXTRACT(line, '^(\S+ \d+):', 1) || REGEXP_EXTRACT(line, ' ([AP]M) ', 1) AS hour_bucket,
        CASE WHEN (REGEXP_EXTRACT(line, ' (Snd|Rcv) ', 1) = 'Snd')
                  = (REGEXP_EXTRACT(line, ' [0-9a-fA-F]{4} (R|\s) [QNU?] \[', 1) = 'R')
             THEN REGEXP_EXTRACT(line, ' (?:Snd|Rcv) (\S+)', 1) END AS client,
        LOWER(TRIM(BOTH '.' FROM REGEXP_REPLACE(
            REGEXP_EXTRACT(line, '\] \S+\s+(\S+)', 1), '\(\d+\)', '.'))) AS qname
      FROM logs WHERE POSITION(' PACKET ' IN line) > 0
    )""")

    # Registered domain: the longest public suffix (a rule of up to three labels, or a
    # wildcard over one or two), plus one label.
    t.execute_sql("""CREATE TEMPORARY VIEW enriched AS
    SELECT p.hour_bucket, p.client, p.qname, p.l2, p.l3, p.l4,
      CASE WHEN s3.rule IS NOT NULL OR w2.rule IS NOT NULL THEN p.l4
           WHEN s2.rule IS NOT NULL OR w1.rule IS NOT NULL THEN p.l3
           ELSE p.l2 END AS reg
    FROM parsed p
      LEFT JOIN psl s2 ON p.l2 = s2.rule
      LEFT JOIN psl s3 ON p.l3 = s3.rule
      LEFT JOIN psl_wild w1 ON p.l1 = w1.rule
      LEFT JOIN psl_wild w2 ON p.l2 = w2.rule""")

    rules = dnsrules.sql_keyword_rules(
        "SPLIT_INDEX(reg, '.', 0)",
        "reg",
        "SUBSTRING(qname, 1, CHAR_LENGTH(qname) - CHAR_LENGTH(reg) + CHAR_LENGTH(SPLIT_INDEX(reg, '.', 0)))",
    )
    keyword_union = "\n UNION ALL ".join(
        f"SELECT 'keyword:{name}' AS detector, client, qname, hour_bucket FROM enriched "
        f"WHERE reg IS NOT NULL AND {cond}"
        for name, cond in rules
    )
    ignore = " AND ".join(
        f"qname NOT LIKE '%{s}'" for s in dnsrules.LENGTH_IGNORE
    )
    t.execute_sql(f"""INSERT INTO alerts
    SELECT DISTINCT detector, client, qname, hour_bucket FROM (
      SELECT 'threat_intel' AS detector, e.client, e.qname, e.hour_bucket
      FROM (SELECT client, qname, hour_bucket, suffix FROM enriched
            CROSS JOIN UNNEST(ARRAY[qname, COALESCE(l2, ''), COALESCE(l3, ''), COALESCE(l4, '')])
                AS x (suffix)) e
      JOIN blocklist b ON e.suffix = b.entry
      UNION ALL {keyword_union}
      UNION ALL
      SELECT 'long_name' AS detector, client, qname, hour_bucket FROM enriched
      WHERE ({ignore}) AND (CHAR_LENGTH(qname) > {dnsrules.MAX_NAME}
             OR REGEXP(qname, '[^.]{{{dnsrules.MAX_LABEL + 1},}}')
             OR CHAR_LENGTH(qname) - CHAR_LENGTH(REPLACE(qname, '.', '')) >= {dnsrules.MAX_LABELS})
    )""").wait()


if __name__ == "__main__":
    main()
