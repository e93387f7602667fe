//! The per-connection outgoing queue between the router and a connection task.
//!
//! The router pushes packets without ever waiting; the connection task takes everything queued
//! in one go and writes it with as few syscalls as it can. QoS 0 PUBLISH packets are bounded in
//! count and bytes (excess is dropped and counted, like mosquitto's `max_queued_messages`);
//! QoS 1 and 2 are bounded by the router's in-flight window; acknowledgements are bounded by
//! the peer's own in-flight packets.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::pressure::{Pressure, SLOW_AFTER};
use crate::protocol::{Outgoing, Publish, ReasonCode};

/// How many times `max_queued_messages` a consumer that keeps making progress may hold: with
/// back-pressure a burst can overshoot the limit; a slow consumer gets the limit strictly.
pub const PROGRESS_SLACK: usize = 8;

/// Why the router asks a connection to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Another connection took the client id over (MQTT 5: DISCONNECT 0x8E).
    TakenOver,
    /// The client broke a rule the router checks (MQTT 5: DISCONNECT with this reason).
    Protocol(ReasonCode),
    /// The broker is shutting down (MQTT 5: DISCONNECT 0x8B).
    ShuttingDown,
}

#[derive(Debug, Default)]
struct Inner {
    packets: Vec<Outgoing>,
    qos0: usize,
    qos0_bytes: usize,
    close: Option<CloseReason>,
    /// Since when this consumer's unwritten packets hold the broker's readers back.
    congested_since: Option<Instant>,
    /// Since when (or the last progress) its session queue holds the readers back.
    backlog_since: Option<Instant>,
    /// The session queue length last reported.
    backlog_last: usize,
    /// Made no progress while congested: no longer holds anyone back until it drains.
    slow: bool,
}

/// Packets waiting to be written to one connection.
#[derive(Debug)]
pub struct Outbox {
    inner: Mutex<Inner>,
    notify: Notify,
    pressure: Arc<Pressure>,
    high_water: usize,
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new(Arc::new(Pressure::default()), 256)
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let g = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        if g.congested_since.take().is_some() {
            self.pressure.release();
        }
        if g.backlog_since.take().is_some() {
            self.pressure.release();
        }
    }
}

