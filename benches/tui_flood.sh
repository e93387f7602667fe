#!/usr/bin/env bash
# The workbench under a flood, measured the way a user sees it: the real binary in tmux at
# 160x48, `bench pub` sending RATE msg/s for SECONDS to its embedded broker, and every few
# seconds (a) the workbench's RSS and (b) the time from a key press (`?`, the help overlay) to
# the overlay being on screen, read with `tmux capture-pane`.
#
# Usage: benches/tui_flood.sh [-r RATE] [-d SECONDS] [-i INTERVAL]   (defaults 50000, 60, 5)
# Env: NO_BUILD=1 skips `cargo build --release`; PORT (default 21890).
# Only 127.0.0.1 is targeted; everything stops by itself.
set -euo pipefail

RATE=50000
DUR=60
EVERY=5
while getopts "r:d:i:h" opt; do
    case $opt in
        r) RATE=$OPTARG ;;
        d) DUR=$OPTARG ;;
        i) EVERY=$OPTARG ;;
        *) sed -n '2,9p' "$0"; exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/target/release/mqtt-workbench"
PORT=${PORT:-21890}
SOCK="tui-flood-$$"
[ -n "${NO_BUILD:-}" ] || (cd "$ROOT" && cargo build --release --quiet)

cleanup() { tmux -L "$SOCK" kill-server 2>/dev/null || true; }
trap cleanup EXIT

tmux -L "$SOCK" new-session -d -x 160 -y 48 "$BIN --port $PORT; echo EXITED \$?; sleep 30"
for _ in $(seq 100); do
    tmux -L "$SOCK" capture-pane -p | grep -q "client connected" && break
    sleep 0.1
done
PID=$(pgrep -f -n "^$BIN --port $PORT\$")
ms() { date +%s%3N; }

# One key press: the time until the help overlay shows, then close it again.
key_latency() {
    local t0 t1
    t0=$(ms)
    tmux -L "$SOCK" send-keys "?"
    while ! tmux -L "$SOCK" capture-pane -p | grep -q "any key closes"; do
        if [ $(( $(ms) - t0 )) -gt 5000 ]; then echo "timeout"; return; fi
    done
    t1=$(ms)
    tmux -L "$SOCK" send-keys Escape
    while tmux -L "$SOCK" capture-pane -p | grep -q "any key closes"; do sleep 0.005; done
    echo $(( t1 - t0 ))
}

echo "workbench pid $PID on port $PORT; flood: $RATE msg/s for ${DUR}s; sample every ${EVERY}s"
echo "idle: rss $(awk '/VmRSS/{print $2}' /proc/"$PID"/status) KiB, key $(key_latency) ms"
"$BIN" bench pub -p "$PORT" -c 4 --rate "$RATE" -d "${DUR}s" -t 'flood/%i' -s 64 --quiet \
    > /tmp/tui_flood_bench.$$ 2>&1 &
BENCH=$!
start=$(date +%s)
lat=()
while kill -0 "$BENCH" 2>/dev/null; do
    sleep "$EVERY"
    kill -0 "$BENCH" 2>/dev/null || break
    l=$(key_latency)
    lat+=("$l")
    echo "t=$(( $(date +%s) - start ))s rss $(awk '/VmRSS/{print $2}' /proc/"$PID"/status) KiB key ${l} ms"
done
wait "$BENCH" || true
echo "after: rss $(awk '/VmRSS/{print $2}' /proc/"$PID"/status) KiB, peak $(awk '/VmHWM/{print $2}' /proc/"$PID"/status) KiB"
sorted=$(printf '%s\n' "${lat[@]}" | grep -v timeout | sort -n)
n=$(printf '%s\n' "$sorted" | grep -c . || true)
if [ "$n" -gt 0 ]; then
    echo "key press -> screen: median $(printf '%s\n' "$sorted" | sed -n "$(( (n + 1) / 2 ))p") ms, max $(printf '%s\n' "$sorted" | tail -1) ms over $n presses"
fi

t0=$(ms)
tmux -L "$SOCK" send-keys q
for _ in $(seq 500); do tmux -L "$SOCK" capture-pane -p | grep -q "^EXITED" && break; sleep 0.01; done
echo "q: $(tmux -L "$SOCK" capture-pane -p | grep "^EXITED" || echo "still running") after $(( $(ms) - t0 )) ms"
