//! Unit tests of the inspector core; the byte-exact snapshots and the malformed table are in
//! tests/integration/decode_cli.rs.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use super::*;
use crate::inspect::clause::is_known;

const V311: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;

#[test]
fn byte_map_tiles_the_packet() {
    // CONNECT 3.1.1, client id "c", will "w" = "x", user "u", password "p".
    let b = [
        0x10, 0x19, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xC6, 0x00, 0x3C, 0x00, 0x01, b'c',
        0x00, 0x01, b'w', 0x00, 0x01, b'x', 0x00, 0x01, b'u', 0x00, 0x01, b'p',
    ];
    let i = inspect(&b, V311);
    assert!(i.is_well_formed(), "{:?}", i.fault);
    let mut next = 0;
    for f in i.byte_map() {
        assert_eq!(f.span.offset, next, "gap or overlap before {}", f.name);
        next = f.span.end();
    }
    assert_eq!(next, b.len());
    assert!(i.why.contains(&WhyKey::WillSent));
}

#[test]
fn connect_announces_its_version() {
    let b = [
        0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x00,
    ];
    let i = inspect(&b, V311);
    assert!(i.is_well_formed(), "{:?}", i.fault);
    assert_eq!(i.version, V5);
}

#[test]
fn stream_splits_and_follows_the_connect_version() {
    // CONNECT v5, then a v5 PUBACK with a reason code, then PINGREQ.
    let mut b = vec![
        0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x00,
    ];
    b.extend([0x40, 0x03, 0x00, 0x01, 0x10, 0xC0, 0x00]);
    let all = inspect_stream(&b, V311);
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(Inspection::is_well_formed));
    assert_eq!(all[1].version, V5);
    assert_eq!(all[2].name(), "PINGREQ");
}

#[test]
fn broker_decoder_gives_the_verdict() {
    // QoS 0 PUBLISH with DUP: the broker refuses it, with its own words.
    let i = inspect(&[0x38, 0x03, 0x00, 0x01, b'a'], V311);
    let f = i.fault.unwrap();
    assert!(f.from_broker_decoder);
    assert_eq!(f.error, "malformed packet: DUP set on a QoS 0 PUBLISH");
    assert_eq!(f.clause, "[MQTT311-3.3.1-2]");
    assert_eq!(f.offset, Some(0));
}

#[test]
fn server_packets_are_checked_here() {
    let ok = inspect(&[0x20, 0x02, 0x00, 0x00], V311);
    assert!(ok.is_well_formed());
    assert_eq!(ok.direction, Direction::ServerToClient);
    let bad = inspect(&[0x20, 0x02, 0x02, 0x00], V311);
    assert_eq!(bad.fault.unwrap().clause, "MQTT311 §3.2.2.1");
}

#[test]
fn notes_cite_known_clauses() {
    for kind in 0..16u8 {
        for v in [V311, V5] {
            let i = inspect(&[kind << 4, 0x00], v);
            for c in &i.note.clauses {
                assert!(is_known(c), "{kind} {v:?}: {c}");
            }
            if let Some(f) = &i.fault {
                assert!(is_known(f.clause), "{kind} {v:?}: {}", f.clause);
            }
        }
    }
}

#[test]
fn preview_says_when_cut() {
    let long = vec![b'x'; 100];
    let i = inspect(&[&[0x30, 0x67, 0x00, 0x01, b't'][..], &long].concat(), V311);
    assert!(i.is_well_formed(), "{:?}", i.fault);
    let payload = i.fields.iter().find(|f| f.name == "Payload").unwrap();
    assert!(
        payload.value.contains("cut: first 64 of 100 bytes"),
        "{}",
        payload.value
    );
}

/// Valid packets of every kind, the seeds of the mutation test below.
const SEEDS: &[(&[u8], ProtocolVersion)] = &[
    (
        &[
            0x10, 0x19, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xEE, 0x00, 0x3C, 0x00, 0x01,
            b'c', 0x00, 0x01, b'w', 0x00, 0x01, b'x', 0x00, 0x01, b'u', 0x00, 0x01, b'p',
        ],
        V311,
    ),
    (
        &[
            0x10, 0x28, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0xC6, 0x00, 0x3C, 0x08, 0x11,
            0x00, 0x00, 0x0E, 0x10, 0x21, 0x00, 0x0A, 0x00, 0x01, b'c', 0x05, 0x18, 0x00, 0x00,
            0x00, 0x05, 0x00, 0x01, b'w', 0x00, 0x01, b'x', 0x00, 0x01, b'u', 0x00, 0x01, b'p',
        ],
        V5,
    ),
    (
        &[
            0x32, 0x14, 0x00, 0x01, b'a', 0x00, 0x07, 0x0C, 0x02, 0x00, 0x00, 0x00, 0x3C, 0x03,
            0x00, 0x04, b't', b'e', b'x', b't', b'h', b'i',
        ],
        V5,
    ),
    (
        &[0x35, 0x07, 0x00, 0x01, b'a', 0x00, 0x05, b'h', b'i'],
        V311,
    ),
    (
        &[
            0x40, 0x0B, 0x00, 0x05, 0x10, 0x07, 0x1F, 0x00, 0x04, b'n', b'o', b'n', b'e',
        ],
        V5,
    ),
    (&[0x62, 0x02, 0x00, 0x05], V311),
    (
        &[
            0x82, 0x10, 0x00, 0x01, 0x02, 0x0B, 0x07, 0x00, 0x04, b'm', b'q', b't', b't', 0x1E,
            0x00, 0x01, b'#', 0x01,
        ],
        V5,
    ),
    (&[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x01], V311),
    (&[0xA2, 0x06, 0x00, 0x02, 0x00, 0x00, 0x01, b'a'], V5),
    (&[0xE0, 0x07, 0x04, 0x05, 0x11, 0x00, 0x00, 0x00, 0x00], V5),
    (
        &[0xF0, 0x08, 0x18, 0x06, 0x15, 0x00, 0x03, b'a', b'b', b'c'],
        V5,
    ),
    (&[0xC0, 0x00], V311),
];

