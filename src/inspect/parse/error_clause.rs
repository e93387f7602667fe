//! The error-to-clause table: which version-tagged clause a decode error breaks.

use crate::protocol::{DecodeError, ProtocolVersion, packet_type as pt};

/// The clause an error breaks, for a packet of type `kind` read as `v`; `field` tells the
/// bits of one byte apart.
pub(super) fn clause_for(
    e: &DecodeError,
    kind: u8,
    v: ProtocolVersion,
    field: &str,
) -> &'static str {
    use crate::inspect::clause::pick;
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
        "empty topic filter" => pick(v, "[MQTT311-4.7.3-1]", "[MQTT5-4.7.3-1]"),
        "'#' not alone in the last level of a topic filter" => {
            pick(v, "[MQTT311-4.7.1-2]", "[MQTT5-4.7.1-1]")
        }
        "'+' not alone in a level of a topic filter" => {
            pick(v, "[MQTT311-4.7.1-3]", "[MQTT5-4.7.1-2]")
        }
        "shared subscription without a share name or filter" => "[MQTT5-4.8.2-1]",
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
