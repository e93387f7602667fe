#!/usr/bin/env python3
"""Writes tests/conformance/cases.jsonl, the byte-level conformance table.

Run from the repository root:  python3 tests/conformance/generate.py
The output is committed; `cargo test --test integration conformance` plays it against the
broker. Every case is derived systematically from a rule of MQTT 3.1, 3.1.1 or 5.0 (the
expected bytes are what the standard demands; where it leaves a choice, the broker's
documented choice). Where the broker deviates from the standard, the case carries `skip`
with the reason, so that it is listed as a known failure instead of encoding the wrong
behaviour. See tests/conformance/README.md for the format.
"""

import json
import os
import sys

V31, V311, V5 = "3.1", "3.1.1", "5.0"
VERSIONS = [V31, V311, V5]
LEVEL = {V31: 3, V311: 4, V5: 5}

# The CONNACK of the default broker configuration: MQTT 5 announces Receive Maximum 1024
# and Topic Alias Maximum 10.
CONNACK_OK = {V31: "20 02 00 00", V311: "20 02 00 00", V5: "20 09 00 00 06 21 04 00 22 00 0a"}
# Preludes only need to know the CONNECT was accepted.
CONNACK_ANY_OK = {V31: "20 02 00 00", V311: "20 02 00 00", V5: "20 ?? 00 00 .."}

cases = []
counter = [0]


def uid():
    counter[0] += 1
    return f"{counter[0]:05d}"


# ---------------------------------------------------------------- encoding helpers


def vbi(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            b |= 0x80
        out.append(b)
        if not n:
            return bytes(out)


def u16(n):
    return n.to_bytes(2, "big")


def u32(n):
    return n.to_bytes(4, "big")


def s(x):
    if isinstance(x, str):
        x = x.encode()
    return u16(len(x)) + x


def pkt(first, body):
    return bytes([first]) + vbi(len(body)) + body


def hx(b):
    """Hex with runs of 8 or more equal bytes written as `xx*N`."""
    out = []
    i = 0
    while i < len(b):
        j = i
        while j < len(b) and b[j] == b[i]:
            j += 1
        if j - i >= 8:
            out.append(f"{b[i]:02x}*{j - i}")
        else:
            out.extend(f"{x:02x}" for x in b[i:j])
        i = j
    return " ".join(out)


def props(*items):
    body = b"".join(items)
    return vbi(len(body)) + body


def connect(v, cid, flags=0x02, ka=60, cprops=b"", will=None, user=None, pw=None, name=None, level=None):
    """CONNECT; `will` is (props, topic, payload); fields follow the flags given."""
    if name is None:
        name = "MQIsdp" if v == V31 else "MQTT"
    if level is None:
        level = LEVEL[v]
    body = s(name) + bytes([level, flags]) + u16(ka)
    if v == V5:
        body += vbi(len(cprops)) + cprops
    body += s(cid)
    if will is not None:
        wprops, wtopic, wpayload = will
        if v == V5:
            body += vbi(len(wprops)) + wprops
        body += s(wtopic) + s(wpayload)
    if user is not None:
        body += s(user)
    if pw is not None:
        body += s(pw)
    return pkt(0x10, body)


def publish(v, topic, payload=b"x", qos=0, pkid=1, pprops=b"", dup=False, retain=False):
    body = s(topic)
    if qos:
        body += u16(pkid)
    if v == V5:
        body += vbi(len(pprops)) + pprops
    body += payload if isinstance(payload, bytes) else payload.encode()
    return pkt(0x30 | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0), body)


def subscribe(v, pkid, filters, sprops=b""):
    """filters: list of (filter, options byte)."""
    body = u16(pkid)
    if v == V5:
        body += vbi(len(sprops)) + sprops
    for f, o in filters:
        body += s(f) + bytes([o])
    return pkt(0x82, body)


def unsubscribe(v, pkid, filters, uprops=b""):
    body = u16(pkid)
    if v == V5:
        body += vbi(len(uprops)) + uprops
    for f in filters:
        body += s(f)
    return pkt(0xA2, body)


def ack(kind, pkid, reason=None, aprops=None):
    first = {"puback": 0x40, "pubrec": 0x50, "pubrel": 0x62, "pubcomp": 0x70}[kind]
    body = u16(pkid)
    if reason is not None:
        body += bytes([reason])
    if aprops is not None:
        body += aprops
    return pkt(first, body)


# ---------------------------------------------------------------- what the server sends


def suback(v, pkid, codes):
    if v == V5:
        return hx(pkt(0x90, u16(pkid) + b"\x00" + bytes(codes)))
    return hx(pkt(0x90, u16(pkid) + bytes(codes)))


def unsuback(v, pkid, codes=None):
    if v == V5:
        return hx(pkt(0xB0, u16(pkid) + b"\x00" + bytes(codes or [0x11])))
    return hx(pkt(0xB0, u16(pkid)))


def puback_out(v, pkid, subscribers=False):
    """PUBACK the broker sends: MQTT 5 says 0x10 when no subscription matched."""
    if v == V5 and not subscribers:
        return hx(pkt(0x40, u16(pkid) + b"\x10"))
    return hx(pkt(0x40, u16(pkid)))


def pubrec_out(pkid):
    return hx(pkt(0x50, u16(pkid)))


def pubrel_out(v, pkid, reason=0):
    if v == V5 and reason:
        return hx(pkt(0x62, u16(pkid) + bytes([reason])))
    return hx(pkt(0x62, u16(pkid)))


def pubcomp_out(v, pkid, reason=0):
    if v == V5 and reason:
        return hx(pkt(0x70, u16(pkid) + bytes([reason])))
    return hx(pkt(0x70, u16(pkid)))


def fwd(v, topic, payload=b"x", qos=0, pkid=1, retain=False, fprops=b"", dup=False):
    """A PUBLISH the broker forwards."""
    return hx(publish(v, topic, payload, qos, pkid, fprops, dup=dup, retain=retain))


# ---------------------------------------------------------------- steps


def send(b, on=0):
    st = {"send": hx(b)}
    if on:
        st["on"] = on
    return st


def expect(p, on=0):
    st = {"expect": p}
    if on:
        st["on"] = on
    return st


def close(allowed=(), on=0):
    st = {"close": list(allowed)}
    if on:
        st["on"] = on
    return st


def barrier(v, on=0):
    """UNSUBSCRIBE of a filter never subscribed, answered by UNSUBACK. The UNSUBACK comes from
    the broker's router, after everything the connection sent before it was routed (PINGRESP
    would not do: the connection answers PINGREQ itself and can overtake a delivery)."""
    return [send(unsubscribe(v, 0xBEEF, ["barrier/none"]), on), expect(unsuback(v, 0xBEEF), on)]


def prelude(v, cid, on=0, **kw):
    return [send(connect(v, cid, **kw), on), expect(CONNACK_ANY_OK[v], on)]


def fail(v, rc, on=0):
    """A packet after CONNECT that must close the connection; MQTT 5 says why first."""
    if v == V5:
        return [expect(f"e0 02 {rc:02x} 00", on), close((), on)]
    return [close((), on)]


def fail_any(v, rcs, on=0):
    """Like `fail`, when the standard allows more than one reason code."""
    if v == V5:
        return [close([f"e0 02 {rc:02x} 00" for rc in rcs], on)]
    return [close((), on)]


def refuse_connect(v, rcs=(0x81,)):
    """A CONNECT that is not accepted: closed, MQTT 5 may send a CONNACK with the reason."""
    if v == V5:
        return [close([f"20 03 00 {rc:02x} 00" for rc in rcs])]
    return [close(())]


def cite(v, *ids):
    """Clause ids for a case: 3.1 cases cite 3.1.1 statements (3.1 has no numbered ones)."""
    out = []
    for i in ids:
        if i.startswith("§"):
            out.append(("MQTT5 " if v == V5 else "MQTT311 ") + i)
        else:
            out.append(f"[MQTT5-{i}]" if v == V5 else f"[MQTT311-{i}]")
    return " ".join(out)


def add(v, cat, name, clause, title, steps, skip=None, group=None, broker=None):
    case = {"id": f"{v}/{cat}/{name}", "v": v, "clause": clause, "title": title, "steps": steps}
    if skip:
        case["skip"] = skip
    if group:
        case["group"] = group
    if broker:
        case["broker"] = broker
    cases.append(case)


MALFORMED, PROTOCOL = 0x81, 0x82
TYPE_NAMES = ["reserved-0", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
              "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"]

# ---------------------------------------------------------------- 1. fixed-header flags


def gen_header_flags():
    for v in VERSIONS:
        for t in range(16):
            for f in range(16):
                n = uid()
                cid = "hf" + n
                first = (t << 4) | f
                name = f"{TYPE_NAMES[t].lower()}-flags-{f:04b}"
                pre = prelude(v, cid)
                title = f"{TYPE_NAMES[t]} with fixed-header flags {f:04b}"
                if t == 0:
                    add(v, "header", name, cite(v, "§2.1.2" if v == V5 else "§2.2.1", "4.13.1-1" if v == V5 else "4.8.0-1"),
                        title + ": reserved packet type, malformed", pre + [send(bytes([first, 0]))] + fail(v, MALFORMED))
                elif t == 1:
                    body = connect(v, cid)[2:]
                    steps = pre + [send(pkt(first, body))]
                    steps += fail(v, PROTOCOL) if f == 0 else fail_any(v, [MALFORMED, PROTOCOL])
                    add(v, "header", name, cite(v, "3.1.0-2", *(["3.2.0-2", "3.14.4-1", "4.13.2-1"] if v == V5 else [])),
                        title + ": a second CONNECT is a protocol violation", steps)
                elif t in (2, 9, 11, 13):
                    bodies = {2: b"\x00\x00", 9: b"\x00\x01\x00", 11: b"\x00\x01", 13: b""}
                    if v == V5:
                        bodies = {2: b"\x00\x00\x00", 9: b"\x00\x01\x00\x00", 11: b"\x00\x01\x00\x00", 13: b""}
                    steps = pre + [send(pkt(first, bodies[t]))]
                    steps += fail(v, PROTOCOL) if f == 0 else fail_any(v, [MALFORMED, PROTOCOL])
                    add(v, "header", name, cite(v, "§2.1.2" if v == V5 else "§2.2.1", "4.13.1-1" if v == V5 else "4.8.0-1"),
                        title + ": a server-to-client packet sent by a client", steps)
                elif t == 3:
                    dup, qos, retain = bool(f & 8), (f >> 1) & 3, bool(f & 1)
                    topic = f"hf/{n}"
                    body = s(topic) + (u16(1) if qos in (1, 2, 3) else b"") + (b"\x00" if v == V5 else b"") + b"x"
                    steps = pre + [send(pkt(first, body))]
                    if qos == 3:
                        add(v, "header", name, cite(v, "3.3.1-4"), title + ": QoS 3 is malformed", steps + fail(v, MALFORMED))
                    elif dup and qos == 0:
                        add(v, "header", name, cite(v, "3.3.1-2", "4.13.1-1" if v == V5 else "4.8.0-1"),
                            title + ": DUP on a QoS 0 PUBLISH", steps + fail(v, MALFORMED))
                    elif qos == 0:
                        add(v, "header", name, cite(v, "3.3.4-1", "4.3.1-1"), title + ": QoS 0 gets no response",
                            steps + barrier(v))
                    elif qos == 1:
                        add(v, "header", name, cite(v, "3.3.4-1", *(["4.3.2-4", "3.4.2-1"] if v == V5 else ["4.3.2-2"])),
                            title + ": QoS 1 gets PUBACK", steps + [expect(puback_out(v, 1))])
                    else:
                        add(v, "header", name, cite(v, "3.3.4-1", *(["4.3.3-8", "3.5.2-1", "3.7.2-1"] if v == V5 else ["4.3.3-2"])),
                            title + ": QoS 2 gets PUBREC, PUBREL gets PUBCOMP",
                            steps + [expect(pubrec_out(1)), send(ack("pubrel", 1)), expect(pubcomp_out(v, 1))])
                elif t in (4, 5, 6, 7):
                    kind = {4: "puback", 5: "pubrec", 6: "pubrel", 7: "pubcomp"}[t]
                    good = 2 if t == 6 else 0
                    steps = pre + [send(pkt(first, u16(9)))]
                    if f != good:
                        ids = {6: "3.6.1-1"}.get(t, "2.1.3-1" if v == V5 else "2.2.2-2")
                        add(v, "header", name, cite(v, ids, *([] if v == V5 else ["2.2.2-1"])), title + ": invalid flags are malformed",
                            steps + fail(v, MALFORMED))
                    elif kind == "puback" or kind == "pubcomp":
                        add(v, "header", name, cite(v, "§4.3.2" if kind == "puback" else "§4.3.3"),
                            title + ": an acknowledgement of an unknown identifier is ignored", steps + barrier(v))
                    elif kind == "pubrec":
                        add(v, "header", name, cite(v, "3.6.2-1" if v == V5 else "4.3.3-1"),
                            title + ": PUBREC of an unknown identifier gets PUBREL" + (" 0x92" if v == V5 else ""),
                            steps + [expect(pubrel_out(v, 9, 0x92))])
                    else:
                        add(v, "header", name, cite(v, "3.7.2-1" if v == V5 else "4.3.3-2"),
                            title + ": PUBREL of an unknown identifier gets PUBCOMP" + (" 0x92" if v == V5 else ""),
                            steps + [expect(pubcomp_out(v, 9, 0x92))])
                elif t == 8:
                    body = u16(1) + (b"\x00" if v == V5 else b"") + s(f"hf/{n}") + b"\x01"
                    steps = pre + [send(pkt(first, body))]
                    if f == 2:
                        add(v, "header", name, cite(v, "3.8.4-1", "3.8.4-2"), title + ": SUBACK",
                            steps + [expect(suback(v, 1, [1]))])
                    else:
                        add(v, "header", name, cite(v, "3.8.1-1"), title + ": invalid flags are malformed",
                            steps + fail(v, MALFORMED))
                elif t == 10:
                    body = u16(1) + (b"\x00" if v == V5 else b"") + s(f"hf/{n}")
                    steps = pre + [send(pkt(first, body))]
                    if f == 2:
                        add(v, "header", name, cite(v, "3.10.4-4", "3.10.4-5"), title + ": UNSUBACK even with nothing to delete",
                            steps + [expect(unsuback(v, 1))])
                    else:
                        add(v, "header", name, cite(v, "3.10.1-1"), title + ": invalid flags are malformed",
                            steps + fail(v, MALFORMED))
                elif t == 12:
                    steps = pre + [send(bytes([first, 0]))]
                    if f == 0:
                        add(v, "header", name, cite(v, "3.12.4-1"), title + ": PINGRESP", steps + [expect("d0 00")])
                    else:
                        add(v, "header", name, cite(v, "2.1.3-1" if v == V5 else "2.2.2-2"),
                            title + ": invalid flags are malformed", steps + fail(v, MALFORMED))
                elif t == 14:
                    steps = pre + [send(bytes([first, 0]))]
                    if f == 0:
                        if v == V5:
                            add(v, "header", name, cite(v, "§3.14.4"), title + ": a normal DISCONNECT closes silently",
                                steps + [close(())])
                        else:
                            # A valid and an invalid DISCONNECT both end in a silent close for
                            # 3.x, so the valid one is shown by the absence of anything else
                            # (the invalid ones below are the cases that can fail).
                            add(v, "header", name, cite(v, "§3.14.4"), title + ": the server closes, sending nothing",
                                steps + [close(())])
                    else:
                        add(v, "header", name, cite(v, "3.14.1-1"), title + ": invalid flags are malformed",
                            steps + fail(v, MALFORMED))
                else:  # 15
                    if v != V5:
                        add(v, "header", name, cite(v, "§2.2.1", "4.8.0-1"), title + ": packet type 15 is reserved in 3.x",
                            pre + [send(bytes([first, 0]))] + fail(v, MALFORMED))
                    elif f == 0:
                        add(v, "header", name, cite(v, "4.12.0-7", "4.13.1-1"),
                            title + ": AUTH without an Authentication Method in CONNECT is a protocol error",
                            pre + [send(bytes([first, 2, 0, 0]))] + fail(v, PROTOCOL))
                    else:
                        add(v, "header", name, cite(v, "3.15.1-1"), title + ": invalid flags are malformed",
                            pre + [send(bytes([first, 2, 0, 0]))] + fail(v, MALFORMED))


