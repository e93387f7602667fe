//! Property tests: the decoders never panic, what the server encodes decodes back to itself,
//! and topic matching agrees with a reference implementation (shared subscriptions and the
//! `$` rule included), both as a function and on a real broker.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mqtt_workbench::bench::wire;
use mqtt_workbench::protocol::MqttVersion;
use mqtt_workbench::protocol::encode::encode;
use mqtt_workbench::protocol::topic;
use mqtt_workbench::protocol::{
    Ack, ConnAck, Decoder, Outgoing, Packet, Properties, ProtocolVersion, Publish, QoS, ReasonCode,
};
use proptest::prelude::*;

use crate::common::*;

const VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V31,
    ProtocolVersion::V311,
    ProtocolVersion::V5,
];

fn level(v: ProtocolVersion) -> u8 {
    match v {
        ProtocolVersion::V31 => 3,
        ProtocolVersion::V311 => 4,
        ProtocolVersion::V5 => 5,
    }
}

/// A decoder that has accepted a CONNECT of version `v`.
fn connected_decoder(v: ProtocolVersion) -> Decoder {
    let mut d = Decoder::new(0);
    let mut buf = BytesMut::from(&connect_packet(level(v), "prop", 0x02, 60)[..]);
    match d.decode(&mut buf) {
        Ok(Some(Packet::Connect(_))) => d,
        other => panic!("CONNECT not accepted: {other:?}"),
    }
}

/// Feeds `bytes` to `d` until it wants more input or refuses; returns the packets decoded.
/// Only a panic (or a loop that never ends) can make this fail.
fn drain(d: &mut Decoder, bytes: &[u8]) -> usize {
    let mut buf = BytesMut::from(bytes);
    let mut n = 0;
    loop {
        let before = buf.len();
        match d.decode(&mut buf) {
            Ok(Some(_)) => {
                n += 1;
                assert!(buf.len() < before, "a decoded packet consumed no bytes");
            }
            Ok(None) | Err(_) => return n,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// [MQTT311-4.8.0-1] / [MQTT5-4.13.1-1]: any input is either decoded or refused with an
    /// error, before or after CONNECT, for every version; never a panic.
    #[test]
    fn decode_never_panics_on_any_input(bytes in proptest::collection::vec(any::<u8>(), 0..512), v in 0usize..3) {
        drain(&mut Decoder::new(0), &bytes);
        drain(&mut connected_decoder(VERSIONS[v]), &bytes);
        drain(&mut Decoder::new(64), &bytes);
    }

    /// Inputs that start like real packets reach deeper into the decoder than random bytes:
    /// a valid first byte and a short remaining length, then anything.
    #[test]
    fn decode_never_panics_on_packet_shaped_input(
        kind in 0u8..16, flags in 0u8..16, body in proptest::collection::vec(any::<u8>(), 0..96), v in 0usize..3
    ) {
        let mut bytes = vec![(kind << 4) | flags];
        bytes.extend(varint(body.len()));
        bytes.extend_from_slice(&body);
        drain(&mut connected_decoder(VERSIONS[v]), &bytes);
        drain(&mut Decoder::new(0), &bytes);
    }

    /// The benchmark client's decoder of server packets never panics either.
    #[test]
    fn bench_wire_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256), v5 in any::<bool>()) {
        let v = if v5 { MqttVersion::V5 } else { MqttVersion::V311 };
        let mut rest = &bytes[..];
        while let Ok(Some((hdr, total))) = wire::frame_len(rest) {
            if total > rest.len() {
                break;
            }
            let _ = wire::parse(v, rest[0], &rest[hdr..total]);
            rest = &rest[total..];
        }
    }
}

// ---------------------------------------------------------------------------------------
// decode ∘ encode

/// Topic names a client could publish to: non-empty, no wildcards, no control characters.
fn topic_name() -> impl Strategy<Value = String> {
    "[a-z0-9 _.é€😀-]{1,6}(/[a-z0-9 _.é€😀-]{0,6}){0,4}"
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 é€😀/_-]{0,12}"
}

