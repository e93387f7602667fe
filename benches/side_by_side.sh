#!/usr/bin/env bash
# Side-by-side benchmark: mosquitto (Debian) and `mqtt-workbench broker` on loopback, the same
# scenarios against both in one run, alternating, several repetitions; medians and ratios,
# plus broker CPU time and peak RSS from /proc.
#
# Usage: benches/side_by_side.sh [-r REPS] [-d SECONDS] [-o OUT.md] [-s SCENARIOS] [-a]
#   -r  repetitions (default 3)
#   -d  seconds per throughput/latency scenario (default 5)
#   -o  markdown report (default target/side_by_side.md)
#   -s  comma-separated subset, e.g. fanin_q0,conn10k (default: all)
#   -a  only re-aggregate the raw results of an earlier run (OUT with .jsonl)
# Env: NO_BUILD=1 skips `cargo build --release`; MOSQUITTO=/path; PORT_A/PORT_B.
#
# Load tests only target 127.0.0.1, are bounded in time, and stop by themselves.
set -euo pipefail

REPS=3
DUR=5
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/target/side_by_side.md"
ONLY=""
AGGREGATE_ONLY=""
while getopts "r:d:o:s:ah" opt; do
    case $opt in
        r) REPS=$OPTARG ;;
        d) DUR=$OPTARG ;;
        o) OUT=$OPTARG ;;
        s) ONLY=$OPTARG ;;
        a) AGGREGATE_ONLY=1 ;;
        *) sed -n '2,15p' "$0"; exit 2 ;;
    esac
done

MOSQ=${MOSQUITTO:-/usr/sbin/mosquitto}
PORT_A=${PORT_A:-21883}   # mosquitto
PORT_B=${PORT_B:-21884}   # ours
BIN="$ROOT/target/release/mqtt-workbench"
[ -x "$MOSQ" ] || { echo "mosquitto not found at $MOSQ (apt-get install mosquitto)" >&2; exit 1; }

