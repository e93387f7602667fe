#!/usr/bin/env bash
# Isolation benchmark (issue 10): a normal subscriber's rate with and without stalled
# subscribers (raw sockets that subscribe to `#` and never read), mosquitto and ours side by
# side in one run, alternating; 64 B and 64 KiB payloads. Both brokers run with their default
# queue limits (max_queued_messages 1000), so the stalled subscribers' excess is dropped and
# each broker logs it ("Outgoing messages are being dropped for client ...").
#
# Usage: benches/isolation.sh [-r REPS] [-d SECONDS] [-n STALLED] [-c PUBLISHERS]
# Env: SIZES="64 65536" payload sizes; NO_BUILD=1 skips `cargo build --release`; MOSQUITTO=/path; PORT_A/PORT_B.
#
# Loopback only, bounded in time; every process started here is stopped by its pid.
set -euo pipefail

REPS=3
DUR=5
STALLED=2
PUBS=4
while getopts "r:d:n:c:h" opt; do
    case $opt in
        r) REPS=$OPTARG ;;
        d) DUR=$OPTARG ;;
        n) STALLED=$OPTARG ;;
        c) PUBS=$OPTARG ;;
        *) sed -n '2,12p' "$0"; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOSQ=${MOSQUITTO:-/usr/sbin/mosquitto}
PORT_A=${PORT_A:-21893}   # mosquitto
PORT_B=${PORT_B:-21894}   # ours
BIN="$ROOT/target/release/mqtt-workbench"
[ -x "$MOSQ" ] || { echo "mosquitto not found at $MOSQ" >&2; exit 1; }
if [ -z "${NO_BUILD:-}" ]; then (cd "$ROOT" && cargo build --release --quiet); fi

TMP=$(mktemp -d)
BROKER_PID=""
STALL_PIDS=()
stop_stalled() {
    for p in "${STALL_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    for p in "${STALL_PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    STALL_PIDS=()
}
cleanup() {
    stop_stalled
    if [ -n "$BROKER_PID" ]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

conf() { # port
    cat <<EOF
listener $1 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
EOF
}
conf "$PORT_A" > "$TMP/mosquitto.conf"
conf "$PORT_B" > "$TMP/ours.conf"
port_of() { if [ "$1" = mosquitto ]; then echo "$PORT_A"; else echo "$PORT_B"; fi; }

start_broker() { # name log
    local port; port=$(port_of "$1")
    if [ "$1" = mosquitto ]; then
        "$MOSQ" -c "$TMP/mosquitto.conf" 2> "$2" >/dev/null &
    else
        "$BIN" broker -c "$TMP/ours.conf" > "$2" 2>&1 &
    fi
    BROKER_PID=$!
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "$1 did not start" >&2; exit 1
}
stop_broker() { kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# A subscriber that never reads: CONNECT (3.1.1, clean, keep alive 0, id stallN), SUBSCRIBE `#`
# QoS 0, then holds the socket open without reading until killed.
stalled_sub() { # port n
    local id="stall$2"
    local rl=$((10 + 2 + ${#id}))
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        printf "\\x10\\x$(printf %02x $rl)\\x00\\x04MQTT\\x04\\x02\\x00\\x00\\x00\\x$(printf %02x ${#id})%s" "$id" >&3
        printf '\x82\x06\x00\x01\x00\x01#\x00' >&3
        exec sleep 600
    ) &
    STALL_PIDS+=($!)
}

echo "isolation: $REPS reps, ${DUR}s, $PUBS publishers -> 1 subscriber, $STALLED stalled" >&2
printf "broker\tsize\tstalled\trep\trecv_rate\tlost\tdrop_log_lines\tpeak_rss_mib\n"
for rep in $(seq 1 "$REPS"); do
    if [ $((rep % 2)) -eq 1 ]; then ORDER="mosquitto ours"; else ORDER="ours mosquitto"; fi
    for size in ${SIZES:-64 65536}; do
        for n in 0 "$STALLED"; do
            for b in $ORDER; do
                log="$TMP/$b.$size.$n.$rep.log"
                start_broker "$b" "$log"
                port=$(port_of "$b")
                for i in $(seq 1 "$n"); do stalled_sub "$port" "$i"; done
                sleep 0.3
                out="$TMP/out.json"
                timeout 120 "$BIN" bench fanin -c "$PUBS" -q 0 -s "$size" -d "${DUR}s" -p "$port" \
                    --json --quiet > "$out" 2>/dev/null || true
                hwm=$(status_kb "$BROKER_PID" VmHWM)
                stop_stalled
                stop_broker
                drops=$(grep -c "Outgoing messages are being dropped" "$log" || true)
                rate=$(jq -r '.recv_rate // 0 | floor' "$out" 2>/dev/null || echo 0)
                lost=$(jq -r '.lost // "?"' "$out" 2>/dev/null || echo "?")
                printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$b" "$size" "$n" "$rep" "$rate" "$lost" \
                    "$drops" "$(echo "scale=1; $hwm / 1024" | bc)"
            done
        done
    done
done
