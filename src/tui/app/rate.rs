//! Arrival rates counted in whole seconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Messages per second, counted in whole seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rate {
    sec: u64,
    cur: u32,
    prev: u32,
}

impl Rate {
    /// Counts `n` events in second `sec`.
    pub fn add(&mut self, sec: u64, n: u32) {
        if sec == self.sec {
            self.cur = self.cur.saturating_add(n);
        } else if sec == self.sec + 1 {
            self.prev = self.cur;
            self.cur = n;
            self.sec = sec;
        } else if sec > self.sec {
            self.prev = 0;
            self.cur = n;
            self.sec = sec;
        } else if sec + 1 == self.sec {
            self.prev = self.prev.saturating_add(n);
        }
    }

    /// Events in the last complete second before `now`.
    #[must_use]
    pub fn per_sec(&self, now: u64) -> u32 {
        if now == self.sec {
            self.prev
        } else if now == self.sec + 1 {
            self.cur
        } else {
            0
        }
    }
}

/// Whole seconds since the Unix epoch (0 before it).
#[must_use]
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::Rate;

    #[test]
    fn rate_counts_the_last_complete_second() {
        // (events added as (second, n), asked at `now`, expected per second)
        type Adds = &'static [(u64, u32)];
        let cases: &[(Adds, u64, u32)] = &[
            (&[], 10, 0),
            (&[(10, 3)], 10, 0),
            (&[(10, 3)], 11, 3),
            (&[(10, 3)], 12, 0),
            (&[(10, 3), (11, 5)], 11, 3),
            (&[(10, 3), (11, 5)], 12, 5),
            (&[(10, 3), (13, 5)], 13, 0),
            (&[(11, 5), (10, 2)], 11, 2),
            (&[(10, 1), (10, 1), (10, 1)], 11, 3),
        ];
        for (adds, now, want) in cases {
            let mut r = Rate::default();
            for (sec, n) in *adds {
                r.add(*sec, *n);
            }
            assert_eq!(r.per_sec(*now), *want, "adds {adds:?} at {now}");
        }
    }
}
