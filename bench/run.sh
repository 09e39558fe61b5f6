#!/usr/bin/env bash
# Antimony side by side with Apache Flink, Bytewax, tshark and tcpdump, in one run.
#
#   bench/run.sh [SIZE]          # SIZE records of Windows DNS debug log (default 1e6)
#   bench/run.sh --smoke         # seconds: gen + Antimony only, checks that each step works (CI)
#   bench/run.sh 1e7 --no-peers  # Antimony, tshark and tcpdump only
#
# Environment: PEER_SIZE (records the peers get, default SIZE: a prefix of the same file),
# REPEATS (runs of the floor and of dns-stateless w1/w2, the median reported; default 3),
# JSON_SIZE (lines of each JSON format, default SIZE), MEMORY_SIZE (records of the memory
# run, default 1e8), PCAP_SIZE (packets, default 1e6), NEXMARK_SIZE (events, default 2e7; Flink gets
# NEXMARK_PEER_SIZE, default 5e6, at the parallelisms in NEXMARK_PEER_WORKERS, default "2"),
# LATENCY_SECONDS (default 10), BENCH_DATA (default
# ../shared/data), JAVA_HOME (default Debian's OpenJDK 17), BENCH_VENV (default bench/.venv).
#
# Steps: build; generate the inputs with `antimony gen`; the DNS topologies on 1 and 2
# workers; the hand-written single-thread floor of the stateless job (no engine:
# examples/floor.rs), whose alerts must equal Antimony's byte for
# byte; alert latency at half the measured maximum; the JSON formats (JSON lines, Zeek JSON,
# Suricata eve) and `antimony score`; a 100M-record memory run of the full topology (RSS
# every second, bench/out/memory.csv); pcap decoding (Antimony, tshark, tcpdump); a Python
# multilang bolt against the native pipeline; the same DNS job on Flink and Bytewax;
# Nexmark-style queries on the engine and on Flink; then bench/report.py writes RESULTS.md,
# throughput.svg and memory.svg (bench/out/ for --smoke). Any failing step fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=1e6
SMOKE=0
PEERS=1
for arg in "$@"; do
    case "$arg" in
        --smoke) SMOKE=1; PEERS=0 ;;
        --no-peers) PEERS=0 ;;
        -h|--help) sed -n 2,24p "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
        *) SIZE="$arg" ;;
    esac
done
int() { python3 -c "import sys; print(int(float(sys.argv[1])))" "$1"; }

# The runs serve their Topology Master, as a deployment would (its cost is part of the
# figures), on a free port so that nothing else listening on 8700 fails them.
export ANTIMONY_API=127.0.0.1:0

OUT=bench/out
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
DATA="${BENCH_DATA:-../shared/data}"
TARGET="${CARGO_TARGET_DIR:-target}"
MEASURE="python3 bench/measure.py --results $RESULTS"
if [ "$SMOKE" = 1 ]; then
    N=20000; PCAP_N=20000; NEX_N=200000; LAT_SECONDS=2
    REPEATS=1; JSON_N=$N; MEM_N=50000; MEM_INTERVAL=0.2
    PROFILE=debug; CARGO_FLAGS=()
else
    N=$(int "$SIZE"); PCAP_N=$(int "${PCAP_SIZE:-1e6}"); NEX_N=$(int "${NEXMARK_SIZE:-2e7}")
    LAT_SECONDS="${LATENCY_SECONDS:-10}"
    REPEATS=$(int "${REPEATS:-3}"); JSON_N=$(int "${JSON_SIZE:-$N}")
    MEM_N=$(int "${MEMORY_SIZE:-1e8}"); MEM_INTERVAL=1
    PROFILE=release; CARGO_FLAGS=(--release)
fi
PEER_N=$(int "${PEER_SIZE:-$N}")
NEX_PEER_N=$(int "${NEXMARK_PEER_SIZE:-5e6}")

echo "== build ($PROFILE)"
cargo build -q --locked "${CARGO_FLAGS[@]}" -p antimony --bin antimony
cargo build -q --locked "${CARGO_FLAGS[@]}" -p antimony-engine --example nexmark
cargo build -q --locked "${CARGO_FLAGS[@]}" -p antimony --example floor
BIN="$TARGET/$PROFILE/antimony"
NEXMARK="$TARGET/$PROFILE/examples/nexmark"
FLOOR="$TARGET/$PROFILE/examples/floor"

