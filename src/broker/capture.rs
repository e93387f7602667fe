//! The packet capture: a bounded ring of the raw bytes of the last packets each way, kept only
//! when the workbench asks for it ([`BrokerConfig::capture`](super::BrokerConfig)), so that
//! the packet inspector can show what was really on the wire.
//!
//! # Cost
//!
//! The headless `broker` never sets `capture`: each connection then checks one `Option` per
//! packet and allocates nothing. With capture on, each packet costs one copy of its bytes (at
//! most [`CaptureLimits::bytes_per_packet`]) and a short mutex hold.
//!
//! # Bounds
//!
//! Each direction keeps at most [`CaptureLimits::packets`] packets and
//! [`CaptureLimits::total_bytes`] bytes; the oldest go first. A packet longer than
//! `bytes_per_packet` keeps only its first bytes, and [`Captured::wire_len`] says how long it
//! was, so a view can say that the rest was not kept.
//!
//! # Matching a log line to its bytes
//!
//! Log lines are built by the router, bytes are seen by the connection task, so they carry no
//! common number. They are matched by a [`CaptureKey`] (client id, direction, packet type,
//! Packet Identifier) and by order: for one key, the router logs packets in the order the
//! connection reads or writes them (one channel, one outbox, both in order). The log line that
//! is the `n`-th newest with its key goes with the `n`-th newest captured packet with that key
//! ([`Capture::find`]). The caller checks the bytes against the log line (topic, flags,
//! length) before it shows them, and says plainly when the bytes are gone.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;

use crate::protocol::{ProtocolVersion, packet_type as pt};

/// Which way a captured packet went, seen from the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Way {
    /// Received from the client.
    In,
    /// Sent to the client.
    Out,
}

/// How much the capture keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureLimits {
    /// Packets kept per direction.
    pub packets: usize,
    /// Bytes kept of one packet (the rest is counted, not kept).
    pub bytes_per_packet: usize,
    /// Bytes kept per direction, all packets together.
    pub total_bytes: usize,
}

impl Default for CaptureLimits {
    /// 1,000 packets and 2 MiB per direction, 16 KiB per packet: what the workbench uses.
    fn default() -> Self {
        Self {
            packets: 1000,
            bytes_per_packet: 16 * 1024,
            total_bytes: 2 * 1024 * 1024,
        }
    }
}

/// What identifies a packet in the log: who, which way, which type, which Packet Identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaptureKey {
    /// The client identifier (`<unknown>` before CONNECT was accepted).
    pub client: Arc<str>,
    /// Received or sent.
    pub way: Way,
    /// The packet type (high nibble of the first byte).
    pub packet_type: u8,
    /// The Packet Identifier, for the packet types that carry one.
    pub packet_id: Option<u16>,
}

/// One captured packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Capture order, from 1, over both directions.
    pub seq: u64,
    /// When it was read or written.
    pub time: SystemTime,
    /// Who, which way, which type, which Packet Identifier.
    pub key: CaptureKey,
    /// The protocol version of the connection (for a CONNECT: the one it announces).
    pub version: ProtocolVersion,
    /// The bytes as on the wire (the first `bytes_per_packet` of them).
    pub bytes: Bytes,
    /// The length on the wire.
    pub wire_len: usize,
}

impl Captured {
    /// True when only the first bytes of the packet were kept.
    #[must_use]
    pub fn is_cut(&self) -> bool {
        self.bytes.len() < self.wire_len
    }
}

#[derive(Debug, Default)]
struct Ring {
    packets: VecDeque<Captured>,
    bytes: usize,
}

#[derive(Debug, Default)]
struct Rings {
    seq: u64,
    inbound: Ring,
    outbound: Ring,
}

/// The bounded capture shared by the connection tasks and the workbench.
#[derive(Debug)]
pub struct Capture {
    limits: CaptureLimits,
    rings: Mutex<Rings>,
}

