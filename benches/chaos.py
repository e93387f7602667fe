#!/usr/bin/env python3
"""Bounded chaos soak against a running MQTT broker on 127.0.0.1 (driven by benches/chaos.sh).

For --duration seconds, with a seeded random generator, a mix of actors runs at once:
  * durable pairs: a persistent subscriber (3.1.1 clean 0, or 5.0 clean start 0 with Session
    Expiry 600) that goes away abruptly (RST or plain close, never DISCONNECT), takes itself
    over with a second connection while QoS 1/2 messages are in flight, and comes back; and a
    persistent publisher that does the same in the middle of its own QoS 1/2 flows, re-sending
    unacknowledged PUBLISH (DUP) and PUBREL on resume, as a real client session would;
  * a shared-subscription group `$share/g/...` of stable members (3.1.1 and 5.0) and a
    publisher; a second group `$share/h/...` whose members join and vanish;
  * will clients that vanish (Will must be published once) or disconnect cleanly (no Will);
  * retained updates and clears (sequential QoS 1, so the last acknowledged state is known);
  * wildcard subscribers with overlapping filters, 3.1.1 and 5.0, Receive Maximum 1-5,
    Maximum Packet Size, Topic Alias Maximum, that acknowledge late;
  * 5.0 publishers with Topic Aliases and Message Expiry;
  * stalled readers (subscribe to `chaos/#`, small receive buffer, never read);
  * malformed, truncated and oversize packets, and slow-loris half packets.

Invariants checked at the end (exit 1 on a violation):
  * the broker is alive: a fresh CONNECT / SUBSCRIBE / PUBLISH QoS 1 round trip within 5 s;
  * no panic in the broker's log (--log);
  * every QoS 1/2 message whose PUBACK/PUBCOMP a durable publisher got reaches the persistent
    subscriber once it reconnects: QoS 2 exactly once, QoS 1 at least once;
  * persistent sessions come back with Session Present 1;
  * every acknowledged shared-subscription message reaches exactly one stable member, once;
  * each vanished will client's Will arrives exactly once, a clean DISCONNECT's never;
  * the retained set equals the last acknowledged update of every topic;
  * every delivery's topic equals the topic inside its payload and matches one of the
    receiver's filters; no 5.0 receiver gets more than its Receive Maximum unacknowledged,
    or a packet larger than its Maximum Packet Size;
  * --pid given: RSS 30 s after the end within --rss-slack MB of the start, and the open file
    descriptor count within --fd-slack of the start.

Plain asyncio sockets and an own minimal MQTT 3.1.1/5.0 codec: every acknowledgement is
known exactly. Loopback only; bounded by --duration (plus drain and settle time).

Usage: chaos.py --port P [--seed S] [--duration SECONDS] [--pid PID] [--log FILE] [--json]
"""

import argparse
import asyncio
import json
import os
import random
import socket
import struct
import sys
import time

HOST = "127.0.0.1"


# ------------------------------------------------------------------------------------ codec
def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">H", len(b)) + b


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


U8 = {0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A}
U16 = {0x13, 0x21, 0x22, 0x23}
U32 = {0x02, 0x11, 0x18, 0x27}
STR = {0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F, 0x09, 0x16}


def props(pairs):
    """Encodes 5.0 properties from (id, value) pairs."""
    out = bytearray()
    for pid, val in pairs:
        out.append(pid)
        if pid in U8:
            out.append(val)
        elif pid in U16:
            out += struct.pack(">H", val)
        elif pid in U32:
            out += struct.pack(">I", val)
        elif pid == 0x0B:
            out += varint(val)
        elif pid == 0x26:
            out += mstr(val[0]) + mstr(val[1])
        else:
            out += mstr(val)
    return varint(len(out)) + bytes(out)


def read_varint(b, i):
    n, mult = 0, 1
    for _ in range(4):
        if i >= len(b):
            raise ValueError("short varint")
        c = b[i]
        i += 1
        n += (c & 0x7F) * mult
        mult *= 128
        if not c & 0x80:
            return n, i
    raise ValueError("varint too long")


def parse_props(b, i):
    """Returns (dict of properties, next index)."""
    n, i = read_varint(b, i)
    end = i + n
    out = {}
    while i < end:
        pid = b[i]
        i += 1
        if pid in U8:
            val = b[i]
            i += 1
        elif pid in U16:
            val = struct.unpack_from(">H", b, i)[0]
            i += 2
        elif pid in U32:
            val = struct.unpack_from(">I", b, i)[0]
            i += 4
        elif pid == 0x0B:
            val, i = read_varint(b, i)
        elif pid == 0x26:
            ln = struct.unpack_from(">H", b, i)[0]
            k = b[i + 2:i + 2 + ln]
            i += 2 + ln
            ln = struct.unpack_from(">H", b, i)[0]
            val = (k, b[i + 2:i + 2 + ln])
            i += 2 + ln
        elif pid in STR:
            ln = struct.unpack_from(">H", b, i)[0]
            val = b[i + 2:i + 2 + ln]
            i += 2 + ln
        else:
            raise ValueError(f"unknown property {pid:#x}")
        out.setdefault(pid, []).append(val)
    if i != end:
        raise ValueError("property length mismatch")
    return out, end


def connect_pkt(cid, version, clean, keepalive=30, will=None, pairs=(), user=None):
    flags = 0x02 if clean else 0
    payload = mstr(cid)
    if version == 5:
        var = mstr("MQTT") + bytes([5])
    else:
        var = mstr("MQTT") + bytes([4])
    if will:
        topic, data, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        if version == 5:
            payload += props([])
        payload += mstr(topic) + mstr(data)
    if user:
        flags |= 0x80
        payload += mstr(user)
    var += bytes([flags]) + struct.pack(">H", keepalive)
    if version == 5:
        var += props(pairs)
    return packet(0x10, var + payload)


def publish_pkt(version, topic, payload, qos, pid=0, retain=False, dup=False, pairs=()):
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (0x08 if dup else 0)
    body = mstr(topic) + (struct.pack(">H", pid) if qos else b"")
    if version == 5:
        body += props(pairs)
    return packet(first, body + payload)