# ---------------------------------------------------------------- 2. CONNECT flags


def gen_connect_flags():
    for v in VERSIONS:
        for flags in range(256):
            n = uid()
            cid = "cf" + n
            reserved = flags & 1
            clean = bool(flags & 2)
            will = bool(flags & 4)
            wqos = (flags >> 3) & 3
            wret = bool(flags & 0x20)
            pwf = bool(flags & 0x40)
            userf = bool(flags & 0x80)
            w = (b"", f"will/{n}", b"bye") if will else None
            b = connect(v, cid, flags=flags, will=w, user="u" if userf else None, pw=b"p" if pwf else None)
            name = f"flags-{flags:08b}"
            title = f"CONNECT flags {flags:08b}"
            if reserved:
                add(v, "connect-flags", name, cite(v, "3.1.2-3", "3.1.4-1", "3.14.0-1" if v == V5 else "3.2.2-6"),
                    title + ": reserved bit set",
                    [send(b)] + refuse_connect(v))
            elif not will and (wqos or wret):
                ids = ["3.1.2-11"] + (["3.1.2-13"] if wqos else []) + (["3.1.2-15" if v != V5 else "3.1.2-13"] if wret else [])
                if v != V5 and wqos:
                    ids = ["3.1.2-11", "3.1.2-13"] + (["3.1.2-15"] if wret else [])
                if v == V5:
                    ids = (["3.1.2-11"] if wqos else []) + (["3.1.2-13"] if wret else [])
                add(v, "connect-flags", name, cite(v, *ids), title + ": will QoS or retain without a will",
                    [send(b)] + refuse_connect(v))
            elif will and wqos == 3:
                add(v, "connect-flags", name, cite(v, "3.1.2-12" if v == V5 else "3.1.2-14"), title + ": will QoS 3",
                    [send(b)] + refuse_connect(v))
            elif v != V5 and pwf and not userf:
                add(v, "connect-flags", name, cite(v, "3.1.2-22"), title + ": password without a user name",
                    [send(b)] + refuse_connect(v))
            else:
                ids = ["3.1.4-5" if v == V5 else "3.1.4-4", ("3.2.2-2" if v == V5 else "3.2.2-1") if clean else "3.2.2-3"]
                if v == V5:
                    ids += ["3.2.2-1", "3.1.4-4", "3.1.2-4" if clean else "3.1.2-6", "4.12.0-6"]
                else:
                    ids += ["3.1.4-3", "3.1.2-6" if clean else "3.1.2-4"]
                if will:
                    ids.append("3.1.2-9")
                if userf:
                    ids.append("3.1.2-17" if v == V5 else "3.1.2-19")
                if pwf:
                    ids.append("3.1.2-19" if v == V5 else "3.1.2-21")
                add(v, "connect-flags", name, cite(v, *ids), title + ": accepted, Session Present 0",
                    [send(b), expect(CONNACK_OK[v]), send(b"\xe0\x00"), close(())])


# ---------------------------------------------------------------- 3. CONNECT names, levels, ids


def gen_connect_misc():
    table = [
        ("MQTT", 4, V311, "ok"), ("MQIsdp", 3, V31, "ok"), ("MQTT", 5, V5, "ok"),
        ("MQTT", 3, V311, "level"), ("MQTT", 6, V311, "level"), ("MQTT", 0, V311, "level"),
        ("MQTT", 2, V311, "level"), ("MQTT", 255, V311, "level"), ("MQTT", 0x84, V311, "level"),
        ("MQIsdp", 4, V311, "level"), ("MQIsdp", 5, V311, "level"), ("MQIsdp", 1, V311, "level"),
        ("MQTT", 6, V5, "level5"), ("MQTT", 0x85, V5, "level5"), ("MQTT", 7, V5, "level5"),
        ("mqtt", 4, V311, "name"), ("MQTT ", 4, V311, "name"), ("MQTTT", 4, V311, "name"),
        ("", 4, V311, "name"), ("HTTP", 4, V311, "name"), ("MQIsdP", 3, V31, "name"), ("MQ", 4, V311, "name"),
        ("mqtt", 5, V5, "name5"), ("MQTT5", 5, V5, "name5"), ("", 5, V5, "name5"),
    ]
    for nm, lvl, v, kind in table:
        n = uid()
        b = connect(v, "pn" + n, name=nm, level=lvl) if kind != "level5" else \
            pkt(0x10, s(nm) + bytes([lvl, 2]) + u16(60) + b"\x00" + s("pn" + n))
        name = f"protocol-{(nm or 'empty').replace(' ', '_')}-{lvl}"
        if kind == "ok":
            add(v, "connect", name, cite(v, "3.1.4-5" if v == V5 else "3.1.4-4", "3.2.0-1", *(["4.2.0-1"] if v == V5 else ["7.1.1-1"])),
                f"CONNECT {nm!r} level {lvl}: accepted", [send(b), expect(CONNACK_OK[v])])
        elif kind == "level":
            add(v, "connect", name, cite(v, "3.1.2-2"), f"CONNECT {nm!r} level {lvl}: CONNACK 0x01, then close",
                [send(b), expect("20 02 00 01"), close(())])
        elif kind == "level5":
            add(v, "connect", name, cite(v, "3.1.2-2"),
                f"CONNECT {nm!r} level {lvl}: refused (3.1.1-style 0x01 or 0x84), then close",
                [send(b), close(["20 02 00 01", "20 03 00 84 00"])])
        elif kind == "name":
            add(v, "connect", name, cite(v, "3.1.2-1", "3.1.4-1"),
                f"CONNECT protocol name {nm!r}: closed without CONNACK", [send(b), close(())])
        else:
            add(v, "connect", name, cite(v, "3.1.2-1"),
                f"CONNECT protocol name {nm!r}: closed, at most CONNACK 0x84", [send(b), close(["20 03 00 84 00"])])
    # Client identifiers.
    for v in VERSIONS:
        n = uid()
        ok23 = "abcdefghijklmnopqrstuvw"[: 23 - len(n)] + n
        add(v, "connect", "client-id-23-alphanumeric", cite(v, "3.1.3-5"),
            "a 23-character [0-9a-zA-Z] client identifier is accepted",
            [send(connect(v, ok23)), expect(CONNACK_OK[v])])
        n = uid()
        add(v, "connect", "client-id-first-field", cite(v, "3.1.3-3", "3.1.3-1"),
            "client identifier, will topic, will message, user name, password in that order",
            [send(connect(v, "ord" + n, flags=0xC6, will=(b"", "w/" + n, b"m"), user="u", pw=b"p")),
             expect(CONNACK_OK[v]), send(b"\xe0\x00"), close(())])
    add(V311, "connect", "empty-client-id-clean", cite(V311, "3.1.3-6"),
        "zero-length client identifier with CleanSession 1: accepted",
        [send(connect(V311, "", flags=2)), expect("20 02 00 00")])
    add(V311, "connect", "empty-client-id-not-clean", cite(V311, "3.1.3-8", "3.2.2-4", "3.2.2-5"),
        "zero-length client identifier with CleanSession 0: CONNACK 0x02 and close",
        [send(connect(V311, "", flags=0)), expect("20 02 00 02"), close(())])
    add(V31, "connect", "empty-client-id", cite(V31, "3.1.3-9", "3.2.2-5"),
        "MQTT 3.1 requires a client identifier of 1 to 23 characters: CONNACK 0x02 and close",
        [send(connect(V31, "", flags=2)), expect("20 02 00 02"), close(())])
    for flags in (0, 2):
        add(V5, "connect", f"empty-client-id-clean-{flags >> 1}", cite(V5, "3.1.3-6", "3.1.3-7"),
            f"zero-length client identifier (Clean Start {flags >> 1}): accepted with an Assigned Client Identifier",
            [send(connect(V5, "", flags=flags)), expect("20 35 00 00 32 12 00 29 61 75 74 6f 2d ..")])
    # A first packet other than CONNECT.
    firsts = {2: b"\x20\x02\x00\x00", 3: publish(V311, "a"), 4: b"\x40\x02\x00\x01", 5: b"\x50\x02\x00\x01",
              6: b"\x62\x02\x00\x01", 7: b"\x70\x02\x00\x01", 8: subscribe(V311, 1, [("a", 0)]),
              9: b"\x90\x03\x00\x01\x00", 10: unsubscribe(V311, 1, ["a"]), 11: b"\xb0\x02\x00\x01",
              12: b"\xc0\x00", 13: b"\xd0\x00", 14: b"\xe0\x00", 15: b"\xf0\x00", 0: b"\x00\x00"}
    for v in (V311, V5):
        for t, b in firsts.items():
            if v == V5:
                b = {3: publish(V5, "a"), 8: subscribe(V5, 1, [("a", 0)]), 10: unsubscribe(V5, 1, ["a"]),
                     4: b"\x40\x03\x00\x01\x00", 14: b"\xe0\x01\x00", 15: b"\xf0\x02\x00\x00"}.get(t, b)
            add(v, "first-packet", TYPE_NAMES[t].lower(), cite(v, "3.1.0-1", *(["4.13.1-1", "3.14.0-1"] if v == V5 else ["4.8.0-1"])),
                f"{TYPE_NAMES[t]} as the first packet: closed without a response", [send(b), close(())])
    # The CONNECT size cap and a declared maximum before CONNECT.
    for v in (V311, V5):
        add(v, "first-packet", "connect-declares-268435455", cite(v, "§2.2.3" if v != V5 else "§1.5.5"),
            "a first packet declaring the largest Remaining Length is refused before it is buffered",
            [send(b"\x10\xff\xff\xff\x7f"), close(())])
        add(v, "first-packet", "connect-declares-100001", cite(v, "§2.2.3" if v != V5 else "§1.5.5"),
            "a CONNECT over the broker's 100,000-byte CONNECT cap is refused before it is buffered",
            [send(b"\x10" + vbi(100_001)), close(())])


# ---------------------------------------------------------------- 4. remaining length


def gen_remaining_length():
    for v in VERSIONS:
        c5 = v == V5
        clause_min = cite(v, "1.5.5-1") if c5 else cite(v, "§2.2.3")
        note = "" if c5 else " (3.1.1 numbers no rule; the broker refuses, like mosquitto)"
        nonmin = [
            ("pingreq-0-as-2", b"\xc0\x80\x00"), ("pingreq-0-as-3", b"\xc0\x80\x80\x00"),
            ("pingreq-0-as-4", b"\xc0\x80\x80\x80\x00"),
            ("puback-2-as-2", b"\x40\x82\x00\x00\x01"), ("pubrec-2-as-2", b"\x50\x82\x00\x00\x01"),
            ("pubrel-2-as-2", b"\x62\x82\x00\x00\x01"), ("pubcomp-2-as-2", b"\x70\x82\x00\x00\x01"),
            ("disconnect-0-as-2", b"\xe0\x80\x00"),
        ]
        for name, b in nonmin:
            n = uid()
            add(v, "remaining-length", "non-minimal-" + name, clause_min,
                f"a non-minimal Remaining Length is malformed{note}", prelude(v, "rl" + n) + [send(b)] + fail(v, MALFORMED))
        for k in (2, 3, 4):
            n = uid()
            p = publish(v, f"rl/{n}", qos=1)
            body = p[2:]
            ln = bytearray(vbi(len(body)))
            ln[-1] |= 0x80
            ln += b"\x80" * (k - 2) + b"\x00"
            add(v, "remaining-length", f"non-minimal-publish-{len(body)}-as-{k}", clause_min,
                f"PUBLISH with a {k}-byte encoding of a small Remaining Length{note}",
                prelude(v, "rl" + n) + [send(bytes([p[0]]) + bytes(ln) + body)] + fail(v, MALFORMED))
        for k in (2, 3, 4):
            n = uid()
            sb = subscribe(v, 1, [(f"rl/{n}", 0)])
            body = sb[2:]
            ln = bytearray(vbi(len(body)))
            ln[-1] |= 0x80
            ln += b"\x80" * (k - 2) + b"\x00"
            add(v, "remaining-length", f"non-minimal-subscribe-as-{k}", clause_min,
                f"SUBSCRIBE with a {k}-byte encoding of a small Remaining Length{note}",
                prelude(v, "rl" + n) + [send(bytes([sb[0]]) + bytes(ln) + body)] + fail(v, MALFORMED))
        n = uid()
        cb = connect(v, "rl" + n)
        add(v, "remaining-length", "non-minimal-connect", clause_min,
            f"a CONNECT with a non-minimal Remaining Length is refused{note}",
            [send(bytes([0x10, (cb[1] | 0x80), 0x00]) + cb[2:])] + refuse_connect(v))
        five = [
            ("pingreq", b"\xc0\x80\x80\x80\x80\x00"), ("publish-ff", b"\x30\xff\xff\xff\xff\x01"),
            ("publish-80", b"\x30\x80\x80\x80\x80\x01"), ("subscribe", b"\x82\xff\xff\xff\xff\x7f"),
            ("puback", b"\x40\x82\x80\x80\x80\x00"),
        ]
        for name, b in five:
            n = uid()
            add(v, "remaining-length", "five-bytes-" + name, cite(v, "§1.5.5" if c5 else "§2.2.3", "4.13.1-1" if c5 else "4.8.0-1"),
                "a Remaining Length of five bytes is malformed", prelude(v, "rl" + n) + [send(b)] + fail(v, MALFORMED))
        n = uid()
        add(v, "remaining-length", "five-bytes-connect", cite(v, "§1.5.5" if c5 else "§2.2.3", "3.1.4-1"),
            "a CONNECT with a five-byte Remaining Length is refused", [send(b"\x10\x80\x80\x80\x80\x01")] + refuse_connect(v))
        # Exact boundaries of the one- to four-byte encodings: a PUBLISH whose Remaining
        # Length is exactly the edge value is accepted.
        edges = [0x7F, 0x80, 0x3FFF, 0x4000]
        if v != V31:
            edges += [0x1FFFFF, 0x200000]
        for edge in edges:
            n = uid()
            topic = f"rl/{n}"
            head = len(s(topic)) + 2 + (1 if c5 else 0)
            p = publish(v, topic, b"y" * (edge - head), qos=1, pkid=7)
            assert len(p) - 1 - len(vbi(edge)) == edge
            add(v, "remaining-length", f"edge-{edge}", cite(v, "§1.5.5" if c5 else "§2.2.3", "3.3.4-1"),
                f"a PUBLISH with Remaining Length exactly {edge} ({len(vbi(edge))}-byte encoding) is accepted",
                prelude(v, "rl" + n) + [send(p), expect(puback_out(v, 7))])
        if c5:
            n = uid()
            add(v, "remaining-length", "non-minimal-property-length", cite(v, "1.5.5-1"),
                "a non-minimal Property Length is malformed",
                prelude(v, "rl" + n) + [send(pkt(0x32, s(f"rl/{n}") + u16(1) + b"\x80\x00x"))] + fail(v, MALFORMED))
            n = uid()
            add(v, "remaining-length", "non-minimal-subscription-identifier", cite(v, "1.5.5-1"),
                "a non-minimal Subscription Identifier is malformed",
                prelude(v, "rl" + n) + [send(subscribe(v, 1, [(f"rl/{n}", 0)], sprops=b"\x0b\x81\x00"))] + fail(v, MALFORMED))
            n = uid()
            add(v, "remaining-length", "five-byte-property-length", cite(v, "§1.5.5", "4.13.1-1"),
                "a five-byte Property Length is malformed",
                prelude(v, "rl" + n) + [send(pkt(0x32, s(f"rl/{n}") + u16(1) + b"\x80\x80\x80\x80\x01x"))] + fail(v, MALFORMED))
            n = uid()
            add(v, "remaining-length", "property-length-beyond-packet", cite(v, "§2.2.2.1", "4.13.1-1"),
                "a Property Length longer than the packet is malformed",
                prelude(v, "rl" + n) + [send(pkt(0x32, s(f"rl/{n}") + u16(1) + b"\x09x"))] + fail(v, MALFORMED))


