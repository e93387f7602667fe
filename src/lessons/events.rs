//! The event vocabulary of lesson checks: a snake_case kind name for every [`BrokerEvent`]
//! and the fields a check may compare.

use crate::broker::BrokerEvent;

/// Every event kind a check may name, one per [`BrokerEvent`] variant.
pub const KINDS: &[&str] = &[
    "starting",
    "running",
    "terminating",
    "config",
    "local_only_mode",
    "opening_listener",
    "notice",
    "warning",
    "error",
    "new_connection",
    "client_connected",
    "no_will",
    "will_specified",
    "connack_sent",
    "takeover",
    "subscribe_received",
    "suback_sent",
    "unsubscribe_received",
    "unsuback_sent",
    "publish_received",
    "publish_denied",
    "publish_sent",
    "puback_sent",
    "puback_received",
    "pubrec_sent",
    "pubrec_received",
    "pubrel_received",
    "pubrel_sent",
    "pubcomp_sent",
    "pubcomp_received",
    "pingreq_received",
    "pingresp_sent",
    "disconnect_received",
    "disconnected",
    "connection_closed",
    "keepalive_timeout",
    "malformed_packet",
    "protocol_error",
    "oversize_packet",
    "not_authorised",
    "disconnected_because",
    "messages_dropped",
    "session_expired",
    "lagged",
];

/// The fields of one event that checks can compare; absent ones are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    /// The event kind (one of [`KINDS`]).
    pub kind: &'static str,
    /// The client id.
    pub client: Option<String>,
    /// The topic of a PUBLISH or of a will.
    pub topic: Option<String>,
    /// The filters of a SUBSCRIBE or UNSUBSCRIBE, with the requested QoS (0 for UNSUBSCRIBE).
    pub filters: Vec<(String, u8)>,
    /// QoS of a PUBLISH or a will.
    pub qos: Option<u8>,
    /// RETAIN of a PUBLISH or a will.
    pub retain: Option<bool>,
    /// Payload length of a PUBLISH or a will.
    pub len: Option<usize>,
    /// Clean session / clean start of a CONNECT.
    pub clean: Option<bool>,
    /// Protocol of a CONNECT as the log prints it (`p2` for 3.1.1, `p5` for 5.0): 1, 2 or 5.
    pub protocol: Option<u8>,
    /// Keep alive of a CONNECT, in seconds.
    pub keep_alive: Option<u16>,
    /// Session present of a CONNACK.
    pub session_present: Option<bool>,
}

/// The kind and the comparable fields of `e`.
#[must_use]
pub fn fields(e: &BrokerEvent) -> Fields {
    use BrokerEvent as E;
    let mut f = Fields {
        client: e.client().map(str::to_owned),
        ..Fields::default()
    };
    f.kind = match e {
        E::Starting => "starting",
        E::Running => "running",
        E::Terminating => "terminating",
        E::Config(_) => "config",
        E::LocalOnlyMode => "local_only_mode",
        E::OpeningListener { .. } => "opening_listener",
        E::Notice(_) => "notice",
        E::Warning(_) => "warning",
        E::Error(_) => "error",
        E::SubscriptionTree { .. } => "subscription_tree",
        E::NotDelivered { .. } => "not_delivered",
        E::WillPublished { .. } => "will_published",
        E::NewConnection { .. } => "new_connection",
        E::ClientConnected {
            protocol,
            clean,
            keep_alive,
            ..
        } => {
            f.protocol = Some(*protocol);
            f.clean = Some(*clean);
            f.keep_alive = Some(*keep_alive);
            "client_connected"
        }
        E::NoWill => "no_will",
        E::WillSpecified {
            len,
            retain,
            qos,
            topic,
        } => {
            f.len = Some(*len);
            f.retain = Some(*retain);
            f.qos = Some(*qos);
            f.topic = Some(topic.clone());
            "will_specified"
        }
        E::ConnAckSent {
            session_present, ..
        } => {
            f.session_present = Some(*session_present);
            "connack_sent"
        }
        E::Takeover(_) => "takeover",
        E::SubscribeReceived { filters, .. } => {
            f.filters.clone_from(filters);
            "subscribe_received"
        }
        E::SubAckSent(_) => "suback_sent",
        E::UnsubscribeReceived { filters, .. } => {
            f.filters = filters.iter().map(|x| (x.clone(), 0)).collect();
            "unsubscribe_received"
        }
        E::UnsubAckSent(_) => "unsuback_sent",
        E::PublishReceived {
            flags, topic, len, ..
        }
        | E::PublishDenied {
            flags, topic, len, ..
        }
        | E::PublishSent {
            flags, topic, len, ..
        } => {
            f.qos = Some(flags.qos);
            f.retain = Some(flags.retain);
            f.topic = Some(topic.to_string());
            f.len = Some(*len);
            match e {
                E::PublishReceived { .. } => "publish_received",
                E::PublishDenied { .. } => "publish_denied",
                _ => "publish_sent",
            }
        }
        E::PubAckSent { .. } => "puback_sent",
        E::PubAckReceived { .. } => "puback_received",
        E::PubRecSent { .. } => "pubrec_sent",
        E::PubRecReceived { .. } => "pubrec_received",
        E::PubRelReceived { .. } => "pubrel_received",
        E::PubRelSent { .. } => "pubrel_sent",
        E::PubCompSent { .. } => "pubcomp_sent",
        E::PubCompReceived { .. } => "pubcomp_received",
        E::PingReqReceived(_) => "pingreq_received",
        E::PingRespSent(_) => "pingresp_sent",
        E::DisconnectReceived(_) => "disconnect_received",
        E::Disconnected(_) => "disconnected",
        E::ConnectionClosed(_) => "connection_closed",
        E::KeepAliveTimeout(_) => "keepalive_timeout",
        E::MalformedPacket(_) => "malformed_packet",
        E::ProtocolError(_) => "protocol_error",
        E::OversizePacket(_) => "oversize_packet",
        E::NotAuthorised(_) => "not_authorised",
        E::DisconnectedBecause { .. } => "disconnected_because",
        E::MessagesDropped(_) => "messages_dropped",
        E::SessionExpired(_) => "session_expired",
        E::Lagged(_) => "lagged",
    };
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_kind_is_listed_once() {
        let mut sorted = KINDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), KINDS.len());
        // A sample of variants map to listed kinds.
        for e in [
            BrokerEvent::Starting,
            BrokerEvent::Takeover(Arc::from("a")),
            BrokerEvent::KeepAliveTimeout(Arc::from("a")),
            BrokerEvent::Lagged(1),
        ] {
            assert!(KINDS.contains(&fields(&e).kind), "{e:?}");
        }
    }

    #[test]
    fn connect_fields_are_the_ones_the_log_line_prints() {
        let e = BrokerEvent::ClientConnected {
            peer: "127.0.0.1:1".parse().expect("addr"),
            client: Arc::from("c"),
            protocol: 2,
            clean: false,
            keep_alive: 5,
            username: None,
        };
        let f = fields(&e);
        assert_eq!(f.kind, "client_connected");
        assert_eq!(f.protocol, Some(2));
        assert_eq!(f.clean, Some(false));
        assert_eq!(f.keep_alive, Some(5));
        assert_eq!(f.client.as_deref(), Some("c"));
    }
}
