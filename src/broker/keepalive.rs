//! Keep-alive for every connection on one broker-wide task, instead of a timer in each
//! connection task (a `Sleep` costs every idle connection over 100 bytes; see
//! docs/benchmarks.md, issue 10).
//!
//! A connection registers its [`Outbox`] once the CONNECT is accepted; every read stores the
//! time in it ([`Outbox::heard`]). The sweeper sleeps until the earliest keep-alive deadline
//! of all registered connections, looks at each one then, and closes those silent for one and
//! a half Keep Alive periods [MQTT311-3.1.2-24] [MQTT5-3.1.2-22] through their outbox
//! ([`CloseReason::KeepAlive`]); their tasks send the MQTT 5 DISCONNECT (0x8D) and log the
//! timeout. Keep Alive 0 means never. Clients that ping in time move their deadline on, so
//! the sweeper wakes about once per shortest Keep Alive, not once per connection.
//!
//! At shutdown it closes every registered outbox ([`CloseReason::ShuttingDown`]), so a
//! connection ends even if the router is gone.
//!
//! Time comes from tokio's clock, so tests can pause it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::outbox::{CloseReason, Outbox};

/// The registered connections and the sweeper's wake-up.
#[derive(Debug)]
pub struct KeepAlives {
    /// The clock's origin: times are milliseconds since then.
    start: Instant,
    registry: Mutex<Registry>,
    /// Wakes the sweeper for a deadline earlier than the one it sleeps until.
    earlier: Notify,
}

#[derive(Debug)]
struct Registry {
    /// Every registered outbox; entries whose outbox is gone are pruned on the way.
    outboxes: Vec<Weak<Outbox>>,
    /// How many entries were alive at the last prune (registering prunes at twice that).
    alive: usize,
    /// The deadline the sweeper sleeps until (`u64::MAX`: none).
    next: u64,
}

impl Default for KeepAlives {
    fn default() -> Self {
        Self::new()
    }
}

impl KeepAlives {
    /// No connections yet; the clock starts now.
    #[must_use]
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            registry: Mutex::new(Registry {
                outboxes: Vec::new(),
                alive: 0,
                next: u64::MAX,
            }),
            earlier: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Milliseconds since the start, rounded up: what a read stores ([`Outbox::heard`]), so
    /// that a deadline is never earlier than one and a half Keep Alives after the packet.
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        let d = self.start.elapsed();
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if d.subsec_nanos().is_multiple_of(1_000_000) {
            ms
        } else {
            ms.saturating_add(1)
        }
    }

    /// Milliseconds since the start, rounded down: what deadlines are checked against.
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Starts watching a connection whose CONNECT was accepted: its keep-alive counts from
    /// now. Outboxes without a Keep Alive are registered too (closed at shutdown).
    pub fn register(&self, outbox: &Arc<Outbox>) {
        outbox.heard(self.now_ms());
        let mut g = self.lock();
        if g.outboxes.len() >= 2 * g.alive + 64 {
            g.outboxes.retain(|w| w.strong_count() > 0);
            g.alive = g.outboxes.len();
        }
        g.outboxes.push(Arc::downgrade(outbox));
        if let Some(deadline) = outbox.keep_alive_deadline()
            && deadline < g.next
        {
            g.next = deadline;
            drop(g);
            self.earlier.notify_one();
        }
    }

    /// How many registered connections are still open.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock()
            .outboxes
            .iter()
            .filter(|w| w.strong_count() > 0)
            .count()
    }

    /// True when no registered connection is open.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes every connection whose keep-alive ran out by `now` (milliseconds), forgets the
    /// ones that are gone, and returns the earliest deadline left (`u64::MAX`: none).
    fn sweep(&self, now: u64) -> u64 {
        let mut g = self.lock();
        let mut next = u64::MAX;
        g.outboxes.retain(|w| {
            let Some(outbox) = w.upgrade() else {
                return false;
            };
            match outbox.keep_alive_deadline() {
                Some(deadline) if deadline <= now => {
                    outbox.close(CloseReason::KeepAlive);
                    false
                }
                Some(deadline) => {
                    next = next.min(deadline);
                    true
                }
                None => true,
            }
        });
        g.alive = g.outboxes.len();
        g.next = next;
        next
    }

    /// The sweeper: runs until `shutdown`, then closes every registered connection.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            let next = self.sweep(self.elapsed_ms());
            let at = (next != u64::MAX).then(|| self.start + Duration::from_millis(next));
            tokio::select! {
                () = sleep_until_opt(at) => {}
                () = self.earlier.notified() => {}
                () = shutdown.cancelled() => break,
            }
        }
        let outboxes = std::mem::take(&mut self.lock().outboxes);
        for outbox in outboxes.iter().filter_map(Weak::upgrade) {
            outbox.close(CloseReason::ShuttingDown);
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_is_closed_after_one_and_a_half_keep_alives() {
        let ka = Arc::new(KeepAlives::new());
        let token = CancellationToken::new();
        tokio::spawn(ka.clone().run(token.clone()));
        let quiet = Arc::new(Outbox::default().with_keep_alive(2));
        let chatty = Arc::new(Outbox::default().with_keep_alive(2));
        let never = Arc::new(Outbox::default());
        for o in [&quiet, &chatty, &never] {
            ka.register(o);
        }
        let mut into = Vec::new();
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(700)).await;
            chatty.heard(ka.now_ms());
        }
        // 3.5 s: the quiet one was closed at 3 s, the chatty one heard from every 0.7 s.
        assert_eq!(quiet.take(&mut into), Some(CloseReason::KeepAlive));
        assert_eq!(chatty.take(&mut into), None);
        assert_eq!(never.take(&mut into), None);
        tokio::time::sleep(Duration::from_millis(2999)).await;
        assert_eq!(chatty.take(&mut into), None, "not before 3 s of silence");
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert_eq!(chatty.take(&mut into), Some(CloseReason::KeepAlive));
        tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
        assert_eq!(never.take(&mut into), None, "Keep Alive 0: never");
        token.cancel();
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(never.take(&mut into), Some(CloseReason::ShuttingDown));
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_wakes_the_sweeper() {
        let ka = Arc::new(KeepAlives::new());
        let token = CancellationToken::new();
        tokio::spawn(ka.clone().run(token.clone()));
        let slow = Arc::new(Outbox::default().with_keep_alive(100));
        ka.register(&slow);
        tokio::time::sleep(Duration::from_millis(10)).await;
        // The sweeper sleeps until 150 s; a 1 s Keep Alive must not wait for that.
        let fast = Arc::new(Outbox::default().with_keep_alive(1));
        ka.register(&fast);
        tokio::time::sleep(Duration::from_millis(1600)).await;
        let mut into = Vec::new();
        assert_eq!(fast.take(&mut into), Some(CloseReason::KeepAlive));
        assert_eq!(slow.take(&mut into), None);
        token.cancel();
    }

    #[test]
    fn outboxes_that_are_gone_are_pruned() {
        let ka = KeepAlives::new();
        let kept = Arc::new(Outbox::default());
        ka.register(&kept);
        for _ in 0..1000 {
            ka.register(&Arc::new(Outbox::default()));
        }
        assert_eq!(ka.len(), 1);
        assert!(
            ka.lock().outboxes.len() <= 67,
            "dead entries are pruned as new ones come"
        );
    }
}