# ---------------------------------------------------------------- 5. truncation


def cuts(fields):
    """Every truncation of a list of (name, bytes) fields: at each field boundary and inside
    each field longer than one byte. Yields (label, body) for bodies shorter than the whole."""
    whole = b"".join(b for _, b in fields)
    seen = set()
    pos = 0
    for name, b in fields:
        points = [0] + ([1] if len(b) > 1 else []) + ([len(b) - 1] if len(b) > 2 else [])
        for p in points:
            cut = pos + p
            if cut < len(whole) and cut not in seen:
                seen.add(cut)
                yield (f"at-{name}" if p == 0 else f"inside-{name}-{p}"), whole[:cut]
        pos += len(b)


def gen_truncation():
    for v in VERSIONS:
        c5 = v == V5
        n = uid()
        cid = "tr" + n
        fields = [("protocol-name", s("MQIsdp" if v == V31 else "MQTT")), ("level", bytes([LEVEL[v]])),
                  ("flags", b"\xce"), ("keep-alive", u16(60))]
        if c5:
            fields.append(("properties", props(b"\x21" + u16(5))))
        fields.append(("client-id", s(cid)))
        if c5:
            fields.append(("will-properties", props(b"\x18" + u32(0))))
        fields += [("will-topic", s("w/" + n)), ("will-payload", s("m")), ("user-name", s("u")), ("password", s("p"))]
        for label, body in cuts(fields):
            n = uid()
            add(v, "truncated", "connect-" + label, cite(v, "3.1.4-1", "§3.1"),
                f"CONNECT cut {label.replace('-', ' ')}: refused", [send(pkt(0x10, body))] + refuse_connect(v))
        # PUBLISH QoS 1.
        n = uid()
        fields = [("topic", s(f"tr/{n}")), ("packet-id", u16(3))]
        if c5:
            fields.append(("properties", props(b"\x01\x01", b"\x03" + s("ct"))))
        fields.append(("payload", b"x"))
        whole = sum(len(b) for _, b in fields)
        for label, body in cuts(fields):
            n = uid()
            if len(body) == whole - 1:  # everything but the payload: an empty payload is fine
                add(v, "truncated", "publish-qos1-" + label, cite(v, "3.3.4-1"),
                    "QoS 1 PUBLISH ending before the payload has an empty payload: PUBACK",
                    prelude(v, "tr" + n) + [send(pkt(0x32, body)), expect(puback_out(v, 3))])
            else:
                add(v, "truncated", "publish-qos1-" + label, cite(v, "§3.3.2" if not c5 else "§3.3.2", "4.13.1-1" if c5 else "4.8.0-1"),
                    f"QoS 1 PUBLISH cut {label.replace('-', ' ')}: malformed",
                    prelude(v, "tr" + n) + [send(pkt(0x32, body))] + fail(v, MALFORMED))
        # SUBSCRIBE.
        n = uid()
        fields = [("packet-id", u16(4))]
        if c5:
            fields.append(("properties", props(b"\x0b\x05")))
        fields += [("filter", s(f"tr/{n}")), ("options", b"\x01")]
        for label, body in cuts(fields):
            n = uid()
            add(v, "truncated", "subscribe-" + label, cite(v, "3.8.3-3" if not c5 else "3.8.3-2", "4.13.1-1" if c5 else "4.8.0-1"),
                f"SUBSCRIBE cut {label.replace('-', ' ')}: malformed",
                prelude(v, "tr" + n) + [send(pkt(0x82, body))] + fail(v, MALFORMED))
        # UNSUBSCRIBE.
        n = uid()
        fields = [("packet-id", u16(4))]
        if c5:
            fields.append(("properties", props(b"\x26" + s("k") + s("v"))))
        fields += [("filter", s(f"tr/{n}"))]
        for label, body in cuts(fields):
            n = uid()
            add(v, "truncated", "unsubscribe-" + label, cite(v, "3.10.3-2", "4.13.1-1" if c5 else "4.8.0-1"),
                f"UNSUBSCRIBE cut {label.replace('-', ' ')}: malformed",
                prelude(v, "tr" + n) + [send(pkt(0xA2, body))] + fail(v, MALFORMED))
        # Acknowledgements.
        for kind, first in (("puback", 0x40), ("pubrec", 0x50), ("pubrel", 0x62), ("pubcomp", 0x70)):
            n = uid()
            fields = [("packet-id", u16(9))]
            if c5:
                fields += [("reason", b"\x00"), ("properties", props(b"\x1f" + s("ok")))]
            for label, body in cuts(fields):
                n = uid()
                if c5 and len(body) in (2, 3):
                    continue  # the short forms are valid in MQTT 5 (§3.4.2.1)
                add(v, "truncated", f"{kind}-{label}", cite(v, "§3.4" if not c5 else "§3.4.2", "4.13.1-1" if c5 else "4.8.0-1"),
                    f"{kind.upper()} cut {label.replace('-', ' ')}: malformed",
                    prelude(v, "tr" + n) + [send(pkt(first, body))] + fail(v, MALFORMED))
        if c5:
            n = uid()
            fields = [("reason", b"\x00"), ("properties", props(b"\x1f" + s("bye"), b"\x26" + s("k") + s("v")))]
            for label, body in cuts(fields):
                n = uid()
                if len(body) <= 1:
                    continue  # Remaining Length 0 and 1 are valid DISCONNECT forms
                add(v, "truncated", "disconnect-" + label, cite(v, "§3.14.2", "4.13.1-1"),
                    f"DISCONNECT cut {label.replace('-', ' ')}: malformed",
                    prelude(v, "tr" + n) + [send(pkt(0xE0, body))] + fail(v, MALFORMED))
            n = uid()
            fields = [("reason", b"\x18"), ("properties", props(b"\x15" + s("SCRAM"), b"\x16" + s("d")))]
            for label, body in cuts(fields):
                n = uid()
                if len(body) <= 1:
                    continue
                add(v, "truncated", "auth-" + label, cite(v, "§3.15.2", "4.13.1-1"),
                    f"AUTH cut {label.replace('-', ' ')}: malformed",
                    prelude(v, "tr" + n) + [send(pkt(0xF0, body))] + fail(v, MALFORMED))


# ---------------------------------------------------------------- 6. trailing bytes


def gen_trailing():
    for v in VERSIONS:
        c5 = v == V5
        gen = "4.13.1-1" if c5 else "4.8.0-1"
        for extra in (b"\x00", b"\xff\xff"):
            tag = f"{len(extra)}-byte{'s' if len(extra) > 1 else ''}"
            n = uid()
            cb = connect(v, "tb" + n, flags=0xC2, user="u", pw=b"p")
            add(v, "trailing", f"connect-{tag}", cite(v, "3.1.4-1", "3.1.3-1"),
                f"CONNECT with {tag} after the password: refused", [send(pkt(0x10, cb[2:] + extra))] + refuse_connect(v))
            n = uid()
            cb = connect(v, "tb" + n, flags=0x02)
            add(v, "trailing", f"connect-no-credentials-{tag}", cite(v, "3.1.2-16" if c5 else "3.1.2-18", "3.1.2-18" if c5 else "3.1.2-20"),
                f"CONNECT with flags 0x02 and {tag} after the client identifier: refused",
                [send(pkt(0x10, cb[2:] + extra))] + refuse_connect(v))
            for kind, first in (("puback", 0x40), ("pubrec", 0x50), ("pubrel", 0x62), ("pubcomp", 0x70)):
                n = uid()
                body = u16(9) + (b"\x00\x00" if c5 else b"") + extra
                add(v, "trailing", f"{kind}-{tag}", cite(v, "§3.4.2" if c5 else "§3.4", gen),
                    f"{kind.upper()} with {tag} after its end: malformed",
                    prelude(v, "tb" + n) + [send(pkt(first, body))] + fail(v, MALFORMED))
            n = uid()
            add(v, "trailing", f"pingreq-{tag}", cite(v, "§3.12", gen), f"PINGREQ with {tag} of body: malformed",
                prelude(v, "tb" + n) + [send(pkt(0xC0, extra))] + fail(v, MALFORMED))
            n = uid()
            body = subscribe(v, 2, [(f"tb/{n}", 0)])[2:] + extra
            add(v, "trailing", f"subscribe-{tag}", cite(v, "§3.8.3", gen),
                f"SUBSCRIBE with {tag} after the last filter (a cut filter): malformed",
                prelude(v, "tb" + n) + [send(pkt(0x82, body))] + fail(v, MALFORMED))
            if c5:
                n = uid()
                add(v, "trailing", f"disconnect-{tag}", cite(v, "§3.14.2", gen),
                    f"DISCONNECT with {tag} after its properties: malformed",
                    prelude(v, "tb" + n) + [send(pkt(0xE0, b"\x00\x00" + extra))] + fail(v, MALFORMED))
                n = uid()
                add(v, "trailing", f"auth-{tag}", cite(v, "§3.15.2", gen),
                    f"AUTH with {tag} after its properties: malformed",
                    prelude(v, "tb" + n) + [send(pkt(0xF0, b"\x00\x00" + extra))] + fail(v, MALFORMED))
        n = uid()
        body = unsubscribe(v, 2, [f"tb/{n}"])[2:] + b"\x00"
        add(v, "trailing", "unsubscribe-1-byte", cite(v, "§3.10.3", gen),
            "UNSUBSCRIBE with 1 byte after the last filter (a cut filter): malformed",
            prelude(v, "tb" + n) + [send(pkt(0xA2, body))] + fail(v, MALFORMED))
        if not c5:
            n = uid()
            add(v, "trailing", "disconnect-1-byte", cite(v, "§3.14", "3.14.4-3"),
                "DISCONNECT with a body is malformed, so the will is published",
                prelude(v, "tb" + n, flags=0x06, will=(b"", f"tb/{n}/will", b"gone"))
                + prelude(v, "tw" + n, on=1) + [send(subscribe(v, 1, [(f"tb/{n}/will", 0)]), 1), expect(suback(v, 1, [0]), 1)]
                + [send(b"\xe0\x01\x00"), close(()), expect(fwd(v, f"tb/{n}/will", b"gone"), 1)])


# ---------------------------------------------------------------- 7. properties (MQTT 5)

# id: (name, valid value bytes, contexts where a client may send it)
PROPS = {
    0x01: ("payload-format-indicator", b"\x01", {"publish", "will"}),
    0x02: ("message-expiry-interval", u32(60), {"publish", "will"}),
    0x03: ("content-type", s("text/plain"), {"publish", "will"}),
    0x08: ("response-topic", s("r/1"), {"publish", "will"}),
    0x09: ("correlation-data", s(b"\x01\x02"), {"publish", "will"}),
    0x0B: ("subscription-identifier", vbi(1), {"subscribe"}),
    0x11: ("session-expiry-interval", u32(0), {"connect", "disconnect"}),
    0x12: ("assigned-client-identifier", s("id"), set()),
    0x13: ("server-keep-alive", u16(60), set()),
    0x15: ("authentication-method", s("SCRAM"), {"connect", "auth"}),
    0x16: ("authentication-data", s(b"\x00"), {"connect", "auth"}),
    0x17: ("request-problem-information", b"\x01", {"connect"}),
    0x18: ("will-delay-interval", u32(0), {"will"}),
    0x19: ("request-response-information", b"\x00", {"connect"}),
    0x1A: ("response-information", s("x"), set()),
    0x1C: ("server-reference", s("srv"), {"disconnect"}),
    0x1F: ("reason-string", s("why"), {"puback", "pubrec", "pubrel", "pubcomp", "disconnect", "auth"}),
    0x21: ("receive-maximum", u16(10), {"connect"}),
    0x22: ("topic-alias-maximum", u16(5), {"connect"}),
    0x23: ("topic-alias", u16(1), {"publish"}),
    0x24: ("maximum-qos", b"\x01", set()),
    0x25: ("retain-available", b"\x01", set()),
    0x26: ("user-property", s("k") + s("v"), {"connect", "will", "publish", "puback", "pubrec", "pubrel", "pubcomp",
                                              "subscribe", "unsubscribe", "disconnect", "auth"}),
    0x27: ("maximum-packet-size", u32(100000), {"connect"}),
    0x28: ("wildcard-subscription-available", b"\x01", set()),
    0x29: ("subscription-identifier-available", b"\x01", set()),
    0x2A: ("shared-subscription-available", b"\x01", set()),
}
UNKNOWN_IDS = [0x00, 0x04, 0x05, 0x06, 0x07, 0x0A, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x14, 0x1B, 0x1D, 0x1E, 0x20,
               0x2B, 0x7F]
CONTEXTS = ["connect", "will", "publish", "puback", "pubrec", "pubrel", "pubcomp", "subscribe", "unsubscribe",
            "disconnect", "auth"]