impl Outbox {
    /// An outbox that raises `pressure` when more than `high_water` packets (or a backlog of
    /// that many queued messages, see [`Outbox::note_backlog`]) wait for the connection.
    #[must_use]
    pub fn new(pressure: Arc<Pressure>, high_water: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            notify: Notify::new(),
            pressure,
            high_water: high_water.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Raises or releases back-pressure for a backlog of `waiting` packets or messages.
    fn check_pressure(&self, g: &mut Inner, waiting: usize) {
        match g.congested_since {
            None if waiting > self.high_water && !g.slow && g.close.is_none() => {
                g.congested_since = Some(Instant::now());
                self.pressure.raise();
            }
            Some(since) if since.elapsed() > SLOW_AFTER => {
                // No progress for a while: stop holding the other clients back.
                g.congested_since = None;
                g.slow = true;
                self.pressure.release();
            }
            _ => {}
        }
    }

    /// Tells the outbox how many messages wait in the session queue behind it (QoS 1/2
    /// beyond the in-flight window). A backlog above the high-water mark holds the readers
    /// back until it is halved; shrinking counts as progress.
    pub fn note_backlog(&self, queued: usize) {
        let mut g = self.lock();
        match g.backlog_since {
            None if queued > self.high_water && !g.slow && g.close.is_none() => {
                g.backlog_since = Some(Instant::now());
                g.backlog_last = queued;
                self.pressure.raise();
            }
            Some(_) if queued <= self.high_water / 2 => {
                g.backlog_since = None;
                self.pressure.release();
            }
            Some(_) if queued < g.backlog_last => {
                g.backlog_since = Some(Instant::now());
                g.backlog_last = queued;
            }
            Some(since) if since.elapsed() > SLOW_AFTER => {
                g.backlog_since = None;
                g.slow = true;
                self.pressure.release();
            }
            _ => {}
        }
    }

    /// True while this consumer holds the other readers back: its own reads (PUBACKs, for
    /// one) must go on.
    #[must_use]
    pub fn is_congested(&self) -> bool {
        let g = self.lock();
        g.congested_since.is_some() || g.backlog_since.is_some()
    }

    /// True when this consumer made no progress while congested: queue limits apply to it
    /// strictly (excess dropped) instead of slowing the publishers.
    #[must_use]
    pub fn is_slow(&self) -> bool {
        self.lock().slow
    }

    /// Queues any packet (acknowledgements, CONNACK, QoS 1/2 PUBLISH inside the window).
    /// Returns true when the outbox was empty: the caller must then [`Outbox::wake`] the
    /// connection, once, after its whole batch of work (one wake-up per batch, not per packet).
    pub fn push(&self, packet: Outgoing) -> bool {
        let mut g = self.lock();
        if g.close.is_some() {
            return false;
        }
        let was_empty = g.packets.is_empty();
        g.packets.push(packet);
        let waiting = g.packets.len();
        self.check_pressure(&mut g, waiting);
        drop(g);
        self.wake_if_backlogged(waiting);
        was_empty
    }

    /// A long batch of routing must not keep the writer idle: at the high-water mark the
    /// connection is woken at once instead of at the end of the router's batch.
    fn wake_if_backlogged(&self, waiting: usize) {
        if waiting == self.high_water {
            self.notify.notify_one();
        }
    }

    /// Wakes the connection task to write what is queued.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Queues a QoS 0 PUBLISH unless the connection already holds `max_msgs` of them or
    /// `max_bytes` of their payload (0 = no limit). `force` skips the limits (retained messages
    /// sent for a new subscription must all arrive [MQTT311-3.3.1-6] [MQTT5-3.3.1-9]). Returns `None` if dropped,
    /// else whether the caller must [`Outbox::wake`] the connection (see [`Outbox::push`]).
    pub fn push_qos0(
        &self,
        publish: Publish,
        max_msgs: usize,
        max_bytes: usize,
        force: bool,
    ) -> Option<bool> {
        let mut g = self.lock();
        if g.close.is_some() {
            return None;
        }
        let len = publish.payload.len();
        // While the consumer makes progress, back-pressure keeps the queue near the
        // high-water mark and a burst may overshoot the message limit; a slow consumer gets it
        // strictly, and nobody more than eight times it. The byte limit is always strict.
        let slack = if g.slow { 1 } else { PROGRESS_SLACK };
        if !force
            && ((max_msgs > 0 && g.qos0 >= max_msgs * slack)
                || (max_bytes > 0 && g.qos0_bytes + len > max_bytes))
        {
            return None;
        }
        let was_empty = g.packets.is_empty();
        g.qos0 += 1;
        g.qos0_bytes += len;
        g.packets.push(Outgoing::Publish(publish));
        let waiting = g.packets.len();
        self.check_pressure(&mut g, waiting);
        drop(g);
        self.wake_if_backlogged(waiting);
        Some(was_empty)
    }

    /// Asks the connection to write what is queued, then close.
    pub fn close(&self, reason: CloseReason) {
        let mut g = self.lock();
        if g.close.is_none() {
            g.close = Some(reason);
        }
        if g.congested_since.take().is_some() {
            self.pressure.release();
        }
        if g.backlog_since.take().is_some() {
            self.pressure.release();
        }
        drop(g);
        self.notify.notify_one();
    }

    /// Moves every queued packet into `into` and returns the close request, if any.
    pub fn take(&self, into: &mut Vec<Outgoing>) -> Option<CloseReason> {
        let mut g = self.lock();
        std::mem::swap(&mut g.packets, into);
        g.qos0 = 0;
        g.qos0_bytes = 0;
        // Progress: this consumer no longer holds anyone back.
        g.slow = false;
        if g.congested_since.take().is_some() {
            self.pressure.release();
        }
        g.close
    }

    /// Waits until something is queued or a close is requested.
    pub async fn ready(&self) {
        self.notify.notified().await;
    }
}
