#!/usr/bin/env bash
# The workbench under a flood, measured the way a user sees it: the real binary in tmux at
# 160x48, `bench pub` sending RATE msg/s for SECONDS to its embedded broker, and every few
# seconds (a) the workbench's RSS and (b) the time from a key press (`?`, the help overlay) to
# the overlay being on screen, read with `tmux capture-pane`.
#
# -f (fleet, issue 14): before the flood, a topic filter (`flood/+`) and a payload search
# (`re:^[0-9]+$`, so every flood message is searched) are set and a plot of `flood/plot` (one
# number every 0.2 s from `mqtt-workbench pub`) is opened; the key probe is then `P`, which
# reopens the plot (after Esc), timed until the plot is on screen.
#
# Usage: benches/tui_flood.sh [-f] [-r RATE] [-d SECONDS] [-i INTERVAL]   (defaults 50000, 60, 5)
# Env: NO_BUILD=1 skips `cargo build --release`; PORT (default 21890).
# Only 127.0.0.1 is targeted; everything stops by itself.
set -euo pipefail

RATE=50000
DUR=60
EVERY=5
FLEET=
while getopts "fr:d:i:h" opt; do
    case $opt in
        f) FLEET=1 ;;
        r) RATE=$OPTARG ;;
        d) DUR=$OPTARG ;;
        i) EVERY=$OPTARG ;;
        *) sed -n '2,14p' "$0"; exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/target/release/mqtt-workbench"
PORT=${PORT:-21890}
SOCK="tui-flood-$$"
[ -n "${NO_BUILD:-}" ] || (cd "$ROOT" && cargo build --release --quiet)

NUMBERS=
cleanup() {
    [ -z "$NUMBERS" ] || kill "$NUMBERS" 2>/dev/null || true
    tmux -L "$SOCK" kill-server 2>/dev/null || true
}
trap cleanup EXIT

tmux -L "$SOCK" new-session -d -x 160 -y 48 "$BIN --port $PORT; echo EXITED \$?; sleep 30"
for _ in $(seq 100); do
    tmux -L "$SOCK" capture-pane -p | grep -q "client connected" && break
    sleep 0.1
done
PID=$(pgrep -f -n "^$BIN --port $PORT\$")
ms() { date +%s%3N; }

# Fleet: the time from `P` until the plot shows (the plot is closed first and stays open).
plot_latency() {
    local t0 t1
    tmux -L "$SOCK" send-keys Escape
    while tmux -L "$SOCK" capture-pane -p | grep -q "Esc closes"; do sleep 0.005; done
    t0=$(ms)
    tmux -L "$SOCK" send-keys P
    while ! tmux -L "$SOCK" capture-pane -p | grep -q "Plot: flood/plot"; do
        if [ $(( $(ms) - t0 )) -gt 5000 ]; then echo "timeout"; return; fi
    done
    t1=$(ms)
    echo $(( t1 - t0 ))
}

# One key press: the time until the help overlay shows, then close it again.
key_latency() {
    local t0 t1
    if [ -n "$FLEET" ]; then plot_latency; return; fi
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

if [ -n "$FLEET" ]; then
    # A slow numeric topic to plot, for the whole run.
    ( i=0; end=$(( $(date +%s) + DUR + 30 )); while [ "$(date +%s)" -lt "$end" ]; do
        "$BIN" pub -p "$PORT" -t flood/plot -m "$(( 20 + i % 7 ))" >/dev/null 2>&1 || true
        i=$(( i + 1 )); sleep 0.2; done ) &
    NUMBERS=$!
    until tmux -L "$SOCK" capture-pane -p | grep -q "plot"; do sleep 0.1; done
    tmux -L "$SOCK" send-keys / && tmux -L "$SOCK" send-keys -l 'flood/+' && tmux -L "$SOCK" send-keys Enter
    until tmux -L "$SOCK" capture-pane -p | grep -q "mqtt filter 'flood/+'"; do sleep 0.1; done
    tmux -L "$SOCK" send-keys 2 / && tmux -L "$SOCK" send-keys -l 're:^[0-9]+$' && tmux -L "$SOCK" send-keys Enter
    until tmux -L "$SOCK" capture-pane -p | grep -q "messages hold a match"; do sleep 0.1; done
    tmux -L "$SOCK" send-keys P
    until tmux -L "$SOCK" capture-pane -p | grep -q "Plot: flood/plot"; do sleep 0.1; done
    echo "fleet: filter flood/+, payload search re:^[0-9]+\$, plot of flood/plot open"
fi
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
if [ -n "$FLEET" ]; then
    tmux -L "$SOCK" capture-pane -p | grep -o "Plot: flood/plot[^┐]*" | head -1
    tmux -L "$SOCK" send-keys Escape
    sleep 0.3
    tmux -L "$SOCK" capture-pane -p | grep -o "Topics ([^┓]*\|Messages: [^─]*" | head -2
fi
sorted=$(printf '%s\n' "${lat[@]}" | grep -v timeout | sort -n)
n=$(printf '%s\n' "$sorted" | grep -c . || true)
if [ "$n" -gt 0 ]; then
    echo "key press -> screen: median $(printf '%s\n' "$sorted" | sed -n "$(( (n + 1) / 2 ))p") ms, max $(printf '%s\n' "$sorted" | tail -1) ms over $n presses"
fi

t0=$(ms)
tmux -L "$SOCK" send-keys q
for _ in $(seq 500); do tmux -L "$SOCK" capture-pane -p | grep -q "^EXITED" && break; sleep 0.01; done
echo "q: $(tmux -L "$SOCK" capture-pane -p | grep "^EXITED" || echo "still running") after $(( $(ms) - t0 )) ms"
