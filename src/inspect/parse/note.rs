//! The plain-language note for each packet type: what it does, what the receiver must answer,
//! and the clauses that rule it.

use crate::inspect::{Field, Note};
use crate::protocol::{ProtocolVersion, packet_type as pt};

/// The plain-language note for a packet: what it does, what the receiver must answer.
pub(super) fn note(kind: u8, v: ProtocolVersion, fields: &[Field]) -> Note {
    use crate::inspect::clause::pick;
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