impl Capture {
    /// An empty capture with these bounds.
    #[must_use]
    pub fn new(limits: CaptureLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            rings: Mutex::new(Rings::default()),
        })
    }

    /// The bounds.
    #[must_use]
    pub fn limits(&self) -> CaptureLimits {
        self.limits
    }

    /// Records the first packet in `buf` (a read buffer) when it is complete: called just
    /// before the decoder takes it. Incomplete bytes are left for the next read.
    pub fn record_in(&self, client: &Arc<str>, version: ProtocolVersion, buf: &[u8]) {
        if let Some(n) = frame_len(buf) {
            self.record(client, Way::In, version, &buf[..n]);
        }
    }

    /// Records one whole packet.
    pub fn record(&self, client: &Arc<str>, way: Way, version: ProtocolVersion, packet: &[u8]) {
        let Some(&first) = packet.first() else {
            return;
        };
        let packet_type = first >> 4;
        let version = if packet_type == pt::CONNECT {
            connect_version(packet).unwrap_or(version)
        } else {
            version
        };
        let keep = packet.len().min(self.limits.bytes_per_packet);
        let captured = Captured {
            seq: 0,
            time: SystemTime::now(),
            key: CaptureKey {
                client: client.clone(),
                way,
                packet_type,
                packet_id: packet_id(packet, version),
            },
            version,
            bytes: Bytes::copy_from_slice(&packet[..keep]),
            wire_len: packet.len(),
        };
        let mut rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        rings.seq += 1;
        let seq = rings.seq;
        let ring = match way {
            Way::In => &mut rings.inbound,
            Way::Out => &mut rings.outbound,
        };
        ring.bytes += keep;
        ring.packets.push_back(Captured { seq, ..captured });
        while ring.packets.len() > self.limits.packets.max(1)
            || (ring.bytes > self.limits.total_bytes && ring.packets.len() > 1)
        {
            if let Some(old) = ring.packets.pop_front() {
                ring.bytes -= old.bytes.len();
            }
        }
    }

    /// Packets and bytes kept in one direction.
    #[must_use]
    pub fn usage(&self, way: Way) -> (usize, usize) {
        let rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        let ring = match way {
            Way::In => &rings.inbound,
            Way::Out => &rings.outbound,
        };
        (ring.packets.len(), ring.bytes)
    }

    /// The packets kept in one direction, oldest first.
    #[must_use]
    pub fn packets(&self, way: Way) -> Vec<Captured> {
        let rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        let ring = match way {
            Way::In => &rings.inbound,
            Way::Out => &rings.outbound,
        };
        ring.packets.iter().cloned().collect()
    }

    /// The `newer`-th newest packet with this key (0: the newest), if still kept.
    #[must_use]
    pub fn find(&self, key: &CaptureKey, newer: usize) -> Option<Captured> {
        let rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        let ring = match key.way {
            Way::In => &rings.inbound,
            Way::Out => &rings.outbound,
        };
        ring.packets
            .iter()
            .rev()
            .filter(|c| same_key(&c.key, key))
            .nth(newer)
            .cloned()
    }
}

/// Keys match; a CONNECT is received before the broker knows (or assigns) the client id, so
/// a CONNECT key with the id `<unknown>` on either side matches any client.
fn same_key(a: &CaptureKey, b: &CaptureKey) -> bool {
    a.way == b.way
        && a.packet_type == b.packet_type
        && a.packet_id == b.packet_id
        && (a.client == b.client
            || (a.packet_type == pt::CONNECT && (&*a.client == UNKNOWN || &*b.client == UNKNOWN)))
}

/// The client id a connection has before its CONNECT is accepted.
pub const UNKNOWN: &str = "<unknown>";

/// The length of the first packet in `buf` (fixed header, Remaining Length and the rest), or
/// `None` when it is not all there yet or the Remaining Length is not valid.
#[must_use]
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    let mut len: usize = 0;
    for i in 0..4 {
        let b = *buf.get(1 + i)?;
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let total = 2 + i + len;
            return (buf.len() >= total).then_some(total);
        }
    }
    None
}

/// Where the variable header starts (after the Remaining Length).
fn body_start(packet: &[u8]) -> Option<usize> {
    (1..5)
        .find(|&i| packet.get(i).is_some_and(|b| b & 0x80 == 0))
        .map(|i| i + 1)
}

/// The Packet Identifier of a packet that carries one (PUBLISH at QoS 1 or 2, the PUBLISH
/// acknowledgements, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK).
#[must_use]
pub fn packet_id(packet: &[u8], _version: ProtocolVersion) -> Option<u16> {
    let first = *packet.first()?;
    let at = body_start(packet)?;
    let at = match first >> 4 {
        pt::PUBLISH if (first >> 1) & 3 == 0 => return None,
        pt::PUBLISH => {
            let tlen = u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]);
            at + 2 + usize::from(tlen)
        }
        pt::PUBACK
        | pt::PUBREC
        | pt::PUBREL
        | pt::PUBCOMP
        | pt::SUBSCRIBE
        | pt::SUBACK
        | pt::UNSUBSCRIBE
        | pt::UNSUBACK => at,
        _ => return None,
    };
    Some(u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]))
}