def prop_case(ctx, plist, n):
    """The steps sending `plist` (encoded properties, with no length) in packet `ctx`."""
    v = V5
    cid = "pr" + n
    pl = vbi(len(plist)) + plist
    if ctx == "connect":
        b = pkt(0x10, s("MQTT") + bytes([5, 2]) + u16(60) + pl + s(cid))
        return [send(b)], None
    if ctx == "will":
        b = pkt(0x10, s("MQTT") + bytes([5, 6]) + u16(60) + b"\x00" + s(cid) + pl + s(f"pr/{n}/w") + s("m"))
        return [send(b)], None
    pre = prelude(v, cid)
    if ctx == "publish":
        return pre + [send(pkt(0x32, s(f"pr/{n}") + u16(1) + pl + b"x"))], "publish"
    if ctx in ("puback", "pubrec", "pubrel", "pubcomp"):
        first = {"puback": 0x40, "pubrec": 0x50, "pubrel": 0x62, "pubcomp": 0x70}[ctx]
        return pre + [send(pkt(first, u16(9) + b"\x00" + pl))], ctx
    if ctx == "subscribe":
        return pre + [send(pkt(0x82, u16(1) + pl + s(f"pr/{n}") + b"\x00"))], ctx
    if ctx == "unsubscribe":
        return pre + [send(pkt(0xA2, u16(1) + pl + s(f"pr/{n}")))], ctx
    if ctx == "disconnect":
        return pre + [send(pkt(0xE0, b"\x00" + pl))], ctx
    return pre + [send(pkt(0xF0, b"\x00" + pl))], ctx


def accepted(ctx):
    """The response to a valid packet of each context."""
    return {
        "connect": [expect(CONNACK_OK[V5])],
        "will": [expect(CONNACK_OK[V5])],
        "publish": [expect(puback_out(V5, 1))],
        "puback": barrier(V5),
        "pubrec": [expect(pubrel_out(V5, 9, 0x92))],
        "pubrel": [expect(pubcomp_out(V5, 9, 0x92))],
        "pubcomp": barrier(V5),
        "subscribe": [expect(suback(V5, 1, [0]))],
        "unsubscribe": [expect(unsuback(V5, 1))],
        "disconnect": [close(())],
        "auth": fail(V5, PROTOCOL),
    }[ctx]


def error(ctx, rc):
    if ctx in ("connect", "will"):
        return refuse_connect(V5, (rc,))
    return fail(V5, rc)


def gen_properties():
    v = V5
    for ctx in CONTEXTS:
        for pid in sorted(PROPS):
            pname, val, allowed = PROPS[pid]
            n = uid()
            steps, _ = prop_case(ctx, bytes([pid]) + val, n)
            title = f"{ctx.upper()} with {pname} (0x{pid:02x})"
            if ctx in allowed:
                if ctx == "connect" and pid == 0x15:
                    add(v, "property", f"{ctx}-{pname}", cite(v, "4.12.0-1", "3.2.2-6", "3.2.2-7", "3.2.2-8", "4.13.2-1"),
                        title + ": no authentication method is supported, CONNACK 0x8C",
                        steps + [expect("20 03 00 8c 00"), close(())])
                elif ctx == "connect" and pid == 0x16:
                    add(v, "property", f"{ctx}-{pname}", cite(v, "§3.1.2.11.10", "3.1.4-1"),
                        title + " but no Authentication Method: protocol error",
                        steps + refuse_connect(v, (PROTOCOL,)))
                elif ctx == "auth":
                    add(v, "property", f"{ctx}-{pname}", cite(v, "4.12.0-7", "4.13.1-1"),
                        title + ": a valid AUTH, but no Authentication Method was agreed: protocol error",
                        steps + accepted(ctx))
                elif ctx == "connect" and pid == 0x19:
                    add(v, "property", f"{ctx}-{pname}", cite(v, "§2.2.2.2", "3.1.2-28"),
                        title + " 0: accepted, and the CONNACK carries no Response Information", steps + accepted(ctx))
                else:
                    add(v, "property", f"{ctx}-{pname}", cite(v, "§2.2.2.2", "2.2.2-1"),
                        title + ": allowed, accepted", steps + accepted(ctx))
            elif ctx == "publish" and pid == 0x0B:
                add(v, "property", f"{ctx}-{pname}", cite(v, "3.3.4-6", "4.13.1-1"),
                    title + ": a client never sends a Subscription Identifier: protocol error",
                    steps + error(ctx, PROTOCOL))
            else:
                add(v, "property", f"{ctx}-{pname}-forbidden", cite(v, "§2.2.2.2", "4.13.1-1"),
                    title + ": not valid in this packet, malformed",
                    steps + error(ctx, MALFORMED))
        for pid in UNKNOWN_IDS + [0x80]:
            n = uid()
            ident = vbi(pid) if pid != 0x80 else b"\x80\x01"
            steps, _ = prop_case(ctx, ident + b"\x00", n)
            label = f"0x{pid:02x}" if pid != 0x80 else "128 (two-byte identifier)"
            add(v, "property", f"{ctx}-unknown-{pid:02x}", cite(v, "§2.2.2.2", "4.13.1-1"),
                f"{ctx.upper()} with the undefined property identifier {label}: malformed",
                steps + error(ctx, MALFORMED))
        # Duplicates.
        for pid in sorted(PROPS):
            pname, val, allowed = PROPS[pid]
            if ctx not in allowed:
                continue
            n = uid()
            steps, _ = prop_case(ctx, (bytes([pid]) + val) * 2, n)
            title = f"{ctx.upper()} with {pname} twice"
            if pid == 0x26:
                add(v, "property", f"{ctx}-{pname}-twice", cite(v, "§3.3.2.3.7" if ctx == "publish" else "§2.2.2.2"),
                    title + ": User Property may repeat, accepted",
                    steps + accepted(ctx))
            elif ctx == "auth":
                add(v, "property", f"{ctx}-{pname}-twice", cite(v, "§2.2.2.2", "4.13.1-1"),
                    title + ": protocol error", steps + error(ctx, PROTOCOL))
            else:
                add(v, "property", f"{ctx}-{pname}-twice", cite(v, "§2.2.2.2", "4.13.1-1"),
                    title + ": a property included twice is a protocol error", steps + error(ctx, PROTOCOL))
    # Values outside the allowed range.
    bad_values = [
        ("connect", 0x17, b"\x02", PROTOCOL, "§3.1.2.11.7", "Request Problem Information 2"),
        ("connect", 0x19, b"\x02", PROTOCOL, "§3.1.2.11.6", "Request Response Information 2"),
        ("connect", 0x21, u16(0), PROTOCOL, "§3.1.2.11.3", "Receive Maximum 0"),
        ("connect", 0x27, u32(0), PROTOCOL, "§3.1.2.11.4", "Maximum Packet Size 0"),
        ("publish", 0x23, u16(0), 0x94, "3.3.2-8", "Topic Alias 0"),
        ("publish", 0x23, u16(11), 0x94, "3.3.2-9", "Topic Alias above the announced maximum (10)"),
        ("publish", 0x08, s("r/#"), PROTOCOL, "3.3.2-14", "a Response Topic with a wildcard"),
        ("publish", 0x08, s("r/+/x"), PROTOCOL, "3.3.2-14", "a Response Topic with '+'"),
        ("subscribe", 0x0B, vbi(0), PROTOCOL, "§3.8.2.1.2", "Subscription Identifier 0"),
        ("will", 0x08, s("w/#"), PROTOCOL, "3.3.2-14", "a will Response Topic with a wildcard"),
    ]
    for ctx, pid, val, rc, clause, what in bad_values:
        n = uid()
        steps, _ = prop_case(ctx, bytes([pid]) + val, n)
        add(v, "property", f"{ctx}-value-{PROPS[pid][0]}-{val.hex()}", cite(v, clause, "4.13.1-1"),
            f"{ctx.upper()} with {what}: refused", steps + error(ctx, rc))
    # A string property value that is not a string, and a truncated property value.
    for ctx, pid in (("publish", 0x03), ("publish", 0x08), ("puback", 0x1F), ("connect", 0x15), ("will", 0x03)):
        n = uid()
        steps, _ = prop_case(ctx, bytes([pid]) + u16(5) + b"ab", n)
        add(v, "property", f"{ctx}-{PROPS[pid][0]}-length-beyond", cite(v, "§2.2.2.2", "4.13.1-1"),
            f"{ctx.upper()} {PROPS[pid][0]} whose length runs past the property list: malformed",
            steps + error(ctx, MALFORMED))
    for ctx, pid in (("publish", 0x02), ("connect", 0x11), ("connect", 0x21), ("publish", 0x23)):
        n = uid()
        steps, _ = prop_case(ctx, bytes([pid]) + b"\x00", n)
        add(v, "property", f"{ctx}-{PROPS[pid][0]}-short", cite(v, "§2.2.2.2", "4.13.1-1"),
            f"{ctx.upper()} {PROPS[pid][0]} with too few value bytes: malformed", steps + error(ctx, MALFORMED))


# ---------------------------------------------------------------- 8. strings

BAD_UTF8 = [
    ("overlong-nul", b"\xc0\x80", "1.5.3-1"), ("overlong-slash", b"\xc0\xaf", "1.5.3-1"),
    ("overlong-3-byte", b"\xe0\x80\xaf", "1.5.3-1"), ("lone-continuation", b"\x80", "1.5.3-1"),
    ("cut-2-byte", b"\xc3", "1.5.3-1"), ("cut-3-byte", b"\xe2\x82", "1.5.3-1"), ("byte-f8", b"\xf8\x88\x80\x80\x80", "1.5.3-1"),
    ("byte-fe", b"\xfe", "1.5.3-1"), ("byte-ff", b"\xff", "1.5.3-1"), ("above-10ffff", b"\xf4\x90\x80\x80", "1.5.3-1"),
    ("surrogate-d800", b"\xed\xa0\x80", "1.5.3-1"), ("surrogate-dfff", b"\xed\xbf\xbf", "1.5.3-1"),
    ("surrogate-pair-cesu8", b"\xed\xa0\xbd\xed\xb2\xa9", "1.5.3-1"), ("nul", b"\x00", "1.5.3-2"), ("nul-inside", b"a\x00b", "1.5.3-2"),
]
POLICY = [  # the standard says SHOULD NOT send / MAY close; the broker closes, like mosquitto
    ("control-01", b"\x01"), ("control-1f", b"\x1f"), ("delete-7f", b"\x7f"), ("c1-0080", b"\xc2\x80"), ("c1-009f", b"\xc2\x9f"),
    ("nonchar-fffe", b"\xef\xbf\xbe"), ("nonchar-ffff", b"\xef\xbf\xbf"), ("nonchar-fdd0", b"\xef\xb7\x90"),
    ("nonchar-fdef", b"\xef\xb7\xaf"), ("nonchar-1fffe", b"\xf0\x9f\xbf\xbe"), ("nonchar-10ffff", b"\xf4\x8f\xbf\xbf"),
]
GOOD_UTF8 = [
    ("bom-feff", b"\xef\xbb\xbf", "1.5.3-3"), ("u10000", b"\xf0\x90\x80\x80", "1.5.3-1"), ("ud7ff", b"\xed\x9f\xbf", "1.5.3-1"),
    ("ue000", b"\xee\x80\x80", "1.5.3-1"), ("ufffd", b"\xef\xbf\xbd", "1.5.3-1"), ("u00a0", b"\xc2\xa0", "1.5.3-1"),
    ("u07ff", b"\xdf\xbf", "1.5.3-1"), ("u0800", b"\xe0\xa0\x80", "1.5.3-1"), ("u10fffd", b"\xf4\x8f\xbf\xbd", "1.5.3-1"),
]


def v5id(i):
    return {"1.5.3-1": "1.5.4-1", "1.5.3-2": "1.5.4-2", "1.5.3-3": "1.5.4-3"}[i]


FIELD_CLAUSE = {
    "client-id": ("3.1.3-4", "3.1.3-4"), "will-topic": ("3.1.3-10", "3.1.3-11"), "user-name": ("3.1.3-11", "3.1.3-12"),
    "topic": ("3.3.2-1", "3.3.2-1"), "filter": ("3.8.3-1", "3.8.3-1"), "unsubscribe-filter": ("3.10.3-1", "3.10.3-1"),
    "content-type": (None, "3.3.2-19"), "response-topic": (None, "3.3.2-13"), "user-property-key": (None, "1.5.7-1"),
    "user-property-value": (None, "1.5.7-1"), "reason-string": (None, "§3.4.2.2.2"), "will-content-type": (None, "3.3.2-19"),
}


def field_clause(v, field, text):
    c = FIELD_CLAUSE[field][1 if v == V5 else 0]
    out = [c]
    if b"\x00" in text and field in ("will-topic", "topic", "filter", "unsubscribe-filter"):
        out.append("4.7.3-2")
    return out


def string_field_case(v, field, text, n, good=True):
    """(steps up to the packet, response if accepted, refused-in-connect?)"""
    if field == "client-id":
        return [send(connect(v, b"s" + n.encode() + text))], [expect(CONNACK_OK[v])], True
    if field == "will-topic":
        return [send(connect(v, "sw" + n, flags=0x06, will=(b"", b"w/" + text, b"m")))], [expect(CONNACK_OK[v])], True
    if field == "user-name":
        return [send(connect(v, "su" + n, flags=0x82, user=b"u" + text))], [expect(CONNACK_OK[v])], True
    if field == "will-content-type":
        return [send(connect(v, "sc" + n, flags=0x06, will=(b"\x03" + s(b"t" + text), "w/" + n, b"m")))], \
            [expect(CONNACK_OK[v])], True
    pre = prelude(v, "st" + n)
    topic = b"s/" + n.encode() + b"/" + text
    if field == "topic" and not good:
        return pre + [send(publish(v, topic, b"p"))], None, False
    if field == "topic":
        return pre + [send(subscribe(v, 1, [(topic, 0)])), expect(suback(v, 1, [0])), send(publish(v, topic, b"p"))], \
            [expect(fwd(v, topic, b"p"))], False
    if field == "filter":
        return pre + [send(subscribe(v, 1, [(topic, 1)]))], [expect(suback(v, 1, [1]))], False
    if field == "unsubscribe-filter":
        return pre + [send(unsubscribe(v, 1, [topic]))], [expect(unsuback(v, 1))], False
    plain = f"s/{n}"
    if field in ("content-type", "response-topic", "user-property-key", "user-property-value"):
        p = {"content-type": b"\x03" + s(b"t" + text), "response-topic": b"\x08" + s(b"r/" + text),
             "user-property-key": b"\x26" + s(b"k" + text) + s("v"), "user-property-value": b"\x26" + s("k") + s(b"v" + text)}[field]
        return pre + [send(subscribe(v, 1, [(plain, 0)])), expect(suback(v, 1, [0])),
                      send(publish(v, plain, b"p", pprops=p))], \
            [expect(fwd(v, plain, b"p", fprops=p))], False
    if field == "reason-string":
        p = b"\x1f" + s(b"r" + text)
        return pre + [send(ack("puback", 9, 0, vbi(len(p)) + p))], barrier(v), False
    raise ValueError(field)


