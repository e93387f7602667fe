//! The application message as the router keeps it, and the PUBLISH built from it for one
//! subscriber.
//!
//! A [`Message`] is immutable once built: its payload and properties are shared (`Bytes`,
//! `Arc`) by every queued copy, retained copy and in-flight PUBLISH, so fan-out costs a few
//! reference counts, not a copy of the payload. Its Message Expiry Interval is kept as an
//! absolute [`Instant`] on tokio's clock (so paused-time tests control it) and turned back into
//! the remaining interval only when a PUBLISH is built [MQTT5-3.3.2-6].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::broker::event::{MessageNo, PublishFlags};
use crate::protocol::{Properties, ProtocolVersion, Publish, QoS};

/// The Receive Maximum announced to MQTT 5 clients, and the most unreleased incoming QoS 2
/// messages any client may have (MQTT5 §3.2.2.3.3).
pub const RECEIVE_MAXIMUM: u16 = 1024;

/// An application message as the router stores and forwards it.
#[derive(Debug, Clone)]
pub struct Message {
    /// Topic name.
    pub topic: Arc<str>,
    /// Payload, shared by every copy.
    pub payload: Bytes,
    /// QoS it was published with.
    pub qos: QoS,
    /// RETAIN flag as published.
    pub retain: bool,
    /// MQTT 5 properties to pass through unaltered [MQTT5-3.3.2-4] to [MQTT5-3.3.2-20] (no
    /// Topic Alias, no Message Expiry: that is kept as `expires_at`).
    pub properties: Option<Arc<Properties>>,
    /// When the Message Expiry Interval runs out [MQTT5-3.3.2-5], on tokio's clock.
    pub expires_at: Option<Instant>,
    /// Its broker-wide number for the workbench's journeys (0: none given).
    pub no: MessageNo,
}

impl Message {
    /// True once the Message Expiry Interval has run out (reads the clock only if it has one).
    #[inline]
    #[must_use]
    pub fn expired(&self) -> bool {
        self.expires_at.is_some_and(|t| t <= Instant::now())
    }

    /// Builds a message from a client's PUBLISH, keeping its properties for onward delivery.
    #[must_use]
    pub fn from_publish(p: Publish) -> Self {
        let (properties, expires_at) = match p.properties {
            Some(mut props) => {
                let expires_at = expiry_deadline(props.message_expiry.take());
                props.topic_alias = None;
                let props = if props.is_empty() {
                    None
                } else {
                    Some(Arc::from(props))
                };
                (props, expires_at)
            }
            None => (None, None),
        };
        Self {
            topic: p.topic,
            payload: p.payload,
            qos: p.qos,
            retain: p.retain,
            properties,
            expires_at,
            no: 0,
        }
    }
}

/// The deadline for a Message Expiry Interval in seconds; an interval of 0 means "no expiry",
/// as in mosquitto.
#[must_use]
pub fn expiry_deadline(interval: Option<u32>) -> Option<Instant> {
    interval
        .filter(|&s| s > 0)
        .map(|s| Instant::now() + Duration::from_secs(u64::from(s)))
}

/// The flags the verbose log prints for a PUBLISH (`d0, q1, r0, m7`).
#[inline]
#[must_use]
pub fn flags_of(p: &Publish) -> PublishFlags {
    PublishFlags {
        dup: p.dup,
        qos: p.qos.as_u8(),
        retain: p.retain,
        pkid: p.pkid,
    }
}

/// The PUBLISH one subscriber receives: its QoS, RETAIN flag and packet id, and for MQTT 5
/// the publisher's properties plus the Subscription Identifiers and the remaining expiry
/// [MQTT5-3.3.2-6].
#[must_use]
pub fn build_publish(
    version: ProtocolVersion,
    msg: &Message,
    qos: QoS,
    retain: bool,
    ids: &[u32],
    pkid: u16,
) -> Publish {
    let properties = if version.is_v5()
        && (msg.properties.is_some() || !ids.is_empty() || msg.expires_at.is_some())
    {
        let mut p = msg.properties.as_deref().cloned().unwrap_or_default();
        p.subscription_ids = ids.to_vec();
        if let Some(t) = msg.expires_at {
            let left = t.saturating_duration_since(Instant::now()).as_secs();
            p.message_expiry = Some(u32::try_from(left.max(1)).unwrap_or(u32::MAX));
        }
        Some(Box::new(p))
    } else {
        None
    };
    Publish {
        dup: false,
        qos,
        retain,
        topic: msg.topic.clone(),
        pkid,
        properties,
        payload: msg.payload.clone(),
    }
}
