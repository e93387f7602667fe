//! The per-connection outgoing queue between the router and a connection task.
//!
//! The router pushes packets without ever waiting; the connection task takes everything queued
//! in one go and writes it with as few syscalls as it can. QoS 0 PUBLISH packets are bounded in
//! count and bytes (excess is dropped and counted, like mosquitto's `max_queued_messages`);
//! QoS 1 and 2 are bounded by the router's in-flight window; acknowledgements are bounded by
//! the peer's own in-flight packets.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::AtomicWaker;
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
    /// The client was silent for one and a half Keep Alive periods [MQTT311-3.1.2-24]
    /// [MQTT5-3.1.2-22] (MQTT 5: DISCONNECT 0x8D); decided by the broker's keep-alive sweeper
    /// (see [`super::keepalive`]).
    KeepAlive,
}

/// A moment on the broker's [`Pressure`] clock ([`Pressure::stamp`]): milliseconds in 32
/// bits, 0 for none. Only differences of a few hundred milliseconds are ever taken (wrapping,
/// so the 49-day wrap of the counter does no harm). Every outbox holds three; as `Instant`s
/// they cost each idle connection 24 bytes more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Stamp(u32);

impl Stamp {
    const NONE: Self = Self(0);

    fn is_some(self) -> bool {
        self.0 != 0
    }

    /// Clears the stamp; true if it was set.
    fn take(&mut self) -> bool {
        std::mem::replace(self, Self::NONE).is_some()
    }

    /// True if set and more than `limit` before `now`. A stamp after `now` (the router reads
    /// the clock once per command, a connection may stamp later) is not older than anything:
    /// a wrapped difference of more than 2^31 ms counts as negative.
    fn older_than(self, now: Self, limit: Duration) -> bool {
        let elapsed = now.0.wrapping_sub(self.0);
        self.is_some() && elapsed < 1 << 31 && u128::from(elapsed) > limit.as_millis()
    }
}

