//! The client-side packet trace, worded like libmosquitto's debug log (`mosquitto_sub -d`).
//!
//! Each function returns one line without its newline, for example
//! `Client sub-q2 received PUBLISH (d0, q1, r0, m1, 'sensors/kitchen/temp', ... (4 bytes))`.

/// `Client <id> sending CONNECT`.
#[must_use]
pub fn sending_connect(id: &str) -> String {
    format!("Client {id} sending CONNECT")
}

/// `Client <id> received CONNACK (<code>)`.
#[must_use]
pub fn received_connack(id: &str, code: u8) -> String {
    format!("Client {id} received CONNACK ({code})")
}

/// The flags, id, topic and size of a PUBLISH as both directions print them.
fn publish_summary(dup: bool, qos: u8, retain: bool, mid: u16, topic: &str, len: usize) -> String {
    format!(
        "(d{}, q{qos}, r{}, m{mid}, '{topic}', ... ({len} bytes))",
        u8::from(dup),
        u8::from(retain)
    )
}

/// `Client <id> sending PUBLISH (d0, q1, r0, m1, 'topic', ... (4 bytes))`.
#[must_use]
pub fn sending_publish(
    id: &str,
    dup: bool,
    qos: u8,
    retain: bool,
    mid: u16,
    topic: &str,
    len: usize,
) -> String {
    format!(
        "Client {id} sending PUBLISH {}",
        publish_summary(dup, qos, retain, mid, topic, len)
    )
}

/// `Client <id> received PUBLISH (d0, q1, r0, m1, 'topic', ... (4 bytes))`.
#[must_use]
pub fn received_publish(
    id: &str,
    dup: bool,
    qos: u8,
    retain: bool,
    mid: u16,
    topic: &str,
    len: usize,
) -> String {
    format!(
        "Client {id} received PUBLISH {}",
        publish_summary(dup, qos, retain, mid, topic, len)
    )
}

/// `Client <id> sending SUBSCRIBE (Mid: 1, Topic: a/b, QoS: 2, Options: 0x00)`, one line per
/// filter of the packet.
#[must_use]
pub fn sending_subscribe(id: &str, mid: u16, filter: &str, qos: u8, options: u8) -> String {
    format!(
        "Client {id} sending SUBSCRIBE (Mid: {mid}, Topic: {filter}, QoS: {qos}, Options: 0x{options:02x})"
    )
}

/// `Client <id> sending UNSUBSCRIBE (Mid: 2, Topic: a/b)`.
#[must_use]
pub fn sending_unsubscribe(id: &str, mid: u16, filter: &str) -> String {
    format!("Client {id} sending UNSUBSCRIBE (Mid: {mid}, Topic: {filter})")
}

/// `Client <id> received SUBACK`.
#[must_use]
pub fn received_suback(id: &str) -> String {
    format!("Client {id} received SUBACK")
}

/// `Client <id> received UNSUBACK (Mid: 2)`.
#[must_use]
pub fn received_unsuback(id: &str, mid: u16) -> String {
    format!("Client {id} received UNSUBACK (Mid: {mid})")
}

/// `Client <id> sending PUBACK (m1, rc0)`.
#[must_use]
pub fn sending_puback(id: &str, mid: u16, rc: u8) -> String {
    format!("Client {id} sending PUBACK (m{mid}, rc{rc})")
}

/// `Client <id> received PUBACK (Mid: 1, RC:0)`.
#[must_use]
pub fn received_puback(id: &str, mid: u16, rc: u8) -> String {
    format!("Client {id} received PUBACK (Mid: {mid}, RC:{rc})")
}

/// `Client <id> sending PUBREC (m2, rc0)`.
#[must_use]
pub fn sending_pubrec(id: &str, mid: u16, rc: u8) -> String {
    format!("Client {id} sending PUBREC (m{mid}, rc{rc})")
}

/// `Client <id> received PUBREC (Mid: 1)`.
#[must_use]
pub fn received_pubrec(id: &str, mid: u16) -> String {
    format!("Client {id} received PUBREC (Mid: {mid})")
}

/// `Client <id> sending PUBREL (m1)`.
#[must_use]
pub fn sending_pubrel(id: &str, mid: u16) -> String {
    format!("Client {id} sending PUBREL (m{mid})")
}

/// `Client <id> received PUBREL (Mid: 2)`.
#[must_use]
pub fn received_pubrel(id: &str, mid: u16) -> String {
    format!("Client {id} received PUBREL (Mid: {mid})")
}

/// `Client <id> sending PUBCOMP (m2)`.
#[must_use]
pub fn sending_pubcomp(id: &str, mid: u16) -> String {
    format!("Client {id} sending PUBCOMP (m{mid})")
}

