//! The per-connection outgoing queue between the router and a connection task.
//!
//! The router pushes packets without ever waiting; the connection task takes everything queued
//! in one go and writes it with as few syscalls as it can. QoS 0 PUBLISH packets are bounded in
//! count and bytes (excess is dropped and counted, like mosquitto's `max_queued_messages`);
//! QoS 1 and 2 are bounded by the router's in-flight window; acknowledgements are bounded by
//! the peer's own in-flight packets.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::protocol::{Outgoing, Publish, ReasonCode};

/// Why the router asks a connection to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Another connection took the client id over (MQTT 5: DISCONNECT 0x8E).
    TakenOver,
    /// The client broke a rule the router checks (MQTT 5: DISCONNECT with this reason).
    Protocol(ReasonCode),
    /// The broker is shutting down (MQTT 5: DISCONNECT 0x8B).
    ShuttingDown,
    /// The CONNECT was refused: the CONNACK is queued, then the socket closes.
    Refused,
}

#[derive(Debug, Default)]
struct Inner {
    packets: Vec<Outgoing>,
    qos0: usize,
    qos0_bytes: usize,
    close: Option<CloseReason>,
    dropped: u64,
}

/// Packets waiting to be written to one connection.
#[derive(Debug, Default)]
pub struct Outbox {
    inner: Mutex<Inner>,
    notify: Notify,
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues any packet (acknowledgements, CONNACK, QoS 1/2 PUBLISH inside the window).
    pub fn push(&self, packet: Outgoing) {
        let mut g = self.lock();
        if g.close.is_some() {
            return;
        }
        g.packets.push(packet);
        drop(g);
        self.notify.notify_one();
    }

    /// Queues a QoS 0 PUBLISH unless the connection already holds `max_msgs` of them or
    /// `max_bytes` of their payload (0 = no limit). `force` skips the limits (retained messages
    /// sent for a new subscription must all arrive [MQTT-3.3.1-6]). Returns false if dropped.
    pub fn push_qos0(
        &self,
        publish: Publish,
        max_msgs: usize,
        max_bytes: usize,
        force: bool,
    ) -> bool {
        let mut g = self.lock();
        if g.close.is_some() {
            return false;
        }
        let len = publish.payload.len();
        if !force
            && ((max_msgs > 0 && g.qos0 >= max_msgs)
                || (max_bytes > 0 && g.qos0_bytes + len > max_bytes))
        {
            g.dropped += 1;
            return false;
        }
        g.qos0 += 1;
        g.qos0_bytes += len;
        g.packets.push(Outgoing::Publish(publish));
        drop(g);
        self.notify.notify_one();
        true
    }

    /// Asks the connection to write what is queued, then close.
    pub fn close(&self, reason: CloseReason) {
        let mut g = self.lock();
        if g.close.is_none() {
            g.close = Some(reason);
        }
        drop(g);
        self.notify.notify_one();
    }

    /// True once [`Outbox::close`] was called.
    #[must_use]
    pub fn is_closing(&self) -> bool {
        self.lock().close.is_some()
    }

    /// Moves every queued packet into `into` and returns the close request, if any.
    pub fn take(&self, into: &mut Vec<Outgoing>) -> Option<CloseReason> {
        let mut g = self.lock();
        std::mem::swap(&mut g.packets, into);
        g.qos0 = 0;
        g.qos0_bytes = 0;
        g.close
    }

    /// Number of QoS 0 messages dropped so far because the queue was full.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Waits until something is queued or a close is requested.
    pub async fn ready(&self) {
        self.notify.notified().await;
    }
}
