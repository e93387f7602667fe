//! The inspector's span-tracking parse. It follows the broker's decoder check for check (same
//! order, same messages, from the same primitives in [`crate::protocol::reader`]), records every
//! field with its bytes, and adds the checks for server-to-client packets that the broker never
//! decodes. For packets a client may send, the broker's decoder then gives the verdict.

use bytes::BytesMut;

use super::why::WhyKey;
use super::{Direction, Fault, Field, Inspection, Note, Section, Span, clause};
use crate::protocol::decode::{Decoder, check_topic_name};
use crate::protocol::reader::{read_varint, validate_utf8};
use crate::protocol::topic;
use crate::protocol::{DecodeError, ProtocolVersion, packet_type as pt};

/// How many payload bytes a preview shows before it says it was cut.
pub const PREVIEW_BYTES: usize = 64;

/// The decoder's verdict when the bytes end before the packet does (it would wait for more).
const INCOMPLETE: &str = "the bytes end before the Remaining Length says the packet does";

/// A parse failure: where, which field, what.
struct Stop {
    offset: usize,
    field: String,
    error: DecodeError,
}

type R<T> = Result<T, Stop>;

/// The whole length (header included) of the packet at the start of `b`, when readable.
pub fn packet_len(b: &[u8]) -> Option<usize> {
    let (remaining, n) = read_varint(b.get(1..)?).ok()??;
    Some(1 + n + remaining as usize)
}

/// Where MQTT 5 properties appear; decides the allow list (MQTT 5 §2.2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Connect,
    Will,
    Publish,
    Ack,
    Subscribe,
    Unsubscribe,
    Disconnect,
    Auth,
    Connack,
    SubUnsubAck,
}

#[derive(Clone, Copy)]
enum Kind {
    Bool,
    U16,
    U32,
    Varint,
    Str,
    Bin,
    Pair,
}

/// Property identifier, name, value type, and where it may appear.
const PROPS: &[(u8, &str, Kind, &[Ctx])] = {
    use Ctx::*;
    use Kind::*;
    &[
        (0x01, "Payload Format Indicator", Bool, &[Publish, Will]),
        (0x02, "Message Expiry Interval", U32, &[Publish, Will]),
        (0x03, "Content Type", Str, &[Publish, Will]),
        (0x08, "Response Topic", Str, &[Publish, Will]),
        (0x09, "Correlation Data", Bin, &[Publish, Will]),
        (
            0x0B,
            "Subscription Identifier",
            Varint,
            &[Publish, Subscribe],
        ),
        (
            0x11,
            "Session Expiry Interval",
            U32,
            &[Connect, Connack, Disconnect],
        ),
        (0x12, "Assigned Client Identifier", Str, &[Connack]),
        (0x13, "Server Keep Alive", U16, &[Connack]),
        (
            0x15,
            "Authentication Method",
            Str,
            &[Connect, Connack, Auth],
        ),
        (0x16, "Authentication Data", Bin, &[Connect, Connack, Auth]),
        (0x17, "Request Problem Information", Bool, &[Connect]),
        (0x18, "Will Delay Interval", U32, &[Will]),
        (0x19, "Request Response Information", Bool, &[Connect]),
        (0x1A, "Response Information", Str, &[Connack]),
        (0x1C, "Server Reference", Str, &[Connack, Disconnect]),
        (
            0x1F,
            "Reason String",
            Str,
            &[Connack, Ack, SubUnsubAck, Disconnect, Auth],
        ),
        (0x21, "Receive Maximum", U16, &[Connect, Connack]),
        (0x22, "Topic Alias Maximum", U16, &[Connect, Connack]),
        (0x23, "Topic Alias", U16, &[Publish]),
        (0x24, "Maximum QoS", Bool, &[Connack]),
        (0x25, "Retain Available", Bool, &[Connack]),
        (
            0x26,
            "User Property",
            Pair,
            &[
                Connect,
                Will,
                Publish,
                Ack,
                Subscribe,
                Unsubscribe,
                Disconnect,
                Auth,
                Connack,
                SubUnsubAck,
            ],
        ),
        (0x27, "Maximum Packet Size", U32, &[Connect, Connack]),
        (0x28, "Wildcard Subscription Available", Bool, &[Connack]),
        (0x29, "Subscription Identifier Available", Bool, &[Connack]),
        (0x2A, "Shared Subscription Available", Bool, &[Connack]),
    ]
};

struct P<'a> {
    b: &'a [u8],
    pos: usize,
    end: usize,
    v: ProtocolVersion,
    kind: u8,
    section: Section,
    fields: Vec<Field>,
    why: Vec<WhyKey>,
    /// Set when a PUBLISH carries a Subscription Identifier: only a server sends that.
    from_server: bool,
}

fn stop<T>(offset: usize, field: &str, error: DecodeError) -> R<T> {
    Err(Stop {
        offset,
        field: field.to_owned(),
        error,
    })
}

/// Renders bytes for reading: UTF-8 text quoted with escapes, otherwise hex; cut after
/// [`PREVIEW_BYTES`] with a note saying so.
pub fn preview(data: &[u8]) -> String {
    let shown = &data[..data.len().min(PREVIEW_BYTES)];
    let mut s = match std::str::from_utf8(shown) {
        Ok(t) => format!("\"{}\"", t.escape_debug()),
        // A cut may split a character: show what is valid and hex for the rest.
        Err(e) if data.len() > PREVIEW_BYTES && e.error_len().is_none() => {
            let (t, tail) = shown.split_at(e.valid_up_to());
            let t = std::str::from_utf8(t).unwrap_or_default();
            format!("\"{}\" + hex {}", t.escape_debug(), hex(tail))
        }
        Err(_) => format!("hex {}", hex(shown)),
    };
    if data.len() > shown.len() {
        s.push_str(&format!(
            " ... (cut: first {} of {} bytes shown)",
            shown.len(),
            data.len()
        ));
    }
    s
}

/// Lower-case hex bytes separated by spaces.
pub fn hex(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 3);
    for (i, b) in data.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn bytes_word(n: usize) -> String {
    if n == 1 {
        "1 byte".to_owned()
    } else {
        format!("{n} bytes")
    }
}

fn seconds(v: u32) -> String {
    format!("{v} s")
}

