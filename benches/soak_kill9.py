#!/usr/bin/env python3
"""kill -9 soak for `mqtt-workbench broker` (or mosquitto) with persistence: counts messages the
publisher saw acknowledged that never reach the persistent subscriber, and duplicates.

Each round: start the broker; three publishers run on loopback (QoS 1 and QoS 2 to topics an
offline persistent session subscribed to, and QoS 1 retained updates with increasing values);
at a random moment the broker gets SIGKILL; it is restarted (the restart must succeed); the
persistent subscriber drains its session; a clean client reads the retained messages. A QoS 1
message counts as acknowledged when its PUBACK arrived, a QoS 2 one when its PUBCOMP arrived,
a retained update when its PUBACK arrived. Lost = acknowledged but never delivered (or a
retained topic whose value went back below its last acknowledged update). Dups = delivered more
than once. Plain sockets and a minimal MQTT 3.1.1 codec, so every acknowledgement is known
exactly. Loopback only; bounded by --kills and --max-seconds; stops by itself.

Usage: soak_kill9.py --bin PATH [--mosquitto] [--kills N] [--port P] [--seed S]
"""

import argparse
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SUB_ID = "soak-sub"
Q1, Q2, RET = "soak/q1", "soak/q2", "soak/r/"
RET_TOPICS = 8


