//! The embedded broker's status: its address and its live counters, the one source of the
//! status bar's clients and rates.

use crate::broker::sys::LiveStats;

/// What the status bar knows of the embedded broker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerStatus {
    addr: Option<String>,
    stats: Option<LiveStats>,
    rates: Option<(u64, u64)>,
}

impl BrokerStatus {
    /// The status of the broker at `addr` (`None`: no embedded broker).
    #[must_use]
    pub fn new(addr: Option<String>) -> Self {
        Self {
            addr,
            stats: None,
            rates: None,
        }
    }

    /// The embedded broker's address, if it runs.
    #[must_use]
    pub fn addr(&self) -> Option<&str> {
        self.addr.as_deref()
    }

    /// The latest counters.
    #[must_use]
    pub fn stats(&self) -> Option<&LiveStats> {
        self.stats.as_ref()
    }

    /// PUBLISH in and out during the last second (known after two samples).
    #[must_use]
    pub fn rates(&self) -> Option<(u64, u64)> {
        self.rates
    }

    /// Connected clients (0 before the first sample).
    #[must_use]
    pub fn clients(&self) -> u64 {
        self.stats.map_or(0, |s| s.clients_connected)
    }

    /// A new sample of the counters, taken once a second.
    pub fn sample(&mut self, stats: LiveStats) {
        if let Some(prev) = self.stats {
            self.rates = Some((
                stats.publish_received.saturating_sub(prev.publish_received),
                stats.publish_sent.saturating_sub(prev.publish_sent),
            ));
        }
        self.stats = Some(stats);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_the_difference_of_two_samples() {
        // (received, sent) samples → rates after the last one
        type Samples = &'static [(u64, u64)];
        let cases: &[(Samples, Option<(u64, u64)>)] = &[
            (&[], None),
            (&[(100, 250)], None),
            (&[(100, 250), (160, 400)], Some((60, 150))),
            (&[(100, 250), (160, 400), (160, 400)], Some((0, 0))),
            // A restarted counter never gives a negative rate.
            (&[(100, 250), (10, 20)], Some((0, 0))),
        ];
        for (samples, want) in cases {
            let mut b = BrokerStatus::new(Some("127.0.0.1:1883".into()));
            for (r, s) in *samples {
                b.sample(LiveStats {
                    publish_received: *r,
                    publish_sent: *s,
                    ..LiveStats::default()
                });
            }
            assert_eq!(b.rates(), *want, "{samples:?}");
        }
    }
}
