//! The MQTT client: rumqttc (3.1.1 and 5) behind one handle and one event stream.
//!
//! [`connect`] spawns a task that owns rumqttc's event loop and turns everything that happens
//! on the connection into [`ClientEvent`]s, including a packet trace worded like
//! `mosquitto_sub -d`. The [`ClientHandle`] sends requests. `mqtt-workbench sub`/`pub` and the
//! workbench's client pane are both built on this module.
//!
//! # Layout
//!
//! * [`options`]: [`ConnectOptions`] and friends (serializable, for saved profiles).
//! * [`url`]: [`BrokerUrl`], the one parser for every `-L` and profile `url`.
//! * [`tls`]: the rustls configuration for `--cafile`, `--cert`, `--key`, `--insecure`.
//! * [`trace`]: the `-d` packet trace lines and libmosquitto's reason texts.
//! * `adapter` (private): rumqttc's 3.1.1 and 5.0 events as one `Polled` value, so one
//!   connection loop serves both versions.
//! * [`format`](mod@format): mosquitto_sub's output: `-v`, `-F` format strings, `%j`/`%J` JSON.

mod adapter;
pub mod format;
pub mod options;
mod retry;
pub mod tls;
pub mod trace;
pub mod url;

use crate::error_chain;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use rumqttc::Outgoing;
use tokio::sync::mpsc;

pub use options::{
    ConnectOptions, ConnectProperties, MqttVersion, QoS, TlsOptions, Transport, Will,
};
pub use retry::{connect_with_trace_retrying, retryable};
pub use url::{BrokerUrl, UrlError};

use crate::protocol::topic::{FilterError, TopicName, validate_filter};
use adapter::{EventLoop, Polled};

/// The largest packet the client accepts: MQTT's limit (256 MiB), as mosquitto_sub does.
const MAX_PACKET: u32 = 268_435_455;
/// How many events may wait for the consumer before the connection task waits.
const EVENT_QUEUE: usize = 1024;

/// MQTT 5 properties of a PUBLISH (MQTT 5 §3.3.2.3). Empty under 3.1.1.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageProperties {
    /// Payload Format Indicator: 1 means UTF-8 text.
    pub payload_format_indicator: Option<u8>,
    /// Message Expiry Interval in seconds.
    pub message_expiry_interval: Option<u32>,
    /// Topic Alias.
    pub topic_alias: Option<u16>,
    /// Content Type (a MIME type by convention).
    pub content_type: Option<String>,
    /// Response Topic for request/response.
    pub response_topic: Option<String>,
    /// Correlation Data for request/response.
    pub correlation_data: Option<Bytes>,
    /// User properties, in order.
    pub user_properties: Vec<(String, String)>,
    /// Subscription identifiers of the matching subscriptions (incoming only).
    pub subscription_identifiers: Vec<u32>,
}

impl MessageProperties {
    /// True when no property is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A message the client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// The topic (after resolving a topic alias).
    pub topic: String,
    /// The payload bytes.
    pub payload: Bytes,
    /// Delivery QoS.
    pub qos: QoS,
    /// Retain flag as delivered (set for retained messages sent on subscribe).
    pub retain: bool,
    /// Duplicate flag.
    pub dup: bool,
    /// Packet identifier (0 at QoS 0).
    pub pkid: u16,
    /// MQTT 5 properties.
    pub properties: MessageProperties,
    /// When the client received it.
    pub received_at: SystemTime,
}

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutgoingMessage {
    /// Topic name (no wildcards).
    pub topic: String,
    /// Payload bytes.
    pub payload: Bytes,
    /// QoS.
    pub qos: QoS,
    /// Retain flag.
    pub retain: bool,
    /// MQTT 5 properties (ignored under 3.1.1).
    pub properties: MessageProperties,
}