impl P<'_> {
    fn field(&mut self, name: &str, value: String, offset: usize) {
        self.fields.push(Field {
            section: self.section,
            name: name.to_owned(),
            value,
            span: Span {
                offset,
                len: self.pos - offset,
            },
            bits: None,
        });
    }

    fn bit(&mut self, name: &str, value: String, offset: usize, hi: u8, lo: u8) {
        self.fields.push(Field {
            section: self.section,
            name: name.to_owned(),
            value,
            span: Span { offset, len: 1 },
            bits: Some((hi, lo)),
        });
    }

    fn remaining(&self) -> usize {
        self.end - self.pos
    }

    fn u8(&mut self, name: &str) -> R<u8> {
        if self.remaining() < 1 {
            return stop(
                self.pos,
                name,
                DecodeError::Malformed("packet ends inside a field"),
            );
        }
        let v = self.b[self.pos];
        self.pos += 1;
        Ok(v)
    }

    fn slice(&mut self, name: &str, n: usize, msg: &'static str) -> R<&[u8]> {
        if self.remaining() < n {
            return stop(self.pos, name, DecodeError::Malformed(msg));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u16(&mut self, name: &str) -> R<u16> {
        let s = self.slice(name, 2, "packet ends inside a field")?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }

    fn u32(&mut self, name: &str) -> R<u32> {
        let s = self.slice(name, 4, "packet ends inside a field")?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn varint(&mut self, name: &str) -> R<u32> {
        let at = self.pos;
        match read_varint(&self.b[self.pos..self.end]) {
            Ok(Some((v, n))) => {
                self.pos += n;
                Ok(v)
            }
            Ok(None) => stop(
                at,
                name,
                DecodeError::Malformed("packet ends inside a variable byte integer"),
            ),
            Err(e) => stop(at, name, e),
        }
    }

    /// A UTF-8 encoded string, read like `Reader::string`.
    fn string(&mut self, name: &str) -> R<String> {
        let at = self.pos;
        let n = usize::from(self.u16(name)?);
        let s = self.slice(name, n, "packet ends inside a field")?;
        match validate_utf8(s) {
            Ok(t) => Ok(t.to_owned()),
            Err(e) => stop(at, name, e),
        }
    }

    /// Binary data, read like `Reader::binary`.
    fn binary(&mut self, name: &str) -> R<Vec<u8>> {
        let n = usize::from(self.u16(name)?);
        Ok(self
            .slice(name, n, "length field larger than the packet")?
            .to_vec())
    }

    fn finish(&self) -> R<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            stop(
                self.pos,
                "Remaining Length",
                DecodeError::Malformed("unexpected bytes after the end of the packet"),
            )
        }
    }

    fn string_field(&mut self, name: &str) -> R<String> {
        let at = self.pos;
        let s = self.string(name)?;
        self.field(
            name,
            format!("\"{}\" ({})", s.escape_debug(), bytes_word(s.len())),
            at,
        );
        Ok(s)
    }

    fn binary_field(&mut self, name: &str) -> R<Vec<u8>> {
        let at = self.pos;
        let d = self.binary(name)?;
        self.field(
            name,
            format!("{}, {}", bytes_word(d.len()), preview(&d)),
            at,
        );
        Ok(d)
    }

    fn packet_id(&mut self) -> R<u16> {
        let at = self.pos;
        let id = self.u16("Packet Identifier")?;
        self.field("Packet Identifier", id.to_string(), at);
        if id == 0 {
            return stop(
                at,
                "Packet Identifier",
                DecodeError::Malformed("packet identifier 0"),
            );
        }
        Ok(id)
    }

    fn properties(&mut self, ctx: Ctx, title: &str) -> R<()> {
        let at = self.pos;
        let len_name = format!("{title} Length");
        let len = self.varint(&len_name)? as usize;
        self.field(&len_name, bytes_word(len), at);
        if self.remaining() < len {
            return stop(
                at,
                &len_name,
                DecodeError::Malformed("length field larger than the packet"),
            );
        }
        let outer_end = self.end;
        self.end = self.pos + len;
        let mut seen: u64 = 0;
        while self.remaining() > 0 {
            let pstart = self.pos;
            let raw = self.varint("Property Identifier")?;
            let Ok(pid) = u8::try_from(raw) else {
                return stop(
                    pstart,
                    "Property Identifier",
                    DecodeError::Malformed("unknown property identifier"),
                );
            };
            let Some(&(_, name, kind, ctxs)) = PROPS.iter().find(|p| p.0 == pid) else {
                return stop(
                    pstart,
                    &format!("Property Identifier 0x{pid:02X}"),
                    DecodeError::Malformed("property not allowed in this packet"),
                );
            };
            if !ctxs.contains(&ctx) {
                return stop(
                    pstart,
                    name,
                    DecodeError::Malformed("property not allowed in this packet"),
                );
            }
            let value = match kind {
                Kind::Bool => {
                    let b = self.u8(name)?;
                    if b > 1 {
                        return stop(
                            pstart,
                            name,
                            DecodeError::Protocol("property value must be 0 or 1"),
                        );
                    }
                    b.to_string()
                }
                Kind::U16 => {
                    let v = self.u16(name)?;
                    if pid == 0x21 && v == 0 {
                        return stop(pstart, name, DecodeError::Protocol("receive maximum of 0"));
                    }
                    match pid {
                        0x13 => seconds(u32::from(v)),
                        _ => v.to_string(),
                    }
                }
                Kind::U32 => {
                    let v = self.u32(name)?;
                    if pid == 0x27 && v == 0 {
                        return stop(
                            pstart,
                            name,
                            DecodeError::Protocol("maximum packet size of 0"),
                        );
                    }
                    match pid {
                        0x27 => bytes_word(v as usize),
                        0x11 if v == u32::MAX => "4294967295 s (never expires)".to_owned(),
                        _ => seconds(v),
                    }
                }
                Kind::Varint => {
                    let v = self.varint(name)?;
                    if v == 0 {
                        return stop(
                            pstart,
                            name,
                            DecodeError::Protocol("subscription identifier 0"),
                        );
                    }
                    v.to_string()
                }
                Kind::Str => {
                    let s = self.string(name)?;
                    if pid == 0x08 && (s.is_empty() || s.contains(['+', '#'])) {
                        return stop(
                            pstart,
                            name,
                            DecodeError::Protocol("response topic must be a valid topic name"),
                        );
                    }
                    format!("\"{}\"", s.escape_debug())
                }
                Kind::Bin => {
                    let d = self.binary(name)?;
                    format!("{}, {}", bytes_word(d.len()), preview(&d))
                }
                Kind::Pair => {
                    let k = self.string(name)?;
                    let v = self.string(name)?;
                    format!("\"{}\" = \"{}\"", k.escape_debug(), v.escape_debug())
                }
            };
            let once = pid != 0x26 && !(pid == 0x0B && ctx == Ctx::Publish);
            if once && seen & (1 << pid) != 0 {
                return stop(
                    pstart,
                    name,
                    DecodeError::Protocol("property included more than once"),
                );
            }
            seen |= 1 << pid;
            if pid == 0x0B && ctx == Ctx::Publish {
                // [MQTT5-3.3.4-6]: only a server puts a Subscription Identifier in PUBLISH.
                self.from_server = true;
            }
            self.field(&format!("{name} (0x{pid:02X})"), value, pstart);
        }
        self.end = outer_end;
        Ok(())
    }
}

/// Whether `kind` is a packet a client may send (so the broker's decoder gives the verdict).
fn direction(kind: u8, v: ProtocolVersion) -> Direction {
    match kind {
        pt::CONNECT | pt::SUBSCRIBE | pt::UNSUBSCRIBE | pt::PINGREQ => Direction::ClientToServer,
        pt::CONNACK | pt::SUBACK | pt::UNSUBACK | pt::PINGRESP => Direction::ServerToClient,
        pt::DISCONNECT if !v.is_v5() => Direction::ClientToServer,
        _ => Direction::Both,
    }
}

