#!/usr/bin/env bash
# QoS 1 fan-in with durable persistence, without persistence, and mosquitto (persistence true),
# in one run, alternating, REPS repetitions; medians of the subscriber's receive rate and the
# publishers' PUBACK latency.
#
# Two cases per broker:
#   clean    `bench fanin -c 10 -q 1`: the bench's subscriber has a clean session, so no
#            message needs the disk (durable mode writes nothing).
#   offline  the same, plus a persistent session (clean session 0, QoS 1 on bench/#) that is
#            offline: every message is kept for it, so in durable mode every PUBACK waits for
#            the group commit that stored it.
#
# Usage: benches/durable_fanin.sh [-r REPS] [-d SECONDS] [-o OUT.md]
# Env: NO_BUILD=1 skips `cargo build --release`; BIN=/path/to/mqtt-workbench (a copy, to
# compare builds); MOSQUITTO=/path; PORT (default 21895).
# Loopback only, bounded in time, stops by itself.
set -euo pipefail

REPS=3
DUR=5
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/target/durable_fanin.md"
while getopts "r:d:o:h" opt; do
    case $opt in
        r) REPS=$OPTARG ;;
        d) DUR=$OPTARG ;;
        o) OUT=$OPTARG ;;
        *) sed -n '2,17p' "$0"; exit 2 ;;
    esac
done
MOSQ=${MOSQUITTO:-/usr/sbin/mosquitto}
PORT=${PORT:-21895}
BIN=${BIN:-"$ROOT/target/release/mqtt-workbench"}
[ -x "$MOSQ" ] || { echo "mosquitto not found at $MOSQ" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 1; }
if [ -z "${NO_BUILD:-}" ]; then
    cargo build --release --manifest-path "$ROOT/Cargo.toml" >&2
fi
TMP=$(mktemp -d)
BROKER_PID=""
cleanup() { [ -z "$BROKER_PID" ] || kill -9 "$BROKER_PID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

conf() { # broker -> writes $TMP/<broker>.conf with a fresh persistence dir
    local b=$1 dir="$TMP/data-$1"
    rm -rf "$dir"; mkdir -p "$dir"
    {
        echo "listener $PORT 127.0.0.1"
        echo "allow_anonymous true"
        echo "max_queued_messages 0"
        case $b in
            nopersist) echo "persistence false" ;;
            durable) echo "persistence true"; echo "persistence_location $dir/" ;;
            autosave) echo "persistence true"; echo "persistence_location $dir/"; echo "autosave_interval 1800" ;;
            mosquitto) echo "persistence true"; echo "persistence_location $dir/" ;;
        esac
    } > "$TMP/$b.conf"
}

start() { # broker
    conf "$1"
    if [ "$1" = mosquitto ]; then
        "$MOSQ" -c "$TMP/$1.conf" >/dev/null 2>&1 &
    else
        "$BIN" broker -c "$TMP/$1.conf" >/dev/null 2>&1 &
    fi
    BROKER_PID=$!
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "$1 did not start" >&2; exit 1
}

stop() {
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
}

RESULTS="${OUT%.md}.jsonl"
mkdir -p "$(dirname "$OUT")"
: > "$RESULTS"
BROKERS=(nopersist durable autosave mosquitto)
for rep in $(seq 1 "$REPS"); do
    for case in clean offline; do
        for b in "${BROKERS[@]}"; do
            start "$b"
            if [ "$case" = offline ]; then
                mosquitto_sub -h 127.0.0.1 -p "$PORT" -i durable-keeper -c -q 1 -t 'bench/#' -E
            fi
            out="$TMP/r.json"
            timeout 120 "$BIN" bench fanin -c 10 -q 1 -d "${DUR}s" -p "$PORT" --json --quiet \
                > "$out" 2> "$out.err" || true
            stop
            [ -s "$out" ] || echo '{"recv_rate":0,"errors":["no summary"]}' > "$out"
            jq -c --arg b "$b" --arg c "$case" --argjson rep "$rep" \
                '{broker: $b, case: $c, rep: $rep, recv_rate: .recv_rate, send_rate: .send_rate,
                  lost: .lost, puback_p50_us: (.puback_latency.p50_us // null),
                  puback_p99_us: (.puback_latency.p99_us // null), errors: .errors}' \
                "$out" | tee -a "$RESULTS" >&2
        done
    done
done

{
    echo "| case | broker | recv msgs/s (median of $REPS) | PUBACK p50 us | PUBACK p99 us | runs |"
    echo "|---|---|---|---|---|---|"
    for case in clean offline; do
        for b in "${BROKERS[@]}"; do
            jq -s -r --arg b "$b" --arg c "$case" '
                [.[] | select(.broker == $b and .case == $c)] as $r
                | def med(f): ([$r[] | f] | sort | .[(length - 1) / 2 | floor]);
                "| \($c) | \($b) | \(med(.recv_rate) | floor) | \(med(.puback_p50_us)) | \(med(.puback_p99_us)) | \([$r[] | .recv_rate | floor] | join(", ")) |"' \
                "$RESULTS"
        done
    done
} > "$OUT"
cat "$OUT"