/// Everything that happens on a connection, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The broker accepted the connection.
    Connected {
        /// Whether the broker resumed a stored session.
        session_present: bool,
        /// The client id in use (the broker's assigned id for MQTT 5, if it gave one).
        client_id: String,
    },
    /// The connection could not be made or was refused; the task has ended.
    ConnectFailed {
        /// What went wrong, in libmosquitto's words where it has some.
        reason: String,
        /// The CONNACK return/reason code when the broker refused.
        code: Option<u8>,
    },
    /// The connection ended after being established; the task has ended.
    Disconnected {
        /// Why (`disconnected` after [`ClientHandle::disconnect`]).
        reason: String,
    },
    /// A message arrived (QoS 1 after its PUBACK went out, QoS 2 after PUBCOMP, as
    /// libmosquitto delivers).
    Message(IncomingMessage),
    /// A SUBACK: one code per filter (0-2 the granted QoS, 0x80 and up a failure).
    SubAck {
        /// Packet identifier of the SUBSCRIBE.
        pkid: u16,
        /// Return/reason codes.
        codes: Vec<u8>,
    },
    /// An UNSUBACK.
    UnsubAck {
        /// Packet identifier of the UNSUBSCRIBE.
        pkid: u16,
    },
    /// A publish is complete: written (QoS 0), PUBACK (QoS 1) or PUBCOMP (QoS 2) received.
    Published {
        /// Packet identifier (mosquitto's message id for QoS 0).
        pkid: u16,
        /// The MQTT 5 reason code of the acknowledgement (0 when fine).
        reason: u8,
    },
    /// One line of the packet trace, worded like `mosquitto_sub -d`.
    Trace(String),
}

/// The class of a connection failure, as mosquitto_sub and mosquitto_pub tell them apart in
/// their exit status; [`ClientHandle::failure`] reports it after a
/// [`ClientEvent::ConnectFailed`] or [`ClientEvent::Disconnected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The broker refused the CONNECT: the CONNACK code is in the event.
    Refused,
    /// The TLS handshake failed: unknown CA, name mismatch, or no TLS on the other side.
    Tls,
    /// The broker's host name could not be resolved.
    Lookup,
    /// A socket error: connection refused, reset, unreachable.
    Socket,
    /// The options could not be used (a CA file that cannot be read, a bad keep alive).
    Options,
    /// Anything else (a protocol error, a timeout).
    Other,
}

/// Why a request was refused before reaching the network.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A subscription filter with misplaced wildcards.
    #[error("invalid subscription filter '{filter}': {source}")]
    InvalidFilter {
        /// The filter.
        filter: String,
        /// What is wrong.
        #[source]
        source: FilterError,
    },
    /// A topic name that is empty or has wildcards.
    #[error("invalid publish topic '{0}': a topic name must not be empty or contain '+' or '#'")]
    InvalidTopic(String),
    /// The connection task has ended.
    #[error("the connection is closed")]
    Closed,
}

/// Checks a topic name for publishing (MQTT311 §4.7.3: non-empty, no wildcards, no NUL); see
/// [`TopicName::validate`].
///
/// # Errors
/// [`ClientError::InvalidTopic`].
pub fn validate_topic(topic: &str) -> Result<(), ClientError> {
    TopicName::validate(topic).map_err(|_| ClientError::InvalidTopic(topic.to_string()))
}

/// What the trace needs to describe requests; rumqttc only reports packet ids.
#[derive(Default)]
struct Pending {
    publishes: VecDeque<(String, u8, bool, usize)>,
    subscribes: VecDeque<Vec<(String, u8)>>,
    unsubscribes: VecDeque<String>,
}

/// State shared by the handle and the connection task.
#[derive(Default)]
struct Shared {
    /// Serializes "note the request, then queue it" so notes stay in request order.
    order: tokio::sync::Mutex<()>,
    pending: Mutex<Pending>,
    disconnecting: AtomicBool,
    failure: Mutex<Option<FailureKind>>,
}

impl Shared {
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_failure(&self, kind: FailureKind) {
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(kind);
    }
}

#[derive(Clone)]
enum Inner {
    V4(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
    Failed,
}

/// Sends requests to a connection made by [`connect`]. Cheap to clone.
#[derive(Clone)]
pub struct ClientHandle {
    inner: Inner,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ClientHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = match self.inner {
            Inner::V4(_) => "3.1.1",
            Inner::V5(_) => "5",
            Inner::Failed => "failed",
        };
        f.debug_struct("ClientHandle").field("version", &v).finish()
    }
}

fn qos4(q: QoS) -> rumqttc::QoS {
    match q {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::QoS::ExactlyOnce,
    }
}

