//! The client pane's connection: [`crate::client`] (TCP, TLS, WebSocket; MQTT 3.1.1 and 5)
//! under a supervisor task that reconnects with exponential back-off and speaks the
//! workbench's vocabulary ([`LinkEvent`]).
//!
//! The supervisor owns the current [`crate::client::ClientHandle`]. Requests from the UI go
//! through a bounded channel (a full channel is reported, never waited on); events come back
//! on another bounded channel (a full one slows the socket down instead of growing memory).
//! After a failed or lost connection it reports why, in plain words, waits 1, 2, 4 … 30
//! seconds, and tries again; [`LinkHandle::reconnect_now`] cuts the wait short.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::client::{
    self, ClientEvent, ConnectOptions, MessageProperties, OutgoingMessage, Transport,
};
use crate::protocol::QoS;

/// The longest wait between two connection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A message the client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// When it arrived.
    pub time: SystemTime,
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// QoS it was delivered with.
    pub qos: u8,
    /// Retain flag (set for retained messages sent on subscribe).
    pub retain: bool,
    /// MQTT 5 properties worth showing, as `name: value` pairs.
    pub properties: Vec<(String, String)>,
    /// Packet Identifier (0 at QoS 0).
    pub pkid: u16,
}

/// What the client reports to the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// CONNACK received with success.
    Connected,
    /// The connection failed or dropped, with the reason in plain words.
    Disconnected(String),
    /// The next attempt starts after `delay`.
    Retrying {
        /// Attempts that failed in a row.
        attempt: u32,
        /// How long until the next one.
        delay: Duration,
    },
    /// A PUBLISH arrived.
    Message(IncomingMessage),
    /// The broker answered a SUBSCRIBE for `filter`: the granted QoS or a refusal.
    SubAck {
        /// The filter asked for.
        filter: String,
        /// Granted QoS, or why the broker refused.
        result: Result<u8, String>,
    },
    /// The broker acknowledged an UNSUBSCRIBE.
    UnsubAck,
    /// The broker refused the credentials or the client (CONNACK "bad user name or
    /// password", "not authorised", "client id rejected", "banned"): no retry until asked,
    /// since the same CONNECT would be refused again.
    Refused(String),
    /// One packet of the client's own trace (only for links started with
    /// [`connect_traced`]): the log pane shows these for a connection to another broker.
    Trace(crate::tui::trace::TraceRow),
}

/// True for the CONNACK codes that the same CONNECT would get again (3.1.1 and 5.0 codes).
#[must_use]
pub fn refusal_is_final(code: u8) -> bool {
    matches!(code, 2 | 4 | 5 | 133 | 134 | 135 | 138 | 140)
}

/// MQTT 5 publish properties from the composer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishProps {
    /// Content Type.
    pub content_type: Option<String>,
    /// Message Expiry Interval in seconds.
    pub message_expiry: Option<u32>,
    /// Response Topic.
    pub response_topic: Option<String>,
    /// Correlation Data (as text).
    pub correlation_data: Option<String>,
    /// User Properties.
    pub user: Vec<(String, String)>,
}

/// A PUBLISH the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingPublish {
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// QoS 0..=2.
    pub qos: u8,
    /// Retain flag.
    pub retain: bool,
    /// MQTT 5 properties.
    pub props: PublishProps,
}

/// Why a request could not be queued.
#[derive(Debug, thiserror::Error)]
#[error("the client cannot take the request: {0}")]
pub struct LinkError(String);

impl LinkError {
    /// There is no connection to take requests (a switch could not start one).
    #[must_use]
    pub fn not_connected() -> Self {
        Self("not connected".into())
    }
}

/// A request for the supervisor.
#[derive(Debug)]
enum Request {
    Subscribe(String, QoS),
    Unsubscribe(String),
    Publish(OutgoingPublish),
    Reconnect,
    Stop,
}

/// The handle the UI uses to send requests.
#[derive(Debug)]
pub struct LinkHandle {
    requests: mpsc::Sender<Request>,
    task: JoinHandle<()>,
    trace: Arc<AtomicBool>,
}

fn qos(q: u8) -> QoS {
    QoS::try_from(q.min(2)).unwrap_or_default()
}

/// Starts the supervisor; it connects in the background and reports on the receiver.
#[must_use]
pub fn connect(opts: ConnectOptions) -> (LinkHandle, mpsc::Receiver<LinkEvent>) {
    connect_traced(opts, false)
}

