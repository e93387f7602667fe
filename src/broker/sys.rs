//! Broker statistics and the `$SYS/broker/...` topics, named like mosquitto's.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters shared by the router, the connection tasks and whoever watches the broker
/// (the workbench's status bar). The router publishes its own counters here once per batch of
/// commands, so reading them costs the hot path nothing.
#[derive(Debug, Default)]
pub struct Stats {
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
    clients_connected: AtomicU64,
    publish_received: AtomicU64,
    publish_sent: AtomicU64,
    publish_dropped: AtomicU64,
}

/// A copy of the live counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Clients connected now.
    pub clients_connected: u64,
    /// PUBLISH packets received from clients so far.
    pub publish_received: u64,
    /// PUBLISH packets sent to clients so far.
    pub publish_sent: u64,
    /// Messages dropped by queue limits so far.
    pub publish_dropped: u64,
    /// Bytes read from clients so far.
    pub bytes_received: u64,
    /// Bytes written to clients so far.
    pub bytes_sent: u64,
}

impl Stats {
    /// Publishes the router's counters.
    pub fn set_router(&self, connected: usize, c: &Counters) {
        self.clients_connected
            .store(connected as u64, Ordering::Relaxed);
        self.publish_received
            .store(c.publish_received, Ordering::Relaxed);
        self.publish_sent.store(c.publish_sent, Ordering::Relaxed);
        self.publish_dropped
            .store(c.publish_dropped, Ordering::Relaxed);
    }

    /// Reads every counter.
    #[must_use]
    pub fn snapshot(&self) -> LiveStats {
        LiveStats {
            clients_connected: self.clients_connected.load(Ordering::Relaxed),
            publish_received: self.publish_received.load(Ordering::Relaxed),
            publish_sent: self.publish_sent.load(Ordering::Relaxed),
            publish_dropped: self.publish_dropped.load(Ordering::Relaxed),
            bytes_received: self.bytes_received(),
            bytes_sent: self.bytes_sent(),
        }
    }

    /// Counts bytes read from clients.
    pub fn add_received(&self, n: usize) {
        self.bytes_received.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts bytes written to clients.
    pub fn add_sent(&self, n: usize) {
        self.bytes_sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Total bytes read from clients.
    #[must_use]
    pub fn bytes_received(&self) -> u64 {
        self.bytes_received.load(Ordering::Relaxed)
    }

    /// Total bytes written to clients.
    #[must_use]
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }
}

/// Counters the router keeps.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    /// PUBLISH packets received from clients.
    pub publish_received: u64,
    /// PUBLISH packets sent to clients.
    pub publish_sent: u64,
    /// Messages dropped because a client's queue was full.
    pub publish_dropped: u64,
    /// Payload bytes received.
    pub publish_bytes_received: u64,
    /// Payload bytes sent.
    pub publish_bytes_sent: u64,
    /// Successful CONNECTs.
    pub connects: u64,
    /// Sessions that expired.
    pub expired: u64,
    /// Most clients connected at once.
    pub max_connected: usize,
}

/// A point-in-time view of the broker for `$SYS`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Seconds since start.
    pub uptime: u64,
    /// Connected clients.
    pub clients_connected: usize,
    /// Sessions, connected or not.
    pub clients_total: usize,
    /// Persistent sessions without a connection.
    pub clients_disconnected: usize,
    /// Sessions expired so far.
    pub clients_expired: u64,
    /// Subscriptions.
    pub subscriptions: usize,
    /// Retained messages.
    pub retained: usize,
    /// Messages held (queued, in flight, retained).
    pub stored_messages: usize,
    /// Bytes held in retained payloads.
    pub stored_bytes: usize,
    /// Router counters.
    pub counters: Counters,
    /// Bytes read from sockets.
    pub bytes_received: u64,
    /// Bytes written to sockets.
    pub bytes_sent: u64,
}

impl Snapshot {
    /// The `$SYS` topics and their values, as mosquitto 2.0 names them.
    #[must_use]
    pub fn topics(&self) -> Vec<(String, String)> {
        let c = &self.counters;
        let version = format!("mqtt-workbench version {}", env!("CARGO_PKG_VERSION"));
        let pairs: Vec<(&str, String)> = vec![
            ("version", version),
            ("uptime", format!("{} seconds", self.uptime)),
            ("clients/total", self.clients_total.to_string()),
            ("clients/connected", self.clients_connected.to_string()),
            ("clients/active", self.clients_connected.to_string()),
            ("clients/inactive", self.clients_disconnected.to_string()),
            (
                "clients/disconnected",
                self.clients_disconnected.to_string(),
            ),
            ("clients/expired", self.clients_expired.to_string()),
            (
                "clients/maximum",
                c.max_connected.max(self.clients_connected).to_string(),
            ),
            ("messages/received", c.publish_received.to_string()),
            ("messages/sent", c.publish_sent.to_string()),
            ("messages/stored", self.stored_messages.to_string()),
            ("publish/messages/received", c.publish_received.to_string()),
            ("publish/messages/sent", c.publish_sent.to_string()),
            ("publish/messages/dropped", c.publish_dropped.to_string()),
            (
                "publish/bytes/received",
                c.publish_bytes_received.to_string(),
            ),
            ("publish/bytes/sent", c.publish_bytes_sent.to_string()),
            ("bytes/received", self.bytes_received.to_string()),
            ("bytes/sent", self.bytes_sent.to_string()),
            ("store/messages/count", self.stored_messages.to_string()),
            ("store/messages/bytes", self.stored_bytes.to_string()),
            ("retained messages/count", self.retained.to_string()),
            ("subscriptions/count", self.subscriptions.to_string()),
        ];
        pairs
            .into_iter()
            .map(|(k, v)| (format!("$SYS/broker/{k}"), v))
            .collect()
    }
}