fn qos5(q: QoS) -> rumqttc::v5::mqttbytes::QoS {
    use rumqttc::v5::mqttbytes::QoS as V5;
    match q {
        QoS::AtMostOnce => V5::AtMostOnce,
        QoS::AtLeastOnce => V5::AtLeastOnce,
        QoS::ExactlyOnce => V5::ExactlyOnce,
    }
}

fn publish_properties(p: &MessageProperties) -> rumqttc::v5::mqttbytes::v5::PublishProperties {
    rumqttc::v5::mqttbytes::v5::PublishProperties {
        payload_format_indicator: p.payload_format_indicator,
        message_expiry_interval: p.message_expiry_interval,
        topic_alias: p.topic_alias,
        response_topic: p.response_topic.clone(),
        correlation_data: p.correlation_data.clone(),
        user_properties: p.user_properties.clone(),
        subscription_identifiers: Vec::new(),
        content_type: p.content_type.clone(),
    }
}

impl ClientHandle {
    /// How the connection failed, once the event stream has reported
    /// [`ClientEvent::ConnectFailed`] or [`ClientEvent::Disconnected`] (`None` before, and
    /// after a disconnect the client asked for).
    #[must_use]
    pub fn failure(&self) -> Option<FailureKind> {
        *self
            .shared
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Subscribes to one filter.
    ///
    /// # Errors
    /// An invalid filter, or a closed connection.
    pub async fn subscribe(&self, filter: &str, qos: QoS) -> Result<(), ClientError> {
        self.subscribe_many(&[(filter.to_string(), qos)], &[]).await
    }

    /// Subscribes to several filters in one SUBSCRIBE packet, as mosquitto_sub does, with
    /// MQTT 5 user properties.
    ///
    /// # Errors
    /// An invalid filter, or a closed connection.
    pub async fn subscribe_many(
        &self,
        filters: &[(String, QoS)],
        user_properties: &[(String, String)],
    ) -> Result<(), ClientError> {
        for (f, _) in filters {
            validate_filter(f).map_err(|source| ClientError::InvalidFilter {
                filter: f.clone(),
                source,
            })?;
        }
        let _order = self.shared.order.lock().await;
        self.shared
            .pending()
            .subscribes
            .push_back(filters.iter().map(|(f, q)| (f.clone(), *q as u8)).collect());
        let sent = match &self.inner {
            Inner::V4(c) => c
                .subscribe_many(
                    filters
                        .iter()
                        .map(|(f, q)| rumqttc::SubscribeFilter::new(f.clone(), qos4(*q))),
                )
                .await
                .is_ok(),
            Inner::V5(c) => {
                let list = filters
                    .iter()
                    .map(|(f, q)| rumqttc::v5::mqttbytes::v5::Filter::new(f.clone(), qos5(*q)));
                let r = if user_properties.is_empty() {
                    c.subscribe_many(list).await
                } else {
                    let props = rumqttc::v5::mqttbytes::v5::SubscribeProperties {
                        id: None,
                        user_properties: user_properties.to_vec(),
                    };
                    c.subscribe_many_with_properties(list, props).await
                };
                r.is_ok()
            }
            Inner::Failed => false,
        };
        if sent {
            Ok(())
        } else {
            self.shared.pending().subscribes.pop_back();
            Err(ClientError::Closed)
        }
    }

    /// Unsubscribes from a filter.
    ///
    /// # Errors
    /// An invalid filter, or a closed connection.
    pub async fn unsubscribe(&self, filter: &str) -> Result<(), ClientError> {
        validate_filter(filter).map_err(|source| ClientError::InvalidFilter {
            filter: filter.to_string(),
            source,
        })?;
        let _order = self.shared.order.lock().await;
        self.shared
            .pending()
            .unsubscribes
            .push_back(filter.to_string());
        let sent = match &self.inner {
            Inner::V4(c) => c.unsubscribe(filter).await.is_ok(),
            Inner::V5(c) => c.unsubscribe(filter).await.is_ok(),
            Inner::Failed => false,
        };
        if sent {
            Ok(())
        } else {
            self.shared.pending().unsubscribes.pop_back();
            Err(ClientError::Closed)
        }
    }

    /// Publishes a message. Completion shows up as [`ClientEvent::Published`].
    ///
    /// # Errors
    /// An invalid topic, or a closed connection.
    pub async fn publish(&self, msg: OutgoingMessage) -> Result<(), ClientError> {
        validate_topic(&msg.topic)?;
        let _order = self.shared.order.lock().await;
        self.shared.pending().publishes.push_back((
            msg.topic.clone(),
            msg.qos as u8,
            msg.retain,
            msg.payload.len(),
        ));
        let sent = match &self.inner {
            Inner::V4(c) => c
                .publish_bytes(msg.topic, qos4(msg.qos), msg.retain, msg.payload)
                .await
                .is_ok(),
            Inner::V5(c) => {
                let r = if msg.properties.is_empty() {
                    c.publish_bytes(msg.topic, qos5(msg.qos), msg.retain, msg.payload)
                        .await
                } else {
                    let props = publish_properties(&msg.properties);
                    c.publish_bytes_with_properties(
                        msg.topic,
                        qos5(msg.qos),
                        msg.retain,
                        msg.payload,
                        props,
                    )
                    .await
                };
                r.is_ok()
            }
            Inner::Failed => false,
        };
        if sent {
            Ok(())
        } else {
            self.shared.pending().publishes.pop_back();
            Err(ClientError::Closed)
        }
    }

    /// Sends DISCONNECT once the requests queued before it are written, then closes.
    ///
    /// # Errors
    /// A closed connection.
    pub async fn disconnect(&self) -> Result<(), ClientError> {
        self.shared.disconnecting.store(true, Ordering::SeqCst);
        let _order = self.shared.order.lock().await;
        let sent = match &self.inner {
            Inner::V4(c) => c.disconnect().await.is_ok(),
            Inner::V5(c) => c.disconnect().await.is_ok(),
            Inner::Failed => false,
        };
        if sent {
            Ok(())
        } else {
            Err(ClientError::Closed)
        }
    }
}

/// Connects in the background, without the `-d` packet trace. Must be called inside a tokio
/// runtime.
///
/// Returns at once; the first event is [`ClientEvent::Connected`] or
/// [`ClientEvent::ConnectFailed`]. Never panics: bad options become a `ConnectFailed` event.
/// No [`ClientEvent::Trace`] is sent, and no trace text is formatted; use
/// [`connect_with_trace`] to get them.
#[must_use]
pub fn connect(opts: ConnectOptions) -> (ClientHandle, mpsc::Receiver<ClientEvent>) {
    connect_with_trace(opts, false)
}

/// Like [`connect`]; with `trace` set, the event stream also carries a
/// [`ClientEvent::Trace`] line per packet, worded like `mosquitto_sub -d`.
///
/// Trace lines are formatted only when `trace` is set, so a consumer that does not show
/// them pays nothing per message.
#[must_use]
pub fn connect_with_trace(
    opts: ConnectOptions,
    trace: bool,
) -> (ClientHandle, mpsc::Receiver<ClientEvent>) {
    connect_with_trace_switch(opts, Arc::new(AtomicBool::new(trace)))
}

/// Like [`connect_with_trace`], with the trace switched on and off while the connection runs:
/// lines are formatted only while `trace` is set (the workbench traces a connection only
/// while its log pane shows the trace).
#[must_use]
pub fn connect_with_trace_switch(
    opts: ConnectOptions,
    trace: Arc<AtomicBool>,
) -> (ClientHandle, mpsc::Receiver<ClientEvent>) {
    retry::start(opts, trace, None)
}

/// rumqttc's transport for our options: TLS configuration and the WebSocket URL.
fn transport(opts: &ConnectOptions) -> Result<(rumqttc::Transport, String), String> {
    let tls = || -> Result<rumqttc::TlsConfiguration, String> {
        let cfg = tls::client_config(&opts.tls).map_err(|e| error_chain(&e))?;
        Ok(rumqttc::TlsConfiguration::Rustls(Arc::new(cfg)))
    };
    // rumqttc takes the whole WebSocket URL as the broker address.
    let ws_url = |scheme: &str| {
        let host = if opts.host.contains(':') {
            format!("[{}]", opts.host)
        } else {
            opts.host.clone()
        };
        let path = if opts.ws_path.starts_with('/') {
            opts.ws_path.clone()
        } else {
            format!("/{}", opts.ws_path)
        };
        format!("{scheme}://{host}:{}{path}", opts.port)
    };
    match opts.transport {
        Transport::Tcp => Ok((rumqttc::Transport::Tcp, opts.host.clone())),
        Transport::Tls => Ok((
            rumqttc::Transport::tls_with_config(tls()?),
            opts.host.clone(),
        )),
        Transport::Ws => Ok((rumqttc::Transport::Ws, ws_url("ws"))),
        Transport::Wss => Ok((rumqttc::Transport::wss_with_config(tls()?), ws_url("wss"))),
    }
}

fn build(opts: &ConnectOptions) -> Result<(Inner, EventLoop), String> {
    let id = opts.client_id.clone().unwrap_or_default();
    if !opts.clean_session && id.is_empty() {
        return Err("a client id is needed for a persistent session (clean session off)".into());
    }
    // rumqttc's MQTT 5 options panic below 5 seconds.
    if opts.version == MqttVersion::V5 && opts.keep_alive < 5 {
        return Err(format!(
            "keep alive {} s is too short for MQTT 5: use 5 to 65535 seconds",
            opts.keep_alive
        ));
    }
    let (transport, host) = transport(opts)?;
    let keep_alive = Duration::from_secs(u64::from(opts.keep_alive));
    match opts.version {
        MqttVersion::V311 => {
            let mut o = rumqttc::MqttOptions::new(id, host, opts.port);
            o.set_transport(transport);
            o.set_keep_alive(keep_alive);
            o.set_clean_session(opts.clean_session);
            o.set_max_packet_size(MAX_PACKET as usize, MAX_PACKET as usize);
            o.set_inflight(20);
            if let Some(user) = &opts.username {
                o.set_credentials(user.clone(), opts.password.clone().unwrap_or_default());
            }
            if let Some(w) = &opts.will {
                o.set_last_will(rumqttc::LastWill::new(
                    w.topic.clone(),
                    w.payload.clone().into_bytes(),
                    qos4(w.qos),
                    w.retain,
                ));
            }
            let (client, eventloop) = rumqttc::AsyncClient::new(o, 64);
            Ok((Inner::V4(client), EventLoop::V4(Box::new(eventloop))))
        }
        MqttVersion::V5 => {
            let mut o = rumqttc::v5::MqttOptions::new(id, host, opts.port);
            o.set_transport(transport);
            o.set_keep_alive(keep_alive);
            o.set_clean_start(opts.clean_session);
            o.set_outgoing_inflight_upper_limit(20);
            let p = &opts.properties;
            let mut props = rumqttc::v5::mqttbytes::v5::ConnectProperties::new();
            props.session_expiry_interval = opts.session_expiry;
            props.receive_maximum = p.receive_maximum;
            props.max_packet_size = Some(p.maximum_packet_size.unwrap_or(MAX_PACKET));
            props.topic_alias_max = p.topic_alias_maximum;
            props.request_response_info = p.request_response_information;
            props.request_problem_info = p.request_problem_information;
            props.user_properties = p.user_properties.clone();
            o.set_connect_properties(props);
            if let Some(user) = &opts.username {
                o.set_credentials(user.clone(), opts.password.clone().unwrap_or_default());
            }
            if let Some(w) = &opts.will {
                o.set_last_will(rumqttc::v5::mqttbytes::v5::LastWill::new(
                    w.topic.clone(),
                    w.payload.clone().into_bytes(),
                    qos5(w.qos),
                    w.retain,
                    None,
                ));
            }
            let (client, eventloop) = rumqttc::v5::AsyncClient::new(o, 64);
            Ok((Inner::V5(client), EventLoop::V5(Box::new(eventloop))))
        }
    }
}

/// The connection task's state: the trace's client id, message ids, held messages.
struct Session {
    id: String,
    tx: mpsc::Sender<ClientEvent>,
    shared: Arc<Shared>,
    /// The last message id libmosquitto would have used (it numbers QoS 0 publishes too).
    last_mid: u16,
    /// QoS 1/2 messages waiting for their PUBACK/PUBCOMP to go out.
    held: HashMap<u16, IncomingMessage>,
    connected: bool,
    /// The consumer dropped the receiver.
    gone: bool,
    /// Whether [`ClientEvent::Trace`] lines are wanted; none is formatted otherwise.
    tracing: Arc<AtomicBool>,
    /// Try a lost connection again after this long (see [`connect_with_trace_retrying`]).
    retry: Option<Duration>,
    /// A CONNACK accepted this client once: only then is a lost connection retried.
    ever_connected: bool,
}

/// What one step of the event loop means for the task.
enum Step {
    Continue,
    Stop,
}

impl Session {
    fn new(
        opts: &ConnectOptions,
        tx: mpsc::Sender<ClientEvent>,
        shared: Arc<Shared>,
        tracing: Arc<AtomicBool>,
    ) -> Self {
        Self {
            tracing,
            id: opts.display_id(),
            tx,
            shared,
            last_mid: 0,
            held: HashMap::new(),
            connected: false,
            gone: false,
            retry: None,
            ever_connected: false,
        }
    }

