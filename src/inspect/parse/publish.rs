//! PUBLISH (flags, Topic Name, Packet Identifier, payload preview) and the four
//! acknowledgements of the QoS 1 and QoS 2 flows (PUBACK, PUBREC, PUBREL, PUBCOMP).

use super::properties::Ctx;
use super::reader::{P, R, bytes_word, preview, stop};
use crate::inspect::Section;
use crate::inspect::why::WhyKey;
use crate::protocol::reader::validate_utf8;
use crate::protocol::{DecodeError, packet_type as pt};

pub(super) fn publish(p: &mut P, flags: u8) -> R<()> {
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

pub(super) fn ack(p: &mut P) -> R<()> {
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