pub fn inspect(bytes: &[u8], version: ProtocolVersion) -> Inspection {
    let mut p = P {
        b: bytes,
        pos: 0,
        end: bytes.len(),
        v: version,
        kind: bytes.first().map_or(0, |b| b >> 4),
        section: Section::FixedHeader,
        fields: Vec::new(),
        why: Vec::new(),
        from_server: false,
    };
    let result = packet(&mut p);
    let kind = p.kind;
    let mut dir = direction(kind, p.v);
    if p.from_server {
        dir = Direction::ServerToClient;
    }
    let mut fault = result.err().map(|s| Fault {
        clause: clause_for(&s.error, kind, p.v, &s.field),
        error: s.error.to_string(),
        offset: Some(s.offset),
        field: s.field,
        from_broker_decoder: false,
    });
    // The broker's decoder gives the verdict for anything a client may send.
    if dir != Direction::ServerToClient && !bytes.is_empty() {
        let verdict = broker_verdict(bytes, kind, version);
        match (verdict, fault.as_mut()) {
            (Ok(()), _) => {}
            (Err(e), Some(f)) => {
                if e.to_string() != f.error {
                    // Same packet, two readings: the broker's words win; keep the location.
                    f.clause = clause_for(&e, kind, p.v, &f.field);
                    f.error = e.to_string();
                }
                f.from_broker_decoder = true;
            }
            (Err(e), None) => {
                fault = Some(Fault {
                    clause: clause_for(&e, kind, p.v, ""),
                    error: e.to_string(),
                    offset: None,
                    field: "packet".to_owned(),
                    from_broker_decoder: true,
                });
            }
        }
    }
    // Whatever the parse did not reach is shown as such in the byte map.
    let covered = p.fields.iter().map(|f| f.span.end()).max().unwrap_or(0);
    if covered < bytes.len() {
        p.fields.push(Field {
            section: Section::Unparsed,
            name: "(not parsed)".to_owned(),
            value: bytes_word(bytes.len() - covered),
            span: Span {
                offset: covered,
                len: bytes.len() - covered,
            },
            bits: None,
        });
    }
    let note = note(kind, p.v, &p.fields);
    Inspection {
        bytes: bytes.to_vec(),
        version: p.v,
        packet_type: kind,
        direction: dir,
        fields: p.fields,
        note,
        why: p.why,
        fault,
    }
}

/// Runs the broker's decoder over the packet: `Ok` when it accepts it.
fn broker_verdict(bytes: &[u8], kind: u8, version: ProtocolVersion) -> Result<(), DecodeError> {
    let mut d = Decoder::new(0);
    if kind != pt::CONNECT {
        d.version = Some(version);
    }
    let mut buf = BytesMut::from(bytes);
    match d.decode(&mut buf)? {
        None => Err(DecodeError::Malformed(INCOMPLETE)),
        Some(_) if !buf.is_empty() => Err(DecodeError::Malformed(
            "unexpected bytes after the end of the packet",
        )),
        Some(_) => Ok(()),
    }
}

fn packet(p: &mut P) -> R<()> {
    let Some(&b0) = p.b.first() else {
        return stop(0, "Packet type", DecodeError::Malformed(INCOMPLETE));
    };
    let kind = b0 >> 4;
    let flags = b0 & 0x0F;
    p.pos = 1;
    p.field(
        "Packet type and flags",
        format!("0x{b0:02X} = {:04b} {:04b}", kind, flags),
        0,
    );
    let name = super::packet_name(kind, p.v);
    p.bit("Packet type", format!("{kind} ({name})"), 0, 7, 4);
    if kind == pt::PUBLISH {
        p.bit("DUP", (flags >> 3).to_string(), 0, 3, 3);
        p.bit("QoS", ((flags >> 1) & 3).to_string(), 0, 2, 1);
        p.bit("RETAIN", (flags & 1).to_string(), 0, 0, 0);
    } else {
        let expected = match kind {
            pt::PUBREL | pt::SUBSCRIBE | pt::UNSUBSCRIBE => 0x2,
            _ => 0x0,
        };
        p.bit(
            "Reserved flags",
            format!("{flags:04b} (must be {expected:04b})"),
            0,
            3,
            0,
        );
        if kind == 0 {
            return stop(
                0,
                "Packet type",
                DecodeError::Malformed("reserved packet type 0"),
            );
        }
        if kind == pt::AUTH && !p.v.is_v5() {
            return stop(
                0,
                "Packet type",
                DecodeError::Malformed("reserved packet type 15"),
            );
        }
        if flags != expected {
            return stop(
                0,
                "Reserved flags",
                DecodeError::Malformed("invalid fixed header flags"),
            );
        }
    }
    let (remaining, n) = match read_varint(&p.b[1..]) {
        Ok(Some(x)) => x,
        Ok(None) => return stop(1, "Remaining Length", DecodeError::Malformed(INCOMPLETE)),
        Err(e) => return stop(1, "Remaining Length", e),
    };
    p.pos = 1 + n;
    p.field(
        "Remaining Length",
        format!("{remaining} (in {})", bytes_word(n)),
        1,
    );
    let total = 1 + n + remaining as usize;
    if p.b.len() < total {
        return stop(
            p.b.len(),
            "Remaining Length",
            DecodeError::Malformed(INCOMPLETE),
        );
    }
    p.end = total;
    p.section = Section::VariableHeader;
    match kind {
        pt::CONNECT => connect(p)?,
        pt::CONNACK => connack(p)?,
        pt::PUBLISH => publish(p, flags)?,
        pt::PUBACK..=pt::PUBCOMP => ack(p)?,
        pt::SUBSCRIBE => subscribe(p)?,
        pt::SUBACK => suback(p)?,
        pt::UNSUBSCRIBE => unsubscribe(p)?,
        pt::UNSUBACK => unsuback(p)?,
        pt::DISCONNECT => disconnect(p)?,
        pt::AUTH => auth(p)?,
        // PINGREQ and PINGRESP have no body.
        _ => p.finish()?,
    }
    if p.b.len() > total {
        return stop(
            total,
            "Remaining Length",
            DecodeError::Malformed("unexpected bytes after the end of the packet"),
        );
    }
    Ok(())
}