def ack_pkt(kind, pid):
    return packet(kind, struct.pack(">H", pid))


def subscribe_pkt(version, pid, filters):
    body = struct.pack(">H", pid)
    if version == 5:
        body += props([])
    for f, q in filters:
        body += mstr(f) + bytes([q])
    return packet(0x82, body)


def disconnect_pkt():
    return b"\xe0\x00"


def topic_matches(filt, topic):
    if filt.startswith("$share/"):
        filt = filt.split("/", 2)[2]
    f, t = filt.split("/"), topic.split("/")
    for i, lvl in enumerate(f):
        if lvl == "#":
            return True
        if i >= len(t):
            return False
        if lvl != "+" and lvl != t[i]:
            return False
    return len(f) == len(t)


# ------------------------------------------------------------------------------------ report
class Report:
    """Counters, and violations grouped by kind (the first example of each, and how many)."""

    def __init__(self):
        self.kinds = {}  # kind -> [first message, count]
        self.counts = {}

    def bad(self, what, kind=None):
        k = kind or what
        ent = self.kinds.setdefault(k, [what, 0])
        ent[1] += 1
        self.count("violations")

    @property
    def violations(self):
        return [m if n == 1 else f"{m} (and {n - 1} more like it)"
                for m, n in self.kinds.values()]

    def count(self, key, n=1):
        self.counts[key] = self.counts.get(key, 0) + n


R = Report()


# ------------------------------------------------------------------------------------ session
class Session:
    """Client-side session state that outlives one network connection (persistent clients)."""

    def __init__(self):
        self.next_pid = 1
        self.outgoing = {}  # pid -> [publish packet bytes, stage 'pub'|'rel', future, msg]
        self.order = []  # pids in send order
        self.inbound_q2 = set()  # pids PUBREC'd, waiting for PUBREL

    def alloc(self):
        for _ in range(65535):
            pid = self.next_pid
            self.next_pid = 1 if pid == 65535 else pid + 1
            if pid not in self.outgoing:
                return pid
        raise RuntimeError("no free packet identifier")