def gen_strings():
    for v in VERSIONS:
        fields = ["client-id", "will-topic", "user-name", "topic", "filter", "unsubscribe-filter"]
        if v == V5:
            fields += ["content-type", "response-topic", "user-property-key", "user-property-value", "reason-string",
                       "will-content-type"]
        for field in fields:
            for name, text, rule in BAD_UTF8:
                n = uid()
                steps, _, in_connect = string_field_case(v, field, text, n, good=False)
                clause = cite(v, v5id(rule) if v == V5 else rule, *field_clause(v, field, text),
                              "3.1.4-1" if in_connect else ("4.13.1-1" if v == V5 else "4.8.0-1"))
                add(v, "string", f"{field}-{name}", clause, f"{field.replace('-', ' ')} containing {name.replace('-', ' ')}: refused",
                    steps + (refuse_connect(v) if in_connect else fail(v, MALFORMED)))
            for name, text in POLICY:
                n = uid()
                steps, _, in_connect = string_field_case(v, field, text, n, good=False)
                clause = cite(v, "§1.5.4" if v == V5 else "§1.5.3", "3.1.4-1" if in_connect else ("4.13.1-1" if v == V5 else "4.8.0-1"))
                add(v, "string", f"{field}-{name}", clause,
                    f"{field.replace('-', ' ')} containing {name.replace('-', ' ')}: the broker closes (the standard lets a receiver close)",
                    steps + (refuse_connect(v) if in_connect else fail(v, MALFORMED)))
            for name, text, rule in GOOD_UTF8:
                n = uid()
                steps, ok, _ = string_field_case(v, field, text, n)
                clause = cite(v, v5id(rule) if v == V5 else rule, *field_clause(v, field, text))
                add(v, "string", f"{field}-{name}", clause,
                    f"{field.replace('-', ' ')} containing {name.replace('-', ' ')}: accepted, bytes kept as sent", steps + ok)


# ---------------------------------------------------------------- 9. packet identifiers


def gen_packet_ids():
    for v in VERSIONS:
        c5 = v == V5
        gen = "4.13.1-1" if c5 else "4.8.0-1"
        zero = [
            ("publish-qos1", publish(v, "pi/z", qos=1, pkid=0), "2.2.1-3" if c5 else "2.3.1-1"),
            ("publish-qos2", publish(v, "pi/z", qos=2, pkid=0), "2.2.1-3" if c5 else "2.3.1-1"),
            ("subscribe", subscribe(v, 0, [("pi/z", 0)]), "2.2.1-3" if c5 else "2.3.1-1"),
            ("unsubscribe", unsubscribe(v, 0, ["pi/z"]), "2.2.1-3" if c5 else "2.3.1-1"),
            ("puback", ack("puback", 0), "§2.2.1" if c5 else "§2.3.1"), ("pubrec", ack("pubrec", 0), "§2.2.1" if c5 else "§2.3.1"),
            ("pubrel", ack("pubrel", 0), "§2.2.1" if c5 else "§2.3.1"), ("pubcomp", ack("pubcomp", 0), "§2.2.1" if c5 else "§2.3.1"),
        ]
        for name, b, clause in zero:
            n = uid()
            add(v, "packet-id", f"zero-{name}", cite(v, clause, gen), f"{name.upper()} with Packet Identifier 0: malformed",
                prelude(v, "pz" + n) + [send(b)] + fail(v, MALFORMED))
        for pid in (1, 0x00FF, 0x0100, 0x7FFF, 0x8000, 0xFFFF):
            n = uid()
            add(v, "packet-id", f"echo-puback-{pid:04x}", cite(v, "2.2.1-5" if c5 else "2.3.1-6", "4.3.2-4" if c5 else "4.3.2-2"),
                f"QoS 1 PUBLISH {pid:#06x}: PUBACK carries the same identifier",
                prelude(v, "pe" + n) + [send(publish(v, f"pe/{n}", qos=1, pkid=pid)), expect(puback_out(v, pid))])
            n = uid()
            add(v, "packet-id", f"echo-pubrec-pubcomp-{pid:04x}", cite(v, "2.2.1-5" if c5 else "2.3.1-6", "4.3.3-11" if c5 else "4.3.3-2"),
                f"QoS 2 PUBLISH {pid:#06x}: PUBREC and PUBCOMP carry the same identifier",
                prelude(v, "pe" + n) + [send(publish(v, f"pe/{n}", qos=2, pkid=pid)), expect(pubrec_out(pid)),
                                        send(ack("pubrel", pid)), expect(pubcomp_out(v, pid))])
            n = uid()
            add(v, "packet-id", f"echo-suback-{pid:04x}", cite(v, "2.2.1-6" if c5 else "2.3.1-7", "3.8.4-2"),
                f"SUBSCRIBE {pid:#06x}: SUBACK carries the same identifier",
                prelude(v, "pe" + n) + [send(subscribe(v, pid, [(f"pe/{n}", 2)])), expect(suback(v, pid, [2]))])
            n = uid()
            add(v, "packet-id", f"echo-unsuback-{pid:04x}", cite(v, "2.2.1-6" if c5 else "2.3.1-7", "3.10.4-5"),
                f"UNSUBSCRIBE {pid:#06x}: UNSUBACK carries the same identifier",
                prelude(v, "pe" + n) + [send(unsubscribe(v, pid, [f"pe/{n}"])), expect(unsuback(v, pid))])
        # Reuse.
        n = uid()
        t = f"pr/{n}"
        add(v, "packet-id", "reuse-qos1-after-puback", cite(v, "4.3.2-5" if c5 else "4.3.2-2"),
            "a QoS 1 identifier reused after its PUBACK is a new message: delivered twice",
            prelude(v, "pu" + n) + [send(subscribe(v, 1, [(t, 0)])), expect(suback(v, 1, [0])),
                                    send(publish(v, t, b"a", qos=1, pkid=5)), expect(fwd(v, t, b"a")), expect(puback_out(v, 5, True)),
                                    send(publish(v, t, b"b", qos=1, pkid=5)), expect(fwd(v, t, b"b")), expect(puback_out(v, 5, True))])
        n = uid()
        t = f"pr/{n}"
        add(v, "packet-id", "reuse-qos2-before-pubrel", cite(v, "4.3.3-10" if c5 else "4.3.3-2"),
            "a QoS 2 PUBLISH repeated before PUBREL gets PUBREC again and is delivered once",
            prelude(v, "pu" + n) + [send(subscribe(v, 1, [(t, 0)])), expect(suback(v, 1, [0])),
                                    send(publish(v, t, b"a", qos=2, pkid=7)), expect(pubrec_out(7)),
                                    send(publish(v, t, b"a", qos=2, pkid=7, dup=True)), expect(pubrec_out(7)),
                                    send(ack("pubrel", 7)), expect(fwd(v, t, b"a")), expect(pubcomp_out(v, 7))] + barrier(v))
        n = uid()
        t = f"pr/{n}"
        add(v, "packet-id", "reuse-qos2-after-pubcomp", cite(v, "4.3.3-12" if c5 else "4.3.3-2"),
            "a QoS 2 identifier reused after PUBCOMP is a new message",
            prelude(v, "pu" + n) + [send(subscribe(v, 1, [(t, 0)])), expect(suback(v, 1, [0])),
                                    send(publish(v, t, b"a", qos=2, pkid=7)), expect(pubrec_out(7)),
                                    send(ack("pubrel", 7)), expect(fwd(v, t, b"a")), expect(pubcomp_out(v, 7)),
                                    send(publish(v, t, b"b", qos=2, pkid=7)), expect(pubrec_out(7)),
                                    send(ack("pubrel", 7)), expect(fwd(v, t, b"b")), expect(pubcomp_out(v, 7))])
        n = uid()
        t = f"pr/{n}"
        add(v, "packet-id", "same-id-qos1-and-qos2", cite(v, "§2.2.1" if c5 else "§2.3.1"),
            "an identifier held by an unfinished QoS 2 exchange, reused by a QoS 1 PUBLISH: both complete",
            prelude(v, "pu" + n) + [send(publish(v, t, b"a", qos=2, pkid=8)), expect(pubrec_out(8)),
                                    send(publish(v, t + "/1", b"b", qos=1, pkid=9)), expect(puback_out(v, 9)),
                                    send(ack("pubrel", 8)), expect(pubcomp_out(v, 8))])
        # Unknown identifiers in acknowledgements.
        for pid in (1, 0x1234, 0xFFFF):
            n = uid()
            add(v, "packet-id", f"unknown-puback-{pid:04x}", cite(v, "§4.3.2"),
                "PUBACK for an identifier the server never used: ignored", prelude(v, "pk" + n) + [send(ack("puback", pid))] + barrier(v))
            n = uid()
            add(v, "packet-id", f"unknown-pubcomp-{pid:04x}", cite(v, "§4.3.3"),
                "PUBCOMP for an identifier the server never used: ignored", prelude(v, "pk" + n) + [send(ack("pubcomp", pid))] + barrier(v))
            n = uid()
            add(v, "packet-id", f"unknown-pubrec-{pid:04x}", cite(v, "3.6.2-1" if c5 else "4.3.3-1"),
                "PUBREC for an unknown identifier: PUBREL" + (" 0x92 (Packet Identifier not found)" if c5 else ""),
                prelude(v, "pk" + n) + [send(ack("pubrec", pid)), expect(pubrel_out(v, pid, 0x92))])
            n = uid()
            add(v, "packet-id", f"unknown-pubrel-{pid:04x}", cite(v, "3.7.2-1" if c5 else "4.3.3-2"),
                "PUBREL for an unknown identifier: PUBCOMP" + (" 0x92 (Packet Identifier not found)" if c5 else ""),
                prelude(v, "pk" + n) + [send(ack("pubrel", pid)), expect(pubcomp_out(v, pid, 0x92))])


# ---------------------------------------------------------------- 10. topics and filters

BAD_NAMES = ["#", "+", "a/#", "a/+", "+/a", "a/+/b", "a#", "a+b", "#/a", "a/b#", "/+", "+/+"]
GOOD_FILTERS = ["#", "+", "+/+", "a/#", "a/+/b", "/", "//", "+/", "/+", "/#", "$SYS/#", "a/b/c/d/e/f/g/#", "+/+/+/#",
                "$share-no/x", " ", "a b/c"]
BAD_FILTERS = ["a#", "#a", "a/#/b", "a/b#", "##", "a+", "+a", "a/+b", "++", "#/#", "a/#/", "+#", ""]
# (filter, topic, matches)
MATCHES = [
    ("+/c", "b/c", True), ("+/c", "b/d", False), ("#", "b", True), ("b/#", "b", True), ("b/#", "b/c/d", True),
    ("b/+", "b/", True), ("b/+", "b", False), ("+/+", "/b", True), ("/+", "/b", True), ("+", "/b", False),
    ("b/+/d", "b/c/d", True), ("b/+/d", "b/c/e/d", False), ("B/c", "b/c", False), ("b//c", "b/c", False),
    ("b//c", "b//c", True), ("+/+/+", "b/c", False), ("b/c/#", "b/c", True), ("b/ c", "b/c", False),
]


