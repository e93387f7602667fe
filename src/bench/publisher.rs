//! Publishers: the task that floods or paces PUBLISH packets, and the `bench pub` scenario.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::Instant;

use super::client::{ClientError, Session, io};
use super::stats::Latency;
use super::wire::{self, Incoming, PublishTemplate, Stamp};
use super::{Counters, now_ns};
use crate::protocol::{MqttVersion, QoS};

/// Bytes a publisher puts in one `write` when it may send as fast as it can.
const WRITE_BATCH_BYTES: usize = 32 * 1024;

/// How long a QoS 1 publisher waits for a PUBACK before it gives up.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// What one publisher does.
#[derive(Debug, Clone)]
pub struct PubPlan {
    /// Its index, written into every payload header.
    pub index: u32,
    /// The topic (already expanded).
    pub topic: String,
    /// QoS 0 or 1.
    pub qos: QoS,
    /// Payload size in bytes (at least the 16-byte header).
    pub size: usize,
    /// Messages per second for this publisher; `None` = as fast as possible.
    pub rate: Option<f64>,
    /// Stop after this many messages.
    pub count: Option<u64>,
    /// QoS 1 messages in flight at most (further capped by the server's Receive Maximum).
    pub inflight: usize,
    /// Keep alive announced in CONNECT; a PINGREQ goes out after half of it without a write.
    pub keep_alive: u16,
    /// How long to wait for outstanding PUBACKs after the last message.
    pub drain: Duration,
}

/// What one publisher did.
#[derive(Debug, Default)]
pub struct PubReport {
    /// PUBLISH packets written.
    pub sent: u64,
    /// PUBACKs received.
    pub acked: u64,
    /// PUBACKs whose packet id was not the next one expected.
    pub acks_out_of_order: u64,
    /// Time from writing a QoS 1 PUBLISH to reading its PUBACK.
    pub ack_latency: Latency,
    /// When the last message was written.
    pub last_send: Option<Instant>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// State shared by a publisher's writer and its PUBACK reader.
struct AckState {
    acked: AtomicU64,
    notify: tokio::sync::Notify,
    /// Send time (ns) per packet id, for the PUBACK round trip.
    send_ns: Vec<AtomicU64>,
    closing: AtomicBool,
    dead: AtomicBool,
    error: Mutex<Option<String>>,
}

/// A connected publisher, waiting for the start signal.
#[derive(Debug)]
pub struct Publisher {
    session: Session,
    plan: PubPlan,
}

impl Publisher {
    /// Connects as `client_id`.
    pub async fn connect(
        addr: SocketAddr,
        version: MqttVersion,
        client_id: &str,
        plan: PubPlan,
    ) -> Result<Self, ClientError> {
        let session = Session::connect(addr, version, client_id, plan.keep_alive).await?;
        Ok(Self { session, plan })
    }

