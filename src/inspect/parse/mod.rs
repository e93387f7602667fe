//! The inspector's span-tracking parse. It follows the broker's decoder check for check (same
//! order, same messages, from the same primitives in [`crate::protocol::reader`]), records every
//! field with its bytes, and adds the checks for server-to-client packets that the broker never
//! decodes. For packets a client may send, the broker's decoder then gives the verdict.
//!
//! * [`reader`]: the cursor, the field table it fills, and the byte previews.
//! * [`properties`]: the MQTT 5 property table and the reader of a property block.
//! * [`connect`]: CONNECT and CONNACK.
//! * [`publish`]: PUBLISH and its acknowledgements (PUBACK, PUBREC, PUBREL, PUBCOMP).
//! * [`subscribe`]: SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK.
//! * [`disconnect`]: DISCONNECT and AUTH.
//! * [`error_clause`]: which clause a decode error breaks.
//! * [`note`]: the plain-language note per packet type.
//!
//! The packet files import [`reader`] and [`properties`], never each other.

mod connect;
mod disconnect;
mod error_clause;
mod note;
mod properties;
mod publish;
mod reader;
mod subscribe;

use bytes::BytesMut;

use super::{Direction, Fault, Field, Inspection, Section, Span};
use crate::protocol::decode::Decoder;
use crate::protocol::reader::read_varint;
use crate::protocol::{DecodeError, ProtocolVersion, packet_type as pt};
use error_clause::clause_for;
use reader::{P, R, bytes_word, stop};

pub(super) use reader::hex;

/// The decoder's verdict when the bytes end before the packet does (it would wait for more).
const INCOMPLETE: &str = "the bytes end before the Remaining Length says the packet does";

/// The whole length (header included) of the packet at the start of `b`, when readable.
pub fn packet_len(b: &[u8]) -> Option<usize> {
    let (remaining, n) = read_varint(b.get(1..)?).ok()??;
    Some(1 + n + remaining as usize)
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
    let note = note::note(kind, p.v, &p.fields);
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
        pt::CONNECT => connect::connect(p)?,
        pt::CONNACK => connect::connack(p)?,
        pt::PUBLISH => publish::publish(p, flags)?,
        pt::PUBACK..=pt::PUBCOMP => publish::ack(p)?,
        pt::SUBSCRIBE => subscribe::subscribe(p)?,
        pt::SUBACK => subscribe::suback(p)?,
        pt::UNSUBSCRIBE => subscribe::unsubscribe(p)?,
        pt::UNSUBACK => subscribe::unsuback(p)?,
        pt::DISCONNECT => disconnect::disconnect(p)?,
        pt::AUTH => disconnect::auth(p)?,
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
