//! SUBSCRIBE (topic filters and their Subscription Options bit by bit), SUBACK, UNSUBSCRIBE
//! and UNSUBACK.

use super::properties::Ctx;
use super::reader::{P, R, bytes_word, stop};
use crate::inspect::Section;
use crate::inspect::why::WhyKey;
use crate::protocol::DecodeError;
use crate::protocol::topic;

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

/// Ends the inspection at a Topic Filter that is empty, has a misplaced `#` or `+`, or (5.0)
/// a broken `$share/` prefix: the broker closes the connection on it, as mosquitto does.
fn check_filter(p: &P, f: &str, at: usize, name: &str) -> R<()> {
    let checked = if p.v.is_v5() {
        topic::parse_filter(f).map(|_| ())
    } else {
        topic::validate_filter(f)
    };
    let Err(e) = checked else { return Ok(()) };
    let msg = match e {
        topic::FilterError::Empty => "empty topic filter",
        topic::FilterError::MisplacedHash => "'#' not alone in the last level of a topic filter",
        topic::FilterError::MisplacedPlus => "'+' not alone in a level of a topic filter",
        topic::FilterError::BadShare => "shared subscription without a share name or filter",
    };
    stop(at, name, DecodeError::Malformed(msg))
}

/// Reads Topic Filter `i` of a SUBSCRIBE or UNSUBSCRIBE payload, records it as a field and
/// checks it as the broker does (empty, misplaced wildcards, shared-subscription form).
fn topic_filter(p: &mut P, i: usize) -> R<String> {
    let name = format!("Topic Filter {i}");
    let at = p.pos;
    let f = p.string(&name)?;
    p.field(&name, filter_value(&f), at);
    check_filter(p, &f, at, &name)?;
    Ok(f)
}

pub(super) fn subscribe(p: &mut P) -> R<()> {
    p.packet_id()?;
    if p.v.is_v5() {
        p.properties(Ctx::Subscribe, "Properties")?;
    }
    p.section = Section::Payload;
    let mut i = 0;
    while p.remaining() > 0 {
        i += 1;
        let f = topic_filter(p, i)?;
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

pub(super) fn suback(p: &mut P) -> R<()> {
    p.packet_id()?;
    let v5 = p.v.is_v5();
    if v5 {
        p.properties(Ctx::SubUnsubAck, "Properties")?;
    }
    p.section = Section::Payload;
    let label = if v5 { "Reason Code" } else { "Return Code" };
    let name_of = |code| suback_name(code, v5);
    ack_codes(
        p,
        label,
        name_of,
        "undefined SUBACK return code",
        "SUBACK without a return code",
    )?;
    p.why.push(WhyKey::QosDowngrade);
    Ok(())
}

pub(super) fn unsubscribe(p: &mut P) -> R<()> {
    p.packet_id()?;
    if p.v.is_v5() {
        p.properties(Ctx::Unsubscribe, "Properties")?;
    }
    p.section = Section::Payload;
    let mut i = 0;
    while p.remaining() > 0 {
        i += 1;
        topic_filter(p, i)?;
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

pub(super) fn unsuback(p: &mut P) -> R<()> {
    p.packet_id()?;
    if !p.v.is_v5() {
        return p.finish();
    }
    p.properties(Ctx::SubUnsubAck, "Properties")?;
    p.section = Section::Payload;
    ack_codes(
        p,
        "Reason Code",
        unsuback_name,
        "undefined UNSUBACK reason code",
        "UNSUBACK without a reason code",
    )?;
    Ok(())
}

/// The name of an MQTT 5 UNSUBACK Reason Code (MQTT5 §3.11.3), `None` when undefined.
fn unsuback_name(code: u8) -> Option<&'static str> {
    match code {
        0x00 => Some("Success"),
        0x11 => Some("No subscription existed"),
        0x80 => Some("Unspecified error"),
        0x83 => Some("Implementation specific error"),
        0x87 => Some("Not authorized"),
        0x8F => Some("Topic Filter invalid"),
        0x91 => Some("Packet Identifier in use"),
        _ => None,
    }
}

/// The list of one-byte codes that makes up a SUBACK or UNSUBACK payload: one field per code,
/// named by `name_of`; an undefined code or an empty list is malformed (with these words).
fn ack_codes(
    p: &mut P,
    label: &str,
    name_of: impl Fn(u8) -> Option<&'static str>,
    undefined: &'static str,
    empty: &'static str,
) -> R<()> {
    let mut i = 0;
    while p.remaining() > 0 {
        i += 1;
        let name = format!("{label} {i}");
        let at = p.pos;
        let code = p.u8(&name)?;
        let n = name_of(code);
        p.field(
            &name,
            format!("0x{code:02X} {}", n.unwrap_or("(undefined)")),
            at,
        );
        if n.is_none() {
            return stop(at, &name, DecodeError::Malformed(undefined));
        }
    }
    if i == 0 {
        return stop(p.pos, "Payload", DecodeError::Malformed(empty));
    }
    Ok(())
}
