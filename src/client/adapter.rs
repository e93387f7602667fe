//! The small adapter between rumqttc's two APIs (3.1.1 and 5.0) and the client's one event
//! loop: [`EventLoop::poll`] turns either version's events into one [`Polled`] value, and the
//! reason-code tables map rumqttc's enums to the numbers on the wire.

use std::time::SystemTime;

use rumqttc::Outgoing;

use super::{FailureKind, IncomingMessage, MessageProperties, trace};
use crate::error_chain;
use crate::protocol::QoS;

/// rumqttc's event loop for the version in use: the small adapter that lets one loop
/// ([`Session::run`]) serve 3.1.1 and 5.0.
pub(super) enum EventLoop {
    V4(Box<rumqttc::EventLoop>),
    V5(Box<rumqttc::v5::EventLoop>),
}

/// One thing that happened on the connection, in the same words for 3.1.1 and 5.0.
pub(super) enum Polled {
    /// CONNACK accepting the connection.
    ConnAck {
        session_present: bool,
        /// MQTT 5 Assigned Client Identifier.
        assigned: Option<String>,
    },
    Publish(IncomingMessage),
    PubAck {
        pkid: u16,
        reason: u8,
    },
    PubRec(u16),
    PubRel(u16),
    PubComp {
        pkid: u16,
        reason: u8,
    },
    SubAck {
        pkid: u16,
        codes: Vec<u8>,
    },
    UnsubAck(u16),
    PingResp,
    /// A DISCONNECT from the server (MQTT 5 only) with its reason code.
    Disconnect(u8),
    /// A packet the client does not report (AUTH, or packets a server never sends).
    Ignored,
    Outgoing(Outgoing),
    /// The connection failed or ended; `code` is the CONNACK code of a refusal.
    Error {
        reason: String,
        code: Option<u8>,
        kind: FailureKind,
    },
}

impl EventLoop {
    /// Waits for the next event of the connection.
    pub(super) async fn poll(&mut self) -> Polled {
        match self {
            Self::V4(el) => match el.poll().await {
                Ok(rumqttc::Event::Incoming(p)) => v4_incoming(p),
                Ok(rumqttc::Event::Outgoing(o)) => Polled::Outgoing(o),
                Err(e) => v4_error(&e),
            },
            Self::V5(el) => match el.poll().await {
                Ok(rumqttc::v5::Event::Incoming(p)) => v5_incoming(p),
                Ok(rumqttc::v5::Event::Outgoing(o)) => Polled::Outgoing(o),
                Err(e) => v5_error(&e),
            },
        }
    }
}

fn v4_incoming(p: rumqttc::Packet) -> Polled {
    use rumqttc::Packet;
    match p {
        Packet::ConnAck(c) => Polled::ConnAck {
            session_present: c.session_present,
            assigned: None,
        },
        Packet::Publish(p) => Polled::Publish(IncomingMessage {
            topic: p.topic,
            payload: p.payload,
            qos: v4_qos(p.qos),
            retain: p.retain,
            dup: p.dup,
            pkid: p.pkid,
            properties: MessageProperties::default(),
            received_at: SystemTime::now(),
        }),
        Packet::PubAck(a) => Polled::PubAck {
            pkid: a.pkid,
            reason: 0,
        },
        Packet::PubRec(r) => Polled::PubRec(r.pkid),
        Packet::PubRel(r) => Polled::PubRel(r.pkid),
        Packet::PubComp(c) => Polled::PubComp {
            pkid: c.pkid,
            reason: 0,
        },
        Packet::SubAck(s) => Polled::SubAck {
            pkid: s.pkid,
            codes: s
                .return_codes
                .iter()
                .map(|c| match c {
                    rumqttc::SubscribeReasonCode::Success(q) => *q as u8,
                    rumqttc::SubscribeReasonCode::Failure => 0x80,
                })
                .collect(),
        },
        Packet::UnsubAck(u) => Polled::UnsubAck(u.pkid),
        Packet::PingResp => Polled::PingResp,
        _ => Polled::Ignored,
    }
}