fn connect(p: &mut P) -> R<()> {
    let name_at = p.pos;
    let name = p.string_field("Protocol Name")?;
    let at = p.pos;
    let level = p.u8("Protocol Level")?;
    let version = match (name.as_str(), level) {
        ("MQTT", 4) => ProtocolVersion::V311,
        ("MQTT", 5) => ProtocolVersion::V5,
        ("MQIsdp", 3) => ProtocolVersion::V31,
        ("MQTT" | "MQIsdp", _) => {
            p.field("Protocol Level", format!("{level} (unsupported)"), at);
            return stop(
                at,
                "Protocol Level",
                DecodeError::UnsupportedVersion { name, level },
            );
        }
        _ => {
            p.field("Protocol Level", level.to_string(), at);
            return stop(
                name_at,
                "Protocol Name",
                DecodeError::Protocol("unknown protocol name"),
            );
        }
    };
    p.v = version;
    let v5 = version.is_v5();
    p.field(
        "Protocol Level",
        format!("{level} ({})", super::version_name(version)),
        at,
    );
    let at = p.pos;
    let flags = p.u8("Connect Flags")?;
    p.field("Connect Flags", format!("0x{flags:02X} = {flags:08b}"), at);
    let bit = |n: u8| (flags >> n) & 1;
    p.bit("User Name Flag", bit(7).to_string(), at, 7, 7);
    p.bit("Password Flag", bit(6).to_string(), at, 6, 6);
    p.bit("Will Retain", bit(5).to_string(), at, 5, 5);
    p.bit("Will QoS", ((flags >> 3) & 3).to_string(), at, 4, 3);
    p.bit("Will Flag", bit(2).to_string(), at, 2, 2);
    let clean = if v5 { "Clean Start" } else { "Clean Session" };
    p.bit(clean, bit(1).to_string(), at, 1, 1);
    p.bit("Reserved", bit(0).to_string(), at, 0, 0);
    if bit(0) != 0 {
        return stop(
            at,
            "Reserved",
            DecodeError::Malformed("reserved CONNECT flag is set"),
        );
    }
    let will_flag = bit(2) != 0;
    let will_qos = (flags >> 3) & 3;
    if !will_flag && (will_qos != 0 || bit(5) != 0) {
        let f = if will_qos != 0 {
            "Will QoS"
        } else {
            "Will Retain"
        };
        return stop(
            at,
            f,
            DecodeError::Malformed("will QoS or retain set without a will"),
        );
    }
    if will_qos == 3 {
        return stop(at, "Will QoS", DecodeError::Malformed("will QoS 3"));
    }
    if !v5 && bit(6) != 0 && bit(7) == 0 {
        return stop(
            at,
            "Password Flag",
            DecodeError::Malformed("password without a user name"),
        );
    }
    let at = p.pos;
    let ka = p.u16("Keep Alive")?;
    p.field(
        "Keep Alive",
        if ka == 0 {
            "0 (off)".to_owned()
        } else {
            format!("{ka} s (silence for {} ms closes)", u32::from(ka) * 1500)
        },
        at,
    );
    if v5 {
        p.properties(Ctx::Connect, "Properties")?;
    }
    p.section = Section::Payload;
    p.string_field("Client Identifier")?;
    if will_flag {
        if v5 {
            p.properties(Ctx::Will, "Will Properties")?;
        }
        let at = p.pos;
        let t = p.string_field("Will Topic")?;
        if let Err(e) = check_topic_name(&t) {
            return stop(at, "Will Topic", e);
        }
        p.binary_field("Will Payload")?;
        p.why.push(WhyKey::WillSent);
        p.why.push(WhyKey::WillDiscarded);
    }
    if bit(7) != 0 {
        p.string_field("User Name")?;
    }
    if bit(6) != 0 {
        p.binary_field("Password")?;
    }
    p.finish()
}

fn connack(p: &mut P) -> R<()> {
    let at = p.pos;
    let flags = p.u8("Connect Acknowledge Flags")?;
    p.field("Connect Acknowledge Flags", format!("0x{flags:02X}"), at);
    p.bit("Reserved", format!("{:07b}", flags >> 1), at, 7, 1);
    p.bit("Session Present", (flags & 1).to_string(), at, 0, 0);
    if flags & 0xFE != 0 {
        return stop(
            at,
            "Reserved",
            DecodeError::Malformed("reserved CONNACK flag bits set"),
        );
    }
    let at = p.pos;
    let code = p.u8("Return Code")?;
    if p.v.is_v5() {
        let name = connack_reason(code);
        p.field(
            "Reason Code",
            format!("0x{code:02X} {}", name.unwrap_or("(undefined)")),
            at,
        );
        if name.is_none() {
            return stop(
                at,
                "Reason Code",
                DecodeError::Malformed("undefined CONNACK reason code"),
            );
        }
        if code >= 0x80 && flags & 1 != 0 {
            return stop(
                at - 1,
                "Session Present",
                DecodeError::Malformed("Session Present set on a refused connection"),
            );
        }
        if p.remaining() > 0 {
            p.properties(Ctx::Connack, "Properties")?;
        }
    } else {
        let name = match code {
            0 => Some("Connection Accepted"),
            1 => Some("unacceptable protocol version"),
            2 => Some("identifier rejected"),
            3 => Some("server unavailable"),
            4 => Some("bad user name or password"),
            5 => Some("not authorized"),
            _ => None,
        };
        p.field(
            "Return Code",
            format!("{code} {}", name.unwrap_or("(undefined)")),
            at,
        );
        if name.is_none() {
            return stop(
                at,
                "Return Code",
                DecodeError::Malformed("undefined CONNACK return code"),
            );
        }
        if code != 0 && flags & 1 != 0 {
            return stop(
                at - 1,
                "Session Present",
                DecodeError::Malformed("Session Present set on a refused connection"),
            );
        }
    }
    p.finish()
}

fn connack_reason(code: u8) -> Option<&'static str> {
    Some(match code {
        0x00 => "Success",
        0x80 => "Unspecified error",
        0x81 => "Malformed Packet",
        0x82 => "Protocol Error",
        0x83 => "Implementation specific error",
        0x84 => "Unsupported Protocol Version",
        0x85 => "Client Identifier not valid",
        0x86 => "Bad User Name or Password",
        0x87 => "Not authorized",
        0x88 => "Server unavailable",
        0x89 => "Server busy",
        0x8A => "Banned",
        0x8C => "Bad authentication method",
        0x90 => "Topic Name invalid",
        0x95 => "Packet too large",
        0x97 => "Quota exceeded",
        0x99 => "Payload format invalid",
        0x9A => "Retain not supported",
        0x9B => "QoS not supported",
        0x9C => "Use another server",
        0x9D => "Server moved",
        0x9F => "Connection rate exceeded",
        _ => return None,
    })
}