# ---------------------------------------------------------------- minimal MQTT 3.1.1 codec
def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mstr(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


def connect(cid, clean):
    flags = 0x02 if clean else 0x00
    return packet(0x10, mstr("MQTT") + bytes([4, flags]) + struct.pack(">H", 60) + mstr(cid))


def publish(topic, payload, qos, pkid, retain=False):
    first = 0x30 | (qos << 1) | (1 if retain else 0)
    body = mstr(topic) + (struct.pack(">H", pkid) if qos else b"") + payload
    return packet(first, body)


def ack(kind, pkid):
    return packet(kind, struct.pack(">H", pkid))


def subscribe(pkid, filters):
    body = struct.pack(">H", pkid)
    for f, q in filters:
        body += mstr(f) + bytes([q])
    return packet(0x82, body)


class Reader:
    """Splits a TCP stream into MQTT packets."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def packets(self):
        """Reads once (blocking up to the socket timeout); returns complete packets. Raises
        ConnectionError on EOF."""
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        self.buf += data
        out = []
        while True:
            if len(self.buf) < 2:
                return out
            mult, n, i = 1, 0, 1
            while True:
                if i >= len(self.buf):
                    return out
                b = self.buf[i]
                n += (b & 0x7F) * mult
                mult *= 128
                i += 1
                if not b & 0x80:
                    break
            if len(self.buf) < i + n:
                return out
            out.append((self.buf[0], bytes(self.buf[i:i + n])))
            del self.buf[:i + n]


def open_session(port, cid, clean, timeout=2.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    s.sendall(connect(cid, clean))
    r = Reader(s)
    got = []
    while not got:
        got = r.packets()
    first, body = got[0]
    if first >> 4 != 2 or body[1] != 0:
        raise ConnectionError(f"CONNACK refused: {body!r}")
    return s, r, got[1:], body[0] & 1


def parse_publish(first, body):
    qos = (first >> 1) & 3
    tlen = struct.unpack(">H", body[:2])[0]
    topic = body[2:2 + tlen].decode()
    i = 2 + tlen
    pkid = 0
    if qos:
        pkid = struct.unpack(">H", body[i:i + 2])[0]
        i += 2
    return topic, body[i:], qos, pkid


# ---------------------------------------------------------------- publishers
class Publisher(threading.Thread):
    """Publishes numbered messages with a window of unacknowledged ones until the connection
    dies; records which numbers were acknowledged. The window (16) stays below mosquitto's
    default Receive Maximum of 20 for incoming QoS 2, so both brokers see the same load."""

    def __init__(self, port, cid, kind, start_no, acked, window=16):
        super().__init__(daemon=True)
        self.port, self.cid, self.kind = port, cid, kind
        self.no = start_no
        self.acked = acked  # list of (number) or (topic, value)
        self.window = window
        self.stop = False

    def run(self):
        try:
            s, r, _, _ = open_session(self.port, self.cid, True)
        except OSError:
            return
        s.settimeout(0.5)
        pending = {}  # pkid -> number
        pkid = 0
        try:
            while not self.stop:
                while len(pending) < self.window:
                    pkid = pkid % 65535 + 1
                    self.no += 1
                    payload = str(self.no).encode()
                    if self.kind == "q1":
                        s.sendall(publish(Q1, payload, 1, pkid))
                    elif self.kind == "q2":
                        s.sendall(publish(Q2, payload, 2, pkid))
                    else:
                        topic = RET + str(self.no % RET_TOPICS)
                        s.sendall(publish(topic, payload, 1, pkid, retain=True))
                    pending[pkid] = self.no
                try:
                    got = r.packets()
                except socket.timeout:
                    continue
                for first, body in got:
                    kind = first >> 4
                    (pid,) = struct.unpack(">H", body[:2])
                    if kind == 4 and pid in pending:  # PUBACK
                        n = pending.pop(pid)
                        if self.kind == "ret":
                            self.acked.append((RET + str(n % RET_TOPICS), n))
                        else:
                            self.acked.append(n)
                    elif kind == 5:  # PUBREC -> PUBREL
                        s.sendall(ack(0x62, pid))
                    elif kind == 7 and pid in pending:  # PUBCOMP
                        self.acked.append(pending.pop(pid))
        except OSError:
            pass
        finally:
            s.close()


# ---------------------------------------------------------------- broker process
class Broker:
    def __init__(self, args, conf):
        self.args, self.conf, self.proc = args, conf, None

    def start(self):
        if self.args.mosquitto:
            cmd = [self.args.bin, "-c", self.conf]
        else:
            cmd = [self.args.bin, "broker", "-c", self.conf]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")
                raise RuntimeError(f"broker exited at start ({self.proc.returncode}): {err}")
            try:
                socket.create_connection(("127.0.0.1", self.args.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("broker did not open its port within 10 s")

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()


def drain(port, received):
    """The persistent subscriber takes everything its session kept, acknowledging it; returns
    when nothing came for a while."""
    s, r, first, present = open_session(port, SUB_ID, False)
    s.settimeout(0.4)
    packets = list(first)
    quiet_since = time.time()
    while True:
        for fb in packets:
            first_b, body = fb
            if first_b >> 4 == 3:
                topic, payload, qos, pkid = parse_publish(first_b, body)
                received.setdefault(topic, []).append(int(payload))
                if qos == 1:
                    s.sendall(ack(0x40, pkid))
                elif qos == 2:
                    s.sendall(ack(0x50, pkid))
                quiet_since = time.time()
            elif first_b >> 4 == 6:  # PUBREL -> PUBCOMP
                (pid,) = struct.unpack(">H", body[:2])
                s.sendall(ack(0x70, pid))
        if time.time() - quiet_since > 0.8:
            break
        try:
            packets = r.packets()
        except socket.timeout:
            packets = []
    s.sendall(b"\xe0\x00")
    s.close()
    return present


def read_retained(port):
    s, r, _, _ = open_session(port, "soak-ret-reader", True)
    s.sendall(subscribe(1, [(RET + "#", 0)]))
    s.settimeout(0.4)
    values = {}
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            got = r.packets()
        except socket.timeout:
            if len(values) >= RET_TOPICS:
                break
            continue
        for first_b, body in got:
            if first_b >> 4 == 3:
                topic, payload, _, _ = parse_publish(first_b, body)
                values[topic] = int(payload)
    s.close()
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--mosquitto", action="store_true", help="the binary is mosquitto")
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--port", type=int, default=21890)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-ms", type=int, default=50)
    ap.add_argument("--max-ms", type=int, default=600)
    ap.add_argument("--max-seconds", type=int, default=1800)
    ap.add_argument("--extra", default="", help="extra config lines (\\n-separated)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="soak-kill9-") as d:
        conf = os.path.join(d, "broker.conf")
        with open(conf, "w") as f:
            f.write(f"listener {args.port} 127.0.0.1\nallow_anonymous true\n")
            f.write(f"persistence true\npersistence_location {d}/\n")
            f.write("max_queued_messages 0\nmax_inflight_messages 20\n")
            f.write(args.extra.replace("\\n", "\n") + "\n")
        b = Broker(args, conf)
        b.start()
        s, _, _, _ = open_session(args.port, SUB_ID, False)
        s.sendall(subscribe(1, [(Q1, 1), (Q2, 2)]))
        time.sleep(0.3)
        s.sendall(b"\xe0\x00")
        s.close()
        time.sleep(0.2)
        acked = {"q1": [], "q2": [], "ret": []}
        received = {}
        retained_lost = 0
        restarts_failed = 0
        counters = {"q1": 0, "q2": 0, "ret": 0}
        kills = 0
        session_lost = 0
        last_acked = {}
        retained_acked = 0
        while kills < args.kills and time.time() - started < args.max_seconds:
            pubs = []
            for kind in ("q1", "q2", "ret"):
                p = Publisher(args.port, f"soak-{kind}", kind, counters[kind], acked[kind])
                p.start()
                pubs.append(p)
            time.sleep(rng.uniform(args.min_ms, args.max_ms) / 1000)
            b.kill9()
            kills += 1
            for p in pubs:
                p.join(5)
                counters[p.kind] = p.no
            try:
                b.start()
            except RuntimeError as e:
                restarts_failed += 1
                print(f"restart {kills} failed: {e}", file=sys.stderr)
                break
            if not drain(args.port, received):
                session_lost += 1
            values = read_retained(args.port)
            retained_acked += len(acked["ret"])
            for topic, v in acked["ret"]:
                last_acked[topic] = max(v, last_acked.get(topic, 0))
            for topic, v in last_acked.items():
                if values.get(topic, 0) < v:
                    retained_lost += 1
                    print(f"kill {kills}: retained {topic} is {values.get(topic)} < acked {v}",
                          file=sys.stderr)
            acked["ret"].clear()
            if kills % 10 == 0:
                print(f"{kills} kills, {time.time() - started:.0f} s", file=sys.stderr)
        b.stop()
    result = {"broker": "mosquitto" if args.mosquitto else "mqtt-workbench", "kills": kills,
              "restarts_failed": restarts_failed, "session_lost": session_lost,
              "retained_acked": retained_acked, "retained_lost": retained_lost}
    for kind, topic in (("q1", Q1), ("q2", Q2)):
        got = received.get(topic, [])
        seen = set(got)
        acks = set(acked[kind])
        result[f"{kind}_acked"] = len(acks)
        result[f"{kind}_lost"] = len(acks - seen)
        result[f"{kind}_dups"] = len(got) - len(seen)
        result[f"{kind}_delivered"] = len(seen)
    result["seconds"] = round(time.time() - started)
    print(json.dumps(result))
    ok = (restarts_failed == 0 and result["q1_lost"] == 0 and result["q2_lost"] == 0
          and retained_lost == 0 and session_lost == 0)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