/// Like [`connect`]; while the trace is on (from `trace`, then [`LinkHandle::set_trace`]),
/// every packet the client sends or receives also comes back as a [`LinkEvent::Trace`] row
/// (the `-d` trace of [`crate::client::trace`], stamped with the time it arrived). While it
/// is off no trace text is formatted at all.
#[must_use]
pub fn connect_traced(
    opts: ConnectOptions,
    trace: bool,
) -> (LinkHandle, mpsc::Receiver<LinkEvent>) {
    let (tx, rx) = mpsc::channel(8192);
    let (req_tx, req_rx) = mpsc::channel(1024);
    let flag = Arc::new(AtomicBool::new(trace));
    let task = tokio::spawn(supervise(opts, flag.clone(), req_rx, tx));
    (
        LinkHandle {
            requests: req_tx,
            task,
            trace: flag,
        },
        rx,
    )
}

impl LinkHandle {
    fn send(&self, r: Request) -> Result<(), LinkError> {
        self.requests
            .try_send(r)
            .map_err(|e| LinkError(e.to_string()))
    }

    /// Queues a SUBSCRIBE.
    pub fn subscribe(&self, filter: &str, q: u8) -> Result<(), LinkError> {
        self.send(Request::Subscribe(filter.to_owned(), qos(q)))
    }

    /// Queues an UNSUBSCRIBE.
    pub fn unsubscribe(&self, filter: &str) -> Result<(), LinkError> {
        self.send(Request::Unsubscribe(filter.to_owned()))
    }

    /// Queues a PUBLISH.
    pub fn publish(&self, p: &OutgoingPublish) -> Result<(), LinkError> {
        self.send(Request::Publish(p.clone()))
    }

    /// Turns the client trace on or off (it is built only while it is shown).
    pub fn set_trace(&self, on: bool) {
        self.trace.store(on, Ordering::Relaxed);
    }

    /// Drops the current connection (if any) and connects again at once.
    pub fn reconnect_now(&self) -> Result<(), LinkError> {
        self.send(Request::Reconnect)
    }