/// `Client <id> received PUBCOMP (Mid: 1, RC:0)`.
#[must_use]
pub fn received_pubcomp(id: &str, mid: u16, rc: u8) -> String {
    format!("Client {id} received PUBCOMP (Mid: {mid}, RC:{rc})")
}

/// `Client <id> sending PINGREQ`.
#[must_use]
pub fn sending_pingreq(id: &str) -> String {
    format!("Client {id} sending PINGREQ")
}

/// `Client <id> received PINGRESP`.
#[must_use]
pub fn received_pingresp(id: &str) -> String {
    format!("Client {id} received PINGRESP")
}

/// `Client <id> sending DISCONNECT`.
#[must_use]
pub fn sending_disconnect(id: &str) -> String {
    format!("Client {id} sending DISCONNECT")
}

/// `Client <id> received DISCONNECT (<reason>)`, an MQTT 5 server-side disconnect.
#[must_use]
pub fn received_disconnect(id: &str, reason: u8) -> String {
    format!("Client {id} received DISCONNECT ({reason})")
}

/// mosquitto_sub's own line after a SUBACK in `-d` mode: `Subscribed (mid: 1): 2, 2`.
#[must_use]
pub fn subscribed(mid: u16, codes: &[u8]) -> String {
    let codes: Vec<String> = codes.iter().map(u8::to_string).collect();
    format!("Subscribed (mid: {mid}): {}", codes.join(", "))
}

/// libmosquitto's text for an MQTT 3.1.1 CONNACK return code (`mosquitto_connack_string`).
#[must_use]
pub fn connack_string(code: u8) -> &'static str {
    match code {
        0 => "Connection Accepted.",
        1 => "Connection Refused: unacceptable protocol version.",
        2 => "Connection Refused: identifier rejected.",
        3 => "Connection Refused: broker unavailable.",
        4 => "Connection Refused: bad user name or password.",
        5 => "Connection Refused: not authorised.",
        _ => "Connection Refused: unknown reason.",
    }
}

/// libmosquitto's text for an MQTT 5 reason code (`mosquitto_reason_string`).
#[must_use]
pub fn reason_string(code: u8) -> &'static str {
    match code {
        0 => "Success",
        4 => "Disconnect with Will Message",
        16 => "No matching subscribers",
        17 => "No subscription existed",
        128 => "Unspecified error",
        129 => "Malformed Packet",
        130 => "Protocol Error",
        131 => "Implementation specific error",
        132 => "Unsupported Protocol Version",
        133 => "Client Identifier not valid",
        134 => "Bad User Name or Password",
        135 => "Not authorized",
        136 => "Server unavailable",
        137 => "Server busy",
        138 => "Banned",
        139 => "Server shutting down",
        140 => "Bad authentication method",
        141 => "Keep Alive timeout",
        142 => "Session taken over",
        143 => "Topic Filter invalid",
        144 => "Topic Name invalid",
        145 => "Packet Identifier in use",
        146 => "Packet Identifier not found",
        147 => "Receive Maximum exceeded",
        148 => "Topic Alias invalid",
        149 => "Packet too large",
        150 => "Message rate too high",
        151 => "Quota exceeded",
        152 => "Administrative action",
        153 => "Payload format invalid",
        154 => "Retain not supported",
        155 => "QoS not supported",
        156 => "Use another server",
        157 => "Server moved",
        158 => "Shared Subscriptions not supported",
        159 => "Connection rate exceeded",
        160 => "Maximum connect time",
        161 => "Subscription identifiers not supported",
        162 => "Wildcard Subscriptions not supported",
        _ => "Unknown reason",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_mosquitto_sub_d() {
        // Captured from mosquitto_sub 2.0.11 -d (docs/mosquitto-log.md).
        assert_eq!(
            received_publish("sub-q2", false, 1, false, 1, "sensors/kitchen/temp", 4),
            "Client sub-q2 received PUBLISH (d0, q1, r0, m1, 'sensors/kitchen/temp', ... (4 bytes))"
        );
        assert_eq!(
            sending_subscribe("sub-q2", 1, "sensors/+/temp", 2, 0),
            "Client sub-q2 sending SUBSCRIBE (Mid: 1, Topic: sensors/+/temp, QoS: 2, Options: 0x00)"
        );
        assert_eq!(subscribed(1, &[2, 2]), "Subscribed (mid: 1): 2, 2");
        assert_eq!(
            received_pubcomp("pub-dbg2", 1, 0),
            "Client pub-dbg2 received PUBCOMP (Mid: 1, RC:0)"
        );
        assert_eq!(
            sending_pubrec("s", 2, 0),
            "Client s sending PUBREC (m2, rc0)"
        );
        assert_eq!(connack_string(5), "Connection Refused: not authorised.");
        assert_eq!(reason_string(135), "Not authorized");
    }
}
