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