proptest::proptest! {
    /// Mutated and truncated packets: the inspector never panics, its byte map covers every
    /// byte once, and whenever the broker's decoder refuses the bytes the inspector reports
    /// the broker's own words and points at a byte.
    #[test]
    fn mirrors_the_broker_decoder_on_mutations(
        seed in 0..SEEDS.len(),
        at in 0usize..64,
        byte in proptest::num::u8::ANY,
        cut in 0usize..64,
        mode in 0u8..3,
    ) {
        let (orig, v) = SEEDS[seed];
        let mut b = orig.to_vec();
        match mode {
            0 => { let i = at % b.len(); b[i] = byte; }
            1 => b.truncate(cut % (b.len() + 1)),
            _ => { let i = at % b.len(); b[i] ^= 1 << (byte % 8); }
        }
        if b.is_empty() {
            return Ok(());
        }
        let i = inspect(&b, v);
        let mut next = 0;
        for f in i.byte_map() {
            proptest::prop_assert_eq!(f.span.offset, next, "{:?}", i.fields);
            next = f.span.end();
        }
        proptest::prop_assert_eq!(next, b.len());
        if i.direction != Direction::ServerToClient {
            let kind = b[0] >> 4;
            if let Err(e) = parse_verdict(&b, kind, v) {
                let f = i.fault.clone();
                proptest::prop_assert!(f.is_some(), "broker refuses ({e}) but inspector accepts");
                let f = f.unwrap_or_else(|| unreachable!());
                proptest::prop_assert_eq!(&f.error, &e.to_string());
                proptest::prop_assert!(f.offset.is_some(), "no place for {}", f.error);
                proptest::prop_assert!(is_known(f.clause), "{}", f.clause);
            }
        }
    }
}

/// The broker decoder's verdict, as the inspector asks for it.
fn parse_verdict(
    b: &[u8],
    kind: u8,
    v: ProtocolVersion,
) -> Result<(), crate::protocol::DecodeError> {
    let mut d = crate::protocol::Decoder::new(0);
    if kind != crate::protocol::packet_type::CONNECT {
        d.version = Some(v);
    }
    let mut buf = bytes::BytesMut::from(b);
    match d.decode(&mut buf)? {
        None => Err(crate::protocol::DecodeError::Malformed(
            "the bytes end before the Remaining Length says the packet does",
        )),
        Some(_) if !buf.is_empty() => Err(crate::protocol::DecodeError::Malformed(
            "unexpected bytes after the end of the packet",
        )),
        Some(_) => Ok(()),
    }
}

#[test]
fn seeds_are_well_formed() {
    for (b, v) in SEEDS {
        let i = inspect(b, *v);
        assert!(i.is_well_formed(), "{:02x?}: {:?}", b, i.fault);
    }
}

/// What the broker's own encoder writes for a client must read as well formed, in both
/// versions: the inspector's server-side checks agree with the server.
#[test]
fn broker_encoder_output_is_well_formed() {
    use crate::protocol::encode::encode;
    use crate::protocol::{Ack, ConnAck, Outgoing, Properties, Publish, QoS, ReasonCode};
    use std::sync::Arc;
    let mut props = Properties {
        assigned_client_id: Some("auto-1".to_owned()),
        receive_maximum: Some(20),
        maximum_qos: Some(1),
        topic_alias_maximum: Some(10),
        ..Properties::default()
    };
    props.user_properties.push(("k".to_owned(), "v".to_owned()));
    let publish_props = Properties {
        subscription_ids: vec![3, 300],
        message_expiry: Some(59),
        ..Properties::default()
    };
    for v in [V311, V5] {
        let packets = [
            Outgoing::ConnAck(Box::new(ConnAck {
                session_present: true,
                reason: ReasonCode::Success,
                properties: if v.is_v5() {
                    props.clone()
                } else {
                    Properties::default()
                },
            })),
            Outgoing::ConnAck(Box::new(ConnAck {
                session_present: false,
                reason: ReasonCode::NotAuthorized,
                properties: Properties::default(),
            })),
            Outgoing::Publish(Publish {
                dup: true,
                qos: QoS::ExactlyOnce,
                retain: true,
                topic: Arc::from("a/b"),
                pkid: 7,
                properties: v.is_v5().then(|| Box::new(publish_props.clone())),
                payload: bytes::Bytes::from_static(b"hello"),
            }),
            Outgoing::PubAck(Ack::new(1, 0)),
            Outgoing::PubRec(Ack::new(2, 0x10)),
            Outgoing::PubRel(Ack::new(3, 0)),
            Outgoing::PubComp(Ack::new(4, 0x92)),
            Outgoing::SubAck {
                pkid: 5,
                codes: vec![0, 1, 2, 0x80],
            },
            Outgoing::UnsubAck {
                pkid: 6,
                codes: if v.is_v5() { vec![0, 0x11] } else { vec![] },
            },
            Outgoing::PingResp,
        ];
        for p in packets.iter().chain(
            v.is_v5()
                .then_some(Outgoing::Disconnect(ReasonCode::SessionTakenOver))
                .iter(),
        ) {
            let mut out = bytes::BytesMut::new();
            encode(&mut out, p, v);
            let i = inspect(&out, v);
            assert!(i.is_well_formed(), "{v:?} {p:?}\n{}", render::render(&i));
        }
    }
}