def gen_topics():
    for v in VERSIONS:
        c5 = v == V5
        for name in BAD_NAMES:
            n = uid()
            add(v, "topic", f"publish-name-{name}", cite(v, "3.3.2-2", "4.7.0-1" if c5 else "4.7.1-1"),
                f"PUBLISH to the topic name {name!r}: wildcards are not allowed",
                prelude(v, "tn" + n) + [send(publish(v, name, qos=1))] + fail(v, 0x90 if c5 else MALFORMED))
        n = uid()
        add(v, "topic", "publish-name-empty", cite(v, "4.7.3-1"),
            "PUBLISH with an empty topic name" + (" and no Topic Alias" if c5 else ""),
            prelude(v, "tn" + n) + [send(publish(v, "", qos=0))] + fail(v, PROTOCOL if c5 else MALFORMED))
        n = uid()
        long_topic = f"tl/{n}/" + "x" * (65535 - len(f"tl/{n}/"))
        add(v, "topic", "publish-name-65535-bytes", cite(v, "4.7.3-3"), "a topic name of exactly 65,535 bytes is accepted",
            prelude(v, "tn" + n) + [send(publish(v, long_topic, qos=1, pkid=2)), expect(puback_out(v, 2))])
        for f in GOOD_FILTERS:
            n = uid()
            add(v, "topic", f"filter-valid-{f or 'empty'}", cite(v, "4.7.1-1" if c5 else "4.7.1-2", "4.7.1-2" if c5 else "4.7.1-3", "3.8.4-1"),
                f"SUBSCRIBE to the valid filter {f!r}: granted", prelude(v, "tf" + n) + [send(subscribe(v, 1, [(f, 1)])), expect(suback(v, 1, [1]))],
                # A granted wildcard subscription would see other cases' messages (and turn
                # their PUBACK 0x10 "no matching subscribers" into 0x00): run it alone.
                group="isolated")
        for f in BAD_FILTERS:
            n = uid()
            ids = ["4.7.3-1"] if f == "" else (["4.7.1-1"] if c5 else ["4.7.1-2"]) if "#" in f else (["4.7.1-2"] if c5 else ["4.7.1-3"])
            if c5:
                add(v, "topic", f"filter-invalid-{f or 'empty'}", cite(v, *ids, "3.8.4-7"),
                    f"SUBSCRIBE to the invalid filter {f!r}: SUBACK 0x8F (Topic Filter invalid)",
                    prelude(v, "tf" + n) + [send(subscribe(v, 1, [(f, 1)])), expect(suback(v, 1, [0x8F]))])
            else:
                add(v, "topic", f"filter-invalid-{f or 'empty'}", cite(v, *ids, "4.8.0-1"),
                    f"SUBSCRIBE to the invalid filter {f!r}: a protocol violation, closed",
                    prelude(v, "tf" + n) + [send(subscribe(v, 1, [(f, 1)]))] + fail(v, MALFORMED))
            n = uid()
            if c5:
                add(v, "topic", f"unsubscribe-invalid-{f or 'empty'}", cite(v, *ids, "3.11.3-2"),
                    f"UNSUBSCRIBE from the invalid filter {f!r}: UNSUBACK 0x8F (Topic Filter invalid)",
                    prelude(v, "tf" + n) + [send(unsubscribe(v, 1, [f])), expect(unsuback(v, 1, [0x8F]))])
            else:
                add(v, "topic", f"unsubscribe-invalid-{f or 'empty'}", cite(v, *ids, "4.8.0-1"),
                    f"UNSUBSCRIBE from the invalid filter {f!r}: a protocol violation, closed",
                    prelude(v, "tf" + n) + [send(unsubscribe(v, 1, [f]))] + fail(v, MALFORMED))
        for f, t, hit in MATCHES:
            n = uid()
            pre = f"m{n}/"
            steps = prelude(v, "tm" + n) + [send(subscribe(v, 1, [(pre + f, 0)])), expect(suback(v, 1, [0])),
                                            send(publish(v, pre + t, b"m"))]
            steps += [expect(fwd(v, pre + t, b"m"))] if hit else barrier(v)
            add(v, "topic", f"match-{f}-{t}-{'yes' if hit else 'no'}".replace("/", "|"),
                cite(v, "3.3.2-3", "4.7.3-4") if hit else cite(v, "§4.7", "4.7.3-4"),
                f"filter {f!r} {'matches' if hit else 'does not match'} topic {t!r} (under a unique prefix)", steps)
        # SUBACK codes per filter, in order.
        n = uid()
        fs = [(f"so/{n}/a", 0), (f"so/{n}/b", 1), (f"so/{n}/c", 2)]
        add(v, "topic", "suback-order", cite(v, "3.9.3-1", "3.8.4-5" if c5 else "3.8.4-4", "3.8.4-6" if c5 else "3.8.4-5"),
            "three filters in one SUBSCRIBE: one SUBACK with the granted QoS of each, in order",
            prelude(v, "so" + n) + [send(subscribe(v, 3, fs)), expect(suback(v, 3, [0, 1, 2]))])
        if c5:
            n = uid()
            fs = [(f"so/{n}/a", 1), ("a/#/b", 1), (f"so/{n}/c", 2)]
            add(v, "topic", "suback-order-with-failure", cite(v, "3.9.3-1", "3.8.4-7"),
                "a failing filter between two good ones: its own code, in its place",
                prelude(v, "so" + n) + [send(subscribe(v, 3, fs)), expect(suback(v, 3, [1, 0x8F, 2]))])
            n = uid()
            add(v, "topic", "unsuback-order", cite(v, "3.11.3-1", "3.11.3-2", "3.10.4-6"),
                "three filters in one UNSUBSCRIBE, one subscribed: one UNSUBACK, codes in order",
                prelude(v, "so" + n) + [send(subscribe(v, 1, [(f"so/{n}/b", 0)])), expect(suback(v, 1, [0])),
                                        send(unsubscribe(v, 2, [f"so/{n}/a", f"so/{n}/b", f"so/{n}/c"])),
                                        expect(unsuback(v, 2, [0x11, 0x00, 0x11]))])
            for f, code in (("$share/g/x", 1), ("$share/g/#", 1), ("$share/g/+/x", 1), ("$share/g", 0x8F),
                            ("$share//x", 0x8F), ("$share/g+/x", 0x8F), ("$share/g#/x", 0x8F), ("$share/g/a/#/b", 0x8F),
                            ("$share/+/x", 0x8F), ("$share/#/x", 0x8F), ("$share/g/", 0x8F)):
                n = uid()
                add(v, "topic", f"shared-{f}", cite(v, "4.8.2-1" if code == 0x8F and f.count("/") < 2 else "4.8.2-2"
                                                    if code == 0x8F else "4.8.2-1"),
                    f"SUBSCRIBE to the shared filter {f!r}: " + ("granted" if code < 0x80 else "SUBACK 0x8F"),
                    prelude(v, "sh" + n) + [send(subscribe(v, 1, [(f, 1)])), expect(suback(v, 1, [code]))],
                    group="isolated" if code < 0x80 else None)
            n = uid()
            add(v, "topic", "shared-no-local", cite(v, "3.8.3-4", "4.13.1-1"),
                "No Local on a shared subscription is a protocol error",
                prelude(v, "sh" + n) + [send(subscribe(v, 1, [("$share/g/x", 0x05)]))] + fail(v, PROTOCOL))
        # $-topics, on a quiet broker: '#' and '+' must not match them.
        for f, t in (("#", "$d/x"), ("+/x", "$d/x"), ("+/+", "$d/x"), ("+", "$d"), ("#", "$SYS/x")):
            n = uid()
            steps = prelude(v, "dl" + n) + [send(subscribe(v, 1, [(f, 0)])), expect(suback(v, 1, [0])),
                                            send(publish(v, t, b"m"))] + barrier(v)
            add(v, "topic", f"dollar-{f}-{t}".replace("/", "|"), cite(v, "4.7.2-1"),
                f"filter {f!r} does not match {t!r}: no delivery", steps, group="isolated")
        n = uid()
        steps = prelude(v, "dl" + n) + [send(subscribe(v, 1, [("$d/#", 0)])), expect(suback(v, 1, [0])),
                                        send(publish(v, "$d/x", b"m")), expect(fwd(v, "$d/x", b"m"))]
        add(v, "topic", "dollar-explicit", cite(v, "4.7.2-1", "3.3.2-3"), "'$d/#' does match '$d/x'", steps, group="isolated")
        if c5:
            n = uid()
            steps = prelude(v, "dl" + n) + [send(subscribe(v, 1, [("$share/g/#", 0)])), expect(suback(v, 1, [0])),
                                            send(publish(v, "$d/x", b"m"))] + barrier(v)
            add(v, "topic", "dollar-shared-hash", cite(v, "4.7.2-1"), "'$share/g/#' does not match '$d/x'", steps, group="isolated")


# ---------------------------------------------------------------- 11. subscription options


def gen_subscription_options():
    for v in VERSIONS:
        c5 = v == V5
        for opt in range(256):
            n = uid()
            f = f"op/{n}"
            steps = prelude(v, "op" + n) + [send(subscribe(v, 1, [(f, opt)]))]
            qos = opt & 3
            name = f"options-{opt:08b}"
            if c5:
                rh = (opt >> 4) & 3
                if opt & 0xC0:
                    add(v, "sub-options", name, cite(v, "3.8.3-5"), f"Subscription Options {opt:08b}: reserved bits set, malformed",
                        steps + fail(v, MALFORMED))
                elif qos == 3:
                    add(v, "sub-options", name, cite(v, "§3.8.3.1", "4.13.1-1"), f"Subscription Options {opt:08b}: QoS 3, malformed",
                        steps + fail(v, MALFORMED))
                elif rh == 3:
                    add(v, "sub-options", name, cite(v, "§3.8.3.1", "4.13.1-1"),
                        f"Subscription Options {opt:08b}: Retain Handling 3 is a protocol error",
                        steps + fail(v, PROTOCOL))
                else:
                    add(v, "sub-options", name, cite(v, "3.8.4-7", "3.9.3-2"), f"Subscription Options {opt:08b}: granted QoS {qos}",
                        steps + [expect(suback(v, 1, [qos]))])
            else:
                if opt & 0xFC or qos == 3:
                    add(v, "sub-options", name, cite(v, "3.8.3-4"), f"requested QoS byte {opt:08b}: reserved bits or QoS 3, malformed",
                        steps + fail(v, MALFORMED))
                else:
                    add(v, "sub-options", name, cite(v, "3.8.4-5", "3.9.3-2"), f"requested QoS byte {opt:08b}: granted QoS {qos}",
                        steps + [expect(suback(v, 1, [qos]))])


# ---------------------------------------------------------------- 12. sessions, wills, retained