    /// Publishes from `start` until `stop_at` or the plan's count, then waits for the
    /// outstanding PUBACKs and disconnects.
    pub async fn run(self, start: Instant, stop_at: Instant, counters: Arc<Counters>) -> PubReport {
        let Self { session, plan } = self;
        let version = session.version;
        let window = plan
            .inflight
            .min(usize::from(session.receive_maximum))
            .max(1) as u64;
        let (rd, mut wr) = session.stream.into_split();
        let state = Arc::new(AckState {
            acked: AtomicU64::new(0),
            notify: tokio::sync::Notify::new(),
            send_ns: if plan.qos != QoS::AtMostOnce {
                (0..=usize::from(u16::MAX))
                    .map(|_| AtomicU64::new(0))
                    .collect()
            } else {
                Vec::new()
            },
            closing: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            error: Mutex::new(None),
        });
        let reader = tokio::spawn(read_acks(
            rd,
            session.rbuf,
            version,
            state.clone(),
            counters.clone(),
        ));
        let mut report = PubReport::default();
        let run = write_loop(
            &plan,
            version,
            &mut wr,
            &state,
            window,
            (start, stop_at),
            &counters,
            &mut report,
        );
        if let Err(e) = run.await {
            report.error = Some(e.to_string());
        }
        // Wait for the last PUBACKs.
        if plan.qos != QoS::AtMostOnce && report.error.is_none() {
            let deadline = Instant::now() + plan.drain;
            loop {
                let notified = state.notify.notified();
                if state.acked.load(Ordering::Acquire) >= report.sent
                    || state.dead.load(Ordering::Acquire)
                {
                    break;
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    report.error = Some(format!(
                        "{} PUBACKs missing {:.1} s after the last PUBLISH",
                        report
                            .sent
                            .saturating_sub(state.acked.load(Ordering::Acquire)),
                        plan.drain.as_secs_f64()
                    ));
                    break;
                }
            }
        }
        state.closing.store(true, Ordering::Release);
        let mut bye = BytesMut::with_capacity(2);
        wire::disconnect(&mut bye);
        let _ = wr.write_all(&bye).await;
        let _ = wr.shutdown().await;
        let reader_result = tokio::time::timeout(Duration::from_secs(2), reader).await;
        match reader_result {
            Ok(Ok((lat, out_of_order))) => {
                report.ack_latency = lat;
                report.acks_out_of_order = out_of_order;
            }
            Ok(Err(e)) => {
                report
                    .error
                    .get_or_insert(format!("PUBACK reader failed: {e}"));
            }
            // The server did not close after DISCONNECT; the reader is dropped with the task.
            Err(_) => {}
        }
        report.acked = state.acked.load(Ordering::Acquire);
        if report.error.is_none() {
            report.error = state
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
        }
        report
    }
}

#[allow(clippy::too_many_arguments)]
async fn write_loop(
    plan: &PubPlan,
    version: MqttVersion,
    wr: &mut OwnedWriteHalf,
    state: &AckState,
    window: u64,
    (start, stop_at): (Instant, Instant),
    counters: &Counters,
    report: &mut PubReport,
) -> Result<(), ClientError> {
    let template = PublishTemplate::new(version, &plan.topic, plan.qos, plan.size);
    let batch_max = (WRITE_BATCH_BYTES / template.wire_len()).clamp(1, 1024) as u64;
    let ping_every =
        (plan.keep_alive > 0).then(|| Duration::from_secs(u64::from(plan.keep_alive)) / 2);
    let mut wbuf = BytesMut::with_capacity(WRITE_BATCH_BYTES + template.wire_len());
    let mut seq: u64 = 0;
    let mut last_write = Instant::now();
    tokio::time::sleep_until(start).await;
    loop {
        let now = Instant::now();
        if now >= stop_at || plan.count.is_some_and(|c| seq >= c) {
            break;
        }
        if let Some(every) = ping_every
            && now.duration_since(last_write) >= every
        {
            wire::pingreq(&mut wbuf);
            wr.write_all(&wbuf).await.map_err(io("write PINGREQ"))?;
            wbuf.clear();
            last_write = now;
        }
        let mut n = batch_max;
        if let Some(c) = plan.count {
            n = n.min(c - seq);
        }
        if let Some(rate) = plan.rate {
            // Messages due by now, the first one at `start`.
            let due = (now.duration_since(start).as_secs_f64() * rate) as u64 + 1;
            if due <= seq {
                let next = start + Duration::from_secs_f64(seq as f64 / rate);
                let mut wake = next.min(stop_at);
                if let Some(every) = ping_every {
                    wake = wake.min(last_write + every);
                }
                tokio::time::sleep_until(wake).await;
                continue;
            }
            n = n.min(due - seq);
        }
        if plan.qos != QoS::AtMostOnce {
            // Keep at most `window` messages in flight.
            loop {
                let notified = state.notify.notified();
                let inflight = seq - state.acked.load(Ordering::Acquire);
                if inflight < window {
                    n = n.min(window - inflight);
                    break;
                }
                if state.dead.load(Ordering::Acquire) {
                    return Err(ClientError::Closed("while PUBACKs were outstanding"));
                }
                if tokio::time::timeout(ACK_TIMEOUT, notified).await.is_err() {
                    return Err(ClientError::Timeout("waiting for a PUBACK"));
                }
            }
        }
        let ts = now_ns();
        for k in 0..n {
            let s = seq + k;
            let pkid = (s % u64::from(u16::MAX)) as u16 + 1;
            if let Some(slot) = state.send_ns.get(usize::from(pkid)) {
                slot.store(ts, Ordering::Release);
            }
            let stamp = Stamp {
                sent_ns: ts,
                publisher: plan.index,
                seq: s as u32,
            };
            template.write(&mut wbuf, pkid, stamp);
        }
        wr.write_all(&wbuf).await.map_err(io("write PUBLISH"))?;
        wbuf.clear();
        last_write = Instant::now();
        seq += n;
        report.sent = seq;
        report.last_send = Some(last_write);
        counters.sent.fetch_add(n, Ordering::Relaxed);
    }
    Ok(())
}

/// Reads PUBACKs (and PINGRESPs) until the connection closes. Returns the PUBACK latency and
/// how many PUBACKs came out of order.
async fn read_acks(
    mut rd: OwnedReadHalf,
    mut rbuf: BytesMut,
    version: MqttVersion,
    state: Arc<AckState>,
    counters: Arc<Counters>,
) -> (Latency, u64) {
    let mut lat = Latency::new();
    let mut next_pkid: u16 = 1;
    let mut out_of_order = 0;
    let fail = |msg: String| {
        if !state.closing.load(Ordering::Acquire) {
            let mut g = state.error.lock().unwrap_or_else(PoisonError::into_inner);
            g.get_or_insert(msg);
        }
        state.dead.store(true, Ordering::Release);
        state.notify.notify_one();
    };
    loop {
        if rbuf.capacity() - rbuf.len() < 4096 {
            rbuf.reserve(16 * 1024);
        }
        match rd.read_buf(&mut rbuf).await {
            Ok(0) => {
                fail("the server closed the connection".into());
                return (lat, out_of_order);
            }
            Ok(_) => {}
            Err(e) => {
                fail(format!("read: {e}"));
                return (lat, out_of_order);
            }
        }
        let now = now_ns();
        let mut acks = 0u64;
        let mut pos = 0;
        loop {
            let frame = match wire::frame_len(&rbuf[pos..]) {
                Ok(Some((hdr, total))) if rbuf.len() - pos >= total => (hdr, total),
                Ok(_) => break,
                Err(e) => {
                    fail(e.to_string());
                    return (lat, out_of_order);
                }
            };
            let (hdr, total) = frame;
            let first = rbuf[pos];
            match wire::parse(version, first, &rbuf[pos + hdr..pos + total]) {
                Ok(Incoming::PubAck { pkid }) => {
                    acks += 1;
                    if pkid != next_pkid {
                        out_of_order += 1;
                    }
                    next_pkid = if pkid == u16::MAX { 1 } else { pkid + 1 };
                    if let Some(t) = state.send_ns.get(usize::from(pkid)) {
                        lat.record(now.saturating_sub(t.load(Ordering::Acquire)));
                    }
                }
                Ok(Incoming::Disconnect { reason }) => {
                    fail(ClientError::Disconnected(reason).to_string());
                    return (lat, out_of_order);
                }
                Ok(_) => {}
                Err(e) => {
                    fail(e.to_string());
                    return (lat, out_of_order);
                }
            }
            pos += total;
        }
        rbuf.advance(pos);
        if acks > 0 {
            state.acked.fetch_add(acks, Ordering::AcqRel);
            counters.acked.fetch_add(acks, Ordering::Relaxed);
            state.notify.notify_one();
        }
    }
}
