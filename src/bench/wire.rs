//! The client side of the wire format, just what a load generator needs: CONNECT, SUBSCRIBE,
//! PUBLISH, PUBACK, PINGREQ and DISCONNECT out; CONNACK, SUBACK, PUBLISH, PUBACK, PINGRESP and
//! DISCONNECT in. MQTT 3.1.1 and 5.0.
//!
//! Hand-written rather than rumqttc's codec: a publisher writes each PUBLISH from a prepared
//! template into one shared buffer, and a subscriber parses PUBLISH packets in place without
//! allocating, so the generator stays faster than the broker it measures.

use bytes::{BufMut, BytesMut};

use crate::protocol::{MqttVersion, QoS};

/// Parses `-V` for the benchmark (see [`MqttVersion::parse`] for the spellings).
///
/// # Errors
/// An unknown version, in the benchmark's words.
pub fn parse_version(s: &str) -> Result<MqttVersion, String> {
    MqttVersion::parse(s).map_err(|_| {
        format!(
            "unsupported MQTT version '{}' (use 3.1.1 or 5)",
            s.to_ascii_lowercase()
        )
    })
}

/// Bytes at the start of every benchmark payload: send time (ns since the Unix epoch),
/// publisher index, sequence number, all big-endian.
pub const HEADER_LEN: usize = 16;

/// What a benchmark payload header carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// When the publisher encoded the message, ns since the Unix epoch.
    pub sent_ns: u64,
    /// Which publisher sent it.
    pub publisher: u32,
    /// Its sequence number at that publisher, from 0.
    pub seq: u32,
}

impl Stamp {
    /// Reads the header from a payload, if it is long enough.
    #[must_use]
    pub fn read(payload: &[u8]) -> Option<Self> {
        let h = payload.get(..HEADER_LEN)?;
        let sent_ns = u64::from_be_bytes(h[..8].try_into().ok()?);
        let publisher = u32::from_be_bytes(h[8..12].try_into().ok()?);
        let seq = u32::from_be_bytes(h[12..16].try_into().ok()?);
        Some(Self {
            sent_ns,
            publisher,
            seq,
        })
    }
}

/// A malformed or unexpected packet from the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes do not form the packet their type announces.
    #[error("malformed {0} from the server")]
    Malformed(&'static str),
    /// A remaining length of more than four bytes.
    #[error("malformed remaining length from the server")]
    BadLength,
}

fn put_varint(out: &mut BytesMut, mut v: usize) {
    loop {
        let mut b = (v & 0x7F) as u8;
        v >>= 7;
        if v > 0 {
            b |= 0x80;
        }
        out.put_u8(b);
        if v == 0 {
            return;
        }
    }
}

fn put_str(out: &mut BytesMut, s: &[u8]) {
    out.put_u16(u16::try_from(s.len()).unwrap_or(u16::MAX));
    out.put_slice(&s[..s.len().min(usize::from(u16::MAX))]);
}

/// Writes a CONNECT with a clean session, no will and no credentials. MQTT 5 adds a Receive
/// Maximum of 65,535 so the broker may keep as many QoS 1 messages in flight as it likes.
pub fn connect(out: &mut BytesMut, v: MqttVersion, client_id: &str, keep_alive: u16) {
    let props: &[u8] = if v.is_v5() {
        &[3, 0x21, 0xFF, 0xFF]
    } else {
        &[]
    };
    let remaining = 2 + 4 + 1 + 1 + 2 + props.len() + 2 + client_id.len();
    out.put_u8(0x10);
    put_varint(out, remaining);
    put_str(out, b"MQTT");
    out.put_u8(if v.is_v5() { 5 } else { 4 });
    out.put_u8(0x02);
    out.put_u16(keep_alive);
    out.put_slice(props);
    put_str(out, client_id.as_bytes());
}

/// Writes a SUBSCRIBE for one filter.
pub fn subscribe(out: &mut BytesMut, v: MqttVersion, pkid: u16, filter: &str, qos: QoS) {
    let props = usize::from(v.is_v5());
    out.put_u8(0x82);
    put_varint(out, 2 + props + 2 + filter.len() + 1);
    out.put_u16(pkid);
    if v.is_v5() {
        out.put_u8(0);
    }
    put_str(out, filter.as_bytes());
    out.put_u8(qos.as_u8());
}

/// Writes a PUBACK (the two-byte form, reason Success, is valid in both versions).
pub fn puback(out: &mut BytesMut, pkid: u16) {
    out.put_slice(&[0x40, 0x02]);
    out.put_u16(pkid);
}

/// Writes a PINGREQ.
pub fn pingreq(out: &mut BytesMut) {
    out.put_slice(&[0xC0, 0x00]);
}

/// Writes a normal DISCONNECT.
pub fn disconnect(out: &mut BytesMut) {
    out.put_slice(&[0xE0, 0x00]);
}

/// A prepared PUBLISH: everything but the packet id and the payload header is fixed, so
/// writing one message is a few copies.
#[derive(Debug, Clone)]
pub struct PublishTemplate {
    /// Fixed header, topic and (MQTT 5) empty properties, packet id excluded.
    prefix_before_pkid: Vec<u8>,
    qos: u8,
    v5: bool,
    size: usize,
}

