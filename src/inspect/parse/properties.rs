//! MQTT 5 properties: the table of every property (identifier, name, value type, the packets
//! it may appear in) and the reader of a property block, which checks the allow list, the
//! values that must not be 0 and the properties that may appear only once (MQTT5 §2.2.2.2).

use super::reader::{P, R, bytes_word, preview, seconds, stop};
use crate::protocol::DecodeError;

/// Where MQTT 5 properties appear; decides the allow list (MQTT 5 §2.2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
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

impl P<'_> {
    /// Reads a property block (its length, then each property) as a field per property.
    pub(super) fn properties(&mut self, ctx: Ctx, title: &str) -> R<()> {
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
