//! DISCONNECT (MQTT 5: reason code, which ones only a server sends, and what each means for
//! the Will) and AUTH.

use super::properties::Ctx;
use super::reader::{P, R, stop};
use crate::inspect::why::WhyKey;
use crate::protocol::DecodeError;

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

pub(super) fn disconnect(p: &mut P) -> R<()> {
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

pub(super) fn auth(p: &mut P) -> R<()> {
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
