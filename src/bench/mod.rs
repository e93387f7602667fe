//! `mqtt-workbench bench`: a load generator and meter for any MQTT broker, in the spirit of
//! emqtt-bench and `mqttx bench`.
//!
//! The generator must be faster than the broker it measures, so it speaks MQTT itself over raw
//! tokio sockets: publishers write many PUBLISH packets per `write`, subscribers parse whole
//! read buffers in place and acknowledge QoS 1 in batches. Every payload starts with a 16-byte
//! header (send time in ns since the Unix epoch, publisher index, sequence number), so any
//! subscriber, in this process or another, measures end-to-end latency and counts lost,
//! duplicated and reordered messages per publisher.
//!
//! # Layout
//!
//! * [`wire`]: the client side of the MQTT wire format (3.1.1 and 5).
//! * [`client`]: CONNECT/CONNACK and SUBSCRIBE/SUBACK handshakes.
//! * [`publisher`], [`subscriber`]: the two message tasks.
//! * [`flow`]: the `pub`, `sub`, `fanin` and `fanout` scenarios, which combine them.
//! * [`conn`]: the `conn` scenario: many idle connections.
//! * [`stats`]: HDR latency histograms and sequence tracking.
//! * [`report`]: the live progress line and the final summaries (text or JSON).

pub mod client;
pub mod conn;
pub mod flow;
pub mod publisher;
pub mod report;
pub mod stats;
pub mod subscriber;
pub mod wire;

use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};

use crate::protocol::{MqttVersion, QoS};

/// Options of `mqtt-workbench bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The scenario.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The benchmark scenarios.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Publish from N clients, as fast as possible or at a total rate (QoS 1: PUBACK round trips).
    #[command(disable_help_flag = true)]
    Pub(PubArgs),
    /// Subscribe with N clients and measure rate and latency of stamped messages from `bench pub`.
    #[command(disable_help_flag = true)]
    Sub(SubArgs),
    /// Open N connections, report the time until all are connected, then stay idle.
    #[command(disable_help_flag = true)]
    Conn(ConnArgs),
    /// N publishers -> 1 subscriber, measured end to end (throughput, latency, loss).
    #[command(disable_help_flag = true)]
    Fanin(FlowArgs),
    /// 1 publisher -> N subscribers, measured end to end (deliveries/s, latency, loss).
    #[command(disable_help_flag = true)]
    Fanout(FlowArgs),
}

/// Where to connect and how to report; shared by every scenario.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Broker host.
    #[arg(short = 'h', long, default_value = "127.0.0.1")]
    pub host: String,
    /// Broker port.
    #[arg(short = 'p', long, default_value_t = 1883)]
    pub port: u16,
    /// MQTT version: 3.1.1 or 5.
    #[arg(short = 'V', long = "protocol-version", default_value = "3.1.1",
          value_parser = wire::parse_version)]
    pub version: MqttVersion,
    /// Keep alive in seconds (0 = off); idle clients send PINGREQ after half of it.
    #[arg(short = 'k', long, default_value_t = 60)]
    pub keep_alive: u16,
    /// Print the final summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// No live progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// Message options shared by the scenarios that publish.
#[derive(Debug, Clone, Args)]
pub struct MessageArgs {
    /// QoS of the messages and subscriptions (0 or 1).
    #[arg(short = 'q', long, default_value = "0", value_parser = parse_qos)]
    pub qos: QoS,
    /// Payload size in bytes (at least 16: the timing header).
    #[arg(short = 's', long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(16..=268_435_000))]
    pub size: u64,
    /// Total messages per second over all publishers; without it, as fast as possible.
    #[arg(long)]
    pub rate: Option<f64>,
    /// How long to publish: `10`, `10s`, `500ms`, `2m` (default 10 s, or unlimited with --count).
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Messages per publisher, then stop.
    #[arg(short = 'n', long)]
    pub count: Option<u64>,
    /// QoS 1 messages in flight per publisher (also capped by the broker's Receive Maximum).
    #[arg(long, default_value_t = 100)]
    pub inflight: usize,
    /// How long to wait for late PUBACKs and deliveries after the last PUBLISH.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub drain: Duration,
}

/// `bench pub`.
#[derive(Debug, Clone, Args)]
pub struct PubArgs {
    /// Connection and output.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Number of publishers.
    #[arg(short = 'c', long, default_value_t = 1)]
    pub clients: usize,
    /// Topic; `%i` is replaced by the publisher index.
    #[arg(short = 't', long, default_value = "bench/%i")]
    pub topic: String,
    /// Messages.
    #[command(flatten)]
    pub msg: MessageArgs,
}