class Conn:
    """One network connection of a client; `session` carries state across connections."""

    def __init__(self, name, version, session=None, on_message=None, recv_max=None,
                 max_packet=None, ack_delay=0.0, rng=None):
        self.name = name
        self.version = version
        self.session = session or Session()
        self.on_message = on_message
        self.recv_max = recv_max
        self.max_packet = max_packet
        self.ack_delay = ack_delay
        self.rng = rng or random.Random(0)
        self.reader = None
        self.writer = None
        self.task = None
        self.closed = asyncio.Event()
        self.suback = {}
        self.unacked_in = set()  # inbound QoS>0 pids not yet fully acknowledged (this conn)
        self.aliases_in = {}
        self.alias_max_out = 0
        self.session_present = None
        self.alive = False

    async def open(self, port, cid, clean, expiry=None, keepalive=30, will=None,
                   alias_max=None, timeout=5.0):
        self.cid = cid
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(HOST, port), timeout)
        pairs = []
        if self.version == 5:
            if expiry:
                pairs.append((0x11, expiry))
            if self.recv_max:
                pairs.append((0x21, self.recv_max))
            if alias_max:
                pairs.append((0x22, alias_max))
            if self.max_packet:
                pairs.append((0x27, self.max_packet))
        self.writer.write(connect_pkt(cid, self.version, clean, keepalive, will, pairs))
        first, body = await asyncio.wait_for(self._read_packet(), timeout)
        if first >> 4 != 2:
            raise ConnectionError(f"expected CONNACK, got {first:#x}")
        self.session_present = bool(body[0] & 1)
        rc = body[1]
        if rc != 0:
            raise ConnectionError(f"CONNACK refused {rc:#x}")
        if self.version == 5 and len(body) > 2:
            pr, _ = parse_props(body, 2)
            self.alias_max_out = pr.get(0x22, [0])[0]
        self.alive = True
        self.task = asyncio.ensure_future(self._run())
        return self.session_present

    async def _read_packet(self):
        h = await self.reader.readexactly(1)
        n, mult = 0, 1
        for _ in range(4):
            c = (await self.reader.readexactly(1))[0]
            n += (c & 0x7F) * mult
            mult *= 128
            if not c & 0x80:
                break
        body = await self.reader.readexactly(n) if n else b""
        size = 1 + len(varint(n)) + n
        if self.max_packet and size > self.max_packet:
            R.bad(f"{self.name}: received a {size}-byte packet, Maximum Packet Size "
                  f"{self.max_packet}", "max packet size")
        return h[0], body

    def send(self, data):
        if self.alive and self.writer and not self.writer.is_closing():
            self.writer.write(data)

    async def _run(self):
        try:
            while True:
                first, body = await self._read_packet()
                await self._dispatch(first, body)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        except (ValueError, struct.error, IndexError) as e:
            R.bad(f"{self.name}: undecodable packet from the broker: {e}")
        finally:
            self.alive = False
            self.closed.set()

    async def _dispatch(self, first, body):
        kind = first >> 4
        if kind == 3:
            await self._on_publish(first, body)
        elif kind in (4, 5, 7):  # PUBACK PUBREC PUBCOMP
            pid = struct.unpack_from(">H", body)[0]
            rc = body[2] if self.version == 5 and len(body) > 2 else 0
            ent = self.session.outgoing.get(pid)
            if ent is None:
                return
            if kind == 5:
                if rc >= 0x80:
                    self._finish(pid, False)
                    return
                ent[1] = "rel"
                self.send(packet(0x62, struct.pack(">H", pid)))
            else:
                self._finish(pid, rc < 0x80)
        elif kind == 6:  # PUBREL
            pid = struct.unpack_from(">H", body)[0]
            self.session.inbound_q2.discard(pid)
            await self._ack_later(pid, packet(0x70, struct.pack(">H", pid)))
        elif kind == 9:  # SUBACK
            pid = struct.unpack_from(">H", body)[0]
            fut = self.suback.pop(pid, None)
            if fut and not fut.done():
                fut.set_result(body)
        elif kind == 14:  # DISCONNECT from the server
            raise ConnectionError("server DISCONNECT")

    def _finish(self, pid, ok):
        ent = self.session.outgoing.pop(pid, None)
        if ent is None:
            return
        if pid in self.session.order:
            self.session.order.remove(pid)
        fut = ent[2]
        if fut is not None and not fut.done():
            fut.set_result(ok)

    async def _ack_later(self, pid, data):
        if self.ack_delay:
            await asyncio.sleep(self.rng.random() * self.ack_delay)
        self.send(data)
        self.unacked_in.discard(pid)

    async def _on_publish(self, first, body):
        qos = (first >> 1) & 3
        ln = struct.unpack_from(">H", body)[0]
        topic = body[2:2 + ln].decode()
        i = 2 + ln
        pid = 0
        if qos:
            pid = struct.unpack_from(">H", body, i)[0]
            i += 2
        if self.version == 5:
            pr, i = parse_props(body, i)
            alias = pr.get(0x23, [None])[0]
            if alias is not None:
                if topic:
                    self.aliases_in[alias] = topic
                else:
                    topic = self.aliases_in.get(alias, "")
                    if not topic:
                        R.bad(f"{self.name}: unknown inbound Topic Alias {alias}")
        payload = body[i:]
        fresh = True
        if qos == 2:
            fresh = pid not in self.session.inbound_q2
            self.session.inbound_q2.add(pid)
        if qos and self.recv_max:
            self.unacked_in.add(pid)
            if len(self.unacked_in) > self.recv_max:
                R.bad(f"{self.name}: {len(self.unacked_in)} unacknowledged QoS>0 PUBLISH "
                      f"in flight, Receive Maximum {self.recv_max}", "receive maximum")
        if fresh and self.on_message:
            self.on_message(self, topic, payload, qos, bool(first & 1))
        if qos == 1:
            asyncio.ensure_future(self._ack_later(pid, ack_pkt(0x40, pid)))
        elif qos == 2:
            self.send(ack_pkt(0x50, pid))

    async def subscribe(self, filters, timeout=5.0):
        pid = self.session.alloc()
        self.session.outgoing[pid] = [None, "sub", None, None]  # reserve the id
        fut = asyncio.get_event_loop().create_future()
        self.suback[pid] = fut
        self.send(subscribe_pkt(self.version, pid, filters))
        try:
            body = await asyncio.wait_for(fut, timeout)
        finally:
            self.session.outgoing.pop(pid, None)
        codes = body[2:] if self.version != 5 else body[2 + 1 + body[2]:]
        return list(codes)

    def publish(self, topic, payload, qos, retain=False, pairs=(), msg=None, wire_topic=None):
        """Sends a PUBLISH; for QoS>0 returns a future resolved True at PUBACK/PUBCOMP."""
        wt = topic if wire_topic is None else wire_topic
        if qos == 0:
            self.send(publish_pkt(self.version, wt, payload, 0, 0, retain, pairs=pairs))
            return None
        pid = self.session.alloc()
        fut = asyncio.get_event_loop().create_future()
        # On resume the full topic is sent again (aliases do not survive a connection).
        resend = publish_pkt(self.version, topic, payload, qos, pid, retain, True)
        self.session.outgoing[pid] = [resend, "pub", fut, msg]
        self.session.order.append(pid)
        self.send(publish_pkt(self.version, wt, payload, qos, pid, retain, pairs=pairs))
        return fut

    def resume(self):
        """After a reconnect with Session Present 1: re-send PUBLISH (DUP) and PUBREL in order."""
        for pid in list(self.session.order):
            ent = self.session.outgoing.get(pid)
            if not ent or ent[0] is None:
                continue
            if ent[1] == "pub":
                self.send(ent[0])
            else:
                self.send(packet(0x62, struct.pack(">H", pid)))

    def abandon_session(self):
        """The broker had no session: outstanding flows are lost (not acknowledged)."""
        for pid in list(self.session.order):
            self._finish(pid, False)
        self.session.inbound_q2.clear()

    def vanish(self, rst=False):
        """Goes away without DISCONNECT: plain close, or RST."""
        self.alive = False
        if self.writer is None:
            return
        if rst:
            sock = self.writer.get_extra_info("socket")
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.writer.transport.abort()
        else:
            self.writer.close()
        if self.task:
            self.task.cancel()

    async def disconnect(self):
        self.send(disconnect_pkt())
        try:
            await asyncio.wait_for(self.writer.drain(), 2)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass
        self.vanish()


# ------------------------------------------------------------------------------------ actors
class Ctx:
    def __init__(self, port, seed, duration):
        self.port = port
        self.seed = seed
        self.rng = random.Random(seed)
        self.stop_at = time.monotonic() + duration
        self.tag = f"s{seed}"

    def running(self):
        return time.monotonic() < self.stop_at

    def sub_rng(self, name):
        return random.Random(f"{self.seed}/{name}")


def make_payload(topic, tag, seq, rng, pad_max=64):
    head = f"{topic}|{tag}|{seq}|".encode()
    return head + b"x" * rng.randrange(0, pad_max + 1)


def check_topic(conn, topic, payload, filters):
    # Only payloads written by make_payload name their topic (not Wills, retained clears,
    # or what the malformed actor's mutations may have turned into a valid PUBLISH).
    try:
        t = payload.split(b"|", 1)[0].decode() if payload.count(b"|") >= 3 else None
    except UnicodeDecodeError:
        t = None
    if t is not None and t != topic:
        R.bad(f"{conn.name}: got topic {topic!r} for a message published to {t!r}",
              "wrong topic")
    if filters and not any(topic_matches(f, topic) for f, _ in filters):
        R.bad(f"{conn.name}: got topic {topic!r} matching none of {filters}",
              "unmatched topic")


async def sleep_until(ctx, secs):
    await asyncio.sleep(min(secs, max(0.0, ctx.stop_at - time.monotonic())))