{
    echo "{\"meta\": true, \"size\": $N, \"pcap_size\": $PCAP_N, \"peer_size\": $PEER_N,"
    echo " \"nexmark_size\": $NEX_N, \"nexmark_peer_size\": $NEX_PEER_N, \"smoke\": $SMOKE,"
    echo " \"repeats\": $REPEATS, \"json_size\": $JSON_N, \"memory_size\": $MEM_N,"
    echo " \"load_before\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"command\": \"bench/run.sh $*\","
    echo " \"git\": \"$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' + uncommitted changes')\"}"
} | tr -d '\n' >> "$RESULTS"
echo >> "$RESULTS"

echo "== generate ($N log lines, $PCAP_N packets)"
$MEASURE --group gen --name "antimony gen windows-dns" --records "$N" --stdout "$OUT/dns.log" \
    --stderr "$OUT/gen.err" -- "$BIN" gen --format windows-dns --records "$N" --data "$DATA"
$MEASURE --group gen --name "antimony gen pcap" --records "$PCAP_N" --stdout "$OUT/dns.pcap" \
    --stderr "$OUT/gen-pcap.err" -- "$BIN" gen --format pcap --records "$PCAP_N" --data "$DATA"

echo "== DNS topologies"
for topology in topologies/dns-threats.toml bench/dns-stateless.toml; do
    name=$(basename "$topology" .toml)
    # The stateless job is the one compared with the floor: as many runs as the floor's.
    repeat=1
    [ "$name" = dns-stateless ] && repeat=$REPEATS
    for workers in 1 2; do
        rm -f "$OUT/dead-$name-$workers.jsonl"
        $MEASURE --group dns --name "antimony $name w$workers" --records "$N" --workers "$workers" \
            --repeat "$repeat" \
            --stderr "$OUT/run-$name-$workers.err" -- \
            "$BIN" run "$topology" --input "$OUT/dns.log" --alerts "$OUT/alerts-$name-$workers.jsonl" \
            --dead-letter "$OUT/dead-$name-$workers.jsonl" --workers "$workers"
        if [ -s "$OUT/dead-$name-$workers.jsonl" ]; then
            echo "run.sh: antimony set records of the generated log aside:" >&2
            head -3 "$OUT/dead-$name-$workers.jsonl" >&2
            exit 1
        fi
        if [ ! -s "$OUT/alerts-$name-$workers.jsonl" ]; then
            echo "run.sh: antimony raised no alert on the generated log" >&2
            exit 1
        fi
    done
    # The same alerts (stable ids) on 1 and 2 workers; a difference in their order or
    # evidence is only warned about here (the engine's own tests pin determinism).
    ids() { grep -o '^{"id":"[0-9a-f]*"' "$1" | sort; }
    cmp -s <(ids "$OUT/alerts-$name-1.jsonl") <(ids "$OUT/alerts-$name-2.jsonl") \
        || { echo "run.sh: $name raised different alerts on 1 and 2 workers" >&2; exit 1; }
    cmp -s "$OUT/alerts-$name-1.jsonl" "$OUT/alerts-$name-2.jsonl" \
        || echo "run.sh: warning: $name wrote its alerts differently (order or evidence) on 1 and 2 workers" >&2
done

# McSherry's COST: the stateless job as the best single-thread program without the engine.
# Its alerts must be Antimony's, byte for byte, or the ratios compare different work.
echo "== hand-written single-thread floor of dns-stateless ($N records, $REPEATS runs)"
$MEASURE --group dns --name "floor dns-stateless" --records "$N" --workers 1 --repeat "$REPEATS" \
    --stderr "$OUT/floor.err" -- \
    "$FLOOR" bench/dns-stateless.toml "$OUT/dns.log" "$OUT/alerts-floor.jsonl"
cat "$OUT/floor.err"
if ! cmp "$OUT/alerts-floor.jsonl" "$OUT/alerts-dns-stateless-1.jsonl"; then
    echo "run.sh: the floor's alerts differ from antimony run bench/dns-stateless.toml's (1 worker)" >&2
    exit 1
fi

