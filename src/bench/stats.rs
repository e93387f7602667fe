//! Latency histograms and per-publisher sequence tracking (loss, duplicates, order).

use hdrhistogram::Histogram;
use serde::Serialize;

/// The largest latency recorded exactly: one minute. Longer ones are clamped to it.
const MAX_NS: u64 = 60_000_000_000;

/// An HDR latency histogram in nanoseconds, three significant digits.
#[derive(Debug, Clone)]
pub struct Latency {
    hist: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// An empty histogram.
    #[must_use]
    pub fn new() -> Self {
        // Constant, valid bounds: this cannot fail.
        let hist = Histogram::new_with_bounds(1, MAX_NS, 3).expect("valid histogram bounds");
        Self { hist }
    }

    /// Records one latency.
    pub fn record(&mut self, ns: u64) {
        let _ = self.hist.record(ns.clamp(1, MAX_NS));
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &Self) {
        let _ = self.hist.add(&other.hist);
    }

    /// Number of samples.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// True when nothing was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The value at a quantile (0.0 to 1.0), in ns.
    #[must_use]
    pub fn quantile(&self, q: f64) -> u64 {
        self.hist.value_at_quantile(q)
    }

    /// The percentiles a summary shows, in microseconds.
    #[must_use]
    pub fn summary(&self) -> Option<LatencySummary> {
        if self.hist.is_empty() {
            return None;
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        Some(LatencySummary {
            samples: self.hist.len(),
            mean_us: self.hist.mean() / 1000.0,
            p50_us: us(self.hist.value_at_quantile(0.50)),
            p99_us: us(self.hist.value_at_quantile(0.99)),
            p999_us: us(self.hist.value_at_quantile(0.999)),
            max_us: us(self.hist.max()),
        })
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// How many messages were timed.
    pub samples: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest.
    pub max_us: f64,
}

/// What one publisher's messages looked like at one subscriber.
#[derive(Debug, Default, Clone)]
struct PublisherTrack {
    /// One bit per sequence number seen.
    seen: Vec<u64>,
    /// The highest sequence number seen plus one (0 = none yet).
    next: u64,
}

/// Counts unique, duplicate and out-of-order messages per publisher, from the sequence
/// numbers in the payload headers.
#[derive(Debug, Default, Clone)]
pub struct SeqTracker {
    publishers: Vec<PublisherTrack>,
    /// Messages seen for the first time.
    pub unique: u64,
    /// Messages seen again.
    pub duplicates: u64,
    /// Messages that arrived after a later one from the same publisher.
    pub out_of_order: u64,
    /// Messages whose header names a publisher index too large to track.
    pub untracked: u64,
}

/// Publisher indexes beyond this are not tracked (a foreign payload, or a huge run).
const MAX_PUBLISHERS: u32 = 100_000;

impl SeqTracker {
    /// Records one message.
    pub fn observe(&mut self, publisher: u32, seq: u32) {
        if publisher >= MAX_PUBLISHERS {
            self.untracked += 1;
            return;
        }
        let p = publisher as usize;
        if self.publishers.len() <= p {
            self.publishers.resize_with(p + 1, PublisherTrack::default);
        }
        let t = &mut self.publishers[p];
        let word = (seq / 64) as usize;
        let bit = 1u64 << (seq % 64);
        if t.seen.len() <= word {
            t.seen.resize((word + 1).max(t.seen.len() * 2), 0);
        }
        if t.seen[word] & bit != 0 {
            self.duplicates += 1;
            return;
        }
        t.seen[word] |= bit;
        self.unique += 1;
        if u64::from(seq) < t.next {
            self.out_of_order += 1;
        } else {
            t.next = u64::from(seq) + 1;
        }
    }

    /// Adds another tracker's counts (trackers of different subscribers).
    pub fn add_counts(&mut self, other: &Self) {
        self.unique += other.unique;
        self.duplicates += other.duplicates;
        self.out_of_order += other.out_of_order;
        self.untracked += other.untracked;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_counts_duplicates_and_reordering() {
        let mut t = SeqTracker::default();
        for s in [0, 1, 3, 2, 3, 4] {
            t.observe(5, s);
        }
        t.observe(0, 0);
        assert_eq!(t.unique, 6);
        assert_eq!(t.duplicates, 1);
        assert_eq!(t.out_of_order, 1);
        t.observe(MAX_PUBLISHERS, 0);
        assert_eq!(t.untracked, 1);
    }

    #[test]
    fn latency_percentiles() {
        let mut l = Latency::new();
        assert!(l.summary().is_none());
        for us in 1..=1000u64 {
            l.record(us * 1000);
        }
        let s = l.summary().unwrap();
        assert_eq!(s.samples, 1000);
        assert!((s.p50_us - 500.0).abs() < 1.0, "{s:?}");
        assert!((s.p99_us - 990.0).abs() < 1.0, "{s:?}");
        assert!((s.max_us - 1000.0).abs() < 1.0, "{s:?}");
    }
}