    async fn emit(&mut self, ev: ClientEvent) {
        if !self.gone && self.tx.send(ev).await.is_err() {
            self.gone = true;
        }
    }

    /// Emits a trace line built by `make` from the client id, only when tracing is on.
    async fn trace(&mut self, make: impl FnOnce(&str) -> String) {
        if self.tracing.load(Ordering::Relaxed) {
            let line = make(&self.id);
            self.emit(ClientEvent::Trace(line)).await;
        }
    }

    async fn on_connack(&mut self, session_present: bool, assigned: Option<String>) {
        // rumqttc reports no outgoing CONNECT; its CONNACK proves it went out. Written only
        // now, the trace never claims a CONNECT on a socket that did not connect, as
        // mosquitto_sub -d prints none then either.
        self.trace(trace::sending_connect).await;
        self.trace(|id| trace::received_connack(id, 0)).await;
        if let Some(id) = assigned {
            self.id = id;
        }
        self.connected = true;
        self.ever_connected = true;
        let client_id = self.id.clone();
        self.emit(ClientEvent::Connected {
            session_present,
            client_id,
        })
        .await;
    }

    async fn on_publish(&mut self, msg: IncomingMessage) {
        self.trace(|id| {
            trace::received_publish(
                id,
                msg.dup,
                msg.qos as u8,
                msg.retain,
                msg.pkid,
                &msg.topic,
                msg.payload.len(),
            )
        })
        .await;
        if msg.qos == QoS::AtMostOnce {
            self.emit(ClientEvent::Message(msg)).await;
        } else {
            self.held.insert(msg.pkid, msg);
        }
    }