    /// Sends DISCONNECT and waits up to half a second for the supervisor to finish.
    pub async fn disconnect(self) {
        let _ = self.requests.try_send(Request::Stop);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_millis(500), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// The wait before attempt `attempt + 1`: 1, 2, 4, 8, 16, 30, 30 … seconds.
#[must_use]
pub fn backoff(attempt: u32) -> Duration {
    let secs = 1u64 << attempt.saturating_sub(1).min(5);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

/// `host:port` (or the WebSocket URL) for messages.
fn address(o: &ConnectOptions) -> String {
    match o.transport {
        Transport::Tcp | Transport::Tls => format!("{}:{}", o.host, o.port),
        Transport::Ws | Transport::Wss => crate::profile::options_address(o),
    }
}

/// Why a connection failed, in plain words, from the client's reason and CONNACK code.
#[must_use]
pub fn plain_reason(reason: &str, code: Option<u8>, o: &ConnectOptions) -> String {
    let addr = address(o);
    if let Some(c) = code {
        let what = match c {
            1 | 132 => "the broker refused the MQTT version; try the other one (3.1.1 or 5)",
            2 | 133 => "the broker refused the client id",
            3 | 136 => "the broker is unavailable",
            4 | 134 => "bad user name or password",
            5 | 135 => "not authorised: check the user name and password",
            138 => "this client is banned",
            _ => return format!("the broker refused the connection: {reason}"),
        };
        return format!("{what} (CONNACK {c})");
    }
    let lower = reason.to_ascii_lowercase();
    if lower.contains("connection refused") {
        format!("nothing accepts connections at {addr} (connection refused)")
    } else if lower.contains("lookup")
        || lower.contains("name or service not known")
        || lower.contains("name resolution")
        || lower.contains("no address")
    {
        format!("cannot find the host '{}' ({reason})", o.host)
    } else if lower.contains("timed out") {
        format!("no answer from {addr} (timed out)")
    } else if lower.contains("certificate") || lower.contains("tls") {
        format!("TLS failed with {addr}: {reason}")
    } else {
        reason.to_owned()
    }
}

/// `bytes` as lowercase hex pairs separated by spaces (`00 ff fe`).
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The bytes of [`hex`]'s text (spaces between pairs optional); `None` when it is not hex.
#[must_use]
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| *b != b' ').collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// The name of UTF-8 Correlation Data among a message's properties.
pub const CORRELATION: &str = "Correlation Data";
/// The name of Correlation Data that is not UTF-8: its value is the bytes in hex.
pub const CORRELATION_HEX: &str = "Correlation Data (hex)";

/// The MQTT 5 PUBLISH properties, each under its name in the specification (MQTT5 §3.3.2.3).
pub fn shown_properties(p: MessageProperties) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(f) = p.payload_format_indicator {
        let what = if f == 1 {
            "1 (UTF-8 text)"
        } else {
            "0 (bytes)"
        };
        out.push(("Payload Format Indicator".into(), what.into()));
    }
    if let Some(e) = p.message_expiry_interval {
        out.push(("Message Expiry Interval".into(), format!("{e} s")));
    }
    if let Some(a) = p.topic_alias {
        out.push(("Topic Alias".into(), a.to_string()));
    }
    if let Some(r) = p.response_topic {
        out.push(("Response Topic".into(), r));
    }
    // Correlation Data is binary: shown as text only when it is UTF-8, else in hex, said so
    // in its name, so the pane and an export keep every byte.
    if let Some(c) = &p.correlation_data {
        out.push(match std::str::from_utf8(c) {
            Ok(text) => (CORRELATION.into(), text.to_owned()),
            Err(_) => (CORRELATION_HEX.into(), hex(c)),
        });
    }
    for (k, v) in p.user_properties {
        out.push(("User Property".into(), format!("{k} = {v}")));
    }
    for id in p.subscription_identifiers {
        out.push(("Subscription Identifier".into(), id.to_string()));
    }
    if let Some(ct) = p.content_type {
        out.push(("Content Type".into(), ct));
    }
    out
}

fn outgoing(p: OutgoingPublish) -> OutgoingMessage {
    OutgoingMessage {
        topic: p.topic,
        payload: p.payload,
        qos: qos(p.qos),
        retain: p.retain,
        properties: MessageProperties {
            message_expiry_interval: p.props.message_expiry,
            content_type: p.props.content_type,
            response_topic: p.props.response_topic,
            correlation_data: p
                .props
                .correlation_data
                .map(|c| Bytes::from(c.into_bytes())),
            user_properties: p.props.user,
            ..MessageProperties::default()
        },
    }
}

fn suback_result(code: u8) -> Result<u8, String> {
    match code {
        0..=2 => Ok(code),
        0x87 => Err("not authorised".into()),
        0x8F => Err("topic filter invalid".into()),
        0x9E => Err("shared subscriptions not supported".into()),
        0xA2 => Err("wildcard subscriptions not supported".into()),
        c => Err(format!("refused (reason {c:#04x})")),
    }
}

/// How one connection ended.
enum End {
    /// Failed or lost; retry after a back-off.
    Lost(String),
    /// The broker refused the credentials or the client: wait until asked.
    Refused(String),
    /// The user asked to reconnect now.
    Now,
    /// The UI is gone or asked to stop.
    Stop,
}

/// Runs connections until the UI stops it: connect, forward events, back off, repeat.
async fn supervise(
    opts: ConnectOptions,
    trace: Arc<AtomicBool>,
    mut requests: mpsc::Receiver<Request>,
    tx: mpsc::Sender<LinkEvent>,
) {
    let mut attempt: u32 = 0;
    loop {
        match run_once(&opts, &trace, &mut requests, &tx, &mut attempt).await {
            End::Stop => return,
            End::Now => {
                attempt = 0;
                continue;
            }
            End::Lost(reason) => {
                if tx.send(LinkEvent::Disconnected(reason)).await.is_err() {
                    return;
                }
            }
            End::Refused(reason) => {
                if tx.send(LinkEvent::Refused(reason)).await.is_err() {
                    return;
                }
                // Not retried blindly: only a reconnect request (or a new connection) goes on.
                loop {
                    match requests.recv().await {
                        None | Some(Request::Stop) => return,
                        Some(Request::Reconnect) => break,
                        Some(_) => {}
                    }
                }
                attempt = 0;
                continue;
            }
        }
        attempt = attempt.saturating_add(1);
        let delay = backoff(attempt);
        if tx
            .send(LinkEvent::Retrying { attempt, delay })
            .await
            .is_err()
        {
            return;
        }
        let wait = tokio::time::sleep(delay);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = &mut wait => break,
                r = requests.recv() => match r {
                    None | Some(Request::Stop) => return,
                    Some(Request::Reconnect) => break,
                    // While disconnected requests are dropped; the app subscribes again on
                    // connect and refuses to publish.
                    Some(_) => {}
                },
            }
        }
    }
}

