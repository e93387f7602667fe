//! Broker-wide flow control and the memory budget of slow consumers.
//!
//! A consumer *keeps up* while its socket writes complete: when its queue grows past a
//! high-water mark because the router outpaces the write loop, every connection pauses reading
//! new packets until that consumer has written its backlog, so publishers are slowed to the
//! pace of consumers that read, instead of their messages being dropped.
//!
//! A consumer whose write has been pending for [`SLOW_AFTER`] (its peer does not read, or reads
//! too slowly to take one batch in that time) is *slow*: it holds nobody back, its excess is
//! dropped by its own queue limits (as in mosquitto), and the QoS 0 bytes queued for all slow
//! consumers together are bounded by [`SLOW_BYTES_BUDGET`]. One stalled client can therefore
//! cost the others at most one [`SLOW_AFTER`] pause per episode, never their rate.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a congested consumer may make no progress before it stops holding others back.
pub const SLOW_AFTER: Duration = Duration::from_millis(250);

/// QoS 0 payload bytes that all slow consumers together may hold in their outboxes; beyond
/// it, new messages for slow consumers are dropped (each consumer is also held to its own
/// `max_queued_messages` / `max_queued_bytes`).
pub const SLOW_BYTES_BUDGET: usize = 128 * 1024 * 1024;

/// While paused, a connection still reads once per this interval, so pings and the
/// slow-consumer check keep working.
pub const PAUSE_SLICE: Duration = Duration::from_millis(10);

/// The count of congested consumers and a wake-up for paused readers.
///
/// Paused readers wait on one `Notify` without a timer of their own (a timer in every
/// connection task would cost memory for every idle client); [`Pressure::tick`] wakes them
/// every [`PAUSE_SLICE`] while any consumer is congested.
///
/// If nothing changes for [`SLOW_AFTER`] while consumers are congested (a consumer that never
/// acknowledges and publishers that went quiet, so nobody re-examines it), the pressure is
/// declared stalled and readers go on; the next change re-arms it.
///
/// Time comes from tokio's clock, so tests can pause it.
#[derive(Debug)]
pub struct Pressure {
    congested: AtomicUsize,
    notify: Notify,
    activated: Notify,
    /// When this `Pressure` was made: `last_change` counts from here.
    start: Instant,
    /// Milliseconds (since `start`) of the last raise or release.
    last_change: AtomicU64,
    stalled: AtomicBool,
    /// QoS 0 payload bytes queued for slow consumers (see [`SLOW_BYTES_BUDGET`]).
    slow_bytes: AtomicUsize,
}

impl Default for Pressure {
    fn default() -> Self {
        Self {
            congested: AtomicUsize::new(0),
            notify: Notify::new(),
            activated: Notify::new(),
            start: Instant::now(),
            last_change: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            slow_bytes: AtomicUsize::new(0),
        }
    }
}

impl Pressure {
    /// Milliseconds since `start`: a cheap clock for `last_change`.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// `now` as milliseconds since `start` in 32 bits (wrapping after 49 days), never 0: the
    /// outboxes' timestamps, of which only differences of a few hundred milliseconds count.
    #[must_use]
    pub fn stamp(&self, now: Instant) -> u32 {
        let ms = now.saturating_duration_since(self.start).as_millis();
        // Truncation is the wrap: only differences are taken.
        let ms = ms as u32;
        ms.max(1)
    }

    /// Counts `n` more bytes queued for slow consumers.
    pub fn add_slow_bytes(&self, n: usize) {
        self.slow_bytes.fetch_add(n, Ordering::AcqRel);
    }

    /// Counts `n` bytes fewer queued for slow consumers.
    pub fn sub_slow_bytes(&self, n: usize) {
        if n > 0 {
            self.slow_bytes.fetch_sub(n, Ordering::AcqRel);
        }
    }

    /// True if `n` more bytes for slow consumers stay within [`SLOW_BYTES_BUDGET`].
    #[must_use]
    pub fn slow_bytes_allow(&self, n: usize) -> bool {
        self.slow_bytes.load(Ordering::Acquire) + n <= SLOW_BYTES_BUDGET
    }

    /// QoS 0 payload bytes queued for slow consumers now.
    #[must_use]
    pub fn slow_bytes(&self) -> usize {
        self.slow_bytes.load(Ordering::Acquire)
    }

    /// True while at least one consumer is congested.
    #[must_use]
    pub fn active(&self) -> bool {
        self.congested.load(Ordering::Acquire) > 0 && !self.stalled.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.last_change.store(self.now_ms(), Ordering::Release);
        self.stalled.store(false, Ordering::Release);
        // The ticker may be asleep (nothing was active): wake it.
        self.activated.notify_one();
    }

