//! The periodic `$SYS` topics (mosquitto's names; the values come from
//! [`crate::broker::sys`]).
//!
//! They are routed like any retained QoS 0 message from no client, so a `$SYS/#` subscriber
//! gets them live and a late one gets the last values; filters starting with a wildcard never
//! match them [MQTT311-4.7.2-1]. They are not persisted (see [`super::snapshot`]).

use std::sync::Arc;

use bytes::Bytes;

use super::Router;
use super::message::Message;
use crate::broker::sys;
use crate::protocol::QoS;

impl Router {
    /// Publishes every `$SYS` topic once.
    pub(super) fn publish_sys(&mut self) {
        let connected = self.by_conn.len();
        let total = self.by_id.len();
        let snapshot = sys::Snapshot {
            uptime: self.started.elapsed().as_secs(),
            clients_connected: connected,
            clients_total: total,
            clients_disconnected: total.saturating_sub(connected),
            clients_expired: self.counters.expired,
            subscriptions: self.subs.len(),
            retained: self.retained.len(),
            stored_messages: self.stored_in_sessions() + self.retained.len(),
            stored_bytes: self.retained.bytes(),
            counters: self.counters.clone(),
            bytes_received: self.stats.bytes_received(),
            bytes_sent: self.stats.bytes_sent(),
        };
        self.counters.max_connected = self.counters.max_connected.max(connected);
        for (topic, value) in snapshot.topics() {
            let msg = Message {
                topic: Arc::from(topic.as_str()),
                payload: Bytes::from(value),
                qos: QoS::AtMostOnce,
                retain: true,
                properties: None,
                expires_at: None,
                no: self.next_message(),
            };
            self.route(&msg, None);
        }
    }
}