/// One connection, from CONNECT until it ends.
async fn run_once(
    opts: &ConnectOptions,
    trace: &Arc<AtomicBool>,
    requests: &mut mpsc::Receiver<Request>,
    tx: &mpsc::Sender<LinkEvent>,
    attempt: &mut u32,
) -> End {
    let (handle, mut events) = client::connect_with_trace_switch(opts.clone(), trace.clone());
    // Filters whose SUBACK is due, in request order (brokers answer in order).
    let mut pending: VecDeque<String> = VecDeque::new();
    loop {
        tokio::select! {
            ev = events.recv() => {
                let out = match ev {
                    None => return End::Lost("the connection ended".into()),
                    Some(ClientEvent::Connected { .. }) => {
                        *attempt = 0;
                        pending.clear();
                        LinkEvent::Connected
                    }
                    Some(ClientEvent::ConnectFailed { reason, code }) => {
                        let why = plain_reason(&reason, code, opts);
                        return if code.is_some_and(refusal_is_final) {
                            End::Refused(why)
                        } else {
                            End::Lost(why)
                        };
                    }
                    Some(ClientEvent::Disconnected { reason }) => {
                        return End::Lost(format!("connection lost: {}", plain_reason(&reason, None, opts)));
                    }
                    Some(ClientEvent::Message(m)) => LinkEvent::Message(IncomingMessage {
                        time: m.received_at,
                        topic: m.topic,
                        payload: m.payload,
                        qos: m.qos as u8,
                        retain: m.retain,
                        properties: shown_properties(m.properties),
                        pkid: m.pkid,
                    }),
                    Some(ClientEvent::SubAck { codes, .. }) => {
                        let filter = pending.pop_front().unwrap_or_default();
                        let result = codes
                            .first()
                            .map_or_else(|| Err("empty SUBACK".to_owned()), |c| suback_result(*c));
                        LinkEvent::SubAck { filter, result }
                    }
                    Some(ClientEvent::UnsubAck { .. }) => LinkEvent::UnsubAck,
                    Some(ClientEvent::Trace(line)) => {
                        LinkEvent::Trace(crate::tui::trace::TraceRow::new(SystemTime::now(), line))
                    }
                    Some(ClientEvent::Published { .. }) => continue,
                };
                if tx.send(out).await.is_err() {
                    let _ = handle.disconnect().await;
                    return End::Stop;
                }
            }
            r = requests.recv() => match r {
                None | Some(Request::Stop) => {
                    if handle.disconnect().await.is_ok() {
                        // Let the DISCONNECT reach the socket.
                        let _ = tokio::time::timeout(Duration::from_millis(300), async {
                            while let Some(ev) = events.recv().await {
                                if matches!(ev, ClientEvent::Disconnected { .. } | ClientEvent::ConnectFailed { .. }) {
                                    break;
                                }
                            }
                        })
                        .await;
                    }
                    return End::Stop;
                }
                Some(Request::Reconnect) => {
                    let _ = handle.disconnect().await;
                    return End::Now;
                }
                Some(Request::Subscribe(filter, q)) => {
                    pending.push_back(filter.clone());
                    if handle.subscribe(&filter, q).await.is_err() {
                        pending.pop_back();
                    }
                }
                Some(Request::Unsubscribe(filter)) => {
                    let _ = handle.unsubscribe(&filter).await;
                }
                Some(Request::Publish(p)) => {
                    let _ = handle.publish(outgoing(p)).await;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let secs: Vec<u64> = (1..=8).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn credential_and_client_refusals_are_final_others_retry() {
        // 3.1.1 return codes (MQTT311 §3.2.2.3) and 5.0 reason codes (MQTT5 §3.2.2.2).
        let final_codes: Vec<u8> = (0..=255).filter(|c| refusal_is_final(*c)).collect();
        assert_eq!(final_codes, [2, 4, 5, 133, 134, 135, 138, 140]);
        // Unavailable and busy brokers are worth retrying.
        assert!(!refusal_is_final(3) && !refusal_is_final(136) && !refusal_is_final(137));
    }

    #[test]
    fn reasons_in_plain_words() {
        let o = ConnectOptions {
            host: "broker.lab".into(),
            port: 1884,
            ..ConnectOptions::default()
        };
        assert_eq!(
            plain_reason("Connection refused", None, &o),
            "nothing accepts connections at broker.lab:1884 (connection refused)"
        );
        assert!(
            plain_reason("Connection Refused: not authorised.", Some(5), &o)
                .starts_with("not authorised")
        );
        assert!(plain_reason("x", Some(134), &o).starts_with("bad user name or password"));
        assert!(
            plain_reason("failed to lookup address information", None, &o)
                .contains("cannot find the host 'broker.lab'")
        );
    }

    #[tokio::test]
    async fn refused_connection_reports_and_backs_off() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let (link, mut rx) = connect(ConnectOptions {
            host: "127.0.0.1".into(),
            port,
            ..ConnectOptions::default()
        });
        let ev = rx.recv().await.unwrap();
        assert!(
            matches!(&ev, LinkEvent::Disconnected(r) if r.contains("connection refused")),
            "{ev:?}"
        );
        assert_eq!(
            rx.recv().await,
            Some(LinkEvent::Retrying {
                attempt: 1,
                delay: Duration::from_secs(1)
            })
        );
        // "Retry now" skips the wait; failures in a row keep counting.
        link.reconnect_now().unwrap();
        assert!(matches!(rx.recv().await, Some(LinkEvent::Disconnected(_))));
        assert!(matches!(
            rx.recv().await,
            Some(LinkEvent::Retrying { attempt: 2, .. })
        ));
        link.disconnect().await;
    }
}
