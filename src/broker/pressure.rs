//! Broker-wide flow control. When a subscriber's queue grows past a high-water mark, every
//! connection pauses reading new packets until that subscriber's connection has written its
//! backlog: publishers are slowed to the pace of their consumers instead of having their
//! messages dropped. A consumer that makes no progress for [`SLOW_AFTER`] stops counting
//! (it is "slow"), so one stalled client can never stall the broker; its excess is then
//! dropped by the queue limits, as in mosquitto.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// How long a congested consumer may make no progress before it stops holding others back.
pub const SLOW_AFTER: Duration = Duration::from_millis(250);

/// While paused, a connection still reads once per this interval, so pings and the
/// slow-consumer check keep working.
pub const PAUSE_SLICE: Duration = Duration::from_millis(10);

/// The count of congested consumers and a wake-up for paused readers.
///
/// Paused readers wait on one `Notify` without a timer of their own (a timer in every
/// connection task would cost memory for every idle client); [`Pressure::tick`] wakes them
/// every [`PAUSE_SLICE`] while any consumer is congested.
#[derive(Debug, Default)]
pub struct Pressure {
    congested: AtomicUsize,
    notify: Notify,
    activated: Notify,
}

impl Pressure {
    /// True while at least one consumer is congested.
    #[must_use]
    pub fn active(&self) -> bool {
        self.congested.load(Ordering::Acquire) > 0
    }

    /// One more consumer is congested.
    pub fn raise(&self) {
        if self.congested.fetch_add(1, Ordering::AcqRel) == 0 {
            self.activated.notify_one();
        }
    }

    /// A consumer caught up (or was declared slow).
    pub fn release(&self) {
        if self.congested.fetch_sub(1, Ordering::AcqRel) == 1 {
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
                () = tokio::time::sleep(PAUSE_SLICE) => self.notify.notify_waiters(),
                () = shutdown.cancelled() => return,
            }
        }
    }
}