impl PublishTemplate {
    /// A template for `topic` at `qos` with payloads of `size` bytes (at least [`HEADER_LEN`]).
    #[must_use]
    pub fn new(v: MqttVersion, topic: &str, qos: QoS, size: usize) -> Self {
        let size = size.max(HEADER_LEN);
        // The benchmark publishes at QoS 0 or 1.
        let qos = qos.as_u8().min(1);
        let remaining = 2 + topic.len() + usize::from(qos > 0) * 2 + usize::from(v.is_v5()) + size;
        let mut b = BytesMut::with_capacity(8 + topic.len());
        b.put_u8(0x30 | (qos << 1));
        put_varint(&mut b, remaining);
        put_str(&mut b, topic.as_bytes());
        Self {
            prefix_before_pkid: b.to_vec(),
            qos,
            v5: v.is_v5(),
            size,
        }
    }

    /// Bytes one message takes on the wire.
    #[must_use]
    pub fn wire_len(&self) -> usize {
        self.prefix_before_pkid.len()
            + usize::from(self.qos > 0) * 2
            + usize::from(self.v5)
            + self.size
    }

    /// Appends one PUBLISH stamped with `stamp`; `pkid` is ignored at QoS 0.
    pub fn write(&self, out: &mut BytesMut, pkid: u16, stamp: Stamp) {
        out.reserve(self.wire_len());
        out.put_slice(&self.prefix_before_pkid);
        if self.qos > 0 {
            out.put_u16(pkid);
        }
        if self.v5 {
            out.put_u8(0);
        }
        out.put_u64(stamp.sent_ns);
        out.put_u32(stamp.publisher);
        out.put_u32(stamp.seq);
        out.put_bytes(b'x', self.size - HEADER_LEN);
    }
}

/// A packet from the server, borrowing from the read buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// CONNACK: the return code (3.1.1) or reason code (5), and the server's Receive Maximum.
    ConnAck {
        /// 0 = accepted.
        code: u8,
        /// MQTT 5 Receive Maximum, if the server sent one.
        receive_maximum: Option<u16>,
    },
    /// SUBACK with its return codes.
    SubAck {
        /// Packet id.
        pkid: u16,
        /// One per filter; 0x80 and above are failures.
        codes: &'a [u8],
    },
    /// An application message.
    Publish {
        /// Its QoS.
        qos: u8,
        /// Packet id (0 at QoS 0).
        pkid: u16,
        /// Payload.
        payload: &'a [u8],
    },
    /// PUBACK.
    PubAck {
        /// Packet id.
        pkid: u16,
    },
    /// PINGRESP.
    PingResp,
    /// DISCONNECT from the server (MQTT 5), with its reason.
    Disconnect {
        /// Reason code (0 when omitted).
        reason: u8,
    },
    /// Anything else (ignored by the benchmark clients).
    Other(u8),
}

/// The length of the whole packet at the front of `buf`, once its fixed header is complete.
pub fn frame_len(buf: &[u8]) -> Result<Option<(usize, usize)>, WireError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let mut value = 0usize;
    for i in 0..4 {
        let Some(&b) = buf.get(1 + i) else {
            return Ok(None);
        };
        value |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((2 + i, 2 + i + value)));
        }
    }
    Err(WireError::BadLength)
}