if [ -z "${NO_BUILD:-}" ] && [ -z "$AGGREGATE_ONLY" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
fi

# Thousands of sockets on both sides: raise the open-file limit for everything started here.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d)
BROKER_PID=""
cleanup() {
    if [ -n "$BROKER_PID" ]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

conf() { # port
    cat <<EOF
listener $1 127.0.0.1
allow_anonymous true
log_type none
persistence false
max_inflight_messages 0
max_queued_messages 0
set_tcp_nodelay true
EOF
}
conf "$PORT_A" > "$TMP/mosquitto.conf"
conf "$PORT_B" > "$TMP/ours.conf"

port_of() { if [ "$1" = mosquitto ]; then echo "$PORT_A"; else echo "$PORT_B"; fi; }

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
    echo "$1 did not start listening on $port" >&2
    exit 1
}

stop_broker() {
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
TCK=$(getconf CLK_TCK)

# name | bench arguments
SCENARIOS=(
    "fanin_q0|fanin -c 10 -q 0 -d ${DUR}s"
    "fanin_q1|fanin -c 10 -q 1 -d ${DUR}s"
    "fanout_q0|fanout -c 10 -q 0 -d ${DUR}s"
    "fanout_q1|fanout -c 10 -q 1 -d ${DUR}s"
    "lat1k_q0|fanin -c 1 -q 0 --rate 1000 -d ${DUR}s"
    "lat1k_q1|fanin -c 1 -q 1 --rate 1000 -d ${DUR}s"
    "lat20k_q0|fanin -c 1 -q 0 --rate 20000 -d ${DUR}s"
    "lat20k_q1|fanin -c 1 -q 1 --rate 20000 -d ${DUR}s"
    "conn1k|conn -c 1000 -d 3s"
    "conn10k|conn -c 10000 -d 3s"
)

RESULTS="${OUT%.md}.jsonl"   # raw results, one JSON object per run
mkdir -p "$(dirname "$OUT")"
[ -n "$AGGREGATE_ONLY" ] || : > "$RESULTS"

run_case() { # rep broker scenario args...
    local rep=$1 broker=$2 name=$3; shift 3
    start_broker "$broker"
    local pid=$BROKER_PID port; port=$(port_of "$broker")
    local rss0; rss0=$(status_kb "$pid" VmRSS)
    local c0 t0; c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
    local out="$TMP/$name.$broker.$rep.json"
    # shellcheck disable=SC2086
    timeout 120 "$BIN" bench $* -p "$port" --json --quiet > "$out" 2> "$out.err" || true
    local c1 t1; c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
    local hwm; hwm=$(status_kb "$pid" VmHWM)
    stop_broker
    if [ ! -s "$out" ]; then echo '{"errors":["no summary"]}' > "$out"; fi
    jq -c --arg b "$broker" --arg n "$name" --argjson rep "$rep" \
        --argjson cpu "$(echo "($c1 - $c0) / $TCK" | bc -l)" \
        --argjson wall "$(echo "$t1 - $t0" | bc -l)" \
        --argjson hwm "$hwm" --argjson rss0 "$rss0" \
        '{broker: $b, name: $n, rep: $rep, cpu_s: $cpu, wall_s: $wall, hwm_kb: $hwm, rss0_kb: $rss0, r: .}' \
        "$out" >> "$RESULTS"
    jq -r --arg b "$broker" --arg n "$name" '
        "\($n)\t\($b)\t" + (if .scenario == "conn"
            then "connected \(.connected) in \(.all_connected_s * 1000 | floor) ms"
            else "recv \(.recv_rate | floor)/s  p99 \(.latency.p99_us // 0) us  lost \(.lost)" end)
        + (if (.errors | length) > 0 then "  ERR \(.errors[0])" else "" end)' "$out" >&2
}

echo "side by side: $REPS repetitions, ${DUR}s per scenario, results in $OUT" >&2
[ -n "$AGGREGATE_ONLY" ] && REPS=$(jq -s 'map(.rep) | max' "$RESULTS")
for rep in $(seq 1 "$REPS"); do
    [ -n "$AGGREGATE_ONLY" ] && break
    if [ $((rep % 2)) -eq 1 ]; then ORDER="mosquitto ours"; else ORDER="ours mosquitto"; fi
    for s in "${SCENARIOS[@]}"; do
        name=${s%%|*}; args=${s#*|}
        if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$name,"* ]]; then continue; fi
        for b in $ORDER; do
            run_case "$rep" "$b" "$name" "$args"
        done
    done
done

MACHINE="$(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(uname -sr)"
MOSQ_VERSION=$({ "$MOSQ" -h 2>/dev/null || true; } | awk 'NR==1 {print $3}')
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)

python3 - "$RESULTS" "$OUT" "$REPS" "$DUR" "$MACHINE" "$MOSQ_VERSION" "$COMMIT" <<'PY'
import json, statistics, sys, datetime
path, out, reps, dur, machine, mosq_version, commit = sys.argv[1:]
rows = [json.loads(l) for l in open(path)]

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def get(r, key):
    cur = r["r"]
    for k in key.split("."):
        if not isinstance(cur, dict) or cur.get(k) is None:
            return None
        cur = cur[k]
    return cur

# name: (label, metric key, unit, higher is better, target ratio or None, target text)
CASES = [
    ("fanin_q0", "fan-in QoS 0, 10 pubs -> 1 sub", "recv_rate", "msg/s", True, 4.0, ">= 4x"),
    ("fanin_q1", "fan-in QoS 1, 10 pubs -> 1 sub", "recv_rate", "msg/s", True, 3.5, ">= 3.5x"),
    ("fanout_q0", "fan-out QoS 0, 1 pub -> 10 subs", "recv_rate", "deliveries/s", True, 12.0, ">= 12x"),
    ("fanout_q1", "fan-out QoS 1, 1 pub -> 10 subs", "recv_rate", "deliveries/s", True, None, "-"),
    ("lat1k_q0", "latency p99 at 1,000 msg/s QoS 0", "latency.p99_us", "us", False, 1.0, "<= 1x"),
    ("lat1k_q1", "latency p99 at 1,000 msg/s QoS 1", "latency.p99_us", "us", False, 1.0, "<= 1x"),
    ("lat20k_q0", "latency p99 at 20,000 msg/s QoS 0", "latency.p99_us", "us", False, None, "-"),
    ("lat20k_q1", "latency p99 at 20,000 msg/s QoS 1", "latency.p99_us", "us", False, None, "-"),
    ("conn1k", "1,000 connections: time until all connected", "all_connected_s", "s", False, None, "-"),
    ("conn10k", "10,000 connections: time until all connected", "all_connected_s", "s", False, None, "ours <= 1 s"),
]

def fmt(v, unit):
    if v is None:
        return "-"
    if unit in ("msg/s", "deliveries/s"):
        return f"{v/1000:,.0f}k"
    if unit == "us":
        return f"{v/1000:.2f} ms"
    if unit == "s":
        return f"{v:.2f} s"
    if unit == "MiB":
        return f"{v:.1f} MiB"
    return f"{v:.1f}"

lines = []
p = lines.append
p(f"Run {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, commit `{commit}`; machine: {machine}; "
  f"mosquitto {mosq_version}; {reps} repetitions alternating, {dur} s per message scenario; medians.")
p("")
p("| scenario | mosquitto | ours | ours/mosquitto | target | met | lost (mosq/ours) | broker CPU s (mosq/ours) | broker peak RSS MiB (mosq/ours) |")
p("|---|---|---|---|---|---|---|---|---|")
verdicts = []
for name, label, key, unit, higher, target, ttext in CASES:
    sel = {b: [r for r in rows if r["name"] == name and r["broker"] == b] for b in ("mosquitto", "ours")}
    if not sel["mosquitto"] and not sel["ours"]:
        continue
    m = {b: med([get(r, key) for r in sel[b]]) for b in sel}
    cpu = {b: med([r["cpu_s"] for r in sel[b]]) for b in sel}
    hwm = {b: med([r["hwm_kb"] / 1024 for r in sel[b]]) for b in sel}
    lost = {b: sum((get(r, "lost") or 0) for r in sel[b]) for b in sel}
    errs = {b: sum(len(r["r"].get("errors") or []) for r in sel[b]) for b in sel}
    ratio = m["ours"] / m["mosquitto"] if m["ours"] and m["mosquitto"] else None
    met = "-"
    if target is not None and ratio is not None:
        ok = ratio >= target if higher else ratio <= target
        met = "yes" if ok else "**no**"
    if name == "conn10k" and m["ours"] is not None:
        met = "yes" if m["ours"] <= 1.0 else "**no**"
    if name.endswith("_q1") and lost["ours"] > 0:
        met = "**no (lost QoS 1)**"
    lost_txt = "-" if name.startswith("conn") else f"{lost['mosquitto']:,} / {lost['ours']:,}"
    if errs["mosquitto"] or errs["ours"]:
        lost_txt += f" (errors {errs['mosquitto']}/{errs['ours']})"
    rtxt = f"{ratio:.2f}x" if ratio is not None else "-"
    if key == "latency.p99_us":
        p50 = {b: med([get(r, "latency.p50_us") for r in sel[b]]) for b in sel}
        m_txt = {b: f"{fmt(m[b], unit)} (p50 {fmt(p50[b], unit)})" for b in sel}
    else:
        m_txt = {b: fmt(m[b], unit) for b in sel}
    p(f"| {label} | {m_txt['mosquitto']} | {m_txt['ours']} | {rtxt} | {ttext} | {met} | {lost_txt} | "
      f"{fmt(cpu['mosquitto'], '')} / {fmt(cpu['ours'], '')} | {fmt(hwm['mosquitto'], '')} / {fmt(hwm['ours'], '')} |")
    if name.startswith("conn"):
        ratio_mem = hwm["ours"] / hwm["mosquitto"] if hwm["mosquitto"] else None
        verdicts.append((name, hwm, ratio_mem))

for name, hwm, r in verdicts:
    if r is None:
        continue
    n = "10,000" if name == "conn10k" else "1,000"
    met = "yes" if r <= 2.0 else "**no**"
    p("")
    p(f"Memory, {n} idle connections: broker peak RSS mosquitto {hwm['mosquitto']:.1f} MiB, ours {hwm['ours']:.1f} MiB, "
      f"ratio {r:.2f}x (target <= 2x{' for 10,000' if name == 'conn10k' else ''}: {met if name == 'conn10k' else 'n/a'}).")

p("")
p("Every run (metric per repetition, mosquitto / ours):")
p("")
for name, label, key, unit, *_ in CASES:
    per = []
    for b in ("mosquitto", "ours"):
        vals = [get(r, key) for r in sorted((r for r in rows if r["name"] == name and r["broker"] == b), key=lambda r: r["rep"])]
        per.append(", ".join(fmt(v, unit) for v in vals))
    if per[0] or per[1]:
        p(f"- {name}: {per[0]} / {per[1]}")
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print(text)
PY