async def fresh_start(port, cid, version):
    """Ends any earlier session of `cid` (a clean connect and DISCONNECT)."""
    c = Conn(f"{cid}-fresh", version)
    await c.open(port, cid, clean=True)
    await c.disconnect()


class Durable:
    """A persistent subscriber and a persistent publisher on `chaos/dur/<i>/...`."""

    def __init__(self, ctx, i):
        self.ctx = ctx
        self.i = i
        self.rng = ctx.sub_rng(f"dur{i}")
        self.version = self.rng.choice([4, 5])
        self.pub_version = self.rng.choice([4, 5])
        self.sub_cid = f"chaos-{ctx.tag}-dsub{i}"
        self.pub_cid = f"chaos-{ctx.tag}-dpub{i}"
        self.filters = [(f"chaos/dur/{i}/#", 2)]
        self.sub_session = Session()
        self.pub_session = Session()
        self.received = {}  # payload key -> count
        self.acked = {}  # payload key -> qos
        self.sub = None
        self.pub = None
        self.sub_opened = 0

    def on_msg(self, conn, topic, payload, qos, retain):
        check_topic(conn, topic, payload, self.filters)
        key = payload.split(b"|")[1] + b"|" + payload.split(b"|")[2]
        self.received[key] = self.received.get(key, 0) + 1

    async def open_sub(self, first=False):
        if first:
            await fresh_start(self.ctx.port, self.sub_cid, self.version)
        c = Conn(f"{self.sub_cid}", self.version, self.sub_session, self.on_msg,
                 ack_delay=0.02, rng=self.rng)
        sp = await c.open(self.ctx.port, self.sub_cid, clean=False,
                          expiry=600 if self.version == 5 else None)
        self.sub_opened += 1
        if first:
            await c.subscribe(self.filters)
        elif not sp:
            R.bad(f"{self.sub_cid}: persistent session came back with Session Present 0")
            c.abandon_session()
            await c.subscribe(self.filters)
        else:
            c.resume()
        return c

    async def open_pub(self, first=False):
        if first:
            await fresh_start(self.ctx.port, self.pub_cid, self.pub_version)
        c = Conn(self.pub_cid, self.pub_version, self.pub_session, rng=self.rng)
        sp = await c.open(self.ctx.port, self.pub_cid, clean=False,
                          expiry=600 if self.pub_version == 5 else None)
        if not first and not sp:
            R.bad(f"{self.pub_cid}: persistent session came back with Session Present 0")
            c.abandon_session()
        elif not first:
            c.resume()
        return c

    async def sub_loop(self):
        self.sub = await self.open_sub(first=True)
        while self.ctx.running():
            await sleep_until(self.ctx, self.rng.uniform(0.3, 2.5))
            if not self.ctx.running():
                break
            r = self.rng.random()
            if r < 0.4:  # takeover while traffic is in flight
                old = self.sub
                try:
                    self.sub = await self.open_sub()
                    R.count("takeovers")
                except (OSError, ConnectionError, asyncio.TimeoutError) as e:
                    R.count("reconnect_failures")
                    R.bad(f"{self.sub_cid}: takeover CONNECT failed: {e!r}")
                old.vanish()
                if old.task:
                    old.task.cancel()
            else:  # vanish, stay offline, come back
                self.sub.vanish(rst=self.rng.random() < 0.5)
                R.count("vanished_persistent")
                await asyncio.sleep(self.rng.uniform(0.1, 2.0))
                self.sub = await self.reopen(self.open_sub)
        # leave it offline: the final drain reconnects it
        self.sub.vanish(rst=True)

    async def reopen(self, opener):
        for attempt in range(20):
            try:
                return await opener()
            except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
                R.count("reconnect_failures")
                if attempt == 19:
                    R.bad(f"{self.sub_cid}: could not reconnect: {e!r}")
                    raise
                await asyncio.sleep(0.2)

    async def pub_loop(self):
        # The subscriber must exist (session subscribed) before anything counts.
        while self.sub is None:
            await asyncio.sleep(0.05)
        self.pub = await self.open_pub(first=True)
        seq = 0
        window = []
        next_break = time.monotonic() + self.rng.uniform(0.5, 3.0)
        while self.ctx.running():
            qos = self.rng.choice([1, 2])
            topic = f"chaos/dur/{self.i}/q{qos}/{self.rng.randrange(3)}"
            seq += 1
            tag = f"d{self.i}"
            payload = make_payload(topic, tag, seq, self.rng)
            key = f"{tag}|{seq}".encode()
            fut = self.pub.publish(topic, payload, qos, msg=(key, qos))
            window.append((fut, key, qos))
            if len(window) >= 8:
                await self._settle(window, 0.5)
            await asyncio.sleep(self.rng.uniform(0.005, 0.03))
            if time.monotonic() > next_break:
                next_break = time.monotonic() + self.rng.uniform(0.5, 3.0)
                r = self.rng.random()
                old = self.pub
                if r < 0.5:  # publisher takeover mid-flow
                    self.pub = await self.reopen(self.open_pub)
                    old.vanish()
                    R.count("publisher_takeovers")
                else:
                    old.vanish(rst=r < 0.75)
                    await asyncio.sleep(self.rng.uniform(0.05, 0.8))
                    self.pub = await self.reopen(self.open_pub)
                    R.count("publisher_reconnects")
        # finish every outstanding flow (resuming the session if needed) before counting
        deadline = time.monotonic() + 20
        while self.pub_session.order and time.monotonic() < deadline:
            if not self.pub.alive:
                self.pub = await self.reopen(self.open_pub)
            await self._settle(window, 1.0)
        await self._settle(window, 0.1)
        for fut, key, qos in window:
            if not fut.done():
                R.count("unfinished_publishes")
        await self.pub.disconnect()

    async def _settle(self, window, timeout):
        pend = [f for f, _, _ in window if not f.done()]
        if pend:
            await asyncio.wait(pend, timeout=timeout)
        keep = []
        for fut, key, qos in window:
            if fut.done():
                if fut.result():
                    self.acked[key] = qos
                    R.count(f"acked_q{qos}")
            else:
                keep.append((fut, key, qos))
        window[:] = keep

    async def drain_and_check(self):
        c = await self.reopen(self.open_sub)
        last = -1
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 3.0:
            n = sum(self.received.values())
            if n != last:
                last = n
                quiet_since = time.monotonic()
            await asyncio.sleep(0.2)
        await c.disconnect()
        lost = dup = 0
        for key, qos in self.acked.items():
            n = self.received.get(key, 0)
            if n == 0:
                lost += 1
                if lost <= 5:
                    R.bad(f"{self.sub_cid}: acknowledged QoS {qos} message {key.decode()} "
                          "never delivered")
            elif qos == 2 and n > 1:
                dup += 1
                if dup <= 5:
                    R.bad(f"{self.sub_cid}: QoS 2 message {key.decode()} delivered {n} times")
        R.count("durable_lost", lost)
        R.count("durable_qos2_dups", dup)
        R.count("durable_delivered", sum(self.received.values()))


