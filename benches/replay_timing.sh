#!/usr/bin/env bash
# Replay timing fidelity: how closely `mqtt-workbench replay` keeps a record's timing.
#
# A synthetic record of N messages with irregular gaps (1 to 60 ms, fixed seed) is replayed into a
# broker on 127.0.0.1 while `mqtt-workbench record` records what arrives there. The arrival
# offsets are compared with the scheduled ones (the record's gaps divided by the speed):
#   span error   |arrived span - scheduled span| / scheduled span   (target: within 5 %)
#   gap error    |arrived gap - scheduled gap| per message: mean, p50, p99, max (ms); gap_rel is
#                the mean gap error over the mean scheduled gap
# The chain measured is replay -> broker -> record's client, so broker and subscriber add to it.
#
# Usage: benches/replay_timing.sh [-n MESSAGES] [-s SPEEDS] [-b ours|mosquitto] [-q QOS] [-r REPS]
#   -n  messages per record (default 300, about 9 s at speed 1)
#   -s  comma-separated speed factors (default 1,2,10)
#   -b  target broker (default ours: `mqtt-workbench broker`)
#   -q  QoS of the recorded messages (default 0)
#   -r  repetitions per speed (default 3)
# Env: NO_BUILD=1 skips `cargo build --release`; MOSQUITTO=/path; PORT (default 21890).
#
# Only targets 127.0.0.1 and stops by itself.
set -euo pipefail

N=300
SPEEDS=1,2,10
TARGET=ours
QOS=0
REPS=3
while getopts "n:s:b:q:r:h" opt; do
    case $opt in
        n) N=$OPTARG ;;
        s) SPEEDS=$OPTARG ;;
        b) TARGET=$OPTARG ;;
        q) QOS=$OPTARG ;;
        r) REPS=$OPTARG ;;
        *) sed -n '2,17p' "$0"; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/target/release/mqtt-workbench"
MOSQ=${MOSQUITTO:-/usr/sbin/mosquitto}
PORT=${PORT:-21890}
if [ -z "${NO_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
fi

TMP=$(mktemp -d)
BROKER_PID=""
REC_PID=""
cleanup() {
    for p in $REC_PID $BROKER_PID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

printf 'listener %s 127.0.0.1\nallow_anonymous true\nlog_type none\npersistence false\n' "$PORT" >"$TMP/b.conf"
case $TARGET in
    ours) "$BIN" broker -c "$TMP/b.conf" >"$TMP/broker.log" 2>&1 & BROKER_PID=$! ;;
    mosquitto) "$MOSQ" -c "$TMP/b.conf" >"$TMP/broker.log" 2>&1 & BROKER_PID=$! ;;
    *) echo "-b must be ours or mosquitto" >&2; exit 2 ;;
esac
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

# The source record: irregular gaps from a fixed seed, payloads of 20 to 200 bytes.
python3 - "$N" "$QOS" >"$TMP/source.jsonl" <<'PY'
import json, random, sys
n, qos = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(14)
print(json.dumps({"format": "mqtt-workbench-record", "version": "1.0",
                  "started": "2026-12-01T00:00:00.000000Z"}))
t = 0
for i in range(n):
    t += rnd.randint(1000, 60000)
    print(json.dumps({"time": "2026-12-01T00:00:00.000000Z", "offset_us": t,
                      "topic": f"bench/replay/{i % 7}", "qos": qos, "retain": False,
                      "payload": "x" * rnd.randint(20, 200)}))
PY

echo "# replay timing: $N messages, QoS $QOS, target $TARGET, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-6s %-4s %10s %10s %9s %9s %9s %9s %9s %9s\n' speed rep sched_s arrived_s span_err gap_mean gap_rel gap_p50 gap_p99 gap_max
IFS=, read -ra SPEED_LIST <<<"$SPEEDS"
for speed in "${SPEED_LIST[@]}"; do
    for rep in $(seq "$REPS"); do
        rm -f "$TMP/arrived.jsonl"
        "$BIN" record -h 127.0.0.1 -p "$PORT" -q 1 -t 'bench/replay/#' -C "$N" -W 600 \
            -o "$TMP/arrived.jsonl" 2>"$TMP/record.log" &
        REC_PID=$!
        # Subscribed once the header is written and the SUBACK has had time to come back.
        for _ in $(seq 50); do [ -s "$TMP/arrived.jsonl" ] && break; sleep 0.1; done
        sleep 1
        "$BIN" replay -h 127.0.0.1 -p "$PORT" -V mqttv5 --no-progress --speed "$speed" \
            "$TMP/source.jsonl" 2>"$TMP/replay.log" || { cat "$TMP/replay.log" >&2; exit 1; }
        wait "$REC_PID" || { cat "$TMP/record.log" >&2; exit 1; }
        REC_PID=""
        python3 - "$TMP/source.jsonl" "$TMP/arrived.jsonl" "$speed" "$rep" <<'PY'
import json, sys
def offsets(path):
    with open(path) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    return [l["offset_us"] for l in lines[1:]]
src, dst = offsets(sys.argv[1]), offsets(sys.argv[2])
speed = float(sys.argv[3])
assert len(src) == len(dst), f"{len(dst)} of {len(src)} messages arrived"
sched = [(s - src[0]) / speed for s in src]
got = [d - dst[0] for d in dst]
errs = sorted(abs((got[i] - got[i - 1]) - (sched[i] - sched[i - 1])) / 1000 for i in range(1, len(src)))
span_err = abs(got[-1] - sched[-1]) / sched[-1] * 100
pick = lambda q: errs[min(len(errs) - 1, int(q * len(errs)))]
print(f"{sys.argv[3]:<6} {sys.argv[4]:<4} {sched[-1]/1e6:10.3f} {got[-1]/1e6:10.3f} {span_err:8.2f}% "
      f"{sum(errs)/len(errs):7.2f}ms {sum(errs)/len(errs)*1000/(sched[-1]/(len(src)-1))*100:8.2f}% {pick(0.5):7.2f}ms {pick(0.99):7.2f}ms {errs[-1]:7.2f}ms")
PY
    done
done
