#!/usr/bin/env bash
# kill -9 soak: SIGKILL the broker at random moments during QoS 1 and QoS 2 publishing to an
# offline persistent session and retained updates, restart it each time, and count messages
# the publisher had acknowledged (PUBACK / PUBCOMP) that never arrive, and duplicates. The
# client side is benches/soak_kill9.py (plain sockets, exact per-message acknowledgements).
#
# Usage: benches/soak_kill9.sh [-k KILLS] [-m] [-s SEED] [-x 'extra config lines']
#   -k  number of kills (default 100)
#   -m N  also run the same soak against mosquitto with N kills (persistence true, its
#         default autosave; slower per round, as its lost retained messages are waited for)
#   -s  random seed (default 1)
#   -x  extra config lines for our broker, e.g. 'autosave_interval 1' (the periodic mode)
# Env: NO_BUILD=1 skips `cargo build --release`; MOSQUITTO=/path; PORT (default 21890).
# Loopback only, bounded (kills, and 30 minutes at most per broker), stops by itself. Exit
# status 1 when an acknowledged message was lost or a restart failed.
set -euo pipefail

KILLS=100
SEED=1
MOSQ_TOO=""
EXTRA=""
while getopts "k:m:s:x:h" opt; do
    case $opt in
        k) KILLS=$OPTARG ;;
        m) MOSQ_TOO=$OPTARG ;;
        s) SEED=$OPTARG ;;
        x) EXTRA=$OPTARG ;;
        *) sed -n '2,16p' "$0"; exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/target/release/mqtt-workbench"
PORT=${PORT:-21890}
if [ -z "${NO_BUILD:-}" ]; then
    cargo build --release --manifest-path "$ROOT/Cargo.toml" >&2
fi
status=0
python3 "$ROOT/benches/soak_kill9.py" --bin "$BIN" --kills "$KILLS" --seed "$SEED" \
    --port "$PORT" --extra "$EXTRA" || status=1
if [ -n "$MOSQ_TOO" ]; then
    MOSQ=${MOSQUITTO:-/usr/sbin/mosquitto}
    # mosquitto is only compared: its losses do not fail this script.
    python3 "$ROOT/benches/soak_kill9.py" --bin "$MOSQ" --mosquitto --kills "$MOSQ_TOO" \
        --seed "$SEED" --port "$PORT" --extra "$EXTRA" || true
fi
exit $status