class Shared:
    """Stable members of `$share/g/chaos/sh/+` and a QoS 1 publisher; chaotic group h."""

    def __init__(self, ctx, members):
        self.ctx = ctx
        self.rng = ctx.sub_rng("shared")
        self.n = members
        self.got = {}  # key -> list of member names
        self.acked = set()
        self.members = []

    def on_msg(self, conn, topic, payload, qos, retain):
        check_topic(conn, topic, payload, [("$share/g/chaos/sh/+", 1)])
        key = payload.split(b"|")[2]
        self.got.setdefault(key, []).append(conn.name)

    async def run(self):
        for m in range(self.n):
            v = 5 if m % 2 == 0 else 4
            c = Conn(f"shared-g{m}", v, on_message=self.on_msg, ack_delay=0.01, rng=self.rng)
            await c.open(self.ctx.port, f"chaos-{self.ctx.tag}-sh{m}", clean=True)
            await c.subscribe([("$share/g/chaos/sh/+", 1)])
            self.members.append(c)
        pub = Conn("shared-pub", 5, rng=self.rng)
        await pub.open(self.ctx.port, f"chaos-{self.ctx.tag}-shpub", clean=True)
        chaotic = asyncio.ensure_future(self.chaotic_h())
        seq = 0
        window = []
        while self.ctx.running():
            seq += 1
            topic = f"chaos/sh/{self.rng.randrange(4)}"
            fut = pub.publish(topic, make_payload(topic, "sh", seq, self.rng), 1)
            window.append((fut, str(seq).encode()))
            if len(window) >= 10:
                await asyncio.wait([f for f, _ in window], timeout=5)
                for f, k in window:
                    if f.done() and f.result():
                        self.acked.add(k)
                window = []
            await asyncio.sleep(self.rng.uniform(0.003, 0.02))
        if window:
            await asyncio.wait([f for f, _ in window], timeout=5)
            for f, k in window:
                if f.done() and f.result():
                    self.acked.add(k)
        await chaotic
        await asyncio.sleep(2.0)
        await pub.disconnect()
        for c in self.members:
            if not c.alive:
                R.bad(f"{c.name}: a stable shared member was disconnected by the broker")
            await c.disconnect()
        R.count("shared_acked", len(self.acked))
        bad_multi = bad_lost = 0
        for k in self.acked:
            who = self.got.get(k, [])
            if not who:
                bad_lost += 1
                if bad_lost <= 5:
                    R.bad(f"shared: acknowledged message {k.decode()} reached no member")
            elif len(who) > 1:
                bad_multi += 1
                if bad_multi <= 5:
                    R.bad(f"shared: message {k.decode()} reached {who}")
        R.count("shared_lost", bad_lost)
        R.count("shared_multi", bad_multi)

    async def chaotic_h(self):
        i = 0
        while self.ctx.running():
            i += 1
            v = self.rng.choice([4, 5])
            c = Conn(f"shared-h{i}", v, rng=self.rng)
            try:
                await c.open(self.ctx.port, f"chaos-{self.ctx.tag}-shh{i % 3}",
                             clean=self.rng.random() < 0.5, expiry=30 if v == 5 else None)
                await c.subscribe([("$share/h/chaos/sh/+", self.rng.choice([0, 1, 2]))])
            except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                R.count("reconnect_failures")
            await sleep_until(self.ctx, self.rng.uniform(0.2, 1.5))
            c.vanish(rst=self.rng.random() < 0.5)
        # clean the persistent h sessions away
        for k in range(3):
            c = Conn("shared-h-clean", 5)
            try:
                await c.open(self.ctx.port, f"chaos-{self.ctx.tag}-shh{k}", clean=True)
                await c.disconnect()
            except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                pass


