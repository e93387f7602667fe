//! CONNECT and CONNACK: protocol name and level, the Connect Flags bit by bit, Keep Alive,
//! the payload (Client Identifier, Will, User Name, Password), and the CONNACK flags and
//! return or reason codes.

use super::properties::Ctx;
use super::reader::{P, R, stop};
use crate::inspect::Section;
use crate::inspect::why::WhyKey;
use crate::protocol::decode::check_topic_name;
use crate::protocol::{DecodeError, ProtocolVersion};

pub(super) fn connect(p: &mut P) -> R<()> {
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
        format!("{level} ({})", crate::inspect::version_name(version)),
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

pub(super) fn connack(p: &mut P) -> R<()> {
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