def gen_scenarios():
    for v in VERSIONS:
        c5 = v == V5
        # Will published when the connection fails.
        n = uid()
        wt = f"wl/{n}"
        add(v, "will", "published-on-protocol-error", cite(v, "3.1.2-8", "3.1.2-7" if c5 else "3.1.2-9",
                                                            "3.1.2-14" if c5 else "3.1.2-16"),
            "the Will Message is published when the connection closes without DISCONNECT, not retained (Will Retain 0)",
            prelude(v, "wa" + n, flags=0x06, will=(b"", wt, b"gone")) + prelude(v, "wb" + n, on=1)
            + [send(subscribe(v, 1, [(wt, 0)]), 1), expect(suback(v, 1, [0]), 1), send(b"\x00\x00")] + fail(v, MALFORMED)
            + [expect(fwd(v, wt, b"gone"), 1)] + prelude(v, "wc" + n, on=2)
            + [send(subscribe(v, 1, [(wt, 0)]), 2), expect(suback(v, 1, [0]), 2)] + barrier(v, 2))
        n = uid()
        wt = f"wl/{n}"
        add(v, "will", "discarded-on-disconnect", cite(v, "3.14.4-3", "3.1.2-10"),
            "DISCONNECT discards the Will Message: nothing is published",
            prelude(v, "wa" + n, flags=0x06, will=(b"", wt, b"gone")) + prelude(v, "wb" + n, on=1)
            + [send(subscribe(v, 1, [(wt, 0)]), 1), expect(suback(v, 1, [0]), 1), send(b"\xe0\x00"), close(())]
            + barrier(v, 1))
        n = uid()
        wt = f"wl/{n}"
        add(v, "will", "retained-will", cite(v, "3.1.2-15" if c5 else "3.1.2-17", "3.3.1-9" if not c5 else "3.3.1-9"),
            "Will Retain 1: the will is retained and a later subscriber receives it with RETAIN 1",
            prelude(v, "wa" + n, flags=0x26, will=(b"", wt, b"gone")) + [send(b"\x00\x00")] + fail(v, MALFORMED)
            + prelude(v, "wb" + n, on=1) + [send(subscribe(v, 1, [(wt, 0)]), 1), expect(suback(v, 1, [0]), 1),
                                              expect(fwd(v, wt, b"gone", retain=True), 1)])
        n = uid()
        wt = f"wl/{n}"
        add(v, "will", "will-qos1", cite(v, "3.1.2-9", "3.8.4-8" if c5 else "3.8.4-6"),
            "Will QoS 1 to a QoS 2 subscriber: delivered at QoS 1",
            prelude(v, "wa" + n, flags=0x0E, will=(b"", wt, b"gone")) + prelude(v, "wb" + n, on=1)
            + [send(subscribe(v, 1, [(wt, 2)]), 1), expect(suback(v, 1, [2]), 1), send(b"\x00\x00")] + fail(v, MALFORMED)
            + [expect(fwd(v, wt, b"gone", qos=1, pkid=1), 1)])
        if c5:
            n = uid()
            wt = f"wl/{n}"
            add(v, "will", "published-on-disconnect-0x04", cite(v, "§3.14.2.1", "3.1.2-8"),
                "DISCONNECT 0x04 (Disconnect with Will Message) publishes the will",
                prelude(v, "wa" + n, flags=0x06, will=(b"", wt, b"gone")) + prelude(v, "wb" + n, on=1)
                + [send(subscribe(v, 1, [(wt, 0)]), 1), expect(suback(v, 1, [0]), 1), send(b"\xe0\x02\x04\x00"), close(())]
                + [expect(fwd(v, wt, b"gone"), 1)])
            n = uid()
            wt = f"wl/{n}"
            add(v, "will", "properties-forwarded", cite(v, "3.3.2-4", "3.3.2-20", "3.1.3-10"),
                "the will's Payload Format Indicator, Content Type and User Properties reach the subscriber unaltered",
                prelude(v, "wa" + n, flags=0x06, will=(b"\x01\x01\x03" + s("ct") + b"\x26" + s("b") + s("1") + b"\x26" + s("a") + s("2"), wt, b"gone"))
                + prelude(v, "wb" + n, on=1) + [send(subscribe(v, 1, [(wt, 0)]), 1), expect(suback(v, 1, [0]), 1), send(b"\x00\x00")]
                + fail(v, MALFORMED)
                + [expect(fwd(v, wt, b"gone", fprops=b"\x01\x01\x03" + s("ct") + b"\x26" + s("b") + s("1")
                                                            + b"\x26" + s("a") + s("2")), 1)])
        # Sessions.
        n = uid()
        cid = "ss" + n
        sp_clause = cite(v, "3.2.2-3", "3.1.2-5", "3.1.3-2", "3.1.2-23") if c5 else cite(v, "3.2.2-2", "3.1.2-4", "3.1.3-2")
        ex = props(b"\x11" + u32(300)) if c5 else b""
        if v != V31:  # MQTT 3.1's CONNACK has no Session Present flag
            add(v, "session", "session-present", sp_clause,
                "a persistent session is resumed: Session Present 1 on the second CONNECT",
                [send(connect(v, cid, flags=0, cprops=ex[1:] if c5 else b"")), expect(CONNACK_ANY_OK[v]), send(b"\xe0\x00"),
                 close(()), send(connect(v, cid, flags=0, cprops=ex[1:] if c5 else b""), 1),
                 expect("20 02 01 00" if not c5 else "20 ?? 01 00 ..", 1)])
        n = uid()
        cid = "ss" + n
        add(v, "session", "clean-discards", cite(v, "3.1.2-4", "3.2.2-2", "3.1.4-4") if c5 else cite(v, "3.1.2-6", "3.2.2-1", "3.1.4-3"),
            "Clean Start / CleanSession 1 discards the stored session: Session Present 0 and no old subscription",
            [send(connect(v, cid, flags=0, cprops=ex[1:] if c5 else b"")), expect(CONNACK_ANY_OK[v]),
             send(subscribe(v, 1, [(f"ss/{n}", 0)])), expect(suback(v, 1, [0])), send(b"\xe0\x00"), close(()),
             send(connect(v, cid, flags=2), 1), expect(CONNACK_OK[v], 1), send(publish(v, f"ss/{n}", b"m"), 1)] + barrier(v, 1))
        n = uid()
        cid = "ss" + n
        add(v, "session", "offline-queue", cite(v, "3.1.2-23", "4.5.0-1") if c5 else cite(v, "3.1.2-5", "4.5.0-1"),
            "QoS 1 messages published while a persistent session is offline are delivered on reconnect",
            [send(connect(v, cid, flags=0, cprops=ex[1:] if c5 else b"")), expect(CONNACK_ANY_OK[v]),
             send(subscribe(v, 1, [(f"ss/{n}", 1)])), expect(suback(v, 1, [1])), send(b"\xe0\x00"), close(())]
            + prelude(v, "sp" + n, on=1) + [send(publish(v, f"ss/{n}", b"q", qos=1, pkid=3), 1), expect(puback_out(v, 3, True), 1),
                                            send(connect(v, cid, flags=0, cprops=ex[1:] if c5 else b""), 2),
                                            expect({V31: "20 02 00 00", V311: "20 02 01 00", V5: "20 ?? 01 00 .."}[v], 2),
                                            expect(fwd(v, f"ss/{n}", b"q", qos=1, pkid=1), 2)])
        n = uid()
        cid = "tk" + n
        add(v, "session", "takeover", cite(v, "3.1.4-3", "3.14.2-2") if c5 else cite(v, "3.1.4-2"),
            "a second connection with the same client identifier closes the first" + (" with DISCONNECT 0x8E" if c5 else ""),
            prelude(v, cid) + prelude(v, cid, on=1) + ([expect("e0 02 8e 00"), close(())] if c5 else [close(())]) + barrier(v, 1))
        n = uid()
        add(v, "session", "refused-connect-processes-nothing", cite(v, "3.1.4-6") if c5 else cite(v, "3.1.4-5"),
            "after a refused CONNECT nothing the client pipelined is processed",
            prelude(v, "rb" + n, on=1) + [send(subscribe(v, 1, [(f"rf/{n}", 0)]), 1), expect(suback(v, 1, [0]), 1),
                                          send(connect(v, "x" + n, level=6) + publish(v, f"rf/{n}", b"no")),
                                          expect("20 02 00 01"), close(())] + barrier(v, 1))
        # Retained messages.
        n = uid()
        t = f"rt/{n}"
        add(v, "retain", "new-subscriber-gets-retained", cite(v, "3.3.1-9", "3.3.1-5") if c5 else cite(v, "3.3.1-5", "3.3.1-6", "3.3.1-8"),
            "a retained message is sent to a new subscription with RETAIN 1",
            prelude(v, "ra" + n) + [send(publish(v, t, b"r", qos=1, pkid=1, retain=True)), expect(puback_out(v, 1))]
            + prelude(v, "rb" + n, on=1) + [send(subscribe(v, 1, [(t, 0)]), 1), expect(suback(v, 1, [0]), 1),
                                            expect(fwd(v, t, b"r", retain=True), 1)])
        n = uid()
        t = f"rt/{n}"
        add(v, "retain", "established-subscriber-retain-0", cite(v, "3.3.1-12") if c5 else cite(v, "3.3.1-9"),
            "a retained PUBLISH reaches an established subscription with RETAIN 0",
            prelude(v, "rb" + n, on=1) + [send(subscribe(v, 1, [(t, 0)]), 1), expect(suback(v, 1, [0]), 1)]
            + prelude(v, "ra" + n) + [send(publish(v, t, b"r", retain=True)), expect(fwd(v, t, b"r"), 1)])
        n = uid()
        t = f"rt/{n}"
        add(v, "retain", "empty-payload-clears", cite(v, "3.3.1-6", "3.3.1-7") if c5 else cite(v, "3.3.1-10", "3.3.1-11"),
            "a retained PUBLISH with an empty payload removes the retained message",
            prelude(v, "ra" + n) + [send(publish(v, t, b"r", qos=1, pkid=1, retain=True)), expect(puback_out(v, 1)),
                                    send(publish(v, t, b"", qos=1, pkid=2, retain=True)), expect(puback_out(v, 2))]
            + prelude(v, "rb" + n, on=1) + [send(subscribe(v, 1, [(t, 0)]), 1), expect(suback(v, 1, [0]), 1)] + barrier(v, 1))
        n = uid()
        t = f"rt/{n}"
        add(v, "retain", "retain-0-keeps-retained", cite(v, "3.3.1-8") if c5 else cite(v, "3.3.1-12"),
            "a PUBLISH with RETAIN 0 neither replaces nor removes the retained message",
            prelude(v, "ra" + n) + [send(publish(v, t, b"r", qos=1, pkid=1, retain=True)), expect(puback_out(v, 1)),
                                    send(publish(v, t, b"n", qos=1, pkid=2)), expect(puback_out(v, 2))]
            + prelude(v, "rb" + n, on=1) + [send(subscribe(v, 1, [(t, 0)]), 1), expect(suback(v, 1, [0]), 1),
                                            expect(fwd(v, t, b"r", retain=True), 1)] + barrier(v, 1))
        n = uid()
        t = f"rt/{n}"
        add(v, "retain", "qos0-replaces", cite(v, "3.3.1-5") if c5 else cite(v, "3.3.1-7"),
            "a retained QoS 0 PUBLISH replaces the retained message",
            prelude(v, "ra" + n) + [send(publish(v, t, b"r", qos=1, pkid=1, retain=True)), expect(puback_out(v, 1)),
                                    send(publish(v, t, b"z", retain=True))] + barrier(v)
            + prelude(v, "rb" + n, on=1) + [send(subscribe(v, 1, [(t, 1)]), 1), expect(suback(v, 1, [1]), 1),
                                            expect(fwd(v, t, b"z", retain=True), 1)] + barrier(v, 1))
        n = uid()
        t = f"rt/{n}"
        add(v, "retain", "resubscribe-resends", cite(v, "3.8.4-3", "3.8.4-4") if c5 else cite(v, "3.8.4-3"),
            "subscribing again to the same filter replaces the subscription and re-sends the retained message",
            prelude(v, "ra" + n) + [send(publish(v, t, b"r", qos=1, pkid=1, retain=True)), expect(puback_out(v, 1)),
                                    send(subscribe(v, 2, [(t, 0)])), expect(suback(v, 2, [0])), expect(fwd(v, t, b"r", retain=True)),
                                    send(subscribe(v, 3, [(t, 1)])), expect(suback(v, 3, [1])),
                                    expect(fwd(v, t, b"r", qos=1, pkid=1, retain=True)), send(ack("puback", 1)),
                                    send(publish(v, t + "x", b"-")), send(publish(v, t, b"n"))] + [expect(fwd(v, t, b"n"))] + barrier(v))
        if c5:
            for rh, clause, sends in ((0, "3.3.1-9", True), (1, "3.3.1-10", True), (2, "3.3.1-11", False)):
                n = uid()
                t = f"rt/{n}"
                steps = prelude(v, "rh" + n) + [send(publish(v, t, b"r", qos=1, pkid=1, retain=True)), expect(puback_out(v, 1)),
                                                send(subscribe(v, 2, [(t, rh << 4)])), expect(suback(v, 2, [0]))]
                steps += [expect(fwd(v, t, b"r", retain=True))] if sends else []
                steps += barrier(v) + [send(subscribe(v, 3, [(t, rh << 4)])), expect(suback(v, 3, [0]))]
                steps += [expect(fwd(v, t, b"r", retain=True))] if rh == 0 else []
                steps += barrier(v)
                add(v, "retain", f"retain-handling-{rh}", cite(v, clause),
                    f"Retain Handling {rh}: retained message sent " + ["at every subscribe", "only for a new subscription", "never"][rh],
                    steps)
            for rap in (0, 1):
                n = uid()
                t = f"rt/{n}"
                add(v, "retain", f"retain-as-published-{rap}", cite(v, "3.3.1-12" if rap == 0 else "3.3.1-13"),
                    f"Retain As Published {rap}: a live retained PUBLISH is forwarded with RETAIN {rap}",
                    prelude(v, "ra" + n) + [send(subscribe(v, 1, [(t, rap << 3)])), expect(suback(v, 1, [0])),
                                            send(publish(v, t, b"r", retain=True)), expect(fwd(v, t, b"r", retain=bool(rap)))])

        # More sessions and flows.
        ex5 = b"\x11" + u32(300) if c5 else b""
        sp1 = {V31: "20 02 00 00", V311: "20 02 01 00", V5: "20 ?? 01 00 .."}[v]
        n = uid()
        t = f"rs/{n}"
        add(v, "retain", "retained-outlives-session", cite(v, "3.3.1-5") if c5 else cite(v, "3.1.2-7"),
            "a retained message outlives the session of the client that published it",
            prelude(v, "ra" + n) + [send(publish(v, t, b"r", qos=1, pkid=1, retain=True)), expect(puback_out(v, 1)),
                                    send(b"\xe0\x00"), close(())]
            + prelude(v, "rb" + n, on=1) + [send(subscribe(v, 1, [(t, 0)]), 1), expect(suback(v, 1, [0]), 1),
                                            expect(fwd(v, t, b"r", retain=True), 1)])
        n = uid()
        t = f"ip/{n}"
        add(v, "delivery", "distinct-identifiers-in-flight",
            cite(v, "2.2.1-4", "4.3.2-1", "4.3.2-3") if c5 else cite(v, "2.3.1-4", "4.3.2-1"),
            "two unacknowledged QoS 1 deliveries carry different non-zero identifiers",
            prelude(v, "ia" + n, on=1) + [send(subscribe(v, 1, [(t, 1)]), 1), expect(suback(v, 1, [1]), 1)]
            + prelude(v, "ib" + n) + [send(publish(v, t, b"1", qos=1, pkid=9)), expect(puback_out(v, 9, True)),
                                      send(publish(v, t, b"2", qos=1, pkid=9)), expect(puback_out(v, 9, True)),
                                      expect(fwd(v, t, b"1", qos=1, pkid=1), 1), expect(fwd(v, t, b"2", qos=1, pkid=2), 1)])
        n = uid()
        t = f"rd/{n}"
        cid = "rd" + n
        add(v, "session", "qos1-redelivered-with-dup",
            cite(v, "3.3.1-1", "4.4.0-1", "4.3.2-3", "4.1.0-1") if c5 else cite(v, "3.3.1-1", "4.4.0-1", "4.1.0-1"),
            "an unacknowledged QoS 1 delivery is resent on reconnect with DUP 1 and the same identifier",
            [send(connect(v, cid, flags=0, cprops=ex5)), expect(CONNACK_ANY_OK[v]),
             send(subscribe(v, 1, [(t, 1)])), expect(suback(v, 1, [1]))]
            + prelude(v, "rp" + n, on=1) + [send(publish(v, t, b"q", qos=1, pkid=3), 1), expect(puback_out(v, 3, True), 1),
                                            expect(fwd(v, t, b"q", qos=1, pkid=1)), send(b"\xe0\x00"), close(()),
                                            send(connect(v, cid, flags=0, cprops=ex5), 2), expect(sp1, 2),
                                            expect(fwd(v, t, b"q", qos=1, pkid=1, dup=True), 2), send(ack("puback", 1), 2)]
            + barrier(v, 2))
        n = uid()
        t = f"rd/{n}"
        cid = "rd" + n
        add(v, "session", "qos2-pubrel-redelivered",
            cite(v, "4.3.3-6", "4.4.0-1", "4.3.3-5") if c5 else cite(v, "4.3.3-1", "4.4.0-1"),
            "after PUBREC, a reconnect resends PUBREL with the same identifier, never the PUBLISH",
            [send(connect(v, cid, flags=0, cprops=ex5)), expect(CONNACK_ANY_OK[v]),
             send(subscribe(v, 1, [(t, 2)])), expect(suback(v, 1, [2]))]
            + prelude(v, "rp" + n, on=1) + [send(publish(v, t, b"q", qos=1, pkid=3), 1), expect(puback_out(v, 3, True), 1),
                                            expect(fwd(v, t, b"q", qos=1, pkid=1)), send(ack("puback", 1)),
                                            send(publish(v, t, b"w", qos=2, pkid=4), 1), expect(pubrec_out(4), 1),
                                            send(ack("pubrel", 4), 1), expect(pubcomp_out(v, 4), 1),
                                            expect(fwd(v, t, b"w", qos=2, pkid=2)), send(ack("pubrec", 2)), expect(pubrel_out(v, 2)),
                                            send(b"\xe0\x00"), close(()),
                                            send(connect(v, cid, flags=0, cprops=ex5), 2), expect(sp1, 2),
                                            expect(pubrel_out(v, 2), 2), send(ack("pubcomp", 2), 2)]
            + barrier(v, 2))
        if c5:
            n = uid()
            t = f"rd/{n}"
            cid = "rd" + n
            add(v, "session", "failed-puback-not-resent", cite(v, "4.4.0-2"),
                "a PUBACK with reason 0x80 acknowledges the delivery: nothing is resent on reconnect",
                [send(connect(v, cid, flags=0, cprops=ex5)), expect(CONNACK_ANY_OK[v]),
                 send(subscribe(v, 1, [(t, 1)])), expect(suback(v, 1, [1]))]
                + prelude(v, "rp" + n, on=1) + [send(publish(v, t, b"q", qos=1, pkid=3), 1), expect(puback_out(v, 3, True), 1),
                                                expect(fwd(v, t, b"q", qos=1, pkid=1)), send(ack("puback", 1, 0x80)),
                                                send(b"\xe0\x00"), close(()),
                                                send(connect(v, cid, flags=0, cprops=ex5), 2), expect(sp1, 2)]
                + barrier(v, 2))
        n = uid()
        t = f"uq/{n}"
        add(v, "delivery", "unsubscribe-completes-qos2", cite(v, "3.10.4-3"),
            "a QoS 2 delivery started before UNSUBSCRIBE is completed: PUBREC still gets PUBREL",
            prelude(v, "ua" + n) + [send(subscribe(v, 1, [(t, 2)])), expect(suback(v, 1, [2]))]
            + prelude(v, "ub" + n, on=1) + [send(publish(v, t, b"u", qos=1, pkid=3), 1), expect(puback_out(v, 3, True), 1),
                                            expect(fwd(v, t, b"u", qos=1, pkid=1)), send(ack("puback", 1)),
                                            send(publish(v, t, b"v", qos=2, pkid=4), 1), expect(pubrec_out(4), 1),
                                            send(ack("pubrel", 4), 1), expect(pubcomp_out(v, 4), 1),
                                            expect(fwd(v, t, b"v", qos=2, pkid=2)),
                                            send(unsubscribe(v, 5, [t])), expect(unsuback(v, 5, [0]) if c5 else unsuback(v, 5)),
                                            send(ack("pubrec", 2)), expect(pubrel_out(v, 2)), send(ack("pubcomp", 2))]
            + barrier(v))
        n = uid()
        t = f"um/{n}"
        add(v, "delivery", "unsubscribe-several-filters", cite(v, "3.10.4-6", "3.10.4-2"),
            "one UNSUBSCRIBE for two filters: one UNSUBACK, and neither filter delivers any more",
            prelude(v, "um" + n) + [send(subscribe(v, 1, [(t + "/a", 0), (t + "/b", 0)])), expect(suback(v, 1, [0, 0])),
                                    send(unsubscribe(v, 2, [t + "/a", t + "/b"])),
                                    expect(unsuback(v, 2, [0, 0]) if c5 else unsuback(v, 2)),
                                    send(publish(v, t + "/a", b"x")), send(publish(v, t + "/b", b"y"))] + barrier(v))
        n = uid()
        t = f"or/{n}"
        steps = prelude(v, "oa" + n, on=1) + [send(subscribe(v, 1, [(t, 1)]), 1), expect(suback(v, 1, [1]), 1)] + prelude(v, "ob" + n)
        for i in range(1, 6):
            steps += [send(publish(v, t, str(i).encode(), qos=1, pkid=i)), expect(puback_out(v, i, True))]
        for i in range(1, 6):
            steps += [expect(fwd(v, t, str(i).encode(), qos=1, pkid=i), 1), send(ack("puback", i), 1)]
        add(v, "delivery", "ordered-topic", cite(v, "4.6.0-5", "4.6.0-6"),
            "five QoS 1 messages from one client reach a subscriber in the order they were published", steps)
        n = uid()
        add(v, "will", "no-will-without-will-flag", cite(v, "§3.1.2.5") if c5 else cite(v, "3.1.2-12"),
            "a client without a Will Flag that fails publishes nothing",
            prelude(v, "nw" + n, on=1) + [send(subscribe(v, 1, [("#", 0)]), 1), expect(suback(v, 1, [0]), 1)]
            + prelude(v, "nx" + n) + [send(b"\x00\x00")] + fail(v, MALFORMED) + barrier(v, 1), group="isolated")
        if c5:
            n = uid()
            t = f"ta/{n}"
            add(v, "delivery", "topic-alias-per-connection", cite(v, "3.3.2-7", "4.13.1-1"),
                "a Topic Alias set on one connection means nothing on another: protocol error",
                prelude(v, "ta" + n) + [send(publish(v, t, b"1", pprops=b"\x23" + u16(3)))] + barrier(v)
                + prelude(v, "tb" + n, on=1) + [send(publish(v, "", b"2", pprops=b"\x23" + u16(3)), 1)] + fail(v, PROTOCOL, 1))
            n = uid()
            add(v, "delivery", "request-problem-information-0", cite(v, "3.1.2-29", "3.8.4-7"),
                "with Request Problem Information 0, a failing SUBACK carries no Reason String or User Property",
                [send(connect(v, "rq" + n, cprops=b"\x17\x00")), expect(CONNACK_OK[v]),
                 send(subscribe(v, 1, [("a/#/b", 0)])), expect(suback(v, 1, [0x8F]))])
            n = uid()
            t = f"sq/{n}"
            add(v, "delivery", "shared-granted-qos", cite(v, "4.8.2-3"),
                "a shared subscriber with granted QoS 0 receives a QoS 1 message at QoS 0",
                prelude(v, "sq" + n) + [send(subscribe(v, 1, [(f"$share/g{n}/{t}", 0)])), expect(suback(v, 1, [0]))]
                + prelude(v, "sp" + n, on=1) + [send(publish(v, t, b"s", qos=1, pkid=2), 1), expect(puback_out(v, 2, True), 1),
                                                expect(fwd(v, t, b"s"))])
        # Delivery.
        for pq in (0, 1, 2):
            for sq in (0, 1, 2):
                n = uid()
                t = f"dq/{n}"
                q = min(pq, sq)
                steps = prelude(v, "dq" + n, on=1) + [send(subscribe(v, 1, [(t, sq)]), 1), expect(suback(v, 1, [sq]), 1)] \
                    + prelude(v, "dp" + n) + [send(publish(v, t, b"d", qos=pq, pkid=4))]
                if pq == 1:
                    steps.append(expect(puback_out(v, 4, True)))
                if pq == 2:
                    steps += [expect(pubrec_out(4)), send(ack("pubrel", 4)), expect(pubcomp_out(v, 4))]
                steps.append(expect(fwd(v, t, b"d", qos=q, pkid=1), 1))
                if q == 1:
                    steps.append(send(ack("puback", 1), 1))
                if q == 2:
                    steps += [send(ack("pubrec", 1), 1), expect(pubrel_out(v, 1), 1), send(ack("pubcomp", 1), 1)]
                steps += barrier(v, 1)
                extra5 = {0: ["2.2.1-2"], 1: ["2.2.1-4", "4.3.2-1", "4.3.2-2"], 2: ["2.2.1-4", "4.3.3-1", "4.3.3-2", "4.3.3-3", "4.3.3-5"]}[q]
                extra5 += ["3.1.2-27", "3.3.2-11"]
                extra3 = {0: ["2.3.1-5"], 1: ["2.3.1-4"], 2: ["2.3.1-4"]}[q]
                add(v, "delivery", f"publish-qos{pq}-subscription-qos{sq}",
                    cite(v, "3.8.4-8", "4.3.3-4" if q == 2 else "4.3.2-2" if q == 1 else "4.3.1-1", *extra5) if c5 else
                    cite(v, "3.8.4-6", "4.3.3-1" if q == 2 else "4.3.2-1" if q == 1 else "4.3.1-1", *extra3),
                    f"QoS {pq} PUBLISH to a QoS {sq} subscription is delivered at QoS {q}", steps)
        n = uid()
        t = f"dd/{n}"
        add(v, "delivery", "outgoing-dup-independent", cite(v, "3.3.1-3"),
            "an incoming DUP 1 PUBLISH is forwarded with DUP 0",
            prelude(v, "dd" + n, on=1) + [send(subscribe(v, 1, [(t, 1)]), 1), expect(suback(v, 1, [1]), 1)]
            + prelude(v, "de" + n) + [send(publish(v, t, b"d", qos=1, pkid=2, dup=True)), expect(puback_out(v, 2, True)),
                                      expect(fwd(v, t, b"d", qos=1, pkid=1), 1)])
        n = uid()
        t = f"ov/{n}"
        add(v, "delivery", "overlapping-max-qos", cite(v, "3.3.4-2") if c5 else cite(v, "3.3.5-1"),
            "overlapping subscriptions (QoS 0 and QoS 2): delivered at the highest QoS",
            prelude(v, "ov" + n) + [send(subscribe(v, 1, [(t + "/#", 0), (t + "/+", 2)])), expect(suback(v, 1, [0, 2])),
                                    send(publish(v, t + "/x", b"o", qos=2, pkid=5)), expect(pubrec_out(5)),
                                    send(ack("pubrel", 5)), expect(fwd(v, t + "/x", b"o", qos=2, pkid=1)), expect(pubcomp_out(v, 5)),
                                    send(ack("pubrec", 1)), expect(pubrel_out(v, 1)), send(ack("pubcomp", 1))] + barrier(v))
        n = uid()
        t = f"us/{n}"
        add(v, "delivery", "unsubscribe-stops", cite(v, "3.10.4-1", "3.10.4-2"),
            "after UNSUBSCRIBE no new message is delivered for the filter",
            prelude(v, "us" + n) + [send(subscribe(v, 1, [(t, 0)])), expect(suback(v, 1, [0])),
                                    send(unsubscribe(v, 2, [t])), expect(unsuback(v, 2, [0]) if c5 else unsuback(v, 2)),
                                    send(publish(v, t, b"u"))] + barrier(v))
        n = uid()
        t = f"us/{n}"
        add(v, "delivery", "unsubscribe-exact-match", cite(v, "3.10.4-1"),
            "UNSUBSCRIBE compares filters character by character: 'a/+' does not remove 'a/#'",
            prelude(v, "us" + n) + [send(subscribe(v, 1, [(t + "/#", 0)])), expect(suback(v, 1, [0])),
                                    send(unsubscribe(v, 2, [t + "/+"])), expect(unsuback(v, 2, [0x11]) if c5 else unsuback(v, 2)),
                                    send(publish(v, t + "/x", b"u")), expect(fwd(v, t + "/x", b"u"))])
        if c5:
            n = uid()
            t = f"nl/{n}"
            add(v, "delivery", "no-local", cite(v, "3.8.3-3"), "No Local 1: the client's own PUBLISH is not sent back to it",
                prelude(v, "nl" + n) + [send(subscribe(v, 1, [(t, 0x04)])), expect(suback(v, 1, [0])),
                                        send(publish(v, t, b"n"))] + barrier(v))
            n = uid()
            t = f"sid/{n}"
            add(v, "delivery", "subscription-identifiers", cite(v, "3.3.4-3", "3.3.4-4"),
                "a message matching two subscriptions carries both Subscription Identifiers",
                prelude(v, "si" + n) + [send(subscribe(v, 1, [(t + "/#", 0)], sprops=b"\x0b\x07")), expect(suback(v, 1, [0])),
                                        send(subscribe(v, 2, [(t + "/+", 1)], sprops=b"\x0b\x09")), expect(suback(v, 2, [1])),
                                        send(publish(v, t + "/x", b"s", qos=1, pkid=5)),
                                        expect(fwd(v, t + "/x", b"s", qos=1, pkid=1, fprops=b"\x0b\x07\x0b\x09")),
                                        expect(puback_out(v, 5, True))])
            n = uid()
            t = f"fp/{n}"
            pp = props(b"\x01\x01", b"\x03" + s("ct"), b"\x08" + s("re/1"), b"\x09" + s(b"\x00\x01"),
                       b"\x26" + s("k2") + s("v"), b"\x26" + s("k1") + s("v"), b"\x26" + s("k2") + s("w"))
            add(v, "delivery", "properties-forwarded", cite(v, "3.3.2-4", "3.3.2-15", "3.3.2-16", "3.3.2-17", "3.3.2-18", "3.3.2-20"),
                "Payload Format Indicator, Content Type, Response Topic, Correlation Data and User Properties (in order) "
                "reach the subscriber unaltered",
                prelude(v, "fp" + n) + [send(subscribe(v, 1, [(t, 0)])), expect(suback(v, 1, [0])),
                                        send(publish(v, t, b"p", pprops=pp[1:])), expect(fwd(v, t, b"p", fprops=pp[1:]))])
            n = uid()
            t = f"ta/{n}"
            add(v, "delivery", "topic-alias-in", cite(v, "3.3.2-12"),
                "a Topic Alias set by the client is resolved for a later PUBLISH with an empty topic",
                prelude(v, "ta" + n) + [send(subscribe(v, 1, [(t, 0)])), expect(suback(v, 1, [0])),
                                        send(publish(v, t, b"1", pprops=b"\x23" + u16(3))), expect(fwd(v, t, b"1")),
                                        send(publish(v, "", b"2", pprops=b"\x23" + u16(3))), expect(fwd(v, t, b"2"))])
            n = uid()
            add(v, "delivery", "topic-alias-unknown", cite(v, "§3.3.2.3.4", "4.13.1-1"),
                "an empty topic with a Topic Alias never set is a protocol error",
                prelude(v, "ta" + n) + [send(publish(v, "", b"2", pprops=b"\x23" + u16(4)))] + fail(v, PROTOCOL))
            n = uid()
            t = f"rm/{n}"
            add(v, "delivery", "receive-maximum", cite(v, "3.3.4-9", "3.3.4-10", "4.9.0-1", "4.9.0-2", "4.9.0-3"),
                "with Receive Maximum 1 the second QoS 1 message waits for the first PUBACK; PINGREQ is still answered",
                [send(connect(v, "rm" + n, cprops=b"\x21" + u16(1)), 1), expect(CONNACK_OK[v], 1),
                 send(subscribe(v, 1, [(t, 1)]), 1), expect(suback(v, 1, [1]), 1)]
                + prelude(v, "rp" + n) + [send(publish(v, t, b"1", qos=1, pkid=1)), expect(puback_out(v, 1, True)),
                                          send(publish(v, t, b"2", qos=1, pkid=2)), expect(puback_out(v, 2, True)),
                                          expect(fwd(v, t, b"1", qos=1, pkid=1), 1)] + barrier(v, 1)
                + [send(ack("puback", 1), 1), expect(fwd(v, t, b"2", qos=1, pkid=2), 1)])
            n = uid()
            t = f"mp/{n}"
            add(v, "delivery", "maximum-packet-size", cite(v, "3.1.2-24", "3.1.2-25"),
                "a message larger than the client's Maximum Packet Size is not sent to it; a smaller one is",
                [send(connect(v, "mp" + n, cprops=b"\x27" + u32(40)), 1), expect(CONNACK_OK[v], 1),
                 send(subscribe(v, 1, [(t, 0)]), 1), expect(suback(v, 1, [0]), 1)]
                + prelude(v, "mq" + n) + [send(publish(v, t, b"L" * 60)), send(publish(v, t, b"s"))]
                + [expect(fwd(v, t, b"s"), 1)])
            n = uid()
            add(v, "delivery", "session-expiry-in-disconnect", cite(v, "§3.14.2.2.2", "4.13.1-1"),
                "a non-zero Session Expiry in DISCONNECT after CONNECT set none is a protocol error",
                prelude(v, "se" + n) + [send(pkt(0xE0, b"\x00" + props(b"\x11" + u32(5))))] + fail(v, PROTOCOL))
            # The codes table 3.14.2.1 lets a client send; the server-only ones are not tested,
            # the standard does not say what a server does with them.
            for code in (0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x99):
                n = uid()
                add(v, "delivery", f"disconnect-reason-{code:02x}", cite(v, "§3.14.2.1", "3.14.4-2"),
                    f"a DISCONNECT with the client reason code {code:#04x} closes the connection silently",
                    prelude(v, "dr" + n) + [send(bytes([0xE0, 1, code])), close(())])
            defined = {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
                       0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2}
            for code in (0x01, 0x02, 0x03, 0x05, 0x10, 0x11, 0x7F, 0x84, 0x85, 0x86, 0x88, 0x8A, 0x8C, 0x91, 0x92,
                         0xA3, 0xFE, 0xFF):
                assert code not in defined
                n = uid()
                add(v, "delivery", f"disconnect-reason-undefined-{code:02x}", cite(v, "3.14.2-1", "4.13.1-1"),
                    f"a DISCONNECT with reason code {code:#04x}, which table 3.14.2.1 does not define, is malformed",
                    prelude(v, "dr" + n) + [send(bytes([0xE0, 1, code]))] + fail(v, MALFORMED))