fn v4_error(e: &rumqttc::ConnectionError) -> Polled {
    use rumqttc::ConnectionError;
    let (reason, code) = match e {
        ConnectionError::ConnectionRefused(c) => {
            let c = *c as u8;
            (trace::connack_string(c).to_string(), Some(c))
        }
        ConnectionError::Io(io) => (io_reason(io), None),
        ConnectionError::NetworkTimeout => ("Timed out".into(), None),
        ConnectionError::Tls(t) => (format!("A TLS error occurred: {t}"), None),
        ConnectionError::MqttState(rumqttc::StateError::Io(io)) => {
            (format!("The connection was lost: {}", io_reason(io)), None)
        }
        ConnectionError::MqttState(_) => ("The connection was lost.".into(), None),
        other => (error_chain(other), None),
    };
    let kind = match e {
        ConnectionError::ConnectionRefused(_) => FailureKind::Refused,
        ConnectionError::Tls(_) => FailureKind::Tls,
        ConnectionError::Io(io) => io_kind(io),
        _ => FailureKind::Other,
    };
    Polled::Error { reason, code, kind }
}

fn v5_incoming(p: rumqttc::v5::mqttbytes::v5::Packet) -> Polled {
    use rumqttc::v5::mqttbytes::v5::Packet;
    match p {
        Packet::ConnAck(c) => Polled::ConnAck {
            session_present: c.session_present,
            assigned: c.properties.and_then(|p| p.assigned_client_identifier),
        },
        Packet::Publish(p) => {
            let properties = p
                .properties
                .map(|pp| MessageProperties {
                    payload_format_indicator: pp.payload_format_indicator,
                    message_expiry_interval: pp.message_expiry_interval,
                    topic_alias: pp.topic_alias,
                    content_type: pp.content_type,
                    response_topic: pp.response_topic,
                    correlation_data: pp.correlation_data,
                    user_properties: pp.user_properties,
                    subscription_identifiers: pp
                        .subscription_identifiers
                        .into_iter()
                        .filter_map(|i| u32::try_from(i).ok())
                        .collect(),
                })
                .unwrap_or_default();
            Polled::Publish(IncomingMessage {
                topic: String::from_utf8_lossy(&p.topic).into_owned(),
                payload: p.payload,
                qos: v5_qos(p.qos),
                retain: p.retain,
                dup: p.dup,
                pkid: p.pkid,
                properties,
                received_at: SystemTime::now(),
            })
        }
        Packet::PubAck(a) => Polled::PubAck {
            pkid: a.pkid,
            reason: v5_puback_code(&a.reason),
        },
        Packet::PubRec(r) => Polled::PubRec(r.pkid),
        Packet::PubRel(r) => Polled::PubRel(r.pkid),
        Packet::PubComp(c) => Polled::PubComp {
            pkid: c.pkid,
            reason: v5_pubcomp_code(&c.reason),
        },
        Packet::SubAck(s) => Polled::SubAck {
            pkid: s.pkid,
            codes: s.return_codes.iter().map(v5_suback_code).collect(),
        },
        Packet::UnsubAck(u) => Polled::UnsubAck(u.pkid),
        Packet::PingResp(_) => Polled::PingResp,
        Packet::Disconnect(d) => Polled::Disconnect(d.reason_code as u8),
        _ => Polled::Ignored,
    }
}

fn v5_error(e: &rumqttc::v5::ConnectionError) -> Polled {
    use rumqttc::v5::ConnectionError;
    let (reason, code) = match e {
        ConnectionError::ConnectionRefused(c) => {
            let c = v5_connect_code(*c);
            (trace::reason_string(c).to_string(), Some(c))
        }
        ConnectionError::Io(io) => (io_reason(io), None),
        ConnectionError::Timeout(_) => ("Timed out".into(), None),
        ConnectionError::Tls(t) => (format!("A TLS error occurred: {t}"), None),
        ConnectionError::MqttState(rumqttc::v5::StateError::ServerDisconnect {
            reason_code,
            ..
        }) => {
            let rc = *reason_code as u8;
            (trace::reason_string(rc).to_string(), None)
        }
        ConnectionError::MqttState(rumqttc::v5::StateError::Io(io)) => {
            (format!("The connection was lost: {}", io_reason(io)), None)
        }
        ConnectionError::MqttState(_) => ("The connection was lost.".into(), None),
        other => (error_chain(other), None),
    };
    let kind = match e {
        ConnectionError::ConnectionRefused(_) => FailureKind::Refused,
        ConnectionError::Tls(_) => FailureKind::Tls,
        ConnectionError::Io(io) => io_kind(io),
        _ => FailureKind::Other,
    };
    Polled::Error { reason, code, kind }
}