class Wills:
    """Clients with a Will that vanish (Will expected once) or DISCONNECT (no Will)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.rng = ctx.sub_rng("wills")
        self.expect = {}  # payload -> expected count
        self.got = {}

    def on_msg(self, conn, topic, payload, qos, retain):
        self.got[payload] = self.got.get(payload, 0) + 1

    async def run(self, workers):
        watcher = Conn("will-watcher", 5, on_message=self.on_msg, rng=self.rng)
        await watcher.open(self.ctx.port, f"chaos-{self.ctx.tag}-willw", clean=True)
        await watcher.subscribe([(f"chaos/will/{self.ctx.tag}/#", 1)])
        await asyncio.gather(*[self.worker(w) for w in range(workers)])
        await asyncio.sleep(3.0)
        if not watcher.alive:
            R.bad("will watcher was disconnected")
        await watcher.disconnect()
        for p, n in self.expect.items():
            g = self.got.get(p, 0)
            if g != n:
                R.bad(f"will {p.decode()}: expected {n}, got {g}", f"will {n}/{g}")
                R.count("will_mismatch")
        R.count("wills_expected", sum(self.expect.values()))
        R.count("wills_got", sum(self.got.values()))

    async def worker(self, w):
        i = 0
        while self.ctx.running():
            i += 1
            cid = f"chaos-{self.ctx.tag}-will{w}-{i}"
            v = self.rng.choice([4, 5])
            payload = f"will:{cid}".encode()
            topic = f"chaos/will/{self.ctx.tag}/{w}"
            c = Conn(cid, v, rng=self.rng)
            try:
                await c.open(self.ctx.port, cid, clean=True,
                             will=(topic, payload, 1, False))
            except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                R.count("reconnect_failures")
                continue
            for _ in range(self.rng.randrange(4)):
                t = f"chaos/noise/w{w}"
                c.publish(t, make_payload(t, "w", i, self.rng), self.rng.choice([0, 1, 2]))
            await asyncio.sleep(self.rng.uniform(0.0, 0.3))
            r = self.rng.random()
            if r < 0.3:
                self.expect[payload] = 0
                await c.disconnect()
            else:
                self.expect[payload] = 1
                c.vanish(rst=r < 0.65)
            R.count("will_clients")
            await asyncio.sleep(self.rng.uniform(0.05, 0.3))


class Retained:
    """Sequential QoS 1 retained updates and clears on a few topics."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.rng = ctx.sub_rng("retained")
        self.state = {}

    async def run(self):
        v = self.rng.choice([4, 5])
        c = Conn("retainer", v, rng=self.rng)
        await c.open(self.ctx.port, f"chaos-{self.ctx.tag}-ret", clean=True)
        seq = 0
        while self.ctx.running():
            seq += 1
            topic = f"chaos/ret/{self.ctx.tag}/{self.rng.randrange(6)}"
            clear = self.rng.random() < 0.25
            payload = b"" if clear else make_payload(topic, "ret", seq, self.rng)
            fut = c.publish(topic, payload, 1, retain=True)
            try:
                ok = await asyncio.wait_for(fut, 5)
            except asyncio.TimeoutError:
                R.bad("retainer: no PUBACK within 5 s")
                break
            if ok:
                self.state[topic] = payload or None
                R.count("retained_updates")
            await asyncio.sleep(self.rng.uniform(0.01, 0.1))
        await c.disconnect()

    async def check(self):
        got = {}

        def on_msg(conn, topic, payload, qos, retain):
            if retain:
                got[topic] = payload

        c = Conn("retained-check", 5, on_message=on_msg)
        await c.open(self.ctx.port, f"chaos-{self.ctx.tag}-retc", clean=True)
        await c.subscribe([(f"chaos/ret/{self.ctx.tag}/#", 1)])
        await asyncio.sleep(1.5)
        await c.disconnect()
        for topic, want in self.state.items():
            have = got.get(topic)
            if want != have:
                R.bad(f"retained {topic}: expected {want and want[:40]!r}, got "
                      f"{have and have[:40]!r}")
                R.count("retained_mismatch")


async def wildcard_subscriber(ctx, k):
    """A 3.1.1/5.0 subscriber with overlapping filters, Receive Maximum and Maximum Packet
    Size, acknowledging late; reconnects now and then."""
    rng = ctx.sub_rng(f"wild{k}")
    pool = ["chaos/#", "chaos/+/+/#", "chaos/noise/#", "chaos/alias/+", "+/dur/#",
            "chaos/sh/+", "chaos/ret/#", "chaos/+/1/#", "chaos/alias/#"]
    while ctx.running():
        v = rng.choice([4, 5])
        recv_max = rng.randint(1, 5) if v == 5 else None
        max_packet = rng.choice([None, 200, 512, 4096]) if v == 5 else None
        filters = [(f, rng.choice([0, 1, 2])) for f in rng.sample(pool, rng.randint(1, 3))]

        def on_msg(conn, topic, payload, qos, retain, filters=filters):
            check_topic(conn, topic, payload, filters)
            R.count("wildcard_deliveries")

        c = Conn(f"wild{k}", v, on_message=on_msg, recv_max=recv_max, max_packet=max_packet,
                 ack_delay=0.05, rng=rng)
        try:
            await c.open(ctx.port, f"chaos-{ctx.tag}-wild{k}", clean=True,
                         alias_max=rng.choice([None, 3]) if v == 5 else None)
            await c.subscribe(filters)
        except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            R.count("reconnect_failures")
            await asyncio.sleep(0.5)
            continue
        await sleep_until(ctx, rng.uniform(1.0, 6.0))
        if rng.random() < 0.5 or not ctx.running():
            await c.disconnect()
        else:
            c.vanish(rst=True)


async def noise_publisher(ctx, k):
    """QoS 0/1/2 publishers, 5.0 ones with Topic Aliases and Message Expiry."""
    rng = ctx.sub_rng(f"npub{k}")
    while ctx.running():
        v = rng.choice([4, 5])
        c = Conn(f"npub{k}", v, rng=rng)
        try:
            await c.open(ctx.port, f"chaos-{ctx.tag}-npub{k}", clean=True)
        except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            R.count("reconnect_failures")
            await asyncio.sleep(0.5)
            continue
        aliases = {}
        end = time.monotonic() + rng.uniform(1, 5)
        seq = 0
        while ctx.running() and time.monotonic() < end and c.alive:
            seq += 1
            base = rng.choice(["chaos/noise/a", "chaos/noise/b/1/c", "chaos/alias/x",
                               "chaos/alias/y", "chaos/alias/z", "other/dur/9"])
            qos = rng.choice([0, 1, 2])
            size = rng.choice([16, 100, 300, 1000, 6000])
            payload = make_payload(base, f"n{k}", seq, rng, size)
            pairs = []
            wire = None
            if v == 5:
                if rng.random() < 0.3:
                    pairs.append((0x02, rng.randint(1, 5)))
                if c.alias_max_out and base.startswith("chaos/alias"):
                    if base in aliases:
                        wire = ""
                        pairs.append((0x23, aliases[base]))
                    elif len(aliases) < c.alias_max_out:
                        aliases[base] = len(aliases) + 1
                        pairs.append((0x23, aliases[base]))
            fut = c.publish(base, payload, qos, pairs=pairs, wire_topic=wire)
            if fut is not None and rng.random() < 0.3:
                try:
                    await asyncio.wait_for(fut, 5)
                except asyncio.TimeoutError:
                    pass
            await asyncio.sleep(rng.uniform(0.002, 0.03))
        if rng.random() < 0.5:
            await c.disconnect()
        else:
            c.vanish(rst=rng.random() < 0.5)