/// The PUBLISH properties a client may send, so that the broker's decoder accepts them.
fn publish_properties() -> impl Strategy<Value = Option<Box<Properties>>> {
    (
        proptest::option::of(0u8..2),
        proptest::option::of(any::<u32>()),
        proptest::option::of(text()),
        proptest::option::of(topic_name()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
        proptest::collection::vec((text(), text()), 0..3),
    )
        .prop_map(|(pf, exp, ct, rt, cd, up)| {
            let p = Properties {
                payload_format: pf,
                message_expiry: exp,
                content_type: ct,
                response_topic: rt,
                correlation_data: cd.map(Bytes::from),
                user_properties: up,
                ..Properties::default()
            };
            (p != Properties::default()).then(|| Box::new(p))
        })
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn server_publish(v5: bool) -> impl Strategy<Value = Publish> {
    (
        any::<bool>(),
        qos(),
        any::<bool>(),
        topic_name(),
        1u16..,
        publish_properties(),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(
            move |(dup, qos, retain, topic, pkid, props, payload)| Publish {
                dup: dup && qos != QoS::AtMostOnce,
                qos,
                retain,
                topic: Arc::from(topic.as_str()),
                pkid: if qos == QoS::AtMostOnce { 0 } else { pkid },
                properties: if v5 { props } else { None },
                payload: Bytes::from(payload),
            },
        )
}

fn server_ack(v5: bool) -> impl Strategy<Value = Ack> {
    (
        1u16..,
        prop_oneof![Just(0u8), Just(0x10), Just(0x80), Just(0x87), Just(0x92)],
        proptest::option::of(text()),
        proptest::collection::vec((text(), text()), 0..2),
    )
        .prop_map(move |(pkid, reason, rs, up)| {
            if !v5 {
                return Ack::new(pkid, 0);
            }
            let p = Properties {
                reason_string: rs,
                user_properties: up,
                ..Properties::default()
            };
            Ack {
                pkid,
                reason,
                properties: (p != Properties::default()).then(|| Box::new(p)),
            }
        })
}

fn encoded(p: &Outgoing, v: ProtocolVersion) -> BytesMut {
    let mut out = BytesMut::new();
    encode(&mut out, p, v);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// PUBLISH travels both ways, so the broker's own decoder must read back exactly what the
    /// encoder wrote, properties included, for every version.
    #[test]
    fn publish_decodes_to_what_was_encoded(v in 0usize..3, p5 in server_publish(true), p3 in server_publish(false)) {
        let v = VERSIONS[v];
        let p = if v.is_v5() { p5 } else { p3 };
        let mut buf = encoded(&Outgoing::Publish(p.clone()), v);
        let total = buf.len();
        let mut d = connected_decoder(v);
        match d.decode(&mut buf) {
            Ok(Some(Packet::Publish(got))) => prop_assert_eq!(got, p),
            other => prop_assert!(false, "{other:?}"),
        }
        prop_assert!(buf.is_empty(), "{} of {total} bytes left over", buf.len());
    }

    /// PUBACK, PUBREC, PUBREL and PUBCOMP (reason codes and properties in MQTT 5) decode back
    /// to what was encoded.
    #[test]
    fn acks_decode_to_what_was_encoded(v in 0usize..3, kind in 0usize..4, a5 in server_ack(true), a3 in server_ack(false)) {
        let v = VERSIONS[v];
        let a = if v.is_v5() { a5 } else { a3 };
        let out = [Outgoing::PubAck(a.clone()), Outgoing::PubRec(a.clone()), Outgoing::PubRel(a.clone()), Outgoing::PubComp(a.clone())];
        let mut buf = encoded(&out[kind], v);
        let mut d = connected_decoder(v);
        let got = match d.decode(&mut buf) {
            Ok(Some(Packet::PubAck(x))) if kind == 0 => x,
            Ok(Some(Packet::PubRec(x))) if kind == 1 => x,
            Ok(Some(Packet::PubRel(x))) if kind == 2 => x,
            Ok(Some(Packet::PubComp(x))) if kind == 3 => x,
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        prop_assert_eq!(got, a);
        prop_assert!(buf.is_empty());
    }

    /// Every server-to-client packet is one whole frame that the benchmark client's decoder
    /// (an independent reader of server packets) reads back with the fields it knows.
    #[test]
    fn every_server_packet_reads_back_with_the_client_decoder(
        v5 in any::<bool>(), p in server_publish(true), a in server_ack(true),
        codes in proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(2), Just(0x80)], 1..5),
        sp in any::<bool>(), recv_max in proptest::option::of(1u16..), pkid in 1u16..,
        assigned in proptest::option::of("[a-z0-9-]{1,23}"),
    ) {
        let (v, wv) = if v5 { (ProtocolVersion::V5, MqttVersion::V5) } else { (ProtocolVersion::V311, MqttVersion::V311) };
        let p = Publish { properties: if v5 { p.properties } else { None }, ..p };
        let a = if v5 { a } else { Ack::new(a.pkid, 0) };
        let connack = ConnAck {
            session_present: sp,
            reason: ReasonCode::Success,
            properties: Properties { receive_maximum: recv_max, assigned_client_id: assigned, ..Properties::default() },
        };
        let packets = vec![
            Outgoing::ConnAck(Box::new(connack)),
            Outgoing::Publish(p.clone()),
            Outgoing::PubAck(a.clone()),
            Outgoing::SubAck { pkid, codes: codes.clone() },
            Outgoing::UnsubAck { pkid, codes: if v5 { vec![0x00; codes.len()] } else { Vec::new() } },
            Outgoing::PingResp,
            Outgoing::Disconnect(ReasonCode::SessionTakenOver),
        ];
        for packet in &packets {
            let buf = encoded(packet, v);
            if buf.is_empty() {
                // Only MQTT 5 has a server DISCONNECT.
                prop_assert!(!v5 && matches!(packet, Outgoing::Disconnect(_)));
                continue;
            }
            let (hdr, total) = match wire::frame_len(&buf) {
                Ok(Some(x)) => x,
                other => return Err(TestCaseError::fail(format!("{packet:?}: frame {other:?}"))),
            };
            prop_assert_eq!(total, buf.len(), "{:?}: one whole frame", packet);
            let got = wire::parse(wv, buf[0], &buf[hdr..total]);
            match (packet, got) {
                (Outgoing::ConnAck(c), Ok(wire::Incoming::ConnAck { code, receive_maximum })) => {
                    prop_assert_eq!(code, 0);
                    prop_assert_eq!(buf[2], u8::from(c.session_present));
                    prop_assert_eq!(receive_maximum, if v5 { c.properties.receive_maximum } else { None });
                }
                (Outgoing::Publish(p), Ok(wire::Incoming::Publish { qos, pkid, payload })) => {
                    prop_assert_eq!(qos, p.qos.as_u8());
                    prop_assert_eq!(pkid, p.pkid);
                    prop_assert_eq!(payload, &p.payload[..]);
                }
                (Outgoing::PubAck(a), Ok(wire::Incoming::PubAck { pkid })) => prop_assert_eq!(pkid, a.pkid),
                (Outgoing::SubAck { pkid: want, codes: c }, Ok(wire::Incoming::SubAck { pkid, codes })) => {
                    prop_assert_eq!(pkid, *want);
                    prop_assert_eq!(codes, &c[..]);
                }
                (Outgoing::UnsubAck { codes: c, .. }, Ok(wire::Incoming::Other(11))) => {
                    // bench::wire does not read UNSUBACK: identifier, then (MQTT 5) an empty
                    // property list and one reason code per filter.
                    prop_assert_eq!(u16::from_be_bytes([buf[hdr], buf[hdr + 1]]), pkid);
                    let rest = &buf[hdr + 2..total];
                    if v5 {
                        prop_assert_eq!(rest[0], 0);
                        prop_assert_eq!(&rest[1..], &c[..]);
                    } else {
                        prop_assert!(rest.is_empty());
                    }
                }
                (Outgoing::PingResp, Ok(wire::Incoming::PingResp)) => {}
                (Outgoing::Disconnect(r), Ok(wire::Incoming::Disconnect { reason })) => prop_assert_eq!(reason, r.as_u8()),
                (packet, got) => return Err(TestCaseError::fail(format!("{packet:?} read back as {got:?}"))),
            }
        }
    }
}

/// MQTT 5 CONNACK properties, which only a client decodes, read back through rumqttc's
/// decoder (a second, independent implementation).
#[test]
fn connack_properties_read_back_with_rumqttc() {
    use rumqttc::v5::mqttbytes::v5::Packet as P5;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(512));
    let strategy = (
        any::<bool>(),
        proptest::option::of(any::<u32>()),
        proptest::option::of(1u16..),
        proptest::option::of(0u8..2),
        proptest::option::of(0u8..2),
        proptest::option::of(1u32..),
        proptest::option::of("[a-z0-9-]{1,23}"),
        proptest::option::of(any::<u16>()),
        proptest::option::of(text()),
        proptest::collection::vec((text(), text()), 0..3),
        proptest::option::of(any::<u16>()),
    );
    runner
        .run(
            &strategy,
            |(sp, exp, rm, mq, ra, mps, aci, tam, rs, up, ska)| {
                let props = Properties {
                    session_expiry: exp,
                    receive_maximum: rm,
                    maximum_qos: mq,
                    retain_available: ra,
                    maximum_packet_size: mps,
                    assigned_client_id: aci,
                    topic_alias_maximum: tam,
                    reason_string: rs,
                    user_properties: up,
                    server_keep_alive: ska,
                    ..Properties::default()
                };
                let c = ConnAck {
                    session_present: sp,
                    reason: ReasonCode::Success,
                    properties: props.clone(),
                };
                let mut buf = encoded(&Outgoing::ConnAck(Box::new(c)), ProtocolVersion::V5);
                let got = match P5::read(&mut buf, None) {
                    Ok(P5::ConnAck(a)) => a,
                    other => return Err(TestCaseError::fail(format!("{other:?}"))),
                };
                prop_assert_eq!(got.session_present, sp);
                let Some(g) = got.properties else {
                    // rumqttc reports no properties when the list is empty.
                    prop_assert_eq!(props, Properties::default());
                    return Ok(());
                };
                prop_assert_eq!(g.session_expiry_interval, props.session_expiry);
                prop_assert_eq!(g.receive_max, props.receive_maximum);
                prop_assert_eq!(g.max_qos, props.maximum_qos);
                prop_assert_eq!(g.retain_available, props.retain_available);
                prop_assert_eq!(g.max_packet_size, props.maximum_packet_size);
                prop_assert_eq!(g.assigned_client_identifier, props.assigned_client_id);
                prop_assert_eq!(g.topic_alias_max, props.topic_alias_maximum);
                prop_assert_eq!(g.reason_string, props.reason_string);
                prop_assert_eq!(g.user_properties, props.user_properties);
                prop_assert_eq!(g.server_keep_alive, props.server_keep_alive);
                prop_assert!(buf.is_empty());
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------------------
// Topic matching against a reference

/// The reference: the rules of §4.7 and §4.8.2 written as plainly as possible.
fn reference_match(filter: &str, topic: &str) -> bool {
    let filter = match filter.strip_prefix("$share/") {
        // `$share/<group>/<filter>`: the group is not part of the match.
        Some(rest) => match rest.split_once('/') {
            Some((_, f)) => f,
            None => return false,
        },
        None => filter,
    };
    // [MQTT311-4.7.2-1] / [MQTT5-4.7.2-1]: a leading wildcard never matches a leading '$'.
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let f: Vec<&str> = filter.split('/').collect();
    let t: Vec<&str> = topic.split('/').collect();
    for (i, level) in f.iter().enumerate() {
        if *level == "#" {
            // '#' matches the parent and any number of levels below it.
            return true;
        }
        match t.get(i) {
            Some(tl) if *level == "+" || level == tl => {}
            _ => return false,
        }
    }
    f.len() == t.len()
}

/// The reference's idea of a valid filter.
fn reference_valid(filter: &str) -> bool {
    let inner = match filter.strip_prefix("$share/") {
        Some(rest) => match rest.split_once('/') {
            Some((g, f)) if !g.is_empty() && !g.contains(['+', '#']) => f,
            _ => return false,
        },
        None => filter,
    };
    if inner.is_empty() {
        return false;
    }
    let levels: Vec<&str> = inner.split('/').collect();
    levels.iter().enumerate().all(|(i, l)| {
        (!l.contains('#') || (*l == "#" && i == levels.len() - 1))
            && (!l.contains('+') || *l == "+")
    })
}

fn filter_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ab+#$/]{1,8}",
        "\\$share/[gh+#]{0,2}/[ab+#$/]{0,6}",
        "[ab$]{0,2}(/[ab+#]{0,2}){0,3}",
    ]
}

fn topic_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ab$/]{1,8}",
        "\\$[a-z]{1,3}(/[ab]{0,2}){0,3}",
        "[ab]{0,2}(/[ab]{0,2}){0,3}"
    ]
    .prop_filter("a topic name has at least one character", |t| !t.is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// The broker's filter parser and matcher agree with the reference, shared subscriptions
    /// and `$` topics included.
    #[test]
    fn matcher_agrees_with_the_reference(filter in filter_strategy(), topic in topic_strategy()) {
        let parsed = topic::parse_filter(&filter);
        prop_assert_eq!(parsed.is_ok(), reference_valid(&filter), "validity of {:?}", filter);
        if let Ok(p) = parsed {
            prop_assert_eq!(topic::matches(p.filter, &topic), reference_match(&filter, &topic),
                "{:?} against {:?}", filter, topic);
        }
    }
}