fn read_varint(b: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for i in 0..4 {
        let byte = *b.get(i)?;
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

/// Skips MQTT 5 properties at the front of `b`; returns the bytes after them.
fn skip_props(b: &[u8]) -> Option<&[u8]> {
    let (len, n) = read_varint(b)?;
    b.get(n + len..)
}

/// Finds Receive Maximum (0x21) in a CONNACK property block.
fn receive_maximum(props: &[u8]) -> Option<u16> {
    let mut i = 0;
    while i < props.len() {
        let id = props[i];
        i += 1;
        let skip = match id {
            0x21 => return u16_at(props, i),
            0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => 1,
            0x13 | 0x22 | 0x23 => 2,
            0x02 | 0x11 | 0x18 | 0x27 => 4,
            0x0B => read_varint(props.get(i..)?)?.1,
            0x03 | 0x08 | 0x09 | 0x12 | 0x15 | 0x16 | 0x1A | 0x1C | 0x1F => {
                2 + usize::from(u16_at(props, i)?)
            }
            0x26 => {
                let k = 2 + usize::from(u16_at(props, i)?);
                k + 2 + usize::from(u16_at(props, i + k)?)
            }
            _ => return None,
        };
        i += skip;
    }
    None
}

/// Parses one packet: `first` is its first byte, `body` its variable header and payload.
pub fn parse(v: MqttVersion, first: u8, body: &[u8]) -> Result<Incoming<'_>, WireError> {
    let kind = first >> 4;
    Ok(match kind {
        3 => {
            let qos = (first >> 1) & 0x03;
            let tlen = usize::from(u16_at(body, 0).ok_or(WireError::Malformed("PUBLISH"))?);
            let mut rest = body
                .get(2 + tlen..)
                .ok_or(WireError::Malformed("PUBLISH"))?;
            let mut pkid = 0;
            if qos > 0 {
                pkid = u16_at(rest, 0).ok_or(WireError::Malformed("PUBLISH"))?;
                rest = &rest[2..];
            }
            if v.is_v5() {
                rest = skip_props(rest).ok_or(WireError::Malformed("PUBLISH"))?;
            }
            Incoming::Publish {
                qos,
                pkid,
                payload: rest,
            }
        }
        4 => Incoming::PubAck {
            pkid: u16_at(body, 0).ok_or(WireError::Malformed("PUBACK"))?,
        },
        2 => {
            let code = *body.get(1).ok_or(WireError::Malformed("CONNACK"))?;
            let receive_maximum = if v.is_v5() {
                body.get(2..)
                    .and_then(|p| read_varint(p).map(|(len, n)| (len, n, p)))
                    .and_then(|(len, n, p)| p.get(n..n + len))
                    .and_then(receive_maximum)
            } else {
                None
            };
            Incoming::ConnAck {
                code,
                receive_maximum,
            }
        }
        9 => {
            let pkid = u16_at(body, 0).ok_or(WireError::Malformed("SUBACK"))?;
            let rest = &body[2..];
            let codes = if v.is_v5() {
                skip_props(rest).ok_or(WireError::Malformed("SUBACK"))?
            } else {
                rest
            };
            Incoming::SubAck { pkid, codes }
        }
        13 => Incoming::PingResp,
        14 => Incoming::Disconnect {
            reason: body.first().copied().unwrap_or(0),
        },
        k => Incoming::Other(k),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(buf: &[u8]) -> (u8, &[u8]) {
        let (hdr, total) = frame_len(buf).unwrap().unwrap();
        (buf[0], &buf[hdr..total])
    }

    #[test]
    fn publish_round_trips_through_the_broker_decoder() {
        for v in [MqttVersion::V311, MqttVersion::V5] {
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
                let t = PublishTemplate::new(v, "bench/7", qos, 64);
                let mut out = BytesMut::new();
                let stamp = Stamp {
                    sent_ns: 123_456_789,
                    publisher: 7,
                    seq: 42,
                };
                t.write(&mut out, 9, stamp);
                assert_eq!(out.len(), t.wire_len());
                // The broker's own decoder accepts it after a CONNECT of that version.
                let mut d = crate::protocol::Decoder::new(0);
                let mut conn = BytesMut::new();
                connect(&mut conn, v, "c", 60);
                assert!(matches!(
                    d.decode(&mut conn).unwrap(),
                    Some(crate::protocol::Packet::Connect(_))
                ));
                let mut copy = out.clone();
                match d.decode(&mut copy).unwrap() {
                    Some(crate::protocol::Packet::Publish(p)) => {
                        assert_eq!(&*p.topic, "bench/7");
                        assert_eq!(p.payload.len(), 64);
                        assert_eq!(Stamp::read(&p.payload), Some(stamp));
                    }
                    other => panic!("{other:?}"),
                }
                // And our own parser reads it back.
                let (first, body) = split(&out);
                match parse(v, first, body).unwrap() {
                    Incoming::Publish {
                        qos: q,
                        pkid,
                        payload,
                    } => {
                        assert_eq!(q, qos.as_u8());
                        assert_eq!(pkid, if qos == QoS::AtLeastOnce { 9 } else { 0 });
                        assert_eq!(Stamp::read(payload), Some(stamp));
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    #[test]
    fn subscribe_is_accepted_by_the_broker_decoder() {
        for v in [MqttVersion::V311, MqttVersion::V5] {
            let mut d = crate::protocol::Decoder::new(0);
            let mut b = BytesMut::new();
            connect(&mut b, v, "c", 60);
            subscribe(&mut b, v, 1, "bench/#", QoS::AtLeastOnce);
            assert!(d.decode(&mut b).unwrap().is_some());
            assert!(matches!(
                d.decode(&mut b).unwrap(),
                Some(crate::protocol::Packet::Subscribe(_))
            ));
        }
    }

    #[test]
    fn v5_connack_receive_maximum_is_found_after_other_properties() {
        // CONNACK, sp 0, reason 0, props: Assigned Client Id "ab", Receive Maximum 20.
        let body = [0, 0, 8, 0x12, 0, 2, b'a', b'b', 0x21, 0, 20];
        assert_eq!(
            parse(MqttVersion::V5, 0x20, &body).unwrap(),
            Incoming::ConnAck {
                code: 0,
                receive_maximum: Some(20)
            }
        );
    }

    #[test]
    fn truncated_packets_are_errors_not_panics() {
        for first in [0x30, 0x32, 0x40, 0x20, 0x90] {
            for v in [MqttVersion::V311, MqttVersion::V5] {
                for len in 0..4 {
                    let body = vec![0xFF; len];
                    let _ = parse(v, first, &body);
                }
            }
        }
        assert_eq!(
            frame_len(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(WireError::BadLength)
        );
        assert_eq!(frame_len(&[0x30, 0x80]), Ok(None));
    }
}
