//! The live progress line (stderr) and the final summaries (text or JSON on stdout).

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Counters;
use super::stats::LatencySummary;
use crate::protocol::{MqttVersion, QoS};

/// The result of `pub`, `sub`, `fanin` or `fanout`.
#[derive(Debug, Clone, Serialize)]
pub struct FlowSummary {
    /// `pub`, `sub`, `fanin` or `fanout`.
    pub scenario: &'static str,
    /// `host:port`.
    pub broker: String,
    /// MQTT version spoken.
    pub mqtt_version: MqttVersion,
    /// QoS of messages and subscriptions.
    pub qos: QoS,
    /// Number of publishers.
    pub publishers: usize,
    /// Number of subscribers.
    pub subscribers: usize,
    /// Payload size in bytes.
    pub payload_bytes: usize,
    /// The total rate asked for; `None` = as fast as possible.
    pub target_rate: Option<f64>,
    /// Seconds from the start to the last PUBLISH written (or the last message received for
    /// `sub`).
    pub duration_s: f64,
    /// PUBLISH packets written.
    pub sent: u64,
    /// PUBACKs received (QoS 1).
    pub acked: Option<u64>,
    /// `sent` per second of `duration_s`.
    pub send_rate: f64,
    /// Deliveries expected: `sent` times the number of subscribers.
    pub expected: Option<u64>,
    /// PUBLISH packets received over all subscribers.
    pub received: u64,
    /// Received messages seen for the first time.
    pub unique: u64,
    /// `expected - unique`.
    pub lost: Option<u64>,
    /// Received more than once.
    pub duplicates: u64,
    /// Received after a later message of the same publisher.
    pub out_of_order: u64,
    /// Received without a benchmark header.
    pub foreign: u64,
    /// Deliveries per second, from the start to the last message received.
    pub recv_rate: f64,
    /// End-to-end latency (payload stamp to subscriber).
    pub latency: Option<LatencySummary>,
    /// PUBLISH to PUBACK round trip at the publishers (QoS 1).
    pub puback_latency: Option<LatencySummary>,
    /// Client failures.
    pub errors: Vec<String>,
}

/// The result of `conn`.
#[derive(Debug, Clone, Serialize)]
pub struct ConnSummary {
    /// Always `conn`.
    pub scenario: &'static str,
    /// `host:port`.
    pub broker: String,
    /// MQTT version spoken.
    pub mqtt_version: MqttVersion,
    /// Connections asked for.
    pub clients: usize,
    /// Connections that got a successful CONNACK.
    pub connected: u64,
    /// Connections that failed.
    pub failed: u64,
    /// Seconds from the start until every connection was accepted (or failed).
    pub all_connected_s: f64,
    /// `connected / all_connected_s`.
    pub connect_rate: f64,
    /// Time from TCP connect to CONNACK, per connection.
    pub connect_latency: Option<LatencySummary>,
    /// How long the connections stayed idle.
    pub idle_s: f64,
    /// Connections closed by the server while idle.
    pub dropped_while_idle: u64,
    /// Distinct failure messages (at most ten).
    pub errors: Vec<String>,
}

/// Formats 1234567 as `1,234,567`.
#[must_use]
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats a rate: `812`, `41.2k`, `1.23M`.
#[must_use]
pub fn rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2}M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

fn ms(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} us")
    }
}

fn latency_line(label: &str, l: &LatencySummary) -> String {
    format!(
        "  {label:<12}p50 {}  p99 {}  p99.9 {}  max {}  ({} samples)\n",
        ms(l.p50_us),
        ms(l.p99_us),
        ms(l.p999_us),
        ms(l.max_us),
        group(l.samples)
    )
}