echo "== alert latency at half the measured maximum"
for workers in 1 2; do
    if [ "$SMOKE" = 1 ]; then
        rate=20000
    else
        rate=$(python3 -c "
import json, sys
rows = [json.loads(l) for l in open('$RESULTS')]
best = [r['records_per_s'] for r in rows if r.get('name') == 'antimony dns-threats w$workers']
print(int(best[0] / 2))")
    fi
    python3 bench/latency.py --antimony "$BIN" --topology topologies/dns-threats.toml \
        --rate "$rate" --seconds "$LAT_SECONDS" --workers "$workers" --data "$DATA" \
        --name "antimony latency w$workers" --results "$RESULTS"
done

# The JSON-based formats, made from the same records (bench/jsonlogs.py), read by
# `antimony parse` (1 worker, events as JSON lines to /dev/null), beside the Windows log it
# came from; and `antimony score` on the names of those records.
echo "== JSON formats ($JSON_N lines each) and antimony score"
# The log's first JSON_N records (plus its banner), and their events as `antimony parse` prints them.
head -n "$((JSON_N + 27))" "$OUT/dns.log" > "$OUT/dns-json-size.log"
"$BIN" parse "$OUT/dns-json-size.log" > "$OUT/events.jsonl" 2>/dev/null
json_n=$(python3 bench/jsonlogs.py "$OUT/events.jsonl" --zeek "$OUT/zeek.json" --eve "$OUT/eve.json" \
    --names "$OUT/names.txt")
for pair in windows-debug:dns-json-size.log json:events.jsonl zeek-json:zeek.json suricata:eve.json; do
    format=${pair%%:*}
    $MEASURE --group formats --name "antimony parse $format" --records "$json_n" \
        --stderr "$OUT/parse-$format.err" -- "$BIN" parse --format "$format" "$OUT/${pair#*:}"
done
$MEASURE --group score --name "antimony score" --records "$json_n" --stdin "$OUT/names.txt" \
    --stderr "$OUT/score.err" -- "$BIN" score

# Memory flat with input length: the full topology on 2 workers over MEMORY_SIZE records
# from a pipe, RSS sampled every second.
echo "== memory: $MEM_N records through topologies/dns-threats.toml on 2 workers"
python3 bench/memory.py --antimony "$BIN" --topology topologies/dns-threats.toml \
    --records "$MEM_N" --workers 2 --data "$DATA" --sample "$OUT/dns.log" \
    --interval "$MEM_INTERVAL" --name "antimony memory dns-threats w2" \
    --csv "$OUT/memory.csv" --results "$RESULTS"

# What a Storm multilang bolt costs per record: the same parse-and-write pipeline without and
# with a Python bolt (storm.py) that emits every event back.
echo "== multilang bolt against native ($N records)"
for topology in multilang-native multilang-python; do
    $MEASURE --group multilang --name "antimony $topology w1" --records "$N" --workers 1 \
        --stdout "$OUT/$topology.jsonl" --stderr "$OUT/$topology.err" -- \
        "$BIN" run "bench/$topology.toml" --input "$OUT/dns.log" --workers 1
done

echo "== pcap decoding ($PCAP_N packets)"
$MEASURE --group pcap --name "antimony parse" --records "$PCAP_N" --stderr "$OUT/parse.err" -- \
    "$BIN" parse "$OUT/dns.pcap"
if [ "$SMOKE" = 0 ]; then
    if ! command -v tshark >/dev/null || ! command -v tcpdump >/dev/null; then
        echo "== installing tshark and tcpdump"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark tcpdump >/dev/null
    fi
    $MEASURE --group pcap --name "tshark" --records "$PCAP_N" --stderr "$OUT/tshark.err" -- \
        tshark -n -r "$OUT/dns.pcap"
    $MEASURE --group pcap --name "tcpdump" --records "$PCAP_N" --stderr "$OUT/tcpdump.err" -- \
        tcpdump -n -r "$OUT/dns.pcap"
fi

echo "== Nexmark-style queries, engine only ($NEX_N events)"
for query in q0 q1 q2 q5; do
    for workers in 1 2; do
        $MEASURE --group nexmark --name "antimony nexmark $query w$workers" --records "$NEX_N" \
            --workers "$workers" --stdout "$OUT/nexmark-$query-$workers.json" -- \
            "$NEXMARK" "$query" "$NEX_N" "$workers"
    done
done

if [ "$PEERS" = 1 ]; then
    VENV="${BENCH_VENV:-bench/.venv}"
    export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import pyflink, bytewax" 2>/dev/null; then
        echo "== installing apache-flink and bytewax into $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --upgrade pip
        "$VENV/bin/pip" install -q apache-flink bytewax==0.21.1
    fi
    PY="$VENV/bin/python"
    PEER_LOG="$OUT/dns.log"
    if [ "$PEER_N" -lt "$N" ]; then
        # The same file's first PEER_N records (plus the banner, which every job skips).
        head -n "$((PEER_N + 27))" "$OUT/dns.log" > "$OUT/dns-peer.log"
        PEER_LOG="$OUT/dns-peer.log"
        for workers in 1 2; do
            $MEASURE --group dns --name "antimony dns-stateless w$workers (peer size)" \
                --records "$PEER_N" --workers "$workers" --stderr "$OUT/run-peer-$workers.err" -- \
                "$BIN" run bench/dns-stateless.toml --input "$PEER_LOG" \
                --alerts "$OUT/alerts-peer-$workers.jsonl" --workers "$workers"
        done
    fi
    head -n 1027 "$OUT/dns.log" > "$OUT/dns-startup.log"

    echo "== Flink ($PEER_N records; start-up measured on 1,000)"
    for workers in 1 2; do
        rm -rf "$OUT/flink-alerts-$workers" "$OUT/flink-startup"
        $MEASURE --group startup --name "flink dns start-up p$workers" --records 1000 \
            --workers "$workers" --stderr "$OUT/flink-startup.err" -- \
            "$PY" bench/flink_dns.py "$PWD/$OUT/dns-startup.log" "$PWD/$OUT/flink-startup" "$workers" "$DATA"
        $MEASURE --group dns --name "flink dns p$workers" --records "$PEER_N" --workers "$workers" \
            --stderr "$OUT/flink-$workers.err" -- \
            "$PY" bench/flink_dns.py "$PWD/$PEER_LOG" "$PWD/$OUT/flink-alerts-$workers" "$workers" "$DATA"
    done

    echo "== Bytewax ($PEER_N records)"
    for workers in 1 2; do
        rm -f "$OUT/bytewax-alerts-$workers.txt"
        if [ "$workers" = 1 ]; then
            cmd=("$PY" -m bytewax.run bench/bytewax_dns:flow)
        else
            # Two processes (threads would share one core through the GIL).
            addr="127.0.0.1:2101;127.0.0.1:2102"
            cmd=(bash -c "'$PY' -m bytewax.run bench/bytewax_dns:flow -i 0 -a '$addr' & \
                          '$PY' -m bytewax.run bench/bytewax_dns:flow -i 1 -a '$addr'; wait")
        fi
        BENCH_INPUT="$PEER_LOG" BENCH_ALERTS="$OUT/bytewax-alerts-$workers.txt" BENCH_DATA="$DATA" \
            $MEASURE --group dns --name "bytewax dns w$workers" --records "$PEER_N" --workers "$workers" \
            --stderr "$OUT/bytewax-$workers.err" -- "${cmd[@]}"
    done

    echo "== Nexmark-style queries on Flink ($NEX_PEER_N events; start-up measured on 1,000)"
    for workers in ${NEXMARK_PEER_WORKERS:-2}; do
        $MEASURE --group startup --name "flink nexmark q0 start-up p$workers" --records 1000 \
            --workers "$workers" -- "$PY" bench/flink_nexmark.py q0 1000 "$workers"
        for query in q0 q1 q2 q5; do
            $MEASURE --group nexmark --name "flink nexmark $query p$workers" --records "$NEX_PEER_N" \
                --workers "$workers" --stdout "$OUT/flink-nexmark-$query-$workers.json" -- \
                "$PY" bench/flink_nexmark.py "$query" "$NEX_PEER_N" "$workers"
        done
    done
fi

echo "== report"
if [ "$SMOKE" = 1 ]; then
    python3 bench/report.py --results "$RESULTS" --out "$OUT/RESULTS.md" --svg "$OUT/throughput.svg" \
        --memory-svg "$OUT/memory.svg" --bin "$BIN"
else
    python3 bench/report.py --results "$RESULTS" --out bench/RESULTS.md --svg bench/throughput.svg \
        --memory-svg bench/memory.svg --bin "$BIN"
fi