fn publish(p: &mut P, flags: u8) -> R<()> {
    let dup = flags & 0x08 != 0;
    let qos = (flags >> 1) & 3;
    let retain = flags & 1 != 0;
    if qos == 3 {
        return stop(0, "QoS", DecodeError::Malformed("PUBLISH with QoS 3"));
    }
    if dup && qos == 0 {
        return stop(
            0,
            "DUP",
            DecodeError::Malformed("DUP set on a QoS 0 PUBLISH"),
        );
    }
    let at = p.pos;
    let n = usize::from(p.u16("Topic Name")?);
    let raw = p.slice("Topic Name", n, "length field larger than the packet")?;
    let topic = match validate_utf8(raw) {
        Ok(t) => t.to_owned(),
        Err(e) => return stop(at, "Topic Name", e),
    };
    p.field(
        "Topic Name",
        format!("\"{}\" ({})", topic.escape_debug(), bytes_word(n)),
        at,
    );
    if topic.contains(['+', '#']) {
        return stop(
            at,
            "Topic Name",
            DecodeError::TopicName("wildcard in a topic name"),
        );
    }
    if topic.is_empty() && !p.v.is_v5() {
        return stop(at, "Topic Name", DecodeError::TopicName("empty topic name"));
    }
    if qos > 0 {
        p.packet_id()?;
    }
    if p.v.is_v5() {
        p.properties(Ctx::Publish, "Properties")?;
    }
    p.section = Section::Payload;
    let at = p.pos;
    let payload = &p.b[p.pos..p.end];
    p.pos = p.end;
    let value = if payload.is_empty() {
        "0 bytes (empty)".to_owned()
    } else {
        format!("{}, {}", bytes_word(payload.len()), preview(payload))
    };
    p.field("Payload", value, at);
    if topic.starts_with('$') {
        p.why.push(WhyKey::DollarTopics);
    }
    if retain {
        p.why.push(WhyKey::RetainLiveVsSubscribe);
    }
    if qos > 0 {
        p.why.push(WhyKey::QosDowngrade);
    }
    Ok(())
}

fn ack_reason_name(kind: u8, code: u8) -> Option<&'static str> {
    let ok = match kind {
        pt::PUBACK | pt::PUBREC => {
            matches!(
                code,
                0x00 | 0x10 | 0x80 | 0x83 | 0x87 | 0x90 | 0x91 | 0x97 | 0x99
            )
        }
        _ => matches!(code, 0x00 | 0x92),
    };
    if !ok {
        return None;
    }
    Some(match code {
        0x00 => "Success",
        0x10 => "No matching subscribers",
        0x80 => "Unspecified error",
        0x83 => "Implementation specific error",
        0x87 => "Not authorized",
        0x90 => "Topic Name invalid",
        0x91 => "Packet Identifier in use",
        0x92 => "Packet Identifier not found",
        0x97 => "Quota exceeded",
        _ => "Payload format invalid",
    })
}

fn ack(p: &mut P) -> R<()> {
    p.packet_id()?;
    if p.v.is_v5() {
        if p.remaining() > 0 {
            let at = p.pos;
            let code = p.u8("Reason Code")?;
            let name = ack_reason_name(p.kind, code);
            p.field(
                "Reason Code",
                format!("0x{code:02X} {}", name.unwrap_or("(undefined)")),
                at,
            );
            if p.remaining() > 0 {
                p.properties(Ctx::Ack, "Properties")?;
            }
            p.finish()?;
            if name.is_none() {
                return stop(
                    at,
                    "Reason Code",
                    DecodeError::Protocol("undefined reason code for this acknowledgement"),
                );
            }
            if code == 0x10 {
                p.why.push(WhyKey::NoMatchingSubscription);
            }
        } else {
            p.field(
                "Reason Code",
                "absent: 0x00 Success (§3.4.2.1)".to_owned(),
                p.pos,
            );
        }
    }
    p.finish()
}

fn sub_options(p: &mut P, i: usize) -> R<()> {
    let name = format!("Subscription Options {i}");
    let at = p.pos;
    let o = p.u8(&name)?;
    p.field(&name, format!("0x{o:02X} = {o:08b}"), at);
    let v5 = p.v.is_v5();
    if v5 {
        p.bit("Reserved", ((o >> 6) & 3).to_string(), at, 7, 6);
        let rh = (o >> 4) & 3;
        let rh_text = match rh {
            0 => "0 (send retained messages at subscribe)",
            1 => "1 (send retained messages only for a new subscription)",
            2 => "2 (do not send retained messages)",
            _ => "3 (invalid)",
        };
        p.bit("Retain Handling", rh_text.to_owned(), at, 5, 4);
        p.bit("Retain As Published", ((o >> 3) & 1).to_string(), at, 3, 3);
        p.bit("No Local", ((o >> 2) & 1).to_string(), at, 2, 2);
        p.bit("Maximum QoS", (o & 3).to_string(), at, 1, 0);
    } else {
        p.bit("Reserved", format!("{:06b}", o >> 2), at, 7, 2);
        p.bit("Requested QoS", (o & 3).to_string(), at, 1, 0);
    }
    let reserved = if v5 { o & 0xC0 } else { o & 0xFC };
    if reserved != 0 {
        return stop(
            at,
            "Reserved",
            DecodeError::Malformed("reserved subscription option bits set"),
        );
    }
    if o & 3 == 3 {
        return stop(
            at,
            if v5 { "Maximum QoS" } else { "Requested QoS" },
            DecodeError::Malformed("subscription with QoS 3"),
        );
    }
    if (o >> 4) & 3 == 3 {
        return stop(
            at,
            "Retain Handling",
            DecodeError::Protocol("retain handling 3"),
        );
    }
    if v5 && o & 0x04 != 0 {
        p.why.push(WhyKey::NoLocal);
    }
    Ok(())
}

/// Adds a remark when a filter would be refused by the broker after decoding.
fn filter_value(f: &str) -> String {
    let base = format!("\"{}\" ({})", f.escape_debug(), bytes_word(f.len()));
    match topic::parse_filter(f) {
        Ok(pf) => match pf.share_group {
            Some(g) => format!("{base}, shared: group \"{g}\", filter \"{}\"", pf.filter),
            None => base,
        },
        Err(e) => format!("{base}, not a valid filter: {e}"),
    }
}

fn subscribe(p: &mut P) -> R<()> {
    p.packet_id()?;
    if p.v.is_v5() {
        p.properties(Ctx::Subscribe, "Properties")?;
    }
    p.section = Section::Payload;
    let mut i = 0;
    while p.remaining() > 0 {
        i += 1;
        let name = format!("Topic Filter {i}");
        let at = p.pos;
        let f = p.string(&name)?;
        p.field(&name, filter_value(&f), at);
        if f.starts_with('+') || f.starts_with('#') {
            p.why.push(WhyKey::DollarTopics);
        }
        let opts_at = p.pos;
        sub_options(p, i)?;
        let shared = topic::parse_filter(&f).is_ok_and(|pf| pf.share_group.is_some());
        if p.v.is_v5() && shared && p.b[opts_at] & 0x04 != 0 {
            // The broker's decoder reads this; its router then closes the connection.
            return stop(
                opts_at,
                "No Local",
                DecodeError::Protocol("No Local on a shared subscription"),
            );
        }
    }
    if i == 0 {
        return stop(
            p.pos,
            "Payload",
            DecodeError::Malformed("SUBSCRIBE without a topic filter"),
        );
    }
    p.why.push(WhyKey::QosDowngrade);
    p.why.push(WhyKey::RetainLiveVsSubscribe);
    Ok(())
}

