//! Gives memory freed after a load back to the operating system.
//!
//! glibc's allocator keeps what a program frees in its arenas for reuse, and returns pages to
//! the system only from the very top of a heap. After a burst (stalled subscribers' queues
//! filled to their limits, then those clients gone) the freed chunks sit between live ones
//! and stay resident: measured with `benches/chaos.sh`, RSS went from 8.6 MB to 26 MB and
//! stayed there 30 s after a 120 s soak, while one `malloc_trim(0)` brought it back to 9.2 MB.
//!
//! So the broker trims when traffic falls quiet after a busy spell, and again every
//! [`IDLE_TRIM_TICKS`] quiet intervals: memory is also freed while traffic is low (a stalled
//! subscriber's full queue goes when it disconnects, which moves no bytes). Trimming walks and
//! locks every arena, which is why it only runs in quiet intervals, never in the middle of a
//! load, and on a blocking thread, off the async workers.
//! Elsewhere than glibc it does nothing: other allocators return memory themselves.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::sys::Stats;

/// How often traffic is looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Bytes read and written in one [`CHECK_EVERY`] interval below which the broker counts as
/// quiet.
pub const QUIET_BYTES: u64 = 64 * 1024;

/// Quiet intervals between two trims while the broker stays quiet (20 s).
pub const IDLE_TRIM_TICKS: u32 = 4;

/// Decides when to trim: at the first quiet interval after a busy spell, then every
/// [`IDLE_TRIM_TICKS`] quiet intervals; never in a busy one.
#[derive(Debug, Default)]
pub struct TrimPolicy {
    last_total: u64,
    busy: bool,
    quiet_ticks: u32,
}

impl TrimPolicy {
    /// A policy that counts from `total` bytes already moved (a fresh broker has moved none).
    #[must_use]
    pub fn new(total: u64) -> Self {
        Self {
            last_total: total,
            busy: false,
            quiet_ticks: 0,
        }
    }

    /// Called every [`CHECK_EVERY`] with the bytes read and written so far; true when the
    /// allocator should be trimmed now.
    pub fn tick(&mut self, total: u64) -> bool {
        let moved = total.saturating_sub(self.last_total);
        self.last_total = total;
        if moved >= QUIET_BYTES {
            self.busy = true;
            self.quiet_ticks = 0;
            return false;
        }
        self.quiet_ticks += 1;
        if std::mem::take(&mut self.busy) || self.quiet_ticks >= IDLE_TRIM_TICKS {
            self.quiet_ticks = 0;
            return true;
        }
        false
    }
}

/// Runs until `shutdown`: trims the allocator when traffic falls quiet after a busy spell.
pub async fn run(stats: Arc<Stats>, shutdown: CancellationToken) {
    let total = |s: &Stats| s.bytes_received().saturating_add(s.bytes_sent());
    let mut policy = TrimPolicy::new(total(&stats));
    let mut every = tokio::time::interval(CHECK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = every.tick() => {
                if policy.tick(total(&stats)) {
                    // A failed join only means the runtime is shutting down.
                    let _ = tokio::task::spawn_blocking(release_freed_memory).await;
                }
            }
            () = shutdown.cancelled() => return,
        }
    }
}

/// Asks glibc to return the free pages of every arena to the system (`malloc_trim(0)`);
/// true if it gave anything back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_freed_memory() -> bool {
    // SAFETY: malloc_trim takes no pointers and touches only glibc's own free lists, under
    // the arena locks every other allocator call also takes.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Other allocators (musl, macOS, Windows) return memory themselves: nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
#[must_use]
pub fn release_freed_memory() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_broker_is_trimmed_every_few_intervals() {
        let mut p = TrimPolicy::new(0);
        let trims: Vec<bool> = (1..=8).map(|i| p.tick(i * 100)).collect();
        assert_eq!(
            trims,
            [false, false, false, true, false, false, false, true],
            "every {IDLE_TRIM_TICKS} quiet intervals"
        );
    }

    #[test]
    fn trims_once_at_the_first_quiet_interval_after_a_busy_spell() {
        let mut p = TrimPolicy::new(0);
        let mut total = 0;
        for _ in 0..3 {
            total += 10 * QUIET_BYTES;
            assert!(!p.tick(total), "busy: no trim in the middle of a load");
        }
        total += 10;
        assert!(p.tick(total), "the first quiet interval trims");
        assert!(!p.tick(total), "not the next one");
        total += QUIET_BYTES;
        assert!(!p.tick(total), "busy again");
        assert!(p.tick(total), "a new busy spell earns a new trim");
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn releasing_freed_memory_gives_pages_back() {
        // Many mid-sized blocks, every other one kept: the freed ones lie between live
        // chunks, below the heap's top, where glibc never returns them by itself.
        let blocks: Vec<Vec<u8>> = (0..4096)
            .map(|i| vec![u8::try_from(i % 251).unwrap_or(0); 8192])
            .collect();
        let kept: Vec<Vec<u8>> = blocks.into_iter().step_by(2).collect();
        assert!(
            release_freed_memory(),
            "about 16 MB freed between live blocks: something must come back"
        );
        assert_eq!(kept.len(), 2048);
        assert!(kept.iter().all(|b| b.len() == 8192));
    }
}