/// A broker for the end-to-end matching property, shared by all its cases.
static BROKER: LazyLock<(tokio::runtime::Runtime, std::net::SocketAddr)> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = rt.block_on(async {
        let b = default_broker().await;
        let addr = b.addr;
        // The broker lives as long as the runtime: keep its handle.
        std::mem::forget(b);
        addr
    });
    (rt, addr)
});

/// SUBSCRIBE (MQTT 5) for one filter with a Subscription Identifier.
fn subscribe_v5(pkid: u16, filter: &str, id: u8) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    body.extend([2, 0x0B, id]);
    body.extend(mqtt_str(filter));
    body.push(0);
    packet(0x82, &body)
}

/// UNSUBSCRIBE (MQTT 5) for one filter.
fn unsubscribe_v5(pkid: u16, filter: &str) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    body.push(0);
    body.extend(mqtt_str(filter));
    packet(0xA2, &body)
}

/// PUBLISH (MQTT 5, QoS 0, no properties).
fn publish_v5(topic: &str) -> Vec<u8> {
    let mut body = mqtt_str(topic);
    body.push(0);
    body.push(b'm');
    packet(0x30, &body)
}

/// The Subscription Identifiers on a forwarded MQTT 5 QoS 0 PUBLISH.
fn subscription_ids(p: &[u8]) -> Vec<u8> {
    let mut i = 1;
    while p[i] & 0x80 != 0 {
        i += 1;
    }
    i += 1;
    let tlen = usize::from(u16::from_be_bytes([p[i], p[i + 1]]));
    i += 2 + tlen;
    let plen = usize::from(p[i]);
    let props = &p[i + 1..i + 1 + plen];
    props
        .chunks(2)
        .filter(|c| c[0] == 0x0B)
        .map(|c| c[1])
        .collect()
}

