#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets from the real logs in ../../shared/data/logs:
# each file cut into pieces of 8 lines, into corpus/<target>/ (ignored by git). Run it once
# before `cargo fuzz run TARGET`; libFuzzer adds what it finds to the same directory.
set -euo pipefail
cd "$(dirname "$0")"
logs=../../shared/data/logs
[ -d "$logs" ] || { echo "seed: $logs is missing" >&2; exit 1; }

# target: the sample files it starts from
declare -A files=(
    [windows_debug]="windows_dns_debug.log windows_dns_debug_details.log"
    [windows_debug_details]="windows_dns_debug_details.log windows_dns_debug.log"
    [windows_etw]="windows_dns_analytical_etw.log"
    [windows_etw_xml]="windows_dns_analytical_etw_event.xml"
    [bind9]="bind9_querylog.log infoblox_nios_syslog.log"
    [json]="zeek_dns_json.log suricata_eve_dns_v2.json suricata_eve_dns_v3.json"
    [json_mapped]="zeek_dns_json.log suricata_eve_dns_v2.json suricata_eve_dns_v3.json"
    [unbound]="unbound_log_queries_replies.log unbound_pfsense_syslog.log"
    [dnsmasq]="dnsmasq_log_queries_extra.log dnsmasq_log_queries_forwarding.log pihole_dnsmasq.log"
    [powerdns]="powerdns_auth_log_dns_queries.log"
    [infoblox]="infoblox_nios_syslog.log bind9_querylog.log"
    [zeek]="zeek_dns_tsv_gre.log zeek_dns_tsv_txt.log"
    [zeek_json]="zeek_dns_json.log"
    [suricata]="suricata_eve_dns_v2.json suricata_eve_dns_v3.json"
    [detect]="$(cd "$logs" && echo *)"
)
for target in "${!files[@]}"; do
    dir=corpus/$target
    mkdir -p "$dir"
    for f in ${files[$target]}; do
        # At most 40 pieces per file: the big lab logs repeat themselves.
        head -n 320 "$logs/$f" | split -l 8 - "$dir/${f%%.*}-"
    done
done
# The ETW XML event whole, indented and on one line (pieces of 8 lines are not events).
cp "$logs/windows_dns_analytical_etw_event.xml" corpus/windows_etw_xml/event
tr -d '\n' < "$logs/windows_dns_analytical_etw_event.xml" > corpus/windows_etw_xml/event-one-line
# The JSON-lines format's own shape, and an ECS-like shape for the field map.
printf '%s\n' '{"ts":"2017-08-12T09:35:32Z","client":"212.77.192.37","transport":"udp","direction":"response","id":32936,"qname":"ns1.ctc.gov.qa","qtype":"A","rcode":"NOERROR","flags":32784,"answers":[{"name":"ns1.ctc.gov.qa","rtype":"A","ttl":5,"data":"1.2.3.4"}]}' > corpus/json/antimony
printf '%s\n' '{"@timestamp":"2026-11-26T06:46:47Z","source":{"ip":"10.0.0.7"},"dns":{"question":{"name":"example.com","type":"AAAA"},"response_code":"NXDOMAIN","answers":["1.2.3.4",{"name":"a.b","type":"CNAME","data":"c.d"}]}}' > corpus/json_mapped/ecs
# Binary targets: every capture as it is; dnstap files cut to their first frames (START, 8
# data frames, STOP); DNS messages taken from the lab capture's UDP packets.
pcaps=../../shared/data/pcaps
mkdir -p corpus/pcap corpus/dnstap corpus/dns_message
cp "$pcaps"/*/*.pcap ../crates/antimony-dns/tests/fixtures/pcapng/*.pcapng corpus/pcap/
python3 - "$pcaps" ../../shared/data/dnstap <<'PY'
import struct, sys, pathlib
pcaps, dnstap = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for f in dnstap.glob("*.dnstap"):
    b = f.read_bytes()
    at, frames = 42, 0
    while frames < 8 and at + 4 <= len(b):
        (n,) = struct.unpack(">I", b[at:at + 4])
        if n == 0:
            break
        at += 4 + n
        frames += 1
    pathlib.Path("corpus/dnstap", f.stem).write_bytes(b[:at] + b[-12:])
b = (pcaps / "lab" / "lab_dns.pcap").read_bytes()
at, count = 24, 0
while at + 16 <= len(b) and count < 64:
    (caplen,) = struct.unpack("<I", b[at + 8:at + 12])
    frame = b[at + 16:at + 16 + caplen]
    if len(frame) > 42 and frame[23] == 17:
        pathlib.Path("corpus/dns_message", f"lab-{count}").write_bytes(frame[42:])
        count += 1
    at += 16 + caplen
PY
echo "seed: $(find corpus -type f | wc -l) files in $(ls corpus | wc -l) corpora"
