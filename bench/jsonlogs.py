#!/usr/bin/env python3
"""Zeek JSON and Suricata eve logs, and a list of names, from `antimony parse` output.

    jsonlogs.py EVENTS.jsonl --zeek ZEEK.json --eve EVE.json --names NAMES.txt

EVENTS.jsonl is `antimony parse dns.log` (Antimony's own JSON lines: the `json` format);
each of its events becomes one line of Zeek's dns.log as JSON (LogAscii::use_json, the
fields and order of /work/shared/data/logs/zeek_dns_json.log) and one Suricata eve DNS
event (version 2: `query` for a query, `answer` for a response, as in
suricata_eve_dns_v2.json), so the three inputs carry the same records for bench/run.sh's
JSON-format step; NAMES.txt gets each event's name, for `antimony score`. Fields a Windows
log does not carry (ports, the server of a query received, flow ids) are made up
deterministically. Prints the number of lines written.
"""

import argparse
import datetime
import json

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
          "SRV": 33, "NAPTR": 35, "DS": 43, "DNSKEY": 48, "SVCB": 64, "HTTPS": 65, "ANY": 255}
RCODES = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5}
# Where the server that wrote the log listens, when the event names only the client.
SERVER = "10.20.0.1"


def number(name, table):
    if name in table:
        return table[name]
    digits = name.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return int(digits) if digits.isdigit() else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--zeek", required=True)
    ap.add_argument("--eve", required=True)
    ap.add_argument("--names", required=True)
    a = ap.parse_args()
    dump = json.JSONEncoder(separators=(",", ":")).encode
    stamps = {}
    lines = 0
    with open(a.events) as events, open(a.zeek, "w") as zeek, open(a.eve, "w") as eve, \
            open(a.names, "w") as names:
        for line in events:
            e = json.loads(line)
            ts = e["ts"]
            if ts not in stamps:
                t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
                stamps.clear()
                stamps[ts] = (t.timestamp(), t.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"))
            epoch, stamp = stamps[ts]
            orig = e.get("client", SERVER)
            resp = e.get("server", SERVER)
            tid = e.get("id", 0)
            port = 1024 + (tid * 7919 + lines) % 64000
            flags = e.get("flags", 0)
            response = e["direction"] == "response"
            qtype = e["qtype"]
            rcode = e.get("rcode")
            answers = e.get("answers", [])
            z = {"ts": epoch, "uid": f"C{lines:017x}", "id.orig_h": orig, "id.orig_p": port,
                 "id.resp_h": resp, "id.resp_p": 53, "proto": e.get("transport", "udp"),
                 "trans_id": tid}
            if response:
                z["rtt"] = 0.000412
            z.update({"query": e["qname"], "qclass": 1, "qclass_name": "C_INTERNET",
                      "qtype": number(qtype, QTYPES), "qtype_name": qtype})
            if rcode is not None:
                z["rcode"] = number(rcode, RCODES)
                z["rcode_name"] = rcode
            z.update({"AA": bool(flags & 0x400), "TC": bool(flags & 0x200),
                      "RD": bool(flags & 0x100), "RA": bool(flags & 0x80), "Z": 0})
            if answers:
                z["answers"] = [x.get("data", "") for x in answers]
                z["TTLs"] = [float(x.get("ttl", 0)) for x in answers]
            z["rejected"] = False
            zeek.write(dump(z) + "\n")

            src, sport, dst, dport = (resp, 53, orig, port) if response else (orig, port, resp, 53)
            dns = {"type": "query", "id": tid, "rrname": e["qname"], "rrtype": qtype, "tx_id": 0}
            if response:
                dns = {"version": 2, "type": "answer", "id": tid, "flags": f"{flags:x}",
                       "qr": True, "rd": bool(flags & 0x100), "ra": bool(flags & 0x80),
                       "rcode": rcode or "NOERROR", "rrname": e["qname"], "rrtype": qtype}
                if answers:
                    dns["answers"] = [{"rrname": x.get("name", ""), "rrtype": x.get("rtype", ""),
                                       "ttl": x.get("ttl", 0), "rdata": x.get("data", "")}
                                      for x in answers]
            v = {"timestamp": stamp, "flow_id": 100000000000 + tid * 65536 + port,
                 "in_iface": "eth0", "event_type": "dns", "src_ip": src, "src_port": sport,
                 "dest_ip": dst, "dest_port": dport, "proto": e.get("transport", "udp").upper(),
                 "dns": dns}
            eve.write(dump(v) + "\n")
            names.write(e["qname"] + "\n")
            lines += 1
    print(lines)


if __name__ == "__main__":
    main()
