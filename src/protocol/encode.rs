//! Serialisation of server-to-client packets.

use bytes::{BufMut, BytesMut};

use super::packet::{Ack, ConnAck, Outgoing, Publish};
use super::packet_type as pt;
use super::{Properties, ProtocolVersion};

/// Writes a variable byte integer (§1.5.5).
pub fn put_varint(out: &mut BytesMut, mut v: u32) {
    loop {
        let mut byte = (v & 0x7F) as u8;
        v >>= 7;
        if v > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if v == 0 {
            break;
        }
    }
}

/// The number of bytes [`put_varint`] writes for `v`.
#[must_use]
pub fn varint_len(v: u32) -> usize {
    match v {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes a two-byte-length-prefixed UTF-8 string. Longer strings are cut at 65,535 bytes;
/// every string this server sends was received under the same limit.
pub fn put_str(out: &mut BytesMut, s: &str) {
    put_binary(out, s.as_bytes());
}

/// Writes two-byte-length-prefixed binary data (cut at 65,535 bytes).
pub fn put_binary(out: &mut BytesMut, b: &[u8]) {
    let n = b.len().min(usize::from(u16::MAX));
    out.put_u16(n as u16);
    out.put_slice(&b[..n]);
}

fn put_header(out: &mut BytesMut, first: u8, remaining: usize) {
    out.put_u8(first);
    put_varint(out, u32::try_from(remaining).unwrap_or(u32::MAX));
}

fn props_len(p: &Properties) -> usize {
    let n = p.len();
    varint_len(u32::try_from(n).unwrap_or(u32::MAX)) + n
}

/// The size of a PUBLISH on the wire, for the client's Maximum Packet Size check
/// [MQTT5-3.1.2-24].
#[must_use]
pub fn publish_len(p: &Publish, version: ProtocolVersion) -> usize {
    let remaining = publish_remaining(p, version);
    1 + varint_len(u32::try_from(remaining).unwrap_or(u32::MAX)) + remaining
}

fn publish_remaining(p: &Publish, version: ProtocolVersion) -> usize {
    let mut n = 2 + p.topic.len() + p.payload.len();
    if p.qos.as_u8() > 0 {
        n += 2;
    }
    if version.is_v5() {
        n += p.properties.as_deref().map_or(1, props_len);
    }
    n
}

/// Writes a PUBLISH packet.
pub fn put_publish(out: &mut BytesMut, p: &Publish, version: ProtocolVersion) {
    let first =
        (pt::PUBLISH << 4) | (u8::from(p.dup) << 3) | (p.qos.as_u8() << 1) | u8::from(p.retain);
    put_header(out, first, publish_remaining(p, version));
    put_str(out, &p.topic);
    if p.qos.as_u8() > 0 {
        out.put_u16(p.pkid);
    }
    if version.is_v5() {
        match p.properties.as_deref() {
            Some(props) => props.write(out),
            None => out.put_u8(0),
        }
    }
    out.put_slice(&p.payload);
}

fn put_ack(out: &mut BytesMut, kind: u8, a: &Ack, version: ProtocolVersion) {
    let flags = if kind == pt::PUBREL { 0x02 } else { 0x00 };
    let first = (kind << 4) | flags;
    let props = a.properties.as_deref().filter(|p| !p.is_empty());
    if !version.is_v5() || (a.reason == 0 && props.is_none()) {
        // §3.4.2.1: reason 0 without properties may be omitted.
        put_header(out, first, 2);
        out.put_u16(a.pkid);
        return;
    }
    match props {
        None => {
            put_header(out, first, 3);
            out.put_u16(a.pkid);
            out.put_u8(a.reason);
        }
        Some(p) => {
            put_header(out, first, 3 + props_len(p));
            out.put_u16(a.pkid);
            out.put_u8(a.reason);
            p.write(out);
        }
    }
}

fn put_connack(out: &mut BytesMut, c: &ConnAck, version: ProtocolVersion) {
    // MQTT 3.1 has no Session Present flag.
    let sp = u8::from(c.session_present && version != ProtocolVersion::V31);
    if version.is_v5() {
        put_header(out, pt::CONNACK << 4, 2 + props_len(&c.properties));
        out.put_u8(sp);
        out.put_u8(c.reason.as_u8());
        c.properties.write(out);
    } else {
        put_header(out, pt::CONNACK << 4, 2);
        out.put_u8(sp);
        out.put_u8(c.reason.v3_connack_code());
    }
}

/// Writes any server-to-client packet for a client of the given protocol version.
pub fn encode(out: &mut BytesMut, packet: &Outgoing, version: ProtocolVersion) {
    match packet {
        Outgoing::ConnAck(c) => put_connack(out, c, version),
        Outgoing::Publish(p) => put_publish(out, p, version),
        Outgoing::PubAck(a) => put_ack(out, pt::PUBACK, a, version),
        Outgoing::PubRec(a) => put_ack(out, pt::PUBREC, a, version),
        Outgoing::PubRel(a) => put_ack(out, pt::PUBREL, a, version),
        Outgoing::PubComp(a) => put_ack(out, pt::PUBCOMP, a, version),
        Outgoing::SubAck { pkid, codes } => {
            let extra = usize::from(version.is_v5());
            put_header(out, pt::SUBACK << 4, 2 + extra + codes.len());
            out.put_u16(*pkid);
            if version.is_v5() {
                out.put_u8(0);
            }
            out.put_slice(codes);
        }
        Outgoing::UnsubAck { pkid, codes } => {
            if version.is_v5() {
                put_header(out, pt::UNSUBACK << 4, 3 + codes.len());
                out.put_u16(*pkid);
                out.put_u8(0);
                out.put_slice(codes);
            } else {
                put_header(out, pt::UNSUBACK << 4, 2);
                out.put_u16(*pkid);
            }
        }
        Outgoing::PingResp => {
            out.put_u8(pt::PINGRESP << 4);
            out.put_u8(0);
        }
        Outgoing::Disconnect(reason) => {
            // Only MQTT 5 has a server-sent DISCONNECT [MQTT311 §3.14: only a client sends DISCONNECT].
            if version.is_v5() {
                put_header(out, pt::DISCONNECT << 4, 2);
                out.put_u8(reason.as_u8());
                out.put_u8(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::QoS;

    #[test]
    fn publish_v311_bytes() {
        let p = Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: true,
            topic: "a/b".into(),
            pkid: 7,
            properties: None,
            payload: bytes::Bytes::from_static(b"hi"),
        };
        let mut out = BytesMut::new();
        put_publish(&mut out, &p, ProtocolVersion::V311);
        assert_eq!(
            &out[..],
            &[0x33, 9, 0, 3, b'a', b'/', b'b', 0, 7, b'h', b'i']
        );
        assert_eq!(publish_len(&p, ProtocolVersion::V311), out.len());
        let mut out5 = BytesMut::new();
        put_publish(&mut out5, &p, ProtocolVersion::V5);
        assert_eq!(publish_len(&p, ProtocolVersion::V5), out5.len());
        assert_eq!(out5[1], 10);
    }

    #[test]
    fn varint_round_trip() {
        for v in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            268_435_455,
        ] {
            let mut out = BytesMut::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v));
            let got = crate::protocol::reader::read_varint(&out).ok().flatten();
            assert_eq!(got, Some((v, out.len())));
        }
    }
}