fn suback_name(code: u8, v5: bool) -> Option<&'static str> {
    Some(match code {
        0x00 => "Granted QoS 0",
        0x01 => "Granted QoS 1",
        0x02 => "Granted QoS 2",
        0x80 if !v5 => "Failure",
        0x80 => "Unspecified error",
        0x83 if v5 => "Implementation specific error",
        0x87 if v5 => "Not authorized",
        0x8F if v5 => "Topic Filter invalid",
        0x91 if v5 => "Packet Identifier in use",
        0x97 if v5 => "Quota exceeded",
        0x9E if v5 => "Shared Subscriptions not supported",
        0xA1 if v5 => "Subscription Identifiers not supported",
        0xA2 if v5 => "Wildcard Subscriptions not supported",
        _ => return None,
    })
}

fn suback(p: &mut P) -> R<()> {
    p.packet_id()?;
    let v5 = p.v.is_v5();
    if v5 {
        p.properties(Ctx::SubUnsubAck, "Properties")?;
    }
    p.section = Section::Payload;
    let label = if v5 { "Reason Code" } else { "Return Code" };
    let mut i = 0;
    while p.remaining() > 0 {
        i += 1;
        let name = format!("{label} {i}");
        let at = p.pos;
        let code = p.u8(&name)?;
        let n = suback_name(code, v5);
        p.field(
            &name,
            format!("0x{code:02X} {}", n.unwrap_or("(undefined)")),
            at,
        );
        if n.is_none() {
            return stop(
                at,
                &name,
                DecodeError::Malformed("undefined SUBACK return code"),
            );
        }
    }
    if i == 0 {
        return stop(
            p.pos,
            "Payload",
            DecodeError::Malformed("SUBACK without a return code"),
        );
    }
    p.why.push(WhyKey::QosDowngrade);
    Ok(())
}

fn unsubscribe(p: &mut P) -> R<()> {
    p.packet_id()?;
    if p.v.is_v5() {
        p.properties(Ctx::Unsubscribe, "Properties")?;
    }
    p.section = Section::Payload;
    let mut i = 0;
    while p.remaining() > 0 {
        i += 1;
        let name = format!("Topic Filter {i}");
        let at = p.pos;
        let f = p.string(&name)?;
        p.field(&name, filter_value(&f), at);
    }
    if i == 0 {
        return stop(
            p.pos,
            "Payload",
            DecodeError::Malformed("UNSUBSCRIBE without a topic filter"),
        );
    }
    Ok(())
}

fn unsuback(p: &mut P) -> R<()> {
    p.packet_id()?;
    if !p.v.is_v5() {
        return p.finish();
    }
    p.properties(Ctx::SubUnsubAck, "Properties")?;
    p.section = Section::Payload;
    let mut i = 0;
    while p.remaining() > 0 {
        i += 1;
        let name = format!("Reason Code {i}");
        let at = p.pos;
        let code = p.u8(&name)?;
        let n = match code {
            0x00 => Some("Success"),
            0x11 => Some("No subscription existed"),
            0x80 => Some("Unspecified error"),
            0x83 => Some("Implementation specific error"),
            0x87 => Some("Not authorized"),
            0x8F => Some("Topic Filter invalid"),
            0x91 => Some("Packet Identifier in use"),
            _ => None,
        };
        p.field(
            &name,
            format!("0x{code:02X} {}", n.unwrap_or("(undefined)")),
            at,
        );
        if n.is_none() {
            return stop(
                at,
                &name,
                DecodeError::Malformed("undefined UNSUBACK reason code"),
            );
        }
    }
    if i == 0 {
        return stop(
            p.pos,
            "Payload",
            DecodeError::Malformed("UNSUBACK without a reason code"),
        );
    }
    Ok(())
}

/// MQTT 5 DISCONNECT reason codes (§3.14.2.1): name, and whether only a server sends it.
fn disconnect_reason(b: u8) -> Option<(&'static str, bool)> {
    Some(match b {
        0x00 => ("Normal disconnection", false),
        0x04 => ("Disconnect with Will Message", false),
        0x80 => ("Unspecified error", false),
        0x81 => ("Malformed Packet", false),
        0x82 => ("Protocol Error", false),
        0x83 => ("Implementation specific error", false),
        0x87 => ("Not authorized", true),
        0x89 => ("Server busy", true),
        0x8B => ("Server shutting down", true),
        0x8D => ("Keep Alive timeout", true),
        0x8E => ("Session taken over", true),
        0x8F => ("Topic Filter invalid", true),
        0x90 => ("Topic Name invalid", false),
        0x93 => ("Receive Maximum exceeded", false),
        0x94 => ("Topic Alias invalid", false),
        0x95 => ("Packet too large", false),
        0x96 => ("Message rate too high", false),
        0x97 => ("Quota exceeded", false),
        0x98 => ("Administrative action", true),
        0x99 => ("Payload format invalid", false),
        0x9A => ("Retain not supported", true),
        0x9B => ("QoS not supported", true),
        0x9C => ("Use another server", true),
        0x9D => ("Server moved", true),
        0x9E => ("Shared Subscriptions not supported", true),
        0x9F => ("Connection rate exceeded", true),
        0xA0 => ("Maximum connect time", true),
        0xA1 => ("Subscription Identifiers not supported", true),
        0xA2 => ("Wildcard Subscriptions not supported", true),
        _ => return None,
    })
}

fn disconnect(p: &mut P) -> R<()> {
    if p.v.is_v5() {
        if p.remaining() > 0 {
            let at = p.pos;
            let b = p.u8("Reason Code")?;
            let known = disconnect_reason(b);
            let (name, server_only) = known.unwrap_or(("(undefined)", false));
            p.field("Reason Code", format!("0x{b:02X} {name}"), at);
            if known.is_none() {
                return stop(
                    at,
                    "Reason Code",
                    DecodeError::Malformed("undefined DISCONNECT reason code"),
                );
            }
            if server_only {
                // A code only a server sends (the "Sent by" column of MQTT5 §3.14.2.1): this
                // DISCONNECT is a server's.
                p.from_server = true;
            }
            if b == 0x04 {
                p.why.push(WhyKey::WillSent);
            } else {
                p.why.push(WhyKey::WillDiscarded);
            }
        } else {
            p.field(
                "Reason Code",
                "absent: 0x00 Normal disconnection (§3.14.2.1)".to_owned(),
                p.pos,
            );
            p.why.push(WhyKey::WillDiscarded);
        }
        if p.remaining() > 0 {
            p.properties(Ctx::Disconnect, "Properties")?;
        }
    } else {
        p.why.push(WhyKey::WillDiscarded);
    }
    p.finish()
}

fn auth(p: &mut P) -> R<()> {
    if p.remaining() > 0 {
        let at = p.pos;
        let b = p.u8("Reason Code")?;
        let text = match b {
            0x00 => "Success",
            0x18 => "Continue authentication",
            0x19 => "Re-authenticate",
            _ => "(undefined)",
        };
        p.field("Reason Code", format!("0x{b:02X} {text}"), at);
        if !matches!(b, 0x00 | 0x18 | 0x19) {
            return stop(
                at,
                "Reason Code",
                DecodeError::Malformed("undefined AUTH reason code"),
            );
        }
    } else {
        p.field(
            "Reason Code",
            "absent: 0x00 Success (§3.15.2.1)".to_owned(),
            p.pos,
        );
    }
    if p.remaining() > 0 {
        p.properties(Ctx::Auth, "Properties")?;
    }
    p.finish()
}