impl FlowSummary {
    /// The human-readable summary.
    #[must_use]
    pub fn text(&self) -> String {
        let mut s = String::new();
        let rate_note = self.target_rate.map_or_else(
            || "as fast as possible".to_owned(),
            |r| format!("{} msg/s", rate(r)),
        );
        let _ = writeln!(
            s,
            "{}: {} publisher(s) -> {} subscriber(s), QoS {}, {} B, MQTT {}, {}, {}",
            self.scenario,
            self.publishers,
            self.subscribers,
            u8::from(self.qos),
            self.payload_bytes,
            self.mqtt_version,
            rate_note,
            self.broker
        );
        if self.publishers > 0 {
            let _ = write!(
                s,
                "  sent        {} msgs in {:.2} s, {} msg/s",
                group(self.sent),
                self.duration_s,
                rate(self.send_rate)
            );
            if let Some(a) = self.acked {
                let _ = write!(s, ", {} PUBACKs", group(a));
            }
            s.push('\n');
        }
        if self.subscribers > 0 {
            let _ = writeln!(
                s,
                "  received    {} deliveries, {} msg/s",
                group(self.received),
                rate(self.recv_rate)
            );
            let lost = self.lost.map_or_else(|| "-".to_owned(), group);
            let _ = writeln!(
                s,
                "  lost {lost}  duplicates {}  out of order {}",
                group(self.duplicates),
                group(self.out_of_order)
            );
        }
        if let Some(l) = &self.latency {
            s.push_str(&latency_line("latency", l));
        }
        if let Some(l) = &self.puback_latency {
            s.push_str(&latency_line("PUBACK rtt", l));
        }
        for e in &self.errors {
            let _ = writeln!(s, "  error: {e}");
        }
        s
    }
}

impl ConnSummary {
    /// The human-readable summary.
    #[must_use]
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "conn: {} clients, MQTT {}, {}",
            group(self.clients as u64),
            self.mqtt_version,
            self.broker
        );
        let _ = writeln!(
            s,
            "  connected   {} in {:.3} s ({} conn/s), failed {}",
            group(self.connected),
            self.all_connected_s,
            rate(self.connect_rate),
            group(self.failed)
        );
        if let Some(l) = &self.connect_latency {
            s.push_str(&latency_line("CONNACK", l));
        }
        let _ = writeln!(
            s,
            "  idle        {:.1} s, dropped by the server {}",
            self.idle_s, self.dropped_while_idle
        );
        for e in &self.errors {
            let _ = writeln!(s, "  error: {e}");
        }
        s
    }
}

/// Prints a summary: JSON on one line, or text.
pub fn print<T: Serialize>(summary: &T, text: &str, json: bool) {
    let mut out = std::io::stdout().lock();
    if json {
        match serde_json::to_string(summary) {
            Ok(j) => {
                let _ = writeln!(out, "{j}");
            }
            Err(e) => eprintln!("Error: cannot serialise the summary: {e}"),
        }
    } else {
        let _ = out.write_all(text.as_bytes());
    }
    let _ = out.flush();
}

/// The live progress line, updated every second on stderr until stopped.
#[derive(Debug)]
pub struct Progress {
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the line for `label`, counting from `start`; `quiet` shows nothing.
    #[must_use]
    pub fn start(
        label: &'static str,
        counters: Arc<Counters>,
        start: Instant,
        quiet: bool,
    ) -> Self {
        let stop = CancellationToken::new();
        if quiet {
            return Self { stop, task: None };
        }
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let tty = std::io::stderr().is_terminal();
            let mut tick =
                tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
            let mut prev = [0u64; 3];
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = token.cancelled() => break,
                }
                let now = [
                    counters.sent.load(Ordering::Relaxed),
                    counters.acked.load(Ordering::Relaxed),
                    counters.received.load(Ordering::Relaxed),
                ];
                let connected = counters.connected.load(Ordering::Relaxed);
                let failed = counters.failed.load(Ordering::Relaxed);
                let mut line = format!("{label} {:>5.0}s", start.elapsed().as_secs_f64());
                for (i, name) in ["sent", "acked", "recv"].iter().enumerate() {
                    if now[i] > 0 {
                        let _ = write!(
                            line,
                            "  {name} {} ({}/s)",
                            group(now[i]),
                            rate((now[i] - prev[i]) as f64)
                        );
                    }
                }
                if connected + failed > 0 {
                    let _ = write!(
                        line,
                        "  connected {}  failed {}",
                        group(connected),
                        group(failed)
                    );
                }
                prev = now;
                let mut err = std::io::stderr().lock();
                let _ = if tty {
                    write!(err, "\r\x1b[K{line}")
                } else {
                    writeln!(err, "{line}")
                };
                let _ = err.flush();
            }
            if tty {
                let _ = writeln!(std::io::stderr());
            }
        });
        Self {
            stop,
            task: Some(task),
        }
    }

    /// Stops the line and waits for it to finish printing.
    pub async fn finish(mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(rate(812.3), "812");
        assert_eq!(rate(41_200.0), "41.2k");
        assert_eq!(rate(1_230_000.0), "1.23M");
    }
}
