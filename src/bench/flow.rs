//! The message scenarios: `pub` (publishers only), `sub` (subscribers only), `fanin`
//! (N publishers -> 1 subscriber) and `fanout` (1 publisher -> N subscribers).
//!
//! A combined run connects every subscriber and publisher first, starts all publishers at one
//! instant, and ends when each subscriber has received every message sent (or nothing more
//! arrives for a while), so connection set-up never counts as throughput and the summary can
//! state exactly how many messages were lost.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::future::join_all;
use tokio::time::Instant;

use super::client::expand;
use super::publisher::{PubPlan, Publisher};
use super::report::{FlowSummary, Progress, print};
use super::stats::{Latency, SeqTracker};
use super::subscriber::{StopRule, Subscriber};
use super::{Counters, FlowArgs, MessageArgs, PubArgs, SubArgs, TargetArgs};
use crate::protocol::QoS;

/// The default publishing time when neither a duration nor a count is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// A limit for runs bounded by a count only.
const UNBOUNDED: Duration = Duration::from_secs(24 * 3600);

/// Once publishers are done, subscribers stop after this long without a message.
const IDLE_AFTER_DONE: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone)]
pub struct FlowSpec {
    /// Scenario name in the summary.
    pub scenario: &'static str,
    /// Connection and output.
    pub target: TargetArgs,
    /// Number of publishers.
    pub publishers: usize,
    /// Number of subscribers.
    pub subscribers: usize,
    /// Publisher topic pattern (`%i`).
    pub topic: String,
    /// Subscriber filter pattern (`%i`).
    pub filter: String,
    /// Messages.
    pub msg: MessageArgs,
    /// For `sub`: stop after this many messages per subscriber.
    pub sub_count: Option<u64>,
}

impl FlowSpec {
    /// `bench pub`.
    #[must_use]
    pub fn publish(a: PubArgs) -> Self {
        Self {
            scenario: "pub",
            target: a.target,
            publishers: a.clients,
            subscribers: 0,
            topic: a.topic,
            filter: String::new(),
            msg: a.msg,
            sub_count: None,
        }
    }

    /// `bench sub`.
    #[must_use]
    pub fn subscribe(a: SubArgs) -> Self {
        Self {
            scenario: "sub",
            target: a.target,
            publishers: 0,
            subscribers: a.clients,
            topic: String::new(),
            filter: a.topic,
            msg: MessageArgs {
                qos: a.qos,
                size: 16,
                rate: None,
                duration: a.duration,
                count: None,
                inflight: 1,
                drain: Duration::ZERO,
            },
            sub_count: a.count,
        }
    }

    /// `bench fanin`: `-c` publishers, one subscriber.
    #[must_use]
    pub fn fan_in(a: FlowArgs) -> Self {
        Self {
            scenario: "fanin",
            target: a.target,
            publishers: a.clients,
            subscribers: 1,
            topic: a.topic,
            filter: a.filter,
            msg: a.msg,
            sub_count: None,
        }
    }

    /// `bench fanout`: one publisher, `-c` subscribers.
    #[must_use]
    pub fn fan_out(a: FlowArgs) -> Self {
        Self {
            scenario: "fanout",
            target: a.target,
            publishers: 1,
            subscribers: a.clients,
            topic: a.topic,
            filter: a.filter,
            msg: a.msg,
            sub_count: None,
        }
    }
}

/// Resolves `host:port` to one socket address.
pub async fn resolve(t: &TargetArgs) -> Result<SocketAddr, String> {
    let name = format!("{}:{}", t.host, t.port);
    tokio::net::lookup_host(&name)
        .await
        .map_err(|e| format!("cannot resolve {name}: {e}"))?
        .next()
        .ok_or_else(|| format!("{name} resolves to no address"))
}

