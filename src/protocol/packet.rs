//! Packet types. Client-to-server packets come out of [`super::decode`]; server-to-client packets
//! go into [`super::encode`].

use std::sync::Arc;

use bytes::Bytes;

use super::{Properties, ProtocolVersion, QoS, ReasonCode};

/// A Will Message as carried in CONNECT (MQTT311 §3.1.2.5, MQTT5 §3.1.2.5).
///
/// "Will" is the crate's one name for it: the client's settings form is
/// [`crate::client::Will`], which a profile's `[profile.will]` table stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    /// Will topic.
    pub topic: String,
    /// Will payload.
    pub payload: Bytes,
    /// Will QoS.
    pub qos: QoS,
    /// Will retain flag.
    pub retain: bool,
    /// Will properties (MQTT 5), including Will Delay Interval.
    pub properties: Properties,
}

/// A CONNECT packet (§3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// The protocol level.
    pub version: ProtocolVersion,
    /// Clean Session (3.1.1) / Clean Start (5.0).
    pub clean_start: bool,
    /// Keep alive in seconds; 0 disables it.
    pub keep_alive: u16,
    /// Client identifier; may be empty.
    pub client_id: String,
    /// The will, if the will flag was set.
    pub will: Option<Will>,
    /// User name, if the flag was set.
    pub username: Option<String>,
    /// Password, if the flag was set (binary data).
    pub password: Option<Bytes>,
    /// CONNECT properties (MQTT 5).
    pub properties: Properties,
}

/// A PUBLISH packet (§3.3), in either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// DUP flag.
    pub dup: bool,
    /// QoS.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name; empty only while an MQTT 5 topic alias is still to be resolved.
    pub topic: Arc<str>,
    /// Packet identifier; 0 for QoS 0.
    pub pkid: u16,
    /// PUBLISH properties (MQTT 5). Boxed: most messages carry none.
    pub properties: Option<Box<Properties>>,
    /// Application payload.
    pub payload: Bytes,
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP (§3.4 to §3.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// Packet identifier.
    pub pkid: u16,
    /// Reason code (MQTT 5; 0 otherwise).
    pub reason: u8,
    /// Properties (MQTT 5): Reason String and User Properties.
    pub properties: Option<Box<Properties>>,
}

impl Ack {
    /// A successful acknowledgement without properties.
    #[must_use]
    pub fn new(pkid: u16, reason: u8) -> Self {
        Self {
            pkid,
            reason,
            properties: None,
        }
    }
}

/// Retain Handling subscription option (MQTT 5 §3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe,
    /// 1: send retained messages only if the subscription did not exist.
    SendIfNew,
    /// 2: do not send retained messages.
    DoNotSend,
}

/// The options byte of one SUBSCRIBE topic filter (§3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscriptionOptions {
    /// Maximum QoS.
    pub qos: QoS,
    /// No Local (MQTT 5).
    pub no_local: bool,
    /// Retain As Published (MQTT 5).
    pub retain_as_published: bool,
    /// Retain Handling (MQTT 5).
    pub retain_handling: RetainHandling,
}

/// A SUBSCRIBE packet (§3.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier.
    pub pkid: u16,
    /// Filters with their options, in packet order.
    pub filters: Vec<(String, SubscriptionOptions)>,
    /// Properties (MQTT 5): Subscription Identifier, User Properties.
    pub properties: Properties,
}

/// An UNSUBSCRIBE packet (§3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Packet identifier.
    pub pkid: u16,
    /// Filters, in packet order.
    pub filters: Vec<String>,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// A DISCONNECT packet (§3.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// Reason code (MQTT 5; Normal for 3.x).
    pub reason: ReasonCode,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// An AUTH packet (MQTT 5 §3.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// Reason code byte.
    pub reason: u8,
    /// Properties.
    pub properties: Properties,
}

/// Everything a client can send a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT.
    Connect(Box<Connect>),
    /// PUBLISH.
    Publish(Publish),
    /// PUBACK.
    PubAck(Ack),
    /// PUBREC.
    PubRec(Ack),
    /// PUBREL.
    PubRel(Ack),
    /// PUBCOMP.
    PubComp(Ack),
    /// SUBSCRIBE.
    Subscribe(Box<Subscribe>),
    /// UNSUBSCRIBE.
    Unsubscribe(Box<Unsubscribe>),
    /// PINGREQ.
    PingReq,
    /// DISCONNECT.
    Disconnect(Box<Disconnect>),
    /// AUTH.
    Auth(Box<Auth>),
}

/// CONNACK (§3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck {
    /// Session Present flag.
    pub session_present: bool,
    /// The outcome; written as a 3.1.1 return code for 3.x clients.
    pub reason: ReasonCode,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// Everything a server can send a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// CONNACK.
    ConnAck(Box<ConnAck>),
    /// PUBLISH.
    Publish(Publish),
    /// PUBACK.
    PubAck(Ack),
    /// PUBREC.
    PubRec(Ack),
    /// PUBREL.
    PubRel(Ack),
    /// PUBCOMP.
    PubComp(Ack),
    /// SUBACK with one reason code per filter.
    SubAck {
        /// Packet identifier.
        pkid: u16,
        /// Granted QoS or failure codes.
        codes: Vec<u8>,
    },
    /// UNSUBACK (one reason code per filter for MQTT 5).
    UnsubAck {
        /// Packet identifier.
        pkid: u16,
        /// Reason codes (MQTT 5 only).
        codes: Vec<u8>,
    },
    /// PINGRESP.
    PingResp,
    /// DISCONNECT (MQTT 5 only).
    Disconnect(ReasonCode),
}
