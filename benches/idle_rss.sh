#!/usr/bin/env bash
# Idle connections' memory (issue 10), mosquitto and ours side by side in one run,
# alternating: each broker starts afresh with the same configuration, `bench conn` opens N
# idle connections (CONNECT/CONNACK, then only keep-alive pings) and holds them; the broker's
# RSS is read from /proc while all N are connected.
#
# Usage: benches/idle_rss.sh [-r REPS] [-c CONNECTIONS] [-d HOLD_SECONDS]
# Env: NO_BUILD=1 skips `cargo build --release`; MOSQUITTO=/path; BIN=/path to our binary
#      (default target/release/mqtt-workbench); PORT_A/PORT_B.
#
# Loopback only, bounded in time; the open-file limit is raised for everything started here;
# every process started here is stopped by its pid.
set -euo pipefail

REPS=3
N=10000
HOLD=6
while getopts "r:c:d:h" opt; do
    case $opt in
        r) REPS=$OPTARG ;;
        c) N=$OPTARG ;;
        d) HOLD=$OPTARG ;;
        *) sed -n '2,12p' "$0"; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOSQ=${MOSQUITTO:-/usr/sbin/mosquitto}
PORT_A=${PORT_A:-21897}   # mosquitto
PORT_B=${PORT_B:-21898}   # ours
BIN=${BIN:-"$ROOT/target/release/mqtt-workbench"}
# A listening port inside the ephemeral range can be taken by one of the N client sockets (the
# next broker then cannot listen on it): refuse such ports.
read -r EPH_LO EPH_HI < /proc/sys/net/ipv4/ip_local_port_range || { EPH_LO=32768; EPH_HI=60999; }
for p in "$PORT_A" "$PORT_B"; do
    if [ "$p" -ge "$EPH_LO" ] && [ "$p" -le "$EPH_HI" ]; then
        echo "port $p is in the ephemeral range $EPH_LO-$EPH_HI: pick one below $EPH_LO" >&2; exit 2
    fi
done
[ -x "$MOSQ" ] || { echo "mosquitto not found at $MOSQ" >&2; exit 1; }
if [ -z "${NO_BUILD:-}" ]; then (cd "$ROOT" && cargo build --release --quiet); fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -gt $((N + 100)) ] || { echo "open-file limit $(ulimit -n) too low for $N connections" >&2; exit 1; }

TMP=$(mktemp -d)
BROKER_PID=""
LOAD_PID=""
cleanup() {
    if [ -n "$LOAD_PID" ]; then kill "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; fi
    if [ -n "$BROKER_PID" ]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

conf() { # port
    cat <<EOF2
listener $1 127.0.0.1
allow_anonymous true
log_type none
persistence false
max_connections -1
EOF2
}
conf "$PORT_A" > "$TMP/mosquitto.conf"
conf "$PORT_B" > "$TMP/ours.conf"
port_of() { if [ "$1" = mosquitto ]; then echo "$PORT_A"; else echo "$PORT_B"; fi; }
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

start_broker() { # name
    local port; port=$(port_of "$1")
    if [ "$1" = mosquitto ]; then
        "$MOSQ" -c "$TMP/mosquitto.conf" >/dev/null 2>&1 &
    else
        "$BIN" broker -c "$TMP/ours.conf" >/dev/null 2>&1 &
    fi
    BROKER_PID=$!
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "$1 did not start" >&2; exit 1
}

RESULTS="$TMP/results"
: > "$RESULTS"
echo "idle connections: $N per broker, held ${HOLD}s, $REPS repetitions; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for rep in $(seq 1 "$REPS"); do
    if [ $((rep % 2)) -eq 1 ]; then ORDER="mosquitto ours"; else ORDER="ours mosquitto"; fi
    for b in $ORDER; do
        start_broker "$b"
        pid=$BROKER_PID
        sleep 0.5
        idle=$(kb "$pid" VmRSS)
        "$BIN" bench conn -c "$N" -d "${HOLD}s" -p "$(port_of "$b")" --json --quiet > "$TMP/conn.json" 2>/dev/null &
        LOAD_PID=$!
        # Wait until the broker holds all N sockets (or 60 s), then let it settle.
        for _ in $(seq 1 600); do
            [ "$(fds "$pid")" -ge "$N" ] && break
            sleep 0.1
        done
        sleep 1
        held=$(kb "$pid" VmRSS)
        open=$(fds "$pid")
        wait "$LOAD_PID" || true
        LOAD_PID=""
        hwm=$(kb "$pid" VmHWM)
        kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; BROKER_PID=""
        connected=$(jq -r '.connected // 0' "$TMP/conn.json" 2>/dev/null || echo 0)
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$b" "$idle" "$held" "$hwm" "$open" "$connected" >> "$RESULTS"
        printf 'rep %s %-9s idle %6.1f MiB  with %s connections %6.1f MiB (peak %6.1f)  %5.2f KiB/conn  fds %s  load %s\n' \
            "$rep" "$b" "$(echo "$idle/1024" | bc -l)" "$connected" "$(echo "$held/1024" | bc -l)" \
            "$(echo "$hwm/1024" | bc -l)" "$(echo "($held-$idle)/$N" | bc -l)" "$open" "$(cut -d' ' -f1 /proc/loadavg)" >&2
    done
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for col in 4 5; do
    m=$(awk -F'\t' -v c=$col '$2=="mosquitto" {print $c}' "$RESULTS" | median)
    o=$(awk -F'\t' -v c=$col '$2=="ours" {print $c}' "$RESULTS" | median)
    name=$([ $col = 4 ] && echo "RSS with $N connections" || echo "peak RSS")
    printf '%s (median of %s): mosquitto %.1f MiB, ours %.1f MiB, ours/mosquitto %.2fx\n' \
        "$name" "$REPS" "$(echo "$m/1024" | bc -l)" "$(echo "$o/1024" | bc -l)" "$(echo "$o/$m" | bc -l)"
done
m=$(awk -F'\t' '$2=="mosquitto" {print ($4-$3)/'"$N"'}' "$RESULTS" | median)
o=$(awk -F'\t' '$2=="ours" {print ($4-$3)/'"$N"'}' "$RESULTS" | median)
printf 'per connection (RSS with connections - idle, median): mosquitto %.2f KiB, ours %.2f KiB\n' "$m" "$o"
