#!/usr/bin/env bash
# Memory benchmark (issue 10), mosquitto and ours side by side:
#  1. RSS at idle, at the peak of a 64 KiB QoS 0 flood (bench fanin, 4 publishers), and
#     WAIT seconds after the flood's clients left (default 60).
#  2. RSS growth when 20 raw clients each declare a 256 MB PUBLISH (Remaining Length
#     268,435,455) and send 8 MiB of it, with the default config.
#  3. Ours only, with `max_packet_size 0` (the protocol's maximum, so only the
#     `incoming_packet_budget` of 64 MiB bounds them): the same 20 x 256 MB declarations, and
#     20 clients that each declare a 16 MiB PUBLISH and send 8 MiB of it.
#
# Usage: benches/memory.sh [-w WAIT] [-d FLOOD_SECONDS]
# Env: NO_BUILD=1, MOSQUITTO=/path, PORT_A/PORT_B. Loopback only, bounded in time.
set -euo pipefail
WAIT=60
DUR=5
while getopts "w:d:h" opt; do
    case $opt in
        w) WAIT=$OPTARG ;;
        d) DUR=$OPTARG ;;
        *) sed -n '2,10p' "$0"; exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOSQ=${MOSQUITTO:-/usr/sbin/mosquitto}
PORT_A=${PORT_A:-21895}
PORT_B=${PORT_B:-21896}
BIN="$ROOT/target/release/mqtt-workbench"
if [ -z "${NO_BUILD:-}" ]; then (cd "$ROOT" && cargo build --release --quiet); fi
TMP=$(mktemp -d)
BROKER_PID=""
CLIENT_PIDS=()
cleanup() {
    for p in "${CLIENT_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    if [ -n "$BROKER_PID" ]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
conf() { printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$1"; }
conf "$PORT_A" > "$TMP/mosquitto.conf"
conf "$PORT_B" > "$TMP/ours.conf"
port_of() { if [ "$1" = mosquitto ]; then echo "$PORT_A"; else echo "$PORT_B"; fi; }
start_broker() {
    local port; port=$(port_of "$1")
    if [ "$1" = mosquitto ]; then "$MOSQ" -c "$TMP/mosquitto.conf" >/dev/null 2>&1 &
    else "$BIN" broker -c "$TMP/ours.conf" >/dev/null 2>&1 &
    fi
    BROKER_PID=$!
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "$1 did not start" >&2; exit 1
}
stop_broker() { kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""; }
rss_mib() { awk '$1 == "VmRSS:" {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
hwm_mib() { awk '$1 == "VmHWM:" {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# CONNECT (3.1.1, id bigN), then a PUBLISH header declaring LEN (a printf-escaped Remaining
# Length; default 268,435,455 bytes), then 8 MiB.
big_publisher() { # port n [LEN]
    local id="big$2" len=${3:-'\xff\xff\xff\x7f'}
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        printf "\\x10\\x$(printf %02x $((12 + ${#id})))\\x00\\x04MQTT\\x04\\x02\\x00\\x3c\\x00\\x$(printf %02x ${#id})%s" "$id" >&3
        printf "\\x30${len}\\x00\\x03big" >&3
        head -c 8388608 /dev/zero >&3 2>/dev/null || true
        exec sleep 30
    ) 2>/dev/null &
    CLIENT_PIDS+=($!)
}

printf "broker\tidle_mib\tflood_peak_mib\tafter_%ss_mib\tbig_idle_mib\tbig_after_mib\n" "$WAIT"
for b in mosquitto ours; do
    start_broker "$b"; port=$(port_of "$b"); sleep 0.5
    idle=$(rss_mib "$BROKER_PID")
    timeout 120 "$BIN" bench fanin -c 4 -q 0 -s 65536 -d "${DUR}s" -p "$port" --json --quiet >/dev/null 2>&1 || true
    peak=$(hwm_mib "$BROKER_PID")
    sleep "$WAIT"
    after=$(rss_mib "$BROKER_PID")
    stop_broker
    start_broker "$b"; sleep 0.5
    big0=$(rss_mib "$BROKER_PID")
    for i in $(seq 1 20); do big_publisher "$port" "$i"; done
    sleep 5
    big1=$(rss_mib "$BROKER_PID")
    for p in "${CLIENT_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    CLIENT_PIDS=()
    stop_broker
    printf "%s\t%s\t%s\t%s\t%s\t%s\n" "$b" "$idle" "$peak" "$after" "$big0" "$big1"
done

# 3. Ours with max_packet_size 0: only the incoming_packet_budget bounds half-received packets.
printf 'max_packet_size 0\n' >> "$TMP/ours.conf"
printf "\nours, max_packet_size 0\tdeclared\tidle_mib\tafter_5s_mib\tclients_still_connected\n"
for decl in 256MB 16MiB; do
    len='\xff\xff\xff\x7f'
    [ "$decl" = 16MiB ] && len='\x80\x80\x80\x08'
    start_broker ours; port=$(port_of ours); sleep 0.5
    big0=$(rss_mib "$BROKER_PID")
    for i in $(seq 1 20); do big_publisher "$port" "$i" "$len"; done
    sleep 5
    big1=$(rss_mib "$BROKER_PID")
    conns=$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)
    for p in "${CLIENT_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    CLIENT_PIDS=()
    stop_broker
    printf "ours\t%s\t%s\t%s\t%s\n" "$decl" "$big0" "$big1" "$conns"
done
