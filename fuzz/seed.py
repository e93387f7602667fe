#!/usr/bin/env python3
"""Writes the seed files of fuzz/corpus/ (run from the repository root:
python3 fuzz/seed.py). Packet seeds come from the conformance table, so the fuzzer starts
from every kind of packet the table knows; the text seeds are typical files."""
import hashlib, json, os

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
mode = {"3.1": 1, "3.1.1": 2, "5.0": 3}


def put(target, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def lit(p):
    out = bytearray()
    for t in p.split():
        h, _, n = t.partition("*")
        out += bytes([int(h, 16)]) * (int(n) if n else 1)
    return bytes(out)


cases = [json.loads(l) for l in open(os.path.join(os.path.dirname(root), "..", "tests", "conformance", "cases.jsonl"))]
per_group = {}
for i, c in enumerate(cases):
    cat = c["id"].split("/")[1]
    key = (c["v"], cat)
    # A handful per version and category, spread over the category.
    if per_group.get(key, 0) >= 6 or i % 7:
        continue
    per_group[key] = per_group.get(key, 0) + 1
    sends = [lit(s["send"]) for s in c["steps"] if "send" in s and s.get("on", 0) == 0]
    if not sends or len(sends[-1]) > 2048:
        continue
    if len(sends) == 1:
        put("client_packets", bytes([0, 0]) + sends[0])
    else:
        put("client_packets", bytes([mode[c["v"]], 0]) + b"".join(sends[1:]))
    exp = [s["expect"] for s in c["steps"] if "expect" in s and "?" not in s["expect"] and ".." not in s["expect"]]
    if exp:
        put("server_packets", bytes([1 if c["v"] == "5.0" else 0]) + b"".join(lit(e) for e in exp))

for text in [
    "listener 1883\nallow_anonymous true\n",
    "# comment\nlistener 8883 0.0.0.0\nprotocol websockets\nmax_connections 10\n",
    "password_file /tmp/p\nacl_file /tmp/a\nallow_anonymous false\n",
    "max_packet_size 1000\nmessage_size_limit 500\nmax_inflight_messages 0\nmax_queued_messages 100\nmax_queued_bytes 1000000\n",
    "max_keepalive 60\nsys_interval 10\nlog_timestamp false\nlog_timestamp_format %Y-%m-%dT%H:%M:%S\n",
    "retain_available false\nallow_zero_length_clientid false\nauto_id_prefix x-\nmax_topic_alias 0\n",
    "connection_messages true\npersistent_client_expiration 1d\npersistence true\npersistence_location /tmp/\npersistence_file m.db\nautosave_interval 60\n",
    "listener 1883\nlistener 1884\nprotocol mqtt\n",
    "unknown_option 1\n",
    "max_inflight_messages -1\n",
]:
    put("mosquitto_conf", text.encode())

for text in [
    "alice:$7$101$c2FsdHNhbHQ=$" + "A" * 86 + "==\n",
    "bob:$6$c2FsdA==$" + "B" * 86 + "==\n",
    "# comment\n\ncarol:plain\n",
    "dave:$7$$$\n",
    "eve:$7$99999999999999999999$a$b\n",
]:
    put("password_file", text.encode())

for text in [
    "topic read a/#\n",
    "user alice\ntopic write u/alice/#\ntopic readwrite shared/+\n",
    "pattern readwrite %c/x\npattern read %u/#\n",
    "topic deny secret/#\nuser bob\ntopic #\n",
    "# comment\n\ntopic   read   $SYS/#\n",
    "topic bogus a\n",
]:
    put("acl_file", text.encode())

for text in [
    '[[profile]]\nname = "lab"\nhost = "127.0.0.1"\nport = 1883\n',
    '# mine\n[[profile]]\nname = "lab"\nport = "high"\n',
    '[[profile]]\nname = "a"\nhost = "h"\nversion = "5"\nusername = "u"\nsubscriptions = [{ topic = "a/#", qos = 1 }]\n',
    '[[profile]]\nname = "lab"\nhots = "h"\n',
    '[[profile]]\nname = "t"\nhost = "h"\ntransport = "tls"\ncafile = "/tmp/ca.pem"\n',
    "",
]:
    put("profile_file", text.encode())

for fmt, payload in [
    ("%t %p", b"hello"), ("%j", b'{"a":1}'), ("%J", b'{"a":[1,2.5,"x",null,true]}'),
    ("%I %U %x %X %r %q %l %m %e %d %i %f", b"\x00\x01\xff"), ("%10.3p|%-5t|%05l", b"abcdef"),
    ("@Y-@m-@d @H:@M:@S %A %C %D %E %F %P %R %S", b"x"), ("\\n\\t\\\\ %%", b""), ("%J", b"not json"),
]:
    put("format_string", fmt.encode() + b"\x00" + payload)

for t in sorted(os.listdir(root)):
    print(t, len(os.listdir(os.path.join(root, t))))