/// `bench sub`.
#[derive(Debug, Clone, Args)]
pub struct SubArgs {
    /// Connection and output.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Number of subscribers.
    #[arg(short = 'c', long, default_value_t = 1)]
    pub clients: usize,
    /// Topic filter; `%i` is replaced by the subscriber index.
    #[arg(short = 't', long, default_value = "bench/#")]
    pub topic: String,
    /// Subscription QoS (0 or 1).
    #[arg(short = 'q', long, default_value = "0", value_parser = parse_qos)]
    pub qos: QoS,
    /// How long to listen (default 10 s, or unlimited with --count).
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after each subscriber received this many messages.
    #[arg(short = 'n', long)]
    pub count: Option<u64>,
}

/// `bench conn`.
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Connection and output.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Number of connections.
    #[arg(short = 'c', long, default_value_t = 1000)]
    pub clients: usize,
    /// How long to stay connected and idle once all are connected.
    #[arg(short = 'd', long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Connection attempts in progress at once. More than the broker's listen backlog
    /// (mosquitto: 100) makes the kernel drop SYNs, and the retries add whole seconds.
    #[arg(long, default_value_t = 100)]
    pub concurrency: usize,
    /// New connections per second; without it, as fast as possible.
    #[arg(long)]
    pub rate: Option<f64>,
}

/// `bench fanin` and `bench fanout`.
#[derive(Debug, Clone, Args)]
pub struct FlowArgs {
    /// Connection and output.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Publishers (fanin) or subscribers (fanout); the other side is one client.
    #[arg(short = 'c', long, default_value_t = 10)]
    pub clients: usize,
    /// Topic the publishers use; `%i` is replaced by the publisher index.
    #[arg(short = 't', long, default_value = "bench/%i")]
    pub topic: String,
    /// Filter the subscribers use; it must match every publisher's topic.
    #[arg(short = 'f', long, default_value = "bench/#")]
    pub filter: String,
    /// Messages.
    #[command(flatten)]
    pub msg: MessageArgs,
}

/// Live counters, read by the progress line.
#[derive(Debug, Default)]
pub struct Counters {
    /// PUBLISH packets written.
    pub sent: AtomicU64,
    /// PUBACKs read by publishers.
    pub acked: AtomicU64,
    /// PUBLISH packets read by subscribers.
    pub received: AtomicU64,
    /// Connections established (`conn`).
    pub connected: AtomicU64,
    /// Connections that failed (`conn`).
    pub failed: AtomicU64,
}

/// Nanoseconds since the Unix epoch: the clock in payload stamps, shared by processes on one
/// machine.
#[must_use]
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Parses `10`, `10s`, `1.5s`, `500ms`, `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (try 10s, 500ms, 2m)"))?;
    let secs = match unit {
        "ms" => v / 1000.0,
        "s" => v,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        _ => return Err(format!("'{s}' has an unknown unit (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("'{s}': {e}"))
}

/// Raises the open-file limit to the hard limit, so thousands of sockets fit.
fn raise_fd_limit() {
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("Warning: cannot raise the open file limit: {e}");
    }
}

/// Runs a benchmark and returns the exit code: failure if a client failed or a QoS 1 message
/// was lost.
pub async fn run(args: BenchArgs) -> ExitCode {
    raise_fd_limit();
    match args.command {
        BenchCommand::Pub(a) => flow::run(flow::FlowSpec::publish(a)).await,
        BenchCommand::Sub(a) => flow::run(flow::FlowSpec::subscribe(a)).await,
        BenchCommand::Fanin(a) => flow::run(flow::FlowSpec::fan_in(a)).await,
        BenchCommand::Fanout(a) => flow::run(flow::FlowSpec::fan_out(a)).await,
        BenchCommand::Conn(a) => conn::run(a).await,
    }
}

/// Parses `-q`: the benchmark speaks QoS 0 and 1 only. Worded like clap's range check.
fn parse_qos(s: &str) -> Result<QoS, String> {
    match s.parse::<u8>().map_err(|e| e.to_string())? {
        0 => Ok(QoS::AtMostOnce),
        1 => Ok(QoS::AtLeastOnce),
        n => Err(format!("{n} is not in 0..=1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("x").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("-1").is_err());
    }
}