/// The clause an error breaks, for a packet of type `kind` read as `v`; `field` tells the
/// bits of one byte apart.
pub fn clause_for(e: &DecodeError, kind: u8, v: ProtocolVersion, field: &str) -> &'static str {
    use clause::pick;
    let length = pick(v, "MQTT311 §2.2.3", "MQTT5 §2.1.4");
    let msg = match e {
        DecodeError::Malformed(m) | DecodeError::Protocol(m) | DecodeError::TopicName(m) => *m,
        DecodeError::TooLarge { .. } => return length,
        DecodeError::UnsupportedVersion { .. } => {
            return pick(v, "[MQTT311-3.1.2-2]", "[MQTT5-3.1.2-2]");
        }
    };
    match msg {
        "first packet is not CONNECT" => pick(v, "[MQTT311-3.1.0-1]", "[MQTT5-3.1.0-1]"),
        "second CONNECT" => pick(v, "[MQTT311-3.1.0-2]", "[MQTT5-3.1.0-2]"),
        "reserved packet type 0" | "reserved packet type 15" => {
            pick(v, "MQTT311 §2.2.1", "MQTT5 §2.1.2")
        }
        "invalid fixed header flags" => match kind {
            pt::PUBREL => pick(v, "[MQTT311-3.6.1-1]", "[MQTT5-3.6.1-1]"),
            pt::SUBSCRIBE => pick(v, "[MQTT311-3.8.1-1]", "[MQTT5-3.8.1-1]"),
            pt::UNSUBSCRIBE => pick(v, "[MQTT311-3.10.1-1]", "[MQTT5-3.10.1-1]"),
            pt::DISCONNECT => pick(v, "[MQTT311-3.14.1-1]", "[MQTT5-3.14.1-1]"),
            pt::AUTH => "[MQTT5-3.15.1-1]",
            _ => pick(v, "[MQTT311-2.2.2-2]", "[MQTT5-2.1.3-1]"),
        },
        "variable byte integer is not minimally encoded" => {
            pick(v, "MQTT311 §2.2.3", "[MQTT5-1.5.5-1]")
        }
        "variable byte integer longer than four bytes"
        | "packet ends inside a variable byte integer" => pick(v, "MQTT311 §2.2.3", "MQTT5 §1.5.5"),
        "ill-formed UTF-8 string" => pick(v, "[MQTT311-1.5.3-1]", "[MQTT5-1.5.4-1]"),
        "string contains U+0000" => pick(v, "[MQTT311-1.5.3-2]", "[MQTT5-1.5.4-2]"),
        "string contains a control character" | "string contains a Unicode non-character" => {
            pick(v, "MQTT311 §1.5.3", "MQTT5 §1.5.4")
        }
        "unknown protocol name" => pick(v, "[MQTT311-3.1.2-1]", "[MQTT5-3.1.2-1]"),
        "reserved CONNECT flag is set" => pick(v, "[MQTT311-3.1.2-3]", "[MQTT5-3.1.2-3]"),
        "will QoS or retain set without a will" if field == "Will Retain" => {
            pick(v, "[MQTT311-3.1.2-15]", "[MQTT5-3.1.2-13]")
        }
        "will QoS or retain set without a will" => {
            pick(v, "[MQTT311-3.1.2-13]", "[MQTT5-3.1.2-11]")
        }
        "will QoS 3" => pick(v, "[MQTT311-3.1.2-14]", "[MQTT5-3.1.2-12]"),
        "authentication data without a method" => "MQTT5 §3.1.2.11.10",
        "subscription identifier from a client" => "[MQTT5-3.3.4-6]",
        "password without a user name" => "[MQTT311-3.1.2-22]",
        "empty topic name" => pick(v, "[MQTT311-4.7.3-1]", "[MQTT5-4.7.3-1]"),
        "wildcard in a topic name" if kind == pt::CONNECT => {
            pick(v, "[MQTT311-4.7.1-1]", "[MQTT5-4.7.0-1]")
        }
        "wildcard in a topic name" => pick(v, "[MQTT311-3.3.2-2]", "[MQTT5-3.3.2-2]"),
        "PUBLISH with QoS 3" => pick(v, "[MQTT311-3.3.1-4]", "[MQTT5-3.3.1-4]"),
        "DUP set on a QoS 0 PUBLISH" => pick(v, "[MQTT311-3.3.1-2]", "[MQTT5-3.3.1-2]"),
        "packet identifier 0" => pick(v, "[MQTT311-2.3.1-1]", "[MQTT5-2.2.1-3]"),
        "reserved subscription option bits set" => pick(v, "[MQTT311-3.8.3-4]", "[MQTT5-3.8.3-5]"),
        "subscription with QoS 3" => pick(v, "[MQTT311-3.8.3-4]", "MQTT5 §3.8.3.1"),
        "retain handling 3" => "MQTT5 §3.8.3.1",
        "No Local on a shared subscription" => "[MQTT5-3.8.3-4]",
        "SUBSCRIBE without a topic filter" => pick(v, "[MQTT311-3.8.3-3]", "[MQTT5-3.8.3-2]"),
        "UNSUBSCRIBE without a topic filter" => pick(v, "[MQTT311-3.10.3-2]", "[MQTT5-3.10.3-2]"),
        "undefined DISCONNECT reason code" => "[MQTT5-3.14.2-1]",
        "undefined AUTH reason code" => "[MQTT5-3.15.2-1]",
        "unknown property identifier"
        | "property not allowed in this packet"
        | "property included more than once"
        | "property value must be 0 or 1" => "MQTT5 §2.2.2.2",
        "response topic must be a valid topic name" => "[MQTT5-3.3.2-14]",
        "subscription identifier 0" => "MQTT5 §3.8.2.1.2",
        "receive maximum of 0" => "MQTT5 §3.1.2.11.3",
        "maximum packet size of 0" => "MQTT5 §3.1.2.11.4",
        "reserved CONNACK flag bits set" => pick(v, "MQTT311 §3.2.2.1", "[MQTT5-3.2.2-1]"),
        "undefined CONNACK return code" => "MQTT311 §3.2.2.3",
        "undefined CONNACK reason code" => "MQTT5 §3.2.2.2",
        "Session Present set on a refused connection" => {
            pick(v, "[MQTT311-3.2.2-4]", "MQTT5 §3.2.2.1.1")
        }
        "undefined SUBACK return code" => pick(v, "[MQTT311-3.9.3-2]", "MQTT5 §3.9.3"),
        "SUBACK without a return code" => pick(v, "[MQTT311-3.8.4-5]", "[MQTT5-3.9.3-1]"),
        "undefined UNSUBACK reason code" | "UNSUBACK without a reason code" => "MQTT5 §3.11.3",
        "undefined reason code for this acknowledgement" => match kind {
            pt::PUBACK => "MQTT5 §3.4.2.1",
            pt::PUBREC => "MQTT5 §3.5.2.1",
            pt::PUBREL => "MQTT5 §3.6.2.1",
            _ => "MQTT5 §3.7.2.1",
        },
        // Truncation, lying lengths and trailing bytes: the Remaining Length rules.
        _ => length,
    }
}

