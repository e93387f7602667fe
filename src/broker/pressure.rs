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
#[derive(Debug, Default)]
pub struct Pressure {
    congested: AtomicUsize,
    notify: Notify,
}

impl Pressure {
    /// True while at least one consumer is congested.
    #[must_use]
    pub fn active(&self) -> bool {
        self.congested.load(Ordering::Acquire) > 0
    }

    /// One more consumer is congested.
    pub fn raise(&self) {
        self.congested.fetch_add(1, Ordering::AcqRel);
    }

    /// A consumer caught up (or was declared slow).
    pub fn release(&self) {
        if self.congested.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.notify.notify_waiters();
        }
    }

    /// Waits until no consumer is congested, or [`PAUSE_SLICE`] at most.
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !self.active() {
            return;
        }
        let _ = tokio::time::timeout(PAUSE_SLICE, notified).await;
    }
}