# ---------------------------------------------------------------- 13. a packet size limit


def gen_packet_size_limit():
    """A broker with `max_packet_size 128`: the exact maximum passes, one byte more is refused
    before the body is buffered."""
    limit = 128
    for v in VERSIONS:
        c5 = v == V5
        clause = ("MQTT5 §3.2.2.3.6 [MQTT5-3.2.2-15] [MQTT5-4.13.1-1]" if c5 else "MQTT311 §2.2.3 [MQTT311-4.8.0-1]")
        for size, ok in ((limit, True), (limit + 1, False)):
            n = uid()
            topic = f"ps/{n}"
            base = len(publish(v, topic, b"", qos=1, pkid=5))
            p = publish(v, topic, b"z" * (size - base), qos=1, pkid=5)
            assert len(p) == size
            steps = prelude(v, "ps" + n) + [send(p)]
            steps += [expect(puback_out(v, 5))] if ok else fail(v, 0x95 if c5 else MALFORMED)
            add(v, "packet-size", f"publish-{size}-bytes", clause,
                f"with max_packet_size {limit}, a {size}-byte PUBLISH is " + ("accepted" if ok else "refused (0x95 Packet too large)"),
                steps, broker="max-packet-size-128")
        n = uid()
        add(v, "packet-size", "declared-268435455", clause,
            f"with max_packet_size {limit}, a PUBLISH declaring the largest Remaining Length is refused at once",
            prelude(v, "ps" + n) + [send(b"\x30\xff\xff\xff\x7f")] + fail(v, 0x95 if c5 else MALFORMED),
            broker="max-packet-size-128")
        n = uid()
        cb = connect(v, "ps" + n + "x" * (limit - len(connect(v, "ps" + n)) + 1))
        add(v, "packet-size", "connect-129-bytes", cite(v, "3.1.4-1"),
            f"with max_packet_size {limit}, a {len(cb)}-byte CONNECT is refused",
            [send(cb)] + refuse_connect(v, (0x95,)), broker="max-packet-size-128")
        if c5:
            n = uid()
            add(v, "packet-size", "connack-announces-maximum", cite(v, "§3.2.2.3.6", "3.2.2-1"),
                "the CONNACK announces Maximum Packet Size 128",
                [send(connect(v, "ps" + n)), expect("20 0e 00 00 0b 21 04 00 22 00 0a 27 00 00 00 80"), send(b"\xe0\x00"), close(())],
                broker="max-packet-size-128")


def main():
    gen_header_flags()
    gen_connect_flags()
    gen_connect_misc()
    gen_remaining_length()
    gen_truncation()
    gen_trailing()
    gen_properties()
    gen_strings()
    gen_packet_ids()
    gen_topics()
    gen_subscription_options()
    gen_scenarios()
    gen_packet_size_limit()
    ids = [c["id"] for c in cases]
    dup = {i for i in ids if ids.count(i) > 1} if len(ids) != len(set(ids)) else set()
    if dup:
        sys.exit(f"duplicate case ids: {sorted(dup)[:10]}")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.jsonl")
    with open(out, "w") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    skipped = sum(1 for c in cases if "skip" in c)
    print(f"{len(cases)} cases written to {out} ({skipped} known failures marked skip)")


if __name__ == "__main__":
    main()