/// The plain-language note for a packet: what it does, what the receiver must answer.
fn note(kind: u8, v: ProtocolVersion, fields: &[Field]) -> Note {
    use clause::pick;
    let qos = fields
        .iter()
        .find(|f| f.name == "QoS" && f.bits.is_some())
        .map_or("0", |f| f.value.as_str());
    let (text, clauses): (String, Vec<&'static str>) = match kind {
        pt::CONNECT => (
            "The client opens a connection: it names its session (Client Identifier), says how \
             long it may stay silent (Keep Alive) and may leave a Will. The server answers with \
             CONNACK, the first packet it sends; with a non-zero Keep Alive, 1.5 times that \
             without a packet closes the connection."
                .to_owned(),
            vec![
                pick(v, "[MQTT311-3.2.0-1]", "[MQTT5-3.2.0-1]"),
                pick(v, "[MQTT311-3.1.2-24]", "[MQTT5-3.1.2-22]"),
            ],
        ),
        pt::CONNACK => (
            "The server accepts or refuses the connection. Session Present says whether it \
             kept a session for this Client Identifier. After a refusal the server closes the \
             connection. No answer is expected."
                .to_owned(),
            vec![
                pick(v, "[MQTT311-3.2.0-1]", "[MQTT5-3.2.0-1]"),
                pick(v, "[MQTT311-3.2.2-5]", "MQTT5 §3.2.2.2"),
            ],
        ),
        pt::PUBLISH => {
            let answer = match qos {
                "1" => {
                    "a QoS 1 message: the receiver answers PUBACK with the same Packet Identifier"
                }
                "2" => {
                    "a QoS 2 message: the receiver answers PUBREC, then PUBCOMP to the sender's \
                     PUBREL, all with the same Packet Identifier"
                }
                _ => "a QoS 0 message: no answer, it may be lost",
            };
            (
                format!(
                    "An Application Message for a topic, sent by a client to the server or by \
                     the server to a subscriber; {answer}."
                ),
                vec![pick(v, "[MQTT311-3.3.4-1]", "[MQTT5-3.3.4-1]")],
            )
        }
        pt::PUBACK => (
            "The receiver of a QoS 1 PUBLISH acknowledges it; the sender may now forget the \
             message and reuse its Packet Identifier. No answer."
                .to_owned(),
            vec![pick(v, "[MQTT311-4.3.2-2]", "MQTT5 §4.3.2")],
        ),
        pt::PUBREC => (
            "Step 1 of 2 of a QoS 2 acknowledgement: the receiver has the message. The sender \
             answers PUBREL with the same Packet Identifier."
                .to_owned(),
            vec![pick(v, "[MQTT311-4.3.3-1]", "MQTT5 §4.3.3")],
        ),
        pt::PUBREL => (
            "The QoS 2 sender releases the message. The receiver answers PUBCOMP with the same \
             Packet Identifier."
                .to_owned(),
            vec![pick(v, "[MQTT311-4.3.3-2]", "MQTT5 §4.3.3")],
        ),
        pt::PUBCOMP => (
            "Last packet of a QoS 2 exchange: the message was delivered exactly once and the \
             Packet Identifier is free again. No answer."
                .to_owned(),
            vec![pick(v, "[MQTT311-4.3.3-2]", "MQTT5 §4.3.3")],
        ),
        pt::SUBSCRIBE => (
            "The client asks for the messages of one or more topic filters, each with a \
             maximum QoS. The server answers SUBACK with the same Packet Identifier and one \
             code per filter, then sends the matching retained messages."
                .to_owned(),
            vec![
                pick(v, "[MQTT311-3.8.4-1]", "[MQTT5-3.8.4-1]"),
                pick(v, "[MQTT311-3.3.1-6]", "[MQTT5-3.3.1-9]"),
            ],
        ),
        pt::SUBACK => (
            "The server answers a SUBSCRIBE: one code per filter, in order, with the QoS it \
             granted (deliveries use the lower of that and the published QoS) or a failure. \
             No answer."
                .to_owned(),
            vec![
                pick(v, "[MQTT311-3.9.3-1]", "[MQTT5-3.9.3-1]"),
                pick(v, "[MQTT311-3.8.4-6]", "MQTT5 §3.8.4"),
            ],
        ),
        pt::UNSUBSCRIBE => (
            "The client removes subscriptions, filter by filter (compared character by \
             character). The server answers UNSUBACK, even when nothing was removed."
                .to_owned(),
            vec![pick(v, "[MQTT311-3.10.4-4]", "[MQTT5-3.10.4-4]")],
        ),
        pt::UNSUBACK => (
            "The server confirms an UNSUBSCRIBE with its Packet Identifier (MQTT 5: one reason \
             code per filter). No answer."
                .to_owned(),
            vec![pick(v, "[MQTT311-3.10.4-5]", "MQTT5 §3.11")],
        ),
        pt::PINGREQ => (
            "The client shows it is alive (Keep Alive) and checks the server is. The server \
             answers PINGRESP."
                .to_owned(),
            vec![pick(v, "[MQTT311-3.12.4-1]", "[MQTT5-3.12.4-1]")],
        ),
        pt::PINGRESP => (
            "The server answers a PINGREQ: the connection is alive. No answer.".to_owned(),
            vec![pick(v, "[MQTT311-3.12.4-1]", "[MQTT5-3.12.4-1]")],
        ),
        pt::DISCONNECT => (
            if v.is_v5() {
                "The sender closes the connection cleanly, with a reason code; from a client \
                 with reason 0x00 the server discards the Will, with 0x04 it publishes it. No \
                 answer: the connection closes."
            } else {
                "The client closes the connection cleanly: the server discards its Will \
                 without publishing it. No answer: the connection closes."
            }
            .to_owned(),
            vec![pick(v, "[MQTT311-3.14.4-3]", "[MQTT5-3.14.4-3]")],
        ),
        pt::AUTH if v.is_v5() => (
            "Extended authentication (MQTT 5): client and server exchange Authentication Data \
             for the Authentication Method until the server sends CONNACK (or AUTH 0x00 after a \
             re-authentication)."
                .to_owned(),
            vec!["MQTT5 §4.12"],
        ),
        _ => (
            "A reserved packet type: no MQTT packet has it, so the connection is closed."
                .to_owned(),
            vec![pick(v, "MQTT311 §2.2.1", "MQTT5 §2.1.2")],
        ),
    };
    Note { text, clauses }
}