    async fn release(&mut self, pkid: u16) {
        if let Some(msg) = self.held.remove(&pkid) {
            self.emit(ClientEvent::Message(msg)).await;
        }
    }

    async fn on_outgoing(&mut self, out: Outgoing) -> Step {
        match out {
            Outgoing::Publish(pkid) => {
                let note = self.shared.pending().publishes.pop_front();
                let mid = if pkid == 0 {
                    self.last_mid = self.last_mid.checked_add(1).unwrap_or(1);
                    self.last_mid
                } else {
                    self.last_mid = pkid;
                    pkid
                };
                let (topic, qos, retain, len) = note.unwrap_or_default();
                self.trace(|id| trace::sending_publish(id, false, qos, retain, mid, &topic, len))
                    .await;
                if qos == 0 {
                    self.emit(ClientEvent::Published {
                        pkid: mid,
                        reason: 0,
                    })
                    .await;
                }
            }
            Outgoing::Subscribe(pkid) => {
                self.last_mid = pkid;
                let filters = self
                    .shared
                    .pending()
                    .subscribes
                    .pop_front()
                    .unwrap_or_default();
                for (f, q) in filters {
                    self.trace(|id| trace::sending_subscribe(id, pkid, &f, q, 0))
                        .await;
                }
            }
            Outgoing::Unsubscribe(pkid) => {
                self.last_mid = pkid;
                let f = self
                    .shared
                    .pending()
                    .unsubscribes
                    .pop_front()
                    .unwrap_or_default();
                self.trace(|id| trace::sending_unsubscribe(id, pkid, &f))
                    .await;
            }
            Outgoing::PubAck(pkid) => {
                self.trace(|id| trace::sending_puback(id, pkid, 0)).await;
                self.release(pkid).await;
            }
            Outgoing::PubRec(pkid) => self.trace(|id| trace::sending_pubrec(id, pkid, 0)).await,
            Outgoing::PubRel(pkid) => self.trace(|id| trace::sending_pubrel(id, pkid)).await,
            Outgoing::PubComp(pkid) => {
                self.trace(|id| trace::sending_pubcomp(id, pkid)).await;
                self.release(pkid).await;
            }
            Outgoing::PingReq => self.trace(trace::sending_pingreq).await,
            Outgoing::Disconnect => {
                self.trace(trace::sending_disconnect).await;
                self.emit(ClientEvent::Disconnected {
                    reason: "disconnected".into(),
                })
                .await;
                return Step::Stop;
            }
            Outgoing::PingResp | Outgoing::AwaitAck(_) => {}
        }
        Step::Continue
    }