def stalled_reader(ctx, k):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect((HOST, ctx.port))
    s.sendall(connect_pkt(f"chaos-{ctx.tag}-stall{k}", 4, True, keepalive=0))
    s.sendall(subscribe_pkt(4, 1, [("chaos/#", k % 3)]))
    return s


def malformed_cases(rng):
    """Byte strings that must make the broker close that one connection."""
    c4 = connect_pkt("chaos-bad", 4, True)
    c5 = connect_pkt("chaos-bad5", 5, True)
    cases = [
        b"\x30\xff\xff\xff\xff\x01",  # 5-byte Remaining Length
        b"\x10\xff\xff\xff\x7f" + b"A" * 10,  # huge first packet
        c4 + b"\x30\xff\xff\xff\x7f" + b"\x00\x01a",  # huge PUBLISH claim
        c4[:7],  # truncated CONNECT then close
        b"\x30\x05\x00\x01a",  # PUBLISH as first packet
        c4 + b"\x36\x05\x00\x01a\x00\x01",  # QoS 3
        c4 + b"\x32\x03\x00\x01a",  # QoS 1 without packet id
        c4 + c4,  # second CONNECT
        c4 + b"\x80\x06\x00\x01\x00\x01a\x01",  # SUBSCRIBE with flags 0000
        c4 + b"\x30\x06\x00\x04\x74\x6f\xed\xa0",  # bad UTF-8 topic (surrogate)
        c4 + b"\x30\x05\x00\x03t\x00p",  # U+0000 in topic
        c4 + b"\x20\x02\x00\x00",  # CONNACK from a client
        c4 + b"\x00\x00",  # packet type 0
        c4 + b"\xc0\x01\x00",  # PINGREQ with a body
        c5 + b"\x30\x07\x00\x01a\x03\xff\x00\x00",  # unknown property
        c5 + b"\x30\x08\x00\x01a\x06\x23\x00\x00\x23\x00\x01",  # alias 0 / dup property
        c5 + b"\x30\x06\x00\x00\x03\x23\x00\x09",  # unknown Topic Alias, empty topic
        c5 + b"\xe0\x02\xff\x00",  # DISCONNECT with a reserved reason code
        c5 + b"\x82\x07\x00\x01\x00\x00\x01a\x03",  # SUBSCRIBE QoS 3
        b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x00",  # length claims 2 bytes more
        b"\x10\x10\x00\x04MQTT\x07\x02\x00\x3c\x00\x04abcd",  # unsupported level 7
    ]
    cases = [(f"case{i}", c) for i, c in enumerate(cases)]
    # valid, so the connection stays: PUBREL of an unknown id gets PUBCOMP 0x92 in 5.0
    cases.append(("valid-pubrel", c5 + b"\x62\x02\x00\x07"))
    # random mutations of valid sequences (may well be valid again)
    base = c5 + subscribe_pkt(5, 3, [("chaos/#", 1)]) + publish_pkt(5, "chaos/m", b"hi", 1, 9)
    for _ in range(8):
        b = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        cases.append(("mutation", bytes(b)))
    cases.append(("noise", bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))))
    return cases


async def malformed_actor(ctx):
    rng = ctx.sub_rng("malformed")
    while ctx.running():
        label, data = rng.choice(malformed_cases(rng))
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(HOST, ctx.port), 5)
        except (OSError, asyncio.TimeoutError):
            R.count("malformed_connect_failures")
            await asyncio.sleep(0.2)
            continue
        try:
            if rng.random() < 0.3:  # truncated: send part, then close
                w.write(data[:rng.randint(1, max(1, len(data) - 1))])
                await w.drain()
            else:
                w.write(data)
                await w.drain()
                # the broker should close; read until EOF, bounded
                try:
                    while await asyncio.wait_for(r.read(4096), 3.0):
                        pass
                    R.count("malformed_closed")
                except asyncio.TimeoutError:
                    R.count("malformed_left_open")
                    R.count(f"malformed_left_open_{label}")
        except (ConnectionError, OSError):
            R.count("malformed_closed")
        finally:
            w.close()
        R.count("malformed_sent")
        await asyncio.sleep(rng.uniform(0.01, 0.1))


async def slowloris(ctx, k):
    """Trickles a CONNECT (Keep Alive 2) and then half a PUBLISH, one byte at a time. Bytes
    that never make a whole Control Packet are not keep-alive traffic: the broker must close
    the connection 1.5 x Keep Alive after the last whole packet [MQTT311-3.1.2-24]."""
    rng = ctx.sub_rng(f"loris{k}")
    ka = 2
    while ctx.running():
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(HOST, ctx.port), 5)
        except (OSError, asyncio.TimeoutError):
            await asyncio.sleep(0.5)
            continue
        conn = connect_pkt(f"chaos-{ctx.tag}-loris{k}", 4, True, keepalive=ka)
        half = publish_pkt(4, "chaos/noise/loris", b"x" * 200, 0)[:-50]
        whole_at = None
        closed = False
        try:
            w.write(conn)  # whole, at once: the keep-alive clock starts here
            await w.drain()
            whole_at = time.monotonic()
            for i in range(len(half)):
                if not ctx.running():
                    break
                w.write(half[i:i + 1])
                await w.drain()
                await asyncio.sleep(rng.uniform(0.05, 0.5))
                if r.at_eof():
                    closed = True
                    break
                try:
                    while await asyncio.wait_for(r.read(4096), 0.001):
                        pass
                    closed = True
                    break
                except asyncio.TimeoutError:
                    pass
        except (ConnectionError, OSError):
            closed = True
        if closed:
            R.count("loris_closed_by_broker")
        elif whole_at and time.monotonic() - whole_at > ka * 1.5 + 3:
            R.count("loris_kept_open")
            if R.counts["loris_kept_open"] == 1:
                R.bad(f"slow-loris: a half PUBLISH trickled for "
                      f"{time.monotonic() - whole_at:.1f} s after CONNECT (Keep Alive {ka} s) "
                      "kept the connection open [MQTT311-3.1.2-24]")
        w.close()