/// The version a CONNECT announces (its protocol level).
fn connect_version(packet: &[u8]) -> Option<ProtocolVersion> {
    let at = body_start(packet)?;
    let name_len = usize::from(u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]));
    match packet.get(at + 2 + name_len)? {
        3 => Some(ProtocolVersion::V31),
        4 => Some(ProtocolVersion::V311),
        5 => Some(ProtocolVersion::V5),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn frames_need_every_byte() {
        assert_eq!(frame_len(&[0x30]), None);
        assert_eq!(frame_len(&[0x30, 0x03, 0, 1]), None);
        assert_eq!(frame_len(&[0x30, 0x03, 0, 1, b'a', 0xff]), Some(5));
        assert_eq!(frame_len(&[0xc0, 0x00]), Some(2));
        // Remaining Length 128 takes two bytes.
        let mut big = vec![0x30, 0x80, 0x01];
        big.extend(std::iter::repeat_n(0, 128));
        assert_eq!(frame_len(&big), Some(131));
        assert_eq!(frame_len(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), None);
    }

    #[test]
    fn packet_ids_are_read_where_each_type_keeps_them() {
        let v = ProtocolVersion::V311;
        // PUBLISH QoS 1, topic "a", id 7.
        assert_eq!(packet_id(&[0x32, 0x05, 0, 1, b'a', 0, 7], v), Some(7));
        // PUBLISH QoS 0 has none.
        assert_eq!(packet_id(&[0x30, 0x03, 0, 1, b'a'], v), None);
        assert_eq!(packet_id(&[0x40, 0x02, 0x01, 0x02], v), Some(0x0102));
        assert_eq!(packet_id(&[0x90, 0x03, 0, 9, 0], v), Some(9));
        assert_eq!(packet_id(&[0xc0, 0x00], v), None);
        // Cut short: no id rather than a guess.
        assert_eq!(packet_id(&[0x32, 0x05, 0, 1], v), None);
    }

    #[test]
    fn the_ring_is_bounded_by_packets_and_bytes_and_keeps_the_newest() {
        let cap = Capture::new(CaptureLimits {
            packets: 3,
            bytes_per_packet: 8,
            total_bytes: 20,
        });
        let c = id("c");
        for n in 1..=5u8 {
            cap.record(&c, Way::In, ProtocolVersion::V311, &[0x40, 2, 0, n]);
        }
        assert_eq!(cap.usage(Way::In), (3, 12));
        assert_eq!(cap.usage(Way::Out), (0, 0));
        let ids: Vec<_> = cap
            .packets(Way::In)
            .iter()
            .map(|p| p.key.packet_id)
            .collect();
        assert_eq!(ids, [Some(3), Some(4), Some(5)]);
        // A long packet keeps its first 8 bytes and says how long it was.
        let long = [0x30, 10, 0, 1, b't', 1, 2, 3, 4, 5, 6, 7];
        cap.record(&c, Way::Out, ProtocolVersion::V311, &long);
        let p = &cap.packets(Way::Out)[0];
        assert_eq!(&p.bytes[..], &long[..8]);
        assert_eq!(p.wire_len, 12);
        assert!(p.is_cut());
        // The byte bound: three 8-byte packets are more than 20 bytes.
        cap.record(&c, Way::Out, ProtocolVersion::V311, &long);
        cap.record(&c, Way::Out, ProtocolVersion::V311, &long);
        assert_eq!(cap.usage(Way::Out), (2, 16));
    }

    #[test]
    fn find_counts_from_the_newest_packet_with_the_same_key() {
        let cap = Capture::new(CaptureLimits::default());
        let (a, b) = (id("a"), id("b"));
        cap.record(&a, Way::In, ProtocolVersion::V311, &[0x40, 2, 0, 1]);
        cap.record(&b, Way::In, ProtocolVersion::V311, &[0x40, 2, 0, 1]);
        cap.record(&a, Way::In, ProtocolVersion::V311, &[0x40, 2, 0, 1]);
        let key = CaptureKey {
            client: a.clone(),
            way: Way::In,
            packet_type: pt::PUBACK,
            packet_id: Some(1),
        };
        assert_eq!(cap.find(&key, 0).map(|p| p.seq), Some(3));
        assert_eq!(cap.find(&key, 1).map(|p| p.seq), Some(1));
        assert_eq!(cap.find(&key, 2), None);
        let out = CaptureKey {
            way: Way::Out,
            ..key
        };
        assert_eq!(cap.find(&out, 0), None);
    }

    #[test]
    fn record_in_takes_only_a_complete_first_packet() {
        let cap = Capture::new(CaptureLimits::default());
        let c = id("c");
        cap.record_in(&c, ProtocolVersion::V311, &[0x30, 0x03, 0, 1]);
        assert_eq!(cap.usage(Way::In), (0, 0));
        cap.record_in(
            &c,
            ProtocolVersion::V311,
            &[0x30, 0x03, 0, 1, b'a', 0xc0, 0],
        );
        let p = &cap.packets(Way::In)[0];
        assert_eq!(&p.bytes[..], &[0x30, 0x03, 0, 1, b'a']);
        // A CONNECT announces its version.
        let connect = [
            0x10, 0x0d, 0, 4, b'M', b'Q', b'T', b'T', 5, 2, 0, 60, 0, 0, 0, 0, 0,
        ];
        cap.record_in(&c, ProtocolVersion::V311, &connect);
        assert_eq!(cap.packets(Way::In)[1].version, ProtocolVersion::V5);
    }
}