    /// One more consumer is congested.
    pub fn raise(&self) {
        self.congested.fetch_add(1, Ordering::AcqRel);
        self.changed();
    }

    /// A consumer caught up (or was declared slow).
    pub fn release(&self) {
        let before = self.congested.fetch_sub(1, Ordering::AcqRel);
        self.changed();
        if before == 1 {
            self.notify.notify_waiters();
        }
    }

    /// Waits until no consumer is congested, or the next [`PAUSE_SLICE`] tick.
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !self.active() {
            return;
        }
        notified.await;
    }

    /// Wakes paused readers every [`PAUSE_SLICE`] while a consumer is congested; sleeps
    /// otherwise. Runs for the broker's lifetime.
    pub async fn tick(self: std::sync::Arc<Self>, shutdown: tokio_util::sync::CancellationToken) {
        loop {
            if !self.active() {
                tokio::select! {
                    () = self.activated.notified() => {}
                    () = shutdown.cancelled() => return,
                }
            }
            tokio::select! {
                () = tokio::time::sleep(PAUSE_SLICE) => {}
                () = shutdown.cancelled() => return,
            }
            let quiet = self
                .now_ms()
                .saturating_sub(self.last_change.load(Ordering::Acquire));
            if self.congested.load(Ordering::Acquire) > 0 && quiet > SLOW_AFTER.as_millis() as u64 {
                self.stalled.store(true, Ordering::Release);
            }
            self.notify.notify_waiters();
        }
    }
}

/// The default `incoming_packet_budget`: 64 MiB for all half-received packets larger than
/// [`BUDGET_FREE_PACKET`] together (32 packets of the default `max_packet_size` at once).
pub const DEFAULT_PACKET_BUDGET: usize = 64 * 1024 * 1024;

/// Packets up to this size (fixed header included) never take from the [`PacketBudget`]: the
/// read buffer holds them anyway, and ordinary traffic must not pay an atomic per packet.
pub const BUDGET_FREE_PACKET: usize = 64 * 1024;

/// A broker-wide bound on the bytes that half-received packets may hold together.
///
/// A connection that reads the fixed header of a packet larger than [`BUDGET_FREE_PACKET`]
/// takes the packet's whole declared size from the budget before it buffers the body, and
/// gives it back once the packet is decoded (or the connection ends). When the budget cannot
/// cover it, the connection stops reading that socket (the peer's bytes wait in the kernel,
/// and TCP flow control slows the peer) until another connection gives bytes back. A holder
/// never needs more than it took, so every holder can finish and waiting cannot deadlock. A
/// packet larger than the whole budget can never be read and closes its connection.
#[derive(Debug)]
pub struct PacketBudget {
    /// 0 = no bound.
    limit: usize,
    held: AtomicUsize,
    freed: Notify,
}

impl PacketBudget {
    /// A budget of `limit` bytes (0 = no bound).
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            held: AtomicUsize::new(0),
            freed: Notify::new(),
        }
    }

    /// True if a packet of `total` bytes must take from the budget before it is buffered.
    #[must_use]
    pub fn applies_to(&self, total: usize) -> bool {
        self.limit > 0 && total > BUDGET_FREE_PACKET
    }

    /// True if a packet of `total` bytes can ever be read within the budget.
    #[must_use]
    pub fn can_hold(&self, total: usize) -> bool {
        self.limit == 0 || total <= self.limit
    }

    /// Bytes taken by half-received packets now.
    #[must_use]
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    fn try_take(&self, n: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                (cur + n <= self.limit).then_some(cur + n)
            })
            .is_ok()
    }

    fn give_back(&self, n: usize) {
        if n > 0 {
            self.held.fetch_sub(n, Ordering::AcqRel);
            self.freed.notify_waiters();
        }
    }

    /// Waits until some connection gives bytes back, or for at most [`PAUSE_SLICE`] (a
    /// wake-up lost between a failed take and this wait costs one slice, never a hang).
    pub async fn wait_freed(&self) {
        let _ = tokio::time::timeout(PAUSE_SLICE, self.freed.notified()).await;
    }
}

/// One connection's share of a [`PacketBudget`]: at most one packet's bytes, given back when
/// the packet is decoded or the share is dropped (the connection ended).
#[derive(Debug)]
pub struct BudgetShare {
    budget: std::sync::Arc<PacketBudget>,
    bytes: usize,
    /// Bytes of the packet it holds that have not been read yet.
    left: usize,
}

