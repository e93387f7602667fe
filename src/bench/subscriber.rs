//! Subscribers: the task that counts, times and checks every message it receives.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::client::{ClientError, Session, io};
use super::stats::{Latency, SeqTracker};
use super::wire::{self, Incoming, Stamp};
use super::{Counters, now_ns};
use crate::protocol::{MqttVersion, QoS};

/// How often a waiting subscriber looks at the stop rule.
const TICK: Duration = Duration::from_millis(100);

/// Payload stamps older than this (or from the future) are not benchmark headers.
const PLAUSIBLE_NS: u64 = 3_600_000_000_000;

/// When subscribers stop.
#[derive(Debug)]
pub struct StopRule {
    /// Stop at this moment whatever happens.
    pub deadline: Instant,
    /// Stop after this many messages each.
    pub count: Option<u64>,
    /// Set when every publisher of a combined run has finished.
    pub publishers_done: AtomicBool,
    /// Once publishers are done: how many unique messages each subscriber expects.
    pub expected_each: AtomicU64,
    /// Once publishers are done: stop after this long without a message.
    pub idle: Duration,
}

/// What one subscriber saw.
#[derive(Debug, Default)]
pub struct SubReport {
    /// PUBLISH packets received.
    pub received: u64,
    /// Uniqueness and order per publisher.
    pub tracker: SeqTracker,
    /// Messages without a plausible benchmark header.
    pub foreign: u64,
    /// End-to-end latency from the payload stamps.
    pub latency: Latency,
    /// First and last message.
    pub first_recv: Option<Instant>,
    /// Last message.
    pub last_recv: Option<Instant>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// A subscribed session, waiting for messages.
#[derive(Debug)]
pub struct Subscriber {
    session: Session,
    keep_alive: u16,
}

impl Subscriber {
    /// Connects as `client_id` and subscribes to `filter` at `qos`.
    pub async fn connect(
        addr: SocketAddr,
        version: MqttVersion,
        client_id: &str,
        keep_alive: u16,
        filter: &str,
        qos: QoS,
    ) -> Result<Self, ClientError> {
        let mut session = Session::connect(addr, version, client_id, keep_alive).await?;
        session.subscribe(filter, qos).await?;
        Ok(Self {
            session,
            keep_alive,
        })
    }

    /// Receives until the stop rule says so, acknowledging QoS 1 messages in batches.
    pub async fn run(self, stop: Arc<StopRule>, counters: Arc<Counters>) -> SubReport {
        let mut report = SubReport::default();
        if let Err(e) = self.receive(&stop, &counters, &mut report).await {
            report.error = Some(e.to_string());
        }
        report
    }

    async fn receive(
        self,
        stop: &StopRule,
        counters: &Counters,
        report: &mut SubReport,
    ) -> Result<(), ClientError> {
        let Session {
            mut stream,
            mut rbuf,
            version,
            ..
        } = self.session;
        let ping_every =
            (self.keep_alive > 0).then(|| Duration::from_secs(u64::from(self.keep_alive)) / 2);
        let mut wbuf = BytesMut::with_capacity(16 * 1024);
        let mut last_write = Instant::now();
        let mut last_progress = Instant::now();
        loop {
            if rbuf.capacity() - rbuf.len() < 32 * 1024 {
                rbuf.reserve(128 * 1024);
            }
            match tokio::time::timeout(TICK, stream.read_buf(&mut rbuf)).await {
                Err(_) => {}
                Ok(Ok(0)) => return Err(ClientError::Closed("while receiving")),
                Ok(Err(e)) => return Err(io("read")(e)),
                Ok(Ok(_)) => {
                    let n = parse_chunk(version, &mut rbuf, &mut wbuf, report)?;
                    if n > 0 {
                        let t = Instant::now();
                        report.first_recv.get_or_insert(t);
                        report.last_recv = Some(t);
                        last_progress = t;
                        counters.received.fetch_add(n, Ordering::Relaxed);
                    }
                }
            }
            let now = Instant::now();
            if let Some(every) = ping_every
                && now.duration_since(last_write) >= every
            {
                wire::pingreq(&mut wbuf);
            }
            if !wbuf.is_empty() {
                stream.write_all(&wbuf).await.map_err(io("write PUBACK"))?;
                wbuf.clear();
                last_write = now;
            }
            if now >= stop.deadline || stop.count.is_some_and(|c| report.received >= c) {
                break;
            }
            if stop.publishers_done.load(Ordering::Acquire) {
                let expected = stop.expected_each.load(Ordering::Acquire);
                if report.tracker.unique >= expected
                    || now.duration_since(last_progress) >= stop.idle
                {
                    break;
                }
            }
        }
        wire::disconnect(&mut wbuf);
        let _ = stream.write_all(&wbuf).await;
        Ok(())
    }
}

/// Parses every whole packet in `rbuf`, queueing PUBACKs into `wbuf`. Returns the number of
/// PUBLISH packets.
fn parse_chunk(
    version: MqttVersion,
    rbuf: &mut BytesMut,
    wbuf: &mut BytesMut,
    report: &mut SubReport,
) -> Result<u64, ClientError> {
    let now = now_ns();
    let mut pos = 0;
    let mut n = 0;
    while let Some((hdr, total)) = wire::frame_len(&rbuf[pos..])? {
        if rbuf.len() - pos < total {
            break;
        }
        let first = rbuf[pos];
        match wire::parse(version, first, &rbuf[pos + hdr..pos + total])? {
            Incoming::Publish { qos, pkid, payload } => {
                n += 1;
                if qos > 0 {
                    wire::puback(wbuf, pkid);
                }
                match Stamp::read(payload) {
                    Some(s) if s.sent_ns <= now && now - s.sent_ns < PLAUSIBLE_NS => {
                        report.latency.record(now - s.sent_ns);
                        report.tracker.observe(s.publisher, s.seq);
                    }
                    _ => report.foreign += 1,
                }
            }
            Incoming::Disconnect { reason } => return Err(ClientError::Disconnected(reason)),
            _ => {}
        }
        pos += total;
    }
    rbuf.advance(pos);
    report.received += n;
    Ok(n)
}