/// Sorts an I/O error from connecting: a failed name lookup (tokio words getaddrinfo's
/// failures as "failed to lookup address information") or any other socket error.
fn io_kind(e: &std::io::Error) -> FailureKind {
    if e.to_string()
        .starts_with("failed to lookup address information")
    {
        FailureKind::Lookup
    } else {
        FailureKind::Socket
    }
}

/// Describes an I/O error as strerror would (`Connection refused`), without Rust's suffix.
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn v5_connect_code(c: rumqttc::v5::mqttbytes::v5::ConnectReturnCode) -> u8 {
    use rumqttc::v5::mqttbytes::v5::ConnectReturnCode as C;
    match c {
        C::Success => 0,
        C::RefusedProtocolVersion | C::UnsupportedProtocolVersion => 132,
        C::BadClientId | C::ClientIdentifierNotValid => 133,
        C::ServiceUnavailable | C::ServerUnavailable => 136,
        C::UnspecifiedError => 128,
        C::MalformedPacket => 129,
        C::ProtocolError => 130,
        C::ImplementationSpecificError => 131,
        C::BadUserNamePassword => 134,
        C::NotAuthorized => 135,
        C::ServerBusy => 137,
        C::Banned => 138,
        C::BadAuthenticationMethod => 140,
        C::TopicNameInvalid => 144,
        C::PacketTooLarge => 149,
        C::QuotaExceeded => 151,
        C::PayloadFormatInvalid => 153,
        C::RetainNotSupported => 154,
        C::QoSNotSupported => 155,
        C::UseAnotherServer => 156,
        C::ServerMoved => 157,
        C::ConnectionRateExceeded => 159,
    }
}

fn v5_suback_code(c: &rumqttc::v5::mqttbytes::v5::SubscribeReasonCode) -> u8 {
    use rumqttc::v5::mqttbytes::v5::SubscribeReasonCode as C;
    match c {
        C::Success(q) => *q as u8,
        C::Failure | C::Unspecified => 0x80,
        C::ImplementationSpecific => 0x83,
        C::NotAuthorized => 0x87,
        C::TopicFilterInvalid => 0x8F,
        C::PkidInUse => 0x91,
        C::QuotaExceeded => 0x97,
        C::SharedSubscriptionsNotSupported => 0x9E,
        C::SubscriptionIdNotSupported => 0xA1,
        C::WildcardSubscriptionsNotSupported => 0xA2,
    }
}

fn v5_puback_code(c: &rumqttc::v5::mqttbytes::v5::PubAckReason) -> u8 {
    use rumqttc::v5::mqttbytes::v5::PubAckReason as C;
    match c {
        C::Success => 0,
        C::NoMatchingSubscribers => 16,
        C::UnspecifiedError => 128,
        C::ImplementationSpecificError => 131,
        C::NotAuthorized => 135,
        C::TopicNameInvalid => 144,
        C::PacketIdentifierInUse => 145,
        C::QuotaExceeded => 151,
        C::PayloadFormatInvalid => 153,
    }
}

fn v5_pubcomp_code(c: &rumqttc::v5::mqttbytes::v5::PubCompReason) -> u8 {
    use rumqttc::v5::mqttbytes::v5::PubCompReason as C;
    match c {
        C::Success => 0,
        C::PacketIdentifierNotFound => 146,
    }
}

fn v4_qos(q: rumqttc::QoS) -> QoS {
    match q {
        rumqttc::QoS::AtMostOnce => QoS::AtMostOnce,
        rumqttc::QoS::AtLeastOnce => QoS::AtLeastOnce,
        rumqttc::QoS::ExactlyOnce => QoS::ExactlyOnce,
    }
}

fn v5_qos(q: rumqttc::v5::mqttbytes::QoS) -> QoS {
    use rumqttc::v5::mqttbytes::QoS as V5;
    match q {
        V5::AtMostOnce => QoS::AtMostOnce,
        V5::AtLeastOnce => QoS::AtLeastOnce,
        V5::ExactlyOnce => QoS::ExactlyOnce,
    }
}
