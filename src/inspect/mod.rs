//! The packet inspector and the topic-matching explainer: plain data in, plain data out, no UI.
//!
//! [`inspect`] takes the bytes of one MQTT packet (3.1, 3.1.1 or 5.0, either direction) and
//! returns an [`Inspection`]: a field table in which every field knows its byte span (so it
//! doubles as a byte map), a plain-language note with version-tagged clauses, the why notes that
//! apply, and for malformed bytes the precise error, where it is and which clause it breaks.
//! For packets a client sends, the verdict is the broker's own strict decoder
//! ([`crate::protocol::decode`]): whatever the broker refuses is reported as malformed with the
//! same reason. `mqtt-workbench decode` prints it with [`render`]; the workbench will show it.
//!
//! [`topic_match`] explains, level by level, why a topic filter does or does not match a topic
//! (`mqtt-workbench match`, and "Why didn't I receive it?").
//!
//! * [`clause`]: version-tagged clause references and the list of those that exist.
//! * [`why`]: the why notes, keyed by [`why::WhyKey`].

pub mod clause;
mod parse;
pub mod render;
pub mod topic_match;
pub mod why;

use crate::protocol::{ProtocolVersion, packet_type as pt};

pub use why::{WhyKey, WhyNote};

/// A run of bytes inside the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Offset of the first byte, from the start of the packet.
    pub offset: usize,
    /// Number of bytes.
    pub len: usize,
}

impl Span {
    /// One past the last byte.
    #[must_use]
    pub fn end(self) -> usize {
        self.offset + self.len
    }
}

/// The part of a packet a field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The first byte and the Remaining Length.
    FixedHeader,
    /// Packet Identifier, topic, protocol name, flags, properties, reason codes.
    VariableHeader,
    /// What follows the variable header (message, client identifier, topic filters).
    Payload,
    /// Bytes the inspector could not attribute to a field (after a malformed one).
    Unparsed,
}

impl Section {
    /// The heading used in the field table.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::FixedHeader => "Fixed header",
            Self::VariableHeader => "Variable header",
            Self::Payload => "Payload",
            Self::Unparsed => "Not parsed",
        }
    }
}

/// One row of the field table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Where it is.
    pub section: Section,
    /// Its name, in MQTT's own terms ("Packet Identifier", "Keep Alive", "Will QoS").
    pub name: String,
    /// Its value, rendered for reading (strings quoted, durations with units, codes named).
    pub value: String,
    /// Its bytes.
    pub span: Span,
    /// For a flag: the bits inside the (single) byte of `span`, high then low (7..0). Fields
    /// with bits are details of the byte-level field before them and are not rows of the byte
    /// map.
    pub bits: Option<(u8, u8)>,
}

/// Which way a packet type travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Only a client sends it (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ).
    ClientToServer,
    /// Only a server sends it (CONNACK, SUBACK, UNSUBACK, PINGRESP, and a PUBLISH carrying a
    /// Subscription Identifier).
    ServerToClient,
    /// Either side sends it (PUBLISH, the acknowledgements, DISCONNECT and AUTH in MQTT 5).
    Both,
}

impl Direction {
    /// "client to server", "server to client" or "client to server or server to client".
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::ClientToServer => "client to server",
            Self::ServerToClient => "server to client",
            Self::Both => "either direction",
        }
    }
}

/// Why the bytes are not a valid packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The error as the broker states it (`malformed packet: DUP set on a QoS 0 PUBLISH`).
    pub error: String,
    /// Offset of the offending byte or of the start of the offending field, when known.
    pub offset: Option<usize>,
    /// The field that is wrong.
    pub field: String,
    /// The clause broken, version-tagged.
    pub clause: &'static str,
    /// True when the broker's own decoder gave the verdict (client-to-server packets).
    pub from_broker_decoder: bool,
}

/// A plain-language explanation of a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// What the packet does and what the receiver must answer.
    pub text: String,
    /// The clauses that rule it, version-tagged.
    pub clauses: Vec<&'static str>,
}

/// Everything the inspector knows about one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The bytes inspected.
    pub bytes: Vec<u8>,
    /// The version the packet was read as (for CONNECT: the one it announces, when readable).
    pub version: ProtocolVersion,
    /// The packet type (high nibble of the first byte); 0 when there is no byte at all.
    pub packet_type: u8,
    /// Which way it travels.
    pub direction: Direction,
    /// The field table, in byte order; also the byte map (fields without `bits`).
    pub fields: Vec<Field>,
    /// The plain-language note.
    pub note: Note,
    /// The why notes that apply to this packet.
    pub why: Vec<WhyKey>,
    /// `None` for a well-formed packet.
    pub fault: Option<Fault>,
}

impl Inspection {
    /// True when the packet is well formed.
    #[must_use]
    pub fn is_well_formed(&self) -> bool {
        self.fault.is_none()
    }

    /// The packet type's name (`PUBLISH`), or `reserved (0)` / `reserved (15)`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        packet_name(self.packet_type, self.version)
    }

    /// The rows of the byte map: fields that own whole bytes, in offset order.
    pub fn byte_map(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.bits.is_none())
    }
}

/// The name of a packet type.
#[must_use]
pub fn packet_name(kind: u8, version: ProtocolVersion) -> &'static str {
    match kind {
        pt::CONNECT => "CONNECT",
        pt::CONNACK => "CONNACK",
        pt::PUBLISH => "PUBLISH",
        pt::PUBACK => "PUBACK",
        pt::PUBREC => "PUBREC",
        pt::PUBREL => "PUBREL",
        pt::PUBCOMP => "PUBCOMP",
        pt::SUBSCRIBE => "SUBSCRIBE",
        pt::SUBACK => "SUBACK",
        pt::UNSUBSCRIBE => "UNSUBSCRIBE",
        pt::UNSUBACK => "UNSUBACK",
        pt::PINGREQ => "PINGREQ",
        pt::PINGRESP => "PINGRESP",
        pt::DISCONNECT => "DISCONNECT",
        pt::AUTH if version.is_v5() => "AUTH",
        pt::AUTH => "reserved (15)",
        _ => "reserved (0)",
    }
}

/// The human name of a protocol version.
#[must_use]
pub fn version_name(v: ProtocolVersion) -> &'static str {
    match v {
        ProtocolVersion::V31 => "MQTT 3.1",
        ProtocolVersion::V311 => "MQTT 3.1.1",
        ProtocolVersion::V5 => "MQTT 5.0",
    }
}

/// Inspects the bytes of one packet read as `version` (a CONNECT announces its own version,
/// which wins). Bytes beyond the packet's Remaining Length make it malformed here; use
/// [`inspect_stream`] for several packets in a row.
#[must_use]
pub fn inspect(bytes: &[u8], version: ProtocolVersion) -> Inspection {
    parse::inspect(bytes, version)
}

/// Inspects several packets in a row. The first are read as `version`; after a CONNECT, the
/// version it announced applies to the packets that follow, as on a connection. A packet whose
/// length cannot be read, or that is cut short, takes the rest of the bytes.
#[must_use]
pub fn inspect_stream(bytes: &[u8], version: ProtocolVersion) -> Vec<Inspection> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut version = version;
    while !rest.is_empty() {
        let len = parse::packet_len(rest).filter(|&n| n <= rest.len());
        let (one, tail) = rest.split_at(len.unwrap_or(rest.len()));
        let i = inspect(one, version);
        if i.packet_type == pt::CONNECT && i.is_well_formed() {
            version = i.version;
        }
        out.push(i);
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests;