/// Runs a message scenario, prints its summary and returns the exit code.
pub async fn run(spec: FlowSpec) -> ExitCode {
    match execute(&spec).await {
        Ok(summary) => {
            print(&summary, &summary.text(), spec.target.json);
            let lost_qos1 = spec.msg.qos != QoS::AtMostOnce && summary.lost.is_some_and(|l| l > 0);
            if summary.errors.is_empty() && !lost_qos1 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a message scenario and returns its summary; fails only if set-up fails.
pub async fn execute(spec: &FlowSpec) -> Result<FlowSummary, String> {
    let t = &spec.target;
    let addr = resolve(t).await?;
    let pid = std::process::id();
    let qos = spec.msg.qos;
    let size = usize::try_from(spec.msg.size).unwrap_or(usize::MAX);

    // Subscribers first, so nothing published is missed.
    let subs = join_all((0..spec.subscribers).map(|i| {
        let filter = expand(&spec.filter, i);
        let id = format!("bench-sub-{pid}-{i}");
        async move {
            Subscriber::connect(addr, t.version, &id, t.keep_alive, &filter, qos)
                .await
                .map_err(|e| format!("subscriber {i}: {e}"))
        }
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;

    let per_pub_rate = spec
        .msg
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| r / spec.publishers.max(1) as f64);
    let pubs = join_all((0..spec.publishers).map(|i| {
        let plan = PubPlan {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            topic: expand(&spec.topic, i),
            qos,
            size,
            rate: per_pub_rate,
            count: spec.msg.count,
            inflight: spec.msg.inflight,
            keep_alive: t.keep_alive,
            drain: spec.msg.drain,
        };
        let id = format!("bench-pub-{pid}-{i}");
        async move {
            Publisher::connect(addr, t.version, &id, plan)
                .await
                .map_err(|e| format!("publisher {i}: {e}"))
        }
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;

    let duration = match (spec.msg.duration, spec.msg.count.or(spec.sub_count)) {
        (Some(d), _) => d,
        (None, Some(_)) => UNBOUNDED,
        (None, None) => DEFAULT_DURATION,
    };
    let counters = Arc::new(Counters::default());
    let start = Instant::now() + Duration::from_millis(20);
    let stop_at = start + duration;
    let stop = Arc::new(StopRule {
        deadline: if spec.publishers > 0 {
            // Publishers bound the run; this is only a backstop.
            stop_at + spec.msg.drain + IDLE_AFTER_DONE + Duration::from_secs(5)
        } else {
            stop_at
        },
        count: spec.sub_count,
        publishers_done: AtomicBool::new(false),
        expected_each: AtomicU64::new(u64::MAX),
        idle: IDLE_AFTER_DONE,
    });
    let progress = Progress::start(spec.scenario, counters.clone(), start, t.quiet);

    let sub_tasks: Vec<_> = subs
        .into_iter()
        .map(|s| tokio::spawn(s.run(stop.clone(), counters.clone())))
        .collect();
    let pub_tasks: Vec<_> = pubs
        .into_iter()
        .map(|p| tokio::spawn(p.run(start, stop_at, counters.clone())))
        .collect();

    let mut errors = Vec::new();
    let mut sent = 0;
    let mut acked = 0;
    let mut last_send = start;
    let mut puback_latency = Latency::new();
    for (i, r) in join_all(pub_tasks).await.into_iter().enumerate() {
        match r {
            Ok(r) => {
                sent += r.sent;
                acked += r.acked;
                if let Some(t) = r.last_send {
                    last_send = last_send.max(t);
                }
                puback_latency.merge(&r.ack_latency);
                if let Some(e) = r.error {
                    errors.push(format!("publisher {i}: {e}"));
                }
            }
            Err(e) => errors.push(format!("publisher {i}: task failed: {e}")),
        }
    }
    stop.expected_each.store(sent, Ordering::Release);
    stop.publishers_done
        .store(spec.publishers > 0, Ordering::Release);

    let mut received = 0;
    let mut tracker = SeqTracker::default();
    let mut foreign = 0;
    let mut latency = Latency::new();
    let mut first_recv: Option<Instant> = None;
    let mut last_recv: Option<Instant> = None;
    for (i, r) in join_all(sub_tasks).await.into_iter().enumerate() {
        match r {
            Ok(r) => {
                received += r.received;
                tracker.add_counts(&r.tracker);
                foreign += r.foreign;
                latency.merge(&r.latency);
                first_recv = match (first_recv, r.first_recv) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                last_recv = last_recv.max(r.last_recv);
                if let Some(e) = r.error {
                    errors.push(format!("subscriber {i}: {e}"));
                }
            }
            Err(e) => errors.push(format!("subscriber {i}: task failed: {e}")),
        }
    }
    progress.finish().await;

    let combined = spec.publishers > 0 && spec.subscribers > 0;
    let expected = combined.then(|| sent * spec.subscribers as u64);
    let send_secs = last_send.duration_since(start).as_secs_f64();
    let recv_secs = match (spec.publishers > 0, first_recv, last_recv) {
        (true, _, Some(l)) => l.duration_since(start).as_secs_f64(),
        (false, Some(f), Some(l)) => l.duration_since(f).as_secs_f64(),
        _ => 0.0,
    };
    let per_sec = |n: u64, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    Ok(FlowSummary {
        scenario: spec.scenario,
        broker: addr.to_string(),
        mqtt_version: t.version,
        qos,
        publishers: spec.publishers,
        subscribers: spec.subscribers,
        payload_bytes: size,
        target_rate: spec.msg.rate.filter(|_| spec.publishers > 0),
        duration_s: if spec.publishers > 0 {
            send_secs
        } else {
            recv_secs
        },
        sent,
        acked: (qos != QoS::AtMostOnce && spec.publishers > 0).then_some(acked),
        send_rate: per_sec(sent, send_secs),
        expected,
        received,
        unique: tracker.unique,
        lost: expected.map(|e| e.saturating_sub(tracker.unique)),
        duplicates: tracker.duplicates,
        out_of_order: tracker.out_of_order,
        foreign,
        recv_rate: per_sec(received, recv_secs),
        latency: latency.summary(),
        puback_latency: puback_latency.summary(),
        errors,
    })
}