async def round_trip(port, timeout=5.0):
    """A fresh CONNECT / SUBSCRIBE / PUBLISH QoS 1 round trip."""
    got = asyncio.get_event_loop().create_future()

    def on_msg(conn, topic, payload, qos, retain):
        if not got.done():
            got.set_result(payload)

    c = Conn("canary", 5, on_message=on_msg)
    t0 = time.monotonic()
    await c.open(port, "chaos-canary", clean=True, timeout=timeout)
    await c.subscribe([("chaos/canary", 1)], timeout=timeout)
    fut = c.publish("chaos/canary", b"chaos/canary|canary|1|", 1)
    await asyncio.wait_for(fut, timeout)
    await asyncio.wait_for(got, timeout)
    await c.disconnect()
    return time.monotonic() - t0


def proc_stats(pid):
    """(RSS MB, open fds, anonymous RSS MB): the file-backed rest is mostly the binary's own
    code paged in as more paths run, which the kernel can drop at will."""
    rss = anon = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024.0
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1]) / 1024.0
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds, anon


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--log")
    ap.add_argument("--settle", type=float, default=30)
    ap.add_argument("--rss-slack", type=float, default=20)
    ap.add_argument("--fd-slack", type=int, default=8)
    ap.add_argument("--durable", type=int, default=4)
    ap.add_argument("--stalled", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    ctx = Ctx(a.port, a.seed, a.duration)
    start_stats = proc_stats(a.pid) if a.pid else None
    t_start = time.monotonic()

    stalled = []
    for k in range(a.stalled):
        try:
            stalled.append(stalled_reader(ctx, k))
        except OSError as e:
            R.bad(f"stalled reader {k}: {e!r}")
    durables = [Durable(ctx, i) for i in range(a.durable)]
    shared = Shared(ctx, 3)
    wills = Wills(ctx)
    retained = Retained(ctx)
    tasks = []
    for d in durables:
        tasks += [d.sub_loop(), d.pub_loop()]
    tasks += [shared.run(), wills.run(3), retained.run(), malformed_actor(ctx),
              malformed_actor(Ctx(a.port, a.seed + 1000, a.duration))]
    tasks += [wildcard_subscriber(ctx, k) for k in range(4)]
    tasks += [noise_publisher(ctx, k) for k in range(3)]
    tasks += [slowloris(ctx, k) for k in range(2)]

    async def canary_during():
        while ctx.running():
            await asyncio.sleep(5)
            try:
                dt = await round_trip(a.port, 5)
                R.counts["canary_max_ms"] = max(R.counts.get("canary_max_ms", 0),
                                                int(dt * 1000))
            except (OSError, ConnectionError, asyncio.TimeoutError,
                    asyncio.IncompleteReadError) as e:
                R.bad(f"canary round trip failed during the soak: {e!r}")

    tasks.append(canary_during())
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for res in results:
        if isinstance(res, BaseException):
            R.bad(f"actor failed: {res!r}")
    for d in durables:
        try:
            await d.drain_and_check()
        except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
            R.bad(f"{d.sub_cid}: final drain failed: {e!r}")
    try:
        await retained.check()
    except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
        R.bad(f"retained check failed: {e!r}")
    for s in stalled:
        s.close()
    try:
        dt = await round_trip(a.port, 5)
        R.counts["final_round_trip_ms"] = int(dt * 1000)
    except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
        R.bad(f"broker not answering a fresh round trip after the soak: {e!r}")
    # end the persistent sessions so that memory can come back
    for d in durables:
        for cid, v in ((d.sub_cid, d.version), (d.pub_cid, d.pub_version)):
            try:
                c = Conn("cleanup", v)
                await c.open(a.port, cid, clean=True)
                await c.disconnect()
            except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                pass
    R.counts["soak_seconds"] = int(time.monotonic() - t_start)
    if a.pid:
        await asyncio.sleep(a.settle)
        try:
            end_stats = proc_stats(a.pid)
        except OSError:
            R.bad("broker process is gone")
            end_stats = None
        if end_stats:
            R.counts["rss_start_mb"] = round(start_stats[0], 1)
            R.counts["rss_end_mb"] = round(end_stats[0], 1)
            R.counts["fds_start"] = start_stats[1]
            R.counts["fds_end"] = end_stats[1]
            R.counts["rss_anon_start_mb"] = round(start_stats[2], 1)
            R.counts["rss_anon_end_mb"] = round(end_stats[2], 1)
            if end_stats[0] - start_stats[0] > a.rss_slack:
                R.bad(f"RSS {end_stats[0]:.1f} MB {a.settle:.0f} s after the end, "
                      f"{start_stats[0]:.1f} MB at the start")
            if end_stats[1] - start_stats[1] > a.fd_slack:
                R.bad(f"{end_stats[1]} open fds after the end, {start_stats[1]} at the start")
    if a.log:
        with open(a.log, errors="replace") as f:
            for n, line in enumerate(f, 1):
                if "panicked" in line or "RUST_BACKTRACE" in line:
                    R.bad(f"panic in the broker log, line {n}: {line.strip()[:200]}")
                    break
    out = {"seed": a.seed, "duration": a.duration, "counts": dict(sorted(R.counts.items())),
           "violations": R.violations}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"seed {a.seed}, {a.duration:.0f} s")
        for k, v in sorted(R.counts.items()):
            print(f"  {k}: {v}")
        for v in R.violations:
            print(f"  VIOLATION: {v}")
        print("  OK" if not R.violations else f"  {len(R.violations)} violation(s)")
    return 1 if R.violations else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