impl BudgetShare {
    /// An empty share of `budget`.
    #[must_use]
    pub fn new(budget: std::sync::Arc<PacketBudget>) -> Self {
        Self {
            budget,
            bytes: 0,
            left: 0,
        }
    }

    /// Before a read into `buf`: a packet larger than [`BUDGET_FREE_PACKET`] whose fixed header
    /// is in `buf` takes its whole declared size from the budget before its body is read (and
    /// `buf` is sized for it once, not doubled as it fills). `Ok(false)` while the budget
    /// cannot cover it; `Err(size)` for a packet larger than the whole budget.
    pub fn admit(&mut self, buf: &mut bytes::BytesMut) -> Result<bool, usize> {
        if self.bytes > 0 {
            return Ok(true);
        }
        let Some(total) = declared_len(buf) else {
            return Ok(true);
        };
        if !self.budget.applies_to(total) || buf.len() >= total {
            return Ok(true);
        }
        if !self.budget.can_hold(total) {
            return Err(total);
        }
        if !self.take(total) {
            return Ok(false);
        }
        self.left = total - buf.len();
        buf.reserve(self.left);
        Ok(true)
    }

    /// `n` bytes were read after [`BudgetShare::admit`].
    pub fn read(&mut self, n: usize) {
        self.left = self.left.saturating_sub(n);
    }

    /// Everything complete in the buffer was decoded: if that includes the packet this share
    /// holds bytes for, they go back to the budget.
    pub fn decoded(&mut self) {
        if self.left == 0 {
            self.release();
        }
    }

    /// The budget this share draws on.
    #[must_use]
    pub fn budget(&self) -> &PacketBudget {
        &self.budget
    }

    /// Bytes this share holds.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Takes `n` bytes for one packet; false (nothing taken) if the budget cannot cover them now.
    pub fn take(&mut self, n: usize) -> bool {
        debug_assert_eq!(self.bytes, 0, "one packet at a time");
        if self.budget.try_take(n) {
            self.bytes += n;
            true
        } else {
            false
        }
    }

    /// Gives everything held back.
    pub fn release(&mut self) {
        self.left = 0;
        self.budget.give_back(std::mem::take(&mut self.bytes));
    }
}

/// The total size of the packet at the start of `buf` (fixed header included), once its
/// fixed header is complete; `None` before that or if the header is malformed (the decoder
/// reports that).
fn declared_len(buf: &[u8]) -> Option<usize> {
    let rest = buf.get(1..)?;
    let (remaining, len_bytes) = crate::protocol::reader::read_varint(rest).ok()??;
    Some(1 + len_bytes + remaining as usize)
}

impl Drop for BudgetShare {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_untouched_congestion_stalls_and_stops_pausing_readers() {
        let p = Arc::new(Pressure::default());
        let token = tokio_util::sync::CancellationToken::new();
        tokio::spawn(p.clone().tick(token.clone()));
        p.raise();
        assert!(p.active());
        // Nothing changes (a consumer that never acknowledges, publishers gone quiet).
        tokio::time::sleep(SLOW_AFTER + Duration::from_millis(750)).await;
        assert!(
            !p.active(),
            "a stalled congestion must not pause readers forever"
        );
        // Any change re-arms it.
        p.raise();
        assert!(p.active());
        p.release();
        p.release();
        assert!(!p.active());
        token.cancel();
    }

    #[test]
    fn a_packet_budget_is_shared_and_given_back() {
        let budget = Arc::new(PacketBudget::new(3 * BUDGET_FREE_PACKET));
        assert!(!budget.applies_to(BUDGET_FREE_PACKET));
        assert!(budget.applies_to(BUDGET_FREE_PACKET + 1));
        assert!(!budget.can_hold(3 * BUDGET_FREE_PACKET + 1));
        let mut a = BudgetShare::new(budget.clone());
        let mut b = BudgetShare::new(budget.clone());
        assert!(a.take(2 * BUDGET_FREE_PACKET));
        assert!(!b.take(2 * BUDGET_FREE_PACKET), "over the budget");
        assert_eq!(b.bytes(), 0);
        assert!(b.take(BUDGET_FREE_PACKET));
        assert_eq!(budget.held(), 3 * BUDGET_FREE_PACKET);
        a.release();
        assert_eq!(budget.held(), BUDGET_FREE_PACKET);
        drop(b);
        assert_eq!(budget.held(), 0);
        assert!(PacketBudget::new(0).can_hold(usize::MAX));
        assert!(!PacketBudget::new(0).applies_to(usize::MAX));
    }
}
