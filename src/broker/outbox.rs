//! The per-connection outgoing queue between the router and a connection task.
//!
//! The router pushes packets without ever waiting; the connection task takes everything queued
//! in one go and writes it with as few syscalls as it can. QoS 0 PUBLISH packets are bounded in
//! count and bytes (excess is dropped and counted, like mosquitto's `max_queued_messages`);
//! QoS 1 and 2 are bounded by the router's in-flight window; acknowledgements are bounded by
//! the peer's own in-flight packets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::pressure::{Pressure, SLOW_AFTER};
use crate::protocol::{Outgoing, Publish, ReasonCode};

/// How many times `max_queued_messages` a consumer that keeps making progress may hold: with
/// back-pressure a burst can overshoot the limit; a slow consumer gets the limit strictly.
pub const PROGRESS_SLACK: usize = 8;

/// Queued QoS 0 payload bytes above which a consumer that keeps up holds the publishers back
/// (as `high_water` packets do): large messages then wait in the publishers' sockets, not in
/// the broker's memory.
pub const HIGH_WATER_BYTES: usize = 1024 * 1024;

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
    /// Since when the connection task has been writing the packets it last took (`None`
    /// while it waits for more): a write pending for longer than [`SLOW_AFTER`] means the
    /// peer does not read.
    writing_since: Option<Instant>,
    /// Does not keep up (a write pending, or a congestion unrelieved, for longer than
    /// [`SLOW_AFTER`]): holds nobody back and gets the queue limits strictly, until it has
    /// written everything queued.
    slow: bool,
    /// QoS 0 payload bytes counted in [`Pressure::slow_bytes`] (held while `slow`).
    slow_bytes: usize,
}

/// Packets waiting to be written to one connection.
#[derive(Debug)]
pub struct Outbox {
    inner: Mutex<Inner>,
    /// A QoS 0 PUBLISH was refused since the connection last took its packets: later ones
    /// are refused without building them (see [`Outbox::is_full`]).
    full: AtomicBool,
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
        self.pressure
            .sub_slow_bytes(std::mem::take(&mut g.slow_bytes));
    }
}