    /// Reports a connection error: refused or failed before CONNACK, lost after.
    async fn on_error(&mut self, reason: String, code: Option<u8>, kind: FailureKind) {
        // The CONNECT went out when the broker answered it (a refusal) or when the failure
        // came after the socket and TLS were up (a timeout or protocol error).
        if !self.connected && (code.is_some() || kind == FailureKind::Other) {
            self.trace(trace::sending_connect).await;
        }
        if let Some(c) = code {
            self.trace(|id| trace::received_connack(id, c)).await;
        }
        let asked = self.connected && self.shared.disconnecting.load(Ordering::SeqCst);
        if !asked {
            self.shared.set_failure(kind);
        }
        if self.connected {
            let reason = if asked {
                "disconnected".to_string()
            } else {
                reason
            };
            self.emit(ClientEvent::Disconnected { reason }).await;
        } else {
            self.emit(ClientEvent::ConnectFailed { reason, code }).await;
        }
    }

    /// The connection task: one loop over [`EventLoop::poll`] for both protocol versions.
    async fn run(mut self, mut el: EventLoop) {
        loop {
            let step = match el.poll().await {
                Polled::ConnAck {
                    session_present,
                    assigned,
                } => {
                    self.on_connack(session_present, assigned).await;
                    Step::Continue
                }
                Polled::Publish(msg) => {
                    self.on_publish(msg).await;
                    Step::Continue
                }
                Polled::PubAck { pkid, reason } => {
                    self.trace(|id| trace::received_puback(id, pkid, reason))
                        .await;
                    self.emit(ClientEvent::Published { pkid, reason }).await;
                    Step::Continue
                }
                Polled::PubRec(pkid) => {
                    self.trace(|id| trace::received_pubrec(id, pkid)).await;
                    Step::Continue
                }
                Polled::PubRel(pkid) => {
                    self.trace(|id| trace::received_pubrel(id, pkid)).await;
                    Step::Continue
                }
                Polled::PubComp { pkid, reason } => {
                    self.trace(|id| trace::received_pubcomp(id, pkid, reason))
                        .await;
                    self.emit(ClientEvent::Published { pkid, reason }).await;
                    Step::Continue
                }
                Polled::SubAck { pkid, codes } => {
                    self.trace(trace::received_suback).await;
                    self.emit(ClientEvent::SubAck { pkid, codes }).await;
                    Step::Continue
                }
                Polled::UnsubAck(pkid) => {
                    self.trace(|id| trace::received_unsuback(id, pkid)).await;
                    self.emit(ClientEvent::UnsubAck { pkid }).await;
                    Step::Continue
                }
                Polled::PingResp => {
                    self.trace(trace::received_pingresp).await;
                    Step::Continue
                }
                Polled::Disconnect(rc) => {
                    self.trace(|id| trace::received_disconnect(id, rc)).await;
                    Step::Continue
                }
                Polled::Ignored => Step::Continue,
                Polled::Outgoing(o) => self.on_outgoing(o).await,
                Polled::Error { reason, code, kind } => {
                    let asked = self.shared.disconnecting.load(Ordering::SeqCst);
                    self.on_error(reason, code, kind).await;
                    match self.retry {
                        // The same event loop connects again on its next poll, keeping its
                        // Packet Identifiers.
                        Some(delay) if self.ever_connected && !asked && retryable(Some(kind)) => {
                            self.connected = false;
                            tokio::time::sleep(delay).await;
                            Step::Continue
                        }
                        _ => Step::Stop,
                    }
                }
            };
            if matches!(step, Step::Stop) || self.gone {
                return;
            }
        }
    }
}
