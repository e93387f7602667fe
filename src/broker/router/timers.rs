//! The router's timers: will delays and session expiry, in one min-heap on tokio's clock.
//!
//! A timer names a session slot and the session *generation* it was armed for. Slots are reused
//! and every connection gets a new generation from a broker-wide counter, so a timer armed for
//! an earlier connection, or for an earlier occupant of the slot, can never fire against the
//! current one: the handler compares generations and ignores stale timers. Timers are never
//! cancelled; stale ones are dropped when they come due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use tokio::time::Instant;

use super::subscriptions::SessionIdx;

/// What a timer does when it comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// Publish the session's will, if it is still offline (MQTT5 §3.1.3.2.2, Will Delay
    /// Interval).
    WillDelay {
        /// The session slot.
        session: SessionIdx,
        /// The session generation the timer was armed for.
        generation: u64,
    },
    /// End the session, if it is still offline [MQTT5-4.1.0-2].
    SessionExpiry {
        /// The session slot.
        session: SessionIdx,
        /// The session generation the timer was armed for.
        generation: u64,
    },
}

/// Pending timers, earliest first.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, Timer)>>,
}

impl Timers {
    /// Arms `timer` to fire at `at`.
    pub fn push(&mut self, at: Instant, timer: Timer) {
        self.heap.push(Reverse((at, timer)));
    }

    /// When the earliest timer comes due, if any is armed.
    #[must_use]
    pub fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// Takes the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        let Reverse((t, timer)) = *self.heap.peek()?;
        if t > now {
            return None;
        }
        self.heap.pop();
        Some(timer)
    }
}