#[derive(Debug, Default)]
struct Inner {
    packets: Vec<Outgoing>,
    /// QoS 0 PUBLISH packets queued.
    qos0: u32,
    qos0_bytes: usize,
    close: Option<CloseReason>,
    /// Since when this consumer's unwritten packets hold the broker's readers back.
    congested_since: Stamp,
    /// Since when (or the last progress) its session queue holds the readers back.
    backlog_since: Stamp,
    /// The session queue length last reported.
    backlog_last: u32,
    /// Since when the connection task has been writing the packets it last took (none
    /// while it waits for more): a write pending for longer than [`SLOW_AFTER`] means the
    /// peer does not read.
    writing_since: Stamp,
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
    /// Set by [`Outbox::wake`], taken by [`Outbox::poll_ready`]: a pending wake-up, kept when
    /// the connection is not waiting (like a `Notify` permit).
    signal: AtomicBool,
    /// The connection task waiting in [`Outbox::poll_ready`]. A waker slot instead of a
    /// `Notify`: the connection polls it from its idle wait, so no waiter future is laid out
    /// in every connection task (see docs/benchmarks.md, issue 10).
    waker: AtomicWaker,
    pressure: Arc<Pressure>,
    high_water: u32,
    /// One and a half Keep Alive periods, in milliseconds (0: no keep-alive).
    keep_alive_ms: u32,
    /// When the client was last heard from, in milliseconds on the keep-alive sweeper's
    /// clock ([`super::keepalive::KeepAlives::now_ms`]).
    heard: AtomicU64,
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new(Arc::new(Pressure::default()), 256)
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let g = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        if g.congested_since.take() {
            self.pressure.release();
        }
        if g.backlog_since.take() {
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
            signal: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            pressure,
            high_water: u32::try_from(high_water).unwrap_or(u32::MAX).max(1),
            keep_alive_ms: 0,
            heard: AtomicU64::new(0),
        }
    }

    /// Sets the connection's Keep Alive (seconds; 0 = never): the sweeper closes the outbox
    /// with [`CloseReason::KeepAlive`] after one and a half of it without a packet from the
    /// client [MQTT311-3.1.2-24] [MQTT5-3.1.2-22].
    #[must_use]
    pub fn with_keep_alive(mut self, keep_alive: u16) -> Self {
        self.keep_alive_ms = u32::from(keep_alive) * 1500;
        self
    }

    /// One and a half Keep Alive periods, or `None` with Keep Alive 0.
    #[must_use]
    pub fn keep_alive_limit(&self) -> Option<std::time::Duration> {
        (self.keep_alive_ms > 0).then(|| Duration::from_millis(u64::from(self.keep_alive_ms)))
    }

    /// The client was heard from at `now_ms` (the sweeper's clock): the keep-alive starts over.
    pub fn heard(&self, now_ms: u64) {
        self.heard.store(now_ms, Ordering::Relaxed);
    }

    /// When the keep-alive runs out (the sweeper's clock), `None` with Keep Alive 0.
    #[must_use]
    pub fn keep_alive_deadline(&self) -> Option<u64> {
        (self.keep_alive_ms > 0).then(|| {
            self.heard
                .load(Ordering::Relaxed)
                .saturating_add(u64::from(self.keep_alive_ms))
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Raises or releases back-pressure for a backlog of `waiting` packets or messages, and
    /// marks the consumer slow when it does not keep up.
    fn check_pressure(&self, g: &mut Inner, waiting: usize, now: Stamp) {
        let over = waiting > self.high_water() || g.qos0_bytes > HIGH_WATER_BYTES;
        if !g.congested_since.is_some() && over && !g.slow && g.close.is_none() {
            g.congested_since = now;
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
    fn check_stall(&self, g: &mut Inner, now: Stamp) {
        if g.slow {
            return;
        }
        let stuck_write = g.writing_since.older_than(now, SLOW_AFTER);
        let stuck_queue = g.congested_since.older_than(now, SLOW_AFTER);
        if !(stuck_write || stuck_queue) {
            return;
        }
        g.slow = true;
        if g.congested_since.take() {
            self.pressure.release();
        }
        if g.backlog_since.take() {
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
        let now = self.stamp(now);
        let queued = u32::try_from(queued).unwrap_or(u32::MAX);
        let mut g = self.lock();
        self.check_stall(&mut g, now);
        let since = g.backlog_since;
        if !since.is_some() {
            if queued > self.high_water && !g.slow && g.close.is_none() {
                g.backlog_since = now;
                g.backlog_last = queued;
                self.pressure.raise();
            }
        } else if queued <= self.high_water / 2 {
            g.backlog_since = Stamp::NONE;
            self.pressure.release();
        } else if queued < g.backlog_last {
            g.backlog_since = now;
            g.backlog_last = queued;
        } else if since.older_than(now, SLOW_AFTER) {
            g.backlog_since = Stamp::NONE;
            g.slow = true;
            self.pressure.release();
        }
    }

    /// `now` on the pressure clock, as a [`Stamp`].
    fn stamp(&self, now: Instant) -> Stamp {
        Stamp(self.pressure.stamp(now))
    }

    /// The high-water mark as a count of packets.
    fn high_water(&self) -> usize {
        self.high_water as usize
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
        let now = self.stamp(now);
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
        let now = self.stamp(now);
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
        if waiting == self.high_water() {
            self.wake();
        }
    }

    /// Wakes the connection task to write what is queued.
    pub fn wake(&self) {
        self.signal.store(true, Ordering::Release);
        self.waker.wake();
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
        let now = self.stamp(now);
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
            && ((max_msgs > 0 && g.qos0 as usize >= max_msgs * slack)
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
        g.qos0 = g.qos0.saturating_add(1);
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
            self.wake();
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
        if g.congested_since.take() {
            self.pressure.release();
        }
        if g.backlog_since.take() {
            self.pressure.release();
        }
        drop(g);
        self.wake();
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
            g.writing_since = self.stamp(Instant::now());
        }
        // What was queued is taken: no congestion until the queue grows again.
        if g.congested_since.take() {
            self.pressure.release();
        }
        g.close
    }

    /// The connection wrote part of what it took: the peer reads, the write is not stalled.
    pub fn progress(&self) {
        let mut g = self.lock();
        if g.writing_since.is_some() {
            g.writing_since = self.stamp(Instant::now());
        }
    }

    /// The connection wrote everything it last took. A slow consumer that has nothing more
    /// queued has caught up and is a normal consumer again.
    pub fn written(&self) {
        let mut g = self.lock();
        g.writing_since = Stamp::NONE;
        if g.slow && g.packets.is_empty() {
            g.slow = false;
        }
    }

    /// Ready when the outbox was woken (something is queued or a close is requested) since
    /// the last time it was; registers the task's waker otherwise. One task polls it.
    pub fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        if self.signal.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Waits until something is queued or a close is requested.
    pub async fn ready(&self) {
        std::future::poll_fn(|cx| self.poll_ready(cx)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_after_now_is_not_old() {
        let limit = Duration::from_millis(250);
        assert!(!Stamp(1000).older_than(Stamp(990), limit), "later than now");
        assert!(!Stamp(1000).older_than(Stamp(1250), limit));
        assert!(Stamp(1000).older_than(Stamp(1251), limit));
        assert!(
            Stamp(u32::MAX - 100).older_than(Stamp(200), limit),
            "across the wrap"
        );
        assert!(
            !Stamp::NONE.older_than(Stamp(5000), limit),
            "none is never old"
        );
    }
}
