#!/usr/bin/env bash
# Chaos soak: for each seed, start `mqtt-workbench broker` on loopback, run benches/chaos.py
# against it for DURATION seconds (clients vanishing with Wills, session takeovers during
# QoS 1/2 flows, persistent sessions going offline and coming back, shared subscriptions,
# retained updates and clears, 3.1.1 and 5.0 mixed with Topic Aliases, Receive Maximum,
# Maximum Packet Size and Message Expiry, stalled readers, malformed and truncated packets,
# slow-loris half packets), then check the invariants listed in chaos.py: the broker answers a
# fresh round trip, no panic in its log, no acknowledged message lost, QoS 2 exactly once,
# shared messages to exactly one member, Wills exactly once, retained state right, RSS 30 s
# after the end within 20 MB of the start, fd count back near the start.
#
# Usage: benches/chaos.sh [-d SECONDS] [-s "SEEDS"] [-m] [-x 'extra config lines']
#   -d  soak duration per seed (default 60)
#   -s  seeds, space separated (default "1 2 3")
#   -m  also run every seed against mosquitto, for comparison (its violations are printed,
#       never fail this script)
#   -x  extra broker config lines (newline separated), e.g. 'persistence true'
# Env: NO_BUILD=1 skips `cargo build --release`; MOSQUITTO=/path; PORT (default 21897);
#      SETTLE (seconds before RSS/fds are read, default 30).
# Loopback only, bounded (duration + drain + settle per seed); every process it starts is
# stopped by its pid. Exit status 1 when any seed against our broker violated an invariant.
set -euo pipefail

DUR=60
SEEDS="1 2 3"
MOSQ_TOO=""
EXTRA=""
while getopts "d:s:mx:h" opt; do
    case $opt in
        d) DUR=$OPTARG ;;
        s) SEEDS=$OPTARG ;;
        m) MOSQ_TOO=1 ;;
        x) EXTRA=$OPTARG ;;
        *) sed -n '2,21p' "$0"; exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/target/release/mqtt-workbench"
MOSQ=${MOSQUITTO:-/usr/sbin/mosquitto}
PORT=${PORT:-21897}
SETTLE=${SETTLE:-30}
if [ -z "${NO_BUILD:-}" ]; then
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" >&2
fi

TMP=$(mktemp -d)
BROKER_PID=""
cleanup() {
    if [ -n "$BROKER_PID" ]; then
        kill "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

start_broker() { # name log
    cat > "$TMP/broker.conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous true
log_dest stderr
log_type error
log_type warning
log_type notice
$EXTRA
EOF
    if [ "$1" = mosquitto ]; then
        "$MOSQ" -c "$TMP/broker.conf" > "$2" 2>&1 &
    else
        (cd "$TMP" && exec "$BIN" broker -c "$TMP/broker.conf") > "$2" 2>&1 &
    fi
    BROKER_PID=$!
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then sleep 0.5; return 0; fi
        sleep 0.05
    done
    echo "$1 did not start:" >&2
    cat "$2" >&2
    exit 1
}
stop_broker() {
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
}

status=0
for seed in $SEEDS; do
    for name in ours ${MOSQ_TOO:+mosquitto}; do
        log="$TMP/$name-$seed.log"
        start_broker "$name" "$log"
        echo "== $name, seed $seed, ${DUR} s"
        rc=0
        python3 "$ROOT/benches/chaos.py" --port "$PORT" --seed "$seed" --duration "$DUR" \
            --pid "$BROKER_PID" --log "$log" --settle "$SETTLE" || rc=$?
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then
            echo "  VIOLATION: the broker process died"
            rc=1
        fi
        stop_broker
        if [ "$rc" != 0 ]; then
            if [ "$name" = ours ]; then
                status=1
                cp "$log" "${CHAOS_KEEP_LOG:-/tmp}/chaos-$name-$seed.log" 2>/dev/null || true
            fi
        fi
    done
done
exit $status