#[test]
fn broker_delivers_exactly_what_the_reference_matches() {
    let (rt, addr) = &*BROKER;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(48));
    let strategy = (
        proptest::collection::vec(filter_strategy(), 1..6),
        proptest::collection::vec(topic_strategy(), 1..6),
    );
    let counter = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&strategy, |(filters, topics)| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            rt.block_on(async {
                // This broker serves only this test, one case at a time, so filters and
                // topics are used as generated (a prefix would hide the `$` rule). Share
                // groups get a per-case suffix: a member left over from an earlier case must
                // not take a message.
                let filters: Vec<String> = filters
                    .iter()
                    .map(
                        |f| match f.strip_prefix("$share/").and_then(|r| r.split_once('/')) {
                            Some((g, inner)) if !g.is_empty() => format!("$share/{g}x{n}/{inner}"),
                            _ => f.clone(),
                        },
                    )
                    .collect();
                let mut c = RawClient::connect_v5(*addr, &format!("match-{n}")).await;
                let mut valid = Vec::new();
                for (i, f) in filters.iter().enumerate() {
                    let id = u8::try_from(i + 1).unwrap_or(1);
                    c.send(&subscribe_v5(id.into(), f, id)).await;
                    let ack = c
                        .recv()
                        .await
                        .ok_or_else(|| TestCaseError::fail("no SUBACK"))?;
                    let granted = ack.last().copied().unwrap_or(0xFF) < 0x80;
                    prop_assert_eq!(granted, reference_valid(f), "SUBACK for {:?}: {:?}", f, ack);
                    if granted {
                        // An identical filter replaces the subscription, with its new
                        // Subscription Identifier [MQTT5-3.8.4-3].
                        valid.retain(|(_, g): &(u8, String)| g != f);
                        valid.push((id, f.clone()));
                    }
                }
                for t in &topics {
                    c.send(&publish_v5(t)).await;
                    // A barrier through the router (PINGRESP could overtake a delivery).
                    c.send(&unsubscribe_v5(0xBEEF, "barrier/none")).await;
                    let mut want: Vec<u8> = valid
                        .iter()
                        .filter(|(_, f)| reference_match(f, t))
                        .map(|(id, _)| *id)
                        .collect();
                    want.sort_unstable();
                    let mut got = Vec::new();
                    loop {
                        let p = c
                            .recv_within(Duration::from_secs(5))
                            .await
                            .ok_or_else(|| TestCaseError::fail("connection lost"))?;
                        if p == [0xB0, 0x04, 0xBE, 0xEF, 0x00, 0x11] {
                            break;
                        }
                        prop_assert_eq!(p[0], 0x30, "expected a PUBLISH, got {:02x?}", p);
                        got.extend(subscription_ids(&p));
                    }
                    got.sort_unstable();
                    prop_assert_eq!(got, want, "topic {:?} with filters {:?}", t, valid);
                }
                c.send(&[0xE0, 0x00]).await;
                Ok(())
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------------------
// Fuzz corpora

/// The fuzz targets' entry points, the very file the fuzz crate builds (fuzz/src/entry.rs).
mod fuzz_entry {
    include!(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/src/entry.rs"));
}

/// Every file of every committed fuzz corpus (fuzz/corpus/<target>/) goes through its
/// target's entry point: what the fuzzer once found interesting keeps working. CI runs this,
/// not the fuzzing.
#[test]
fn fuzz_corpora_replay() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut total = 0;
    for (name, entry) in fuzz_entry::TARGETS {
        let dir = root.join(name);
        let files = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file());
        let mut n = 0;
        for path in files {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            entry(&data);
            n += 1;
        }
        assert!(n > 0, "fuzz/corpus/{name} is empty");
        total += n;
    }
    // Written to the terminal directly, so that `cargo test` shows it.
    let _ = writeln!(std::io::stderr(), "fuzz corpora: {total} files replayed");
}

/// Inputs that made a fuzz target panic (fuzz/findings/<target>/): known bugs, listed in
/// docs/conformance.md. Both are fixed (a duration's unit split by bytes; `-F` widths without a bound);
/// every finding must stay harmless.
#[test]
fn fuzz_findings_no_longer_panic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/findings");
    let mut failed = Vec::new();
    for (name, entry) in fuzz_entry::TARGETS {
        let Ok(dir) = std::fs::read_dir(root.join(name)) else {
            continue;
        };
        for path in dir.filter_map(Result::ok).map(|e| e.path()) {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if std::panic::catch_unwind(|| entry(&data)).is_err() {
                failed.push(path.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "still panicking: {failed:?}");
}