impl Outbox {
    /// An outbox that raises `pressure` when more than `high_water` packets (or a backlog of
    /// that many queued messages, see [`Outbox::note_backlog`]) wait for the connection.
    #[must_use]
    pub fn new(pressure: Arc<Pressure>, high_water: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            full: AtomicBool::new(false),
            notify: Notify::new(),
            pressure,
            high_water: high_water.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Raises or releases back-pressure for a backlog of `waiting` packets or messages, and
    /// marks the consumer slow when it does not keep up.
    fn check_pressure(&self, g: &mut Inner, waiting: usize, now: Instant) {
        let over = waiting > self.high_water || g.qos0_bytes > HIGH_WATER_BYTES;
        if g.congested_since.is_none() && over && !g.slow && g.close.is_none() {
            g.congested_since = Some(now);
            self.pressure.raise();
        }
    }

    /// A consumer whose last write has been pending, or whose congestion has not been relieved,
    /// for longer than [`SLOW_AFTER`] becomes slow: it stops holding the publishers back (its
    /// raises are released) and its queue limits apply strictly. Only writing everything
    /// queued makes it a normal consumer again (see [`Outbox::written`]).
    ///
    /// `now` is the caller's clock reading: the router reads the clock once per command, not
    /// once per delivery (a clock read per copy was a sixth of a QoS 0 fan-out's CPU time).
    fn check_stall(&self, g: &mut Inner, now: Instant) {
        if g.slow {
            return;
        }
        let stalled = |since: Option<Instant>| {
            since.is_some_and(|t| now.saturating_duration_since(t) > SLOW_AFTER)
        };
        let stuck_write = stalled(g.writing_since);
        let stuck_queue = stalled(g.congested_since);
        if !(stuck_write || stuck_queue) {
            return;
        }
        g.slow = true;
        if g.congested_since.take().is_some() {
            self.pressure.release();
        }
        if g.backlog_since.take().is_some() {
            self.pressure.release();
        }
        // What it holds now counts against the broker-wide budget for slow consumers.
        g.slow_bytes = g.qos0_bytes;
        self.pressure.add_slow_bytes(g.slow_bytes);
    }

    /// Tells the outbox how many messages wait in the session queue behind it (QoS 1/2
    /// beyond the in-flight window). A backlog above the high-water mark holds the readers
    /// back until it is halved; shrinking counts as progress. `now` is the caller's clock
    /// reading (see [`Outbox::push_at`]).
    pub fn note_backlog(&self, queued: usize, now: Instant) {
        let mut g = self.lock();
        self.check_stall(&mut g, now);
        match g.backlog_since {
            None if queued > self.high_water && !g.slow && g.close.is_none() => {
                g.backlog_since = Some(now);
                g.backlog_last = queued;
                self.pressure.raise();
            }
            Some(_) if queued <= self.high_water / 2 => {
                g.backlog_since = None;
                self.pressure.release();
            }
            Some(_) if queued < g.backlog_last => {
                g.backlog_since = Some(now);
                g.backlog_last = queued;
            }
            Some(since) if now.saturating_duration_since(since) > SLOW_AFTER => {
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
        self.is_slow_at(Instant::now())
    }

    /// [`Outbox::is_slow`] with the caller's clock reading (see [`Outbox::push_at`]).
    #[must_use]
    pub fn is_slow_at(&self, now: Instant) -> bool {
        let mut g = self.lock();
        self.check_stall(&mut g, now);
        g.slow
    }

    /// Queues any packet (acknowledgements, CONNACK, QoS 1/2 PUBLISH inside the window).
    /// Returns true when the outbox was empty: the caller must then [`Outbox::wake`] the
    /// connection, once, after its whole batch of work (one wake-up per batch, not per packet).
    pub fn push(&self, packet: Outgoing) -> bool {
        self.push_at(packet, Instant::now())
    }

    /// [`Outbox::push`] with the caller's reading of tokio's clock: the router reads it once
    /// per command and passes it to every outbox it fills, instead of one read per packet.
    pub fn push_at(&self, packet: Outgoing, now: Instant) -> bool {
        let mut g = self.lock();
        if g.close.is_some() {
            return false;
        }
        let was_empty = g.packets.is_empty();
        g.packets.push(packet);
        let waiting = g.packets.len();
        self.check_stall(&mut g, now);
        self.check_pressure(&mut g, waiting, now);
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
    /// `now` is the caller's clock reading (see [`Outbox::push_at`]).
    pub fn push_qos0(
        &self,
        publish: Publish,
        max_msgs: usize,
        max_bytes: usize,
        force: bool,
        now: Instant,
    ) -> Option<bool> {
        let mut g = self.lock();
        if g.close.is_some() {
            return None;
        }
        let len = publish.payload.len();
        // While the consumer makes progress, back-pressure keeps the queue near the
        // high-water mark and a burst may overshoot the message limit; a slow consumer gets it
        // strictly, and nobody more than eight times it. The byte limit is always strict.
        self.check_stall(&mut g, now);
        let slack = if g.slow { 1 } else { PROGRESS_SLACK };
        if !force
            && ((max_msgs > 0 && g.qos0 >= max_msgs * slack)
                || (max_bytes > 0 && g.qos0_bytes + len > max_bytes)
                || (g.slow && !self.pressure.slow_bytes_allow(len)))
        {
            if g.slow {
                // Only a slow consumer takes the fast path: a consumer that is not slow yet
                // must keep reaching `check_stall`, which releases its back-pressure.
                self.full.store(true, Ordering::Relaxed);
            }
            return None;
        }
        let was_empty = g.packets.is_empty();
        g.qos0 += 1;
        g.qos0_bytes += len;
        if g.slow {
            g.slow_bytes += len;
            self.pressure.add_slow_bytes(len);
        }
        g.packets.push(Outgoing::Publish(publish));
        let waiting = g.packets.len();
        let crossed = g.qos0_bytes > HIGH_WATER_BYTES && g.qos0_bytes - len <= HIGH_WATER_BYTES;
        self.check_pressure(&mut g, waiting, now);
        drop(g);
        self.wake_if_backlogged(waiting);
        if crossed {
            self.notify.notify_one();
        }
        Some(was_empty)
    }

    /// True when a QoS 0 PUBLISH was refused for this slow consumer and the connection has
    /// not taken its packets since: the router drops further QoS 0 messages for it without building them (a drop
    /// then costs one load, so stalled subscribers cost the router little).
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
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
        self.full.store(false, Ordering::Relaxed);
        g.qos0 = 0;
        g.qos0_bytes = 0;
        self.pressure
            .sub_slow_bytes(std::mem::take(&mut g.slow_bytes));
        if !into.is_empty() {
            // The connection writes these now; `written` says when that is done.
            g.writing_since = Some(Instant::now());
        }
        // What was queued is taken: no congestion until the queue grows again.
        if g.congested_since.take().is_some() {
            self.pressure.release();
        }
        g.close
    }

    /// The connection wrote part of what it took: the peer reads, the write is not stalled.
    pub fn progress(&self) {
        let mut g = self.lock();
        if g.writing_since.is_some() {
            g.writing_since = Some(Instant::now());
        }
    }

    /// The connection wrote everything it last took. A slow consumer that has nothing more
    /// queued has caught up and is a normal consumer again.
    pub fn written(&self) {
        let mut g = self.lock();
        g.writing_since = None;
        if g.slow && g.packets.is_empty() {
            g.slow = false;
        }
    }

    /// Waits until something is queued or a close is requested.
    pub async fn ready(&self) {
        self.notify.notified().await;
    }
}
