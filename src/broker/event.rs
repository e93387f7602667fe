//! [`BrokerEvent`]: the broker's user-visible log, one typed value per line of `mosquitto -v`.
//!
//! Its `Display` is the only place where log wording lives, so `mqtt-workbench broker -v` and the
//! workbench's log pane cannot drift apart. Some events span several lines (a SUBSCRIBE with its
//! filters); each line gets its own timestamp prefix when printed.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::broadcast;

use super::config::{BrokerConfig, LogTypes};
pub use super::tag::{MessageNo, Tag, Why};

/// How important a log line is, mirroring mosquitto's `log_type` classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Packet traffic (`log_type debug` and `subscribe`/`unsubscribe`): shown with `-v`.
    Debug,
    /// Connections, start-up and shutdown (`notice`, `information`).
    Notice,
    /// Something went wrong but the broker goes on.
    Warning,
    /// A failure that stops something from working.
    Error,
}

/// The QoS, retain, dup and id fields mosquitto prints for a PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishFlags {
    /// DUP flag.
    pub dup: bool,
    /// QoS 0..=2.
    pub qos: u8,
    /// RETAIN flag.
    pub retain: bool,
    /// Packet identifier ("mid"); 0 at QoS 0.
    pub pkid: u16,
}

/// One event of the broker's verbose log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerEvent {
    /// `mqtt-workbench version X starting`.
    Starting,
    /// `mqtt-workbench version X running`.
    Running,
    /// `mqtt-workbench version X terminating`.
    Terminating,
    /// `Config loaded from FILE.` or `Using default config.`
    Config(Option<String>),
    /// The two lines mosquitto prints when it binds loopback only.
    LocalOnlyMode,
    /// `Opening ipv4 listen socket on port N.`
    OpeningListener {
        /// True for an IPv6 socket.
        ipv6: bool,
        /// True for a `protocol websockets` listener (mosquitto names it so, once).
        websockets: bool,
        /// The real port (never 0).
        port: u16,
    },
    /// A free-form notice (configuration remarks).
    Notice(String),
    /// A free-form warning.
    Warning(String),
    /// A free-form error.
    Error(String),
    /// `New connection from IP:PORT on port N.`
    NewConnection {
        /// The peer.
        peer: SocketAddr,
        /// The local listener port.
        port: u16,
    },
    /// `New client connected from IP:PORT as ID (pV, cC, kK[, u'USER']).`
    ClientConnected {
        /// The peer.
        peer: SocketAddr,
        /// Client id (possibly assigned).
        client: Arc<str>,
        /// 1, 2 or 5.
        protocol: u8,
        /// Clean session / clean start.
        clean: bool,
        /// Keep alive in seconds.
        keep_alive: u16,
        /// User name, if any.
        username: Option<String>,
    },
    /// `No will message specified.`
    NoWill,
    /// `Will message specified (N bytes) (rR, qQ).` and a TAB line with the topic.
    WillSpecified {
        /// Payload length.
        len: usize,
        /// Will retain.
        retain: bool,
        /// Will QoS.
        qos: u8,
        /// Will topic.
        topic: String,
    },
    /// `Sending CONNACK to ID (SP, RC)`.
    ConnAckSent {
        /// Client id, or the IP for a refused connection.
        client: Arc<str>,
        /// Session present.
        session_present: bool,
        /// Return code as sent.
        code: u8,
    },
    /// `Client ID already connected, closing old connection.`
    Takeover(Arc<str>),
    /// `Received SUBSCRIBE from ID`, then per filter a TAB line and the `ID Q FILTER` line.
    SubscribeReceived {
        /// Client id.
        client: Arc<str>,
        /// Filters with requested QoS.
        filters: Vec<(String, u8)>,
    },
    /// `Sending SUBACK to ID`.
    SubAckSent(Arc<str>),
    /// `Received UNSUBSCRIBE from ID`, then per filter a TAB line and the `ID FILTER` line.
    UnsubscribeReceived {
        /// Client id.
        client: Arc<str>,
        /// Filters.
        filters: Vec<String>,
    },
    /// `Sending UNSUBACK to ID`.
    UnsubAckSent(Arc<str>),
    /// `Received PUBLISH from ID (dD, qQ, rR, mM, 'TOPIC', ... (N bytes))`.
    PublishReceived {
        /// Client id.
        client: Arc<str>,
        /// Flags and id.
        flags: PublishFlags,
        /// Topic.
        topic: Arc<str>,
        /// Payload length.
        len: usize,
    },
    /// `Denied PUBLISH from ID (...)`.
    PublishDenied {
        /// Client id.
        client: Arc<str>,
        /// Flags and id.
        flags: PublishFlags,
        /// Topic.
        topic: Arc<str>,
        /// Payload length.
        len: usize,
    },
    /// `Sending PUBLISH to ID (dD, qQ, rR, mM, 'TOPIC', ... (N bytes))`.
    PublishSent {
        /// Client id.
        client: Arc<str>,
        /// Flags and id.
        flags: PublishFlags,
        /// Topic.
        topic: Arc<str>,
        /// Payload length.
        len: usize,
    },
    /// `Sending PUBACK to ID (mM, rcR)`.
    PubAckSent {
        /// Client id.
        client: Arc<str>,
        /// Packet id.
        pkid: u16,
        /// Reason code.
        rc: u8,
    },
    /// `Received PUBACK from ID (Mid: M, RC:R)`.
    PubAckReceived {
        /// Client id.
        client: Arc<str>,
        /// Packet id.
        pkid: u16,
        /// Reason code.
        rc: u8,
    },
    /// `Sending PUBREC to ID (mM, rcR)`.
    PubRecSent {
        /// Client id.
        client: Arc<str>,
        /// Packet id.
        pkid: u16,
        /// Reason code.
        rc: u8,
    },
    /// `Received PUBREC from ID (Mid: M)`.
    PubRecReceived {
        /// Client id.
        client: Arc<str>,
        /// Packet id.
        pkid: u16,
    },
    /// `Received PUBREL from ID (Mid: M)`.
    PubRelReceived {
        /// Client id.
        client: Arc<str>,
        /// Packet id.
        pkid: u16,
    },
    /// `Sending PUBREL to ID (mM)`.
    PubRelSent {
        /// Client id.
        client: Arc<str>,
        /// Packet id.
        pkid: u16,
    },
    /// `Sending PUBCOMP to ID (mM)`.
    PubCompSent {
        /// Client id.
        client: Arc<str>,
        /// Packet id.
        pkid: u16,
    },
    /// `Received PUBCOMP from ID (Mid: M, RC:R)`.
    PubCompReceived {
        /// Client id.
        client: Arc<str>,
        /// Packet id.
        pkid: u16,
        /// Reason code.
        rc: u8,
    },
    /// `Received PINGREQ from ID`.
    PingReqReceived(Arc<str>),
    /// `Sending PINGRESP to ID`.
    PingRespSent(Arc<str>),
    /// `Received DISCONNECT from ID`.
    DisconnectReceived(Arc<str>),
    /// `Client ID disconnected.`
    Disconnected(Arc<str>),
    /// `Client ID closed its connection.`
    ConnectionClosed(Arc<str>),
    /// `Client ID has exceeded timeout, disconnecting.`
    KeepAliveTimeout(Arc<str>),
    /// `Client ID disconnected due to malformed packet.`
    MalformedPacket(Arc<str>),
    /// `Client ID disconnected due to protocol error.`
    ProtocolError(Arc<str>),
    /// `Client ID disconnected due to oversize packet.`
    OversizePacket(Arc<str>),
    /// `Client ID disconnected, not authorised.`
    NotAuthorised(Arc<str>),
    /// `Client ID disconnected: REASON.` (server-side closes without a mosquitto wording).
    DisconnectedBecause {
        /// Client id.
        client: Arc<str>,
        /// Why.
        reason: String,
    },
    /// `Outgoing messages are being dropped for client ID.`
    MessagesDropped(Arc<str>),
    /// `Expiring client ID due to timeout.` (session expiry).
    SessionExpired(Arc<str>),
    /// The log consumer fell behind and missed lines.
    Lagged(u64),
    /// Every subscription, one TAB line each (`\tFILTER CLIENT (QoS Q)`), and the number of
    /// retained messages: the answer to SIGUSR2.
    SubscriptionTree {
        /// The lines, sorted.
        lines: Vec<String>,
        /// Retained messages held: outside `$SYS`, and under `$SYS`.
        retained: (usize, usize),
    },
    /// Workbench only (a journey bus, see [`EventBus::with_journeys`]): a message was not
    /// delivered to `client` (or to anyone), for `reason`. `broker -v` never prints it.
    NotDelivered {
        /// The subscriber that did not get it (the publisher for No Local); `None` when no
        /// subscription matched at all.
        client: Option<Arc<str>>,
        /// Topic.
        topic: Arc<str>,
        /// Why.
        reason: Why,
    },
    /// Workbench only (a journey bus): the Will Message of `client` was published.
    WillPublished {
        /// The client that set the will.
        client: Arc<str>,
        /// Will topic.
        topic: Arc<str>,
        /// Will QoS.
        qos: u8,
        /// Will retain.
        retain: bool,
        /// Payload length.
        len: usize,
    },
}

fn b(v: bool) -> u8 {
    u8::from(v)
}

impl BrokerEvent {
    /// The mosquitto log class of this event.
    #[must_use]
    pub fn level(&self) -> LogLevel {
        use BrokerEvent as E;
        match self {
            E::Starting
            | E::Running
            | E::Terminating
            | E::Config(_)
            | E::LocalOnlyMode
            | E::OpeningListener { .. }
            | E::Notice(_)
            | E::NewConnection { .. }
            | E::ClientConnected { .. }
            | E::Takeover(_)
            | E::Disconnected(_)
            | E::ConnectionClosed(_)
            | E::KeepAliveTimeout(_)
            | E::MalformedPacket(_)
            | E::ProtocolError(_)
            | E::OversizePacket(_)
            | E::NotAuthorised(_)
            | E::DisconnectedBecause { .. }
            | E::SessionExpired(_)
            | E::Lagged(_)
            | E::SubscriptionTree { .. } => LogLevel::Notice,
            E::Warning(_) | E::MessagesDropped(_) => LogLevel::Warning,
            E::Error(_) => LogLevel::Error,
            _ => LogLevel::Debug,
        }
    }

    /// The client id this line is about, for the log pane's filter.
    #[must_use]
    pub fn client(&self) -> Option<&str> {
        use BrokerEvent as E;
        match self {
            E::ClientConnected { client, .. }
            | E::ConnAckSent { client, .. }
            | E::SubscribeReceived { client, .. }
            | E::UnsubscribeReceived { client, .. }
            | E::PublishReceived { client, .. }
            | E::PublishDenied { client, .. }
            | E::PublishSent { client, .. }
            | E::PubAckSent { client, .. }
            | E::PubAckReceived { client, .. }
            | E::PubRecSent { client, .. }
            | E::PubRecReceived { client, .. }
            | E::PubRelReceived { client, .. }
            | E::PubRelSent { client, .. }
            | E::PubCompSent { client, .. }
            | E::PubCompReceived { client, .. }
            | E::DisconnectedBecause { client, .. }
            | E::WillPublished { client, .. }
            | E::NotDelivered {
                client: Some(client),
                ..
            } => Some(client),
            E::Takeover(c)
            | E::SubAckSent(c)
            | E::UnsubAckSent(c)
            | E::PingReqReceived(c)
            | E::PingRespSent(c)
            | E::DisconnectReceived(c)
            | E::Disconnected(c)
            | E::ConnectionClosed(c)
            | E::KeepAliveTimeout(c)
            | E::MalformedPacket(c)
            | E::ProtocolError(c)
            | E::OversizePacket(c)
            | E::NotAuthorised(c)
            | E::MessagesDropped(c)
            | E::SessionExpired(c) => Some(c),
            _ => None,
        }
    }

    /// True for the lines `connection_messages false` hides: connections opening and closing.
    #[must_use]
    pub fn is_connection_message(&self) -> bool {
        use BrokerEvent as E;
        matches!(
            self,
            E::NewConnection { .. }
                | E::ClientConnected { .. }
                | E::Takeover(_)
                | E::Disconnected(_)
                | E::ConnectionClosed(_)
                | E::KeepAliveTimeout(_)
                | E::MalformedPacket(_)
                | E::ProtocolError(_)
                | E::OversizePacket(_)
                | E::NotAuthorised(_)
                | E::DisconnectedBecause { .. }
        )
    }

    /// The mosquitto `log_type` class of this event's lines. SUBSCRIBE and UNSUBSCRIBE events
    /// mix classes; [`LogFilter::lines`] splits them.
    #[must_use]
    pub fn log_type(&self) -> LogTypes {
        use BrokerEvent as E;
        match self.level() {
            LogLevel::Error => LogTypes::ERROR,
            LogLevel::Warning => LogTypes::WARNING,
            LogLevel::Notice => match self {
                E::Config(_) | E::LocalOnlyMode | E::SubscriptionTree { .. } => {
                    LogTypes::INFORMATION
                }
                _ => LogTypes::NOTICE,
            },
            LogLevel::Debug => LogTypes::DEBUG,
        }
    }

    /// The MQTT packet type this line is about (`"PUBLISH"`, `"CONNACK"`, ...), for colouring.
    #[must_use]
    pub fn packet_kind(&self) -> Option<&'static str> {
        use BrokerEvent as E;
        Some(match self {
            E::ClientConnected { .. } | E::NoWill | E::WillSpecified { .. } => "CONNECT",
            E::ConnAckSent { .. } => "CONNACK",
            E::SubscribeReceived { .. } => "SUBSCRIBE",
            E::SubAckSent(_) => "SUBACK",
            E::UnsubscribeReceived { .. } => "UNSUBSCRIBE",
            E::UnsubAckSent(_) => "UNSUBACK",
            E::PublishReceived { .. }
            | E::PublishDenied { .. }
            | E::PublishSent { .. }
            | E::WillPublished { .. }
            | E::NotDelivered { .. } => "PUBLISH",
            E::PubAckSent { .. } | E::PubAckReceived { .. } => "PUBACK",
            E::PubRecSent { .. } | E::PubRecReceived { .. } => "PUBREC",
            E::PubRelSent { .. } | E::PubRelReceived { .. } => "PUBREL",
            E::PubCompSent { .. } | E::PubCompReceived { .. } => "PUBCOMP",
            E::PingReqReceived(_) | E::PingRespSent(_) => "PING",
            E::DisconnectReceived(_) | E::Disconnected(_) => "DISCONNECT",
            _ => return None,
        })
    }
}

fn publish_fields(
    f: &mut fmt::Formatter<'_>,
    flags: &PublishFlags,
    topic: &str,
    len: usize,
) -> fmt::Result {
    write!(
        f,
        "(d{}, q{}, r{}, m{}, '{topic}', ... ({len} bytes))",
        b(flags.dup),
        flags.qos,
        b(flags.retain),
        flags.pkid
    )
}

const NAME: &str = "mqtt-workbench";
const VERSION: &str = env!("CARGO_PKG_VERSION");

impl fmt::Display for BrokerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use BrokerEvent as E;
        match self {
            E::Starting => write!(f, "{NAME} version {VERSION} starting"),
            E::Running => write!(f, "{NAME} version {VERSION} running"),
            E::Terminating => write!(f, "{NAME} version {VERSION} terminating"),
            E::Config(Some(path)) => write!(f, "Config loaded from {path}."),
            E::Config(None) => write!(f, "Using default config."),
            E::LocalOnlyMode => write!(
                f,
                "Starting in local only mode. Connections will only be possible from clients \
                 running on this machine.\nCreate a configuration file which defines a listener \
                 to allow remote access."
            ),
            E::OpeningListener {
                websockets: true,
                port,
                ..
            } => write!(f, "Opening websockets listen socket on port {port}."),
            E::OpeningListener { ipv6, port, .. } => {
                let v = if *ipv6 { 6 } else { 4 };
                write!(f, "Opening ipv{v} listen socket on port {port}.")
            }
            E::Notice(s) => write!(f, "{s}"),
            E::Warning(s) => write!(f, "Warning: {s}"),
            E::Error(s) => write!(f, "Error: {s}"),
            E::NewConnection { peer, port } => {
                write!(
                    f,
                    "New connection from {}:{} on port {port}.",
                    peer.ip(),
                    peer.port()
                )
            }
            E::ClientConnected {
                peer,
                client,
                protocol,
                clean,
                keep_alive,
                username,
            } => {
                write!(
                    f,
                    "New client connected from {}:{} as {client} (p{protocol}, c{}, k{keep_alive}",
                    peer.ip(),
                    peer.port(),
                    b(*clean)
                )?;
                if let Some(u) = username {
                    write!(f, ", u'{u}'")?;
                }
                write!(f, ").")
            }
            E::NoWill => write!(f, "No will message specified."),
            E::WillSpecified {
                len,
                retain,
                qos,
                topic,
            } => {
                write!(
                    f,
                    "Will message specified ({len} bytes) (r{}, q{qos}).\n\t{topic}",
                    b(*retain)
                )
            }
            E::ConnAckSent {
                client,
                session_present,
                code,
            } => {
                write!(
                    f,
                    "Sending CONNACK to {client} ({}, {code})",
                    b(*session_present)
                )
            }
            E::Takeover(c) => write!(f, "Client {c} already connected, closing old connection."),
            E::SubscribeReceived { client, filters } => {
                write!(f, "Received SUBSCRIBE from {client}")?;
                for (filter, qos) in filters {
                    write!(f, "\n\t{filter} (QoS {qos})\n{client} {qos} {filter}")?;
                }
                Ok(())
            }
            E::SubAckSent(c) => write!(f, "Sending SUBACK to {c}"),
            E::UnsubscribeReceived { client, filters } => {
                write!(f, "Received UNSUBSCRIBE from {client}")?;
                for filter in filters {
                    write!(f, "\n\t{filter}\n{client} {filter}")?;
                }
                Ok(())
            }
            E::UnsubAckSent(c) => write!(f, "Sending UNSUBACK to {c}"),
            E::PublishReceived {
                client,
                flags,
                topic,
                len,
            } => {
                write!(f, "Received PUBLISH from {client} ")?;
                publish_fields(f, flags, topic, *len)
            }
            E::PublishDenied {
                client,
                flags,
                topic,
                len,
            } => {
                write!(f, "Denied PUBLISH from {client} ")?;
                publish_fields(f, flags, topic, *len)
            }
            E::PublishSent {
                client,
                flags,
                topic,
                len,
            } => {
                write!(f, "Sending PUBLISH to {client} ")?;
                publish_fields(f, flags, topic, *len)
            }
            E::PubAckSent { client, pkid, rc } => {
                write!(f, "Sending PUBACK to {client} (m{pkid}, rc{rc})")
            }
            E::PubAckReceived { client, pkid, rc } => {
                write!(f, "Received PUBACK from {client} (Mid: {pkid}, RC:{rc})")
            }
            E::PubRecSent { client, pkid, rc } => {
                write!(f, "Sending PUBREC to {client} (m{pkid}, rc{rc})")
            }
            E::PubRecReceived { client, pkid } => {
                write!(f, "Received PUBREC from {client} (Mid: {pkid})")
            }
            E::PubRelReceived { client, pkid } => {
                write!(f, "Received PUBREL from {client} (Mid: {pkid})")
            }
            E::PubRelSent { client, pkid } => write!(f, "Sending PUBREL to {client} (m{pkid})"),
            E::PubCompSent { client, pkid } => write!(f, "Sending PUBCOMP to {client} (m{pkid})"),
            E::PubCompReceived { client, pkid, rc } => {
                write!(f, "Received PUBCOMP from {client} (Mid: {pkid}, RC:{rc})")
            }
            E::PingReqReceived(c) => write!(f, "Received PINGREQ from {c}"),
            E::PingRespSent(c) => write!(f, "Sending PINGRESP to {c}"),
            E::DisconnectReceived(c) => write!(f, "Received DISCONNECT from {c}"),
            E::Disconnected(c) => write!(f, "Client {c} disconnected."),
            E::ConnectionClosed(c) => write!(f, "Client {c} closed its connection."),
            E::KeepAliveTimeout(c) => write!(f, "Client {c} has exceeded timeout, disconnecting."),
            E::MalformedPacket(c) => write!(f, "Client {c} disconnected due to malformed packet."),
            E::ProtocolError(c) => write!(f, "Client {c} disconnected due to protocol error."),
            E::OversizePacket(c) => write!(f, "Client {c} disconnected due to oversize packet."),
            E::NotAuthorised(c) => write!(f, "Client {c} disconnected, not authorised."),
            E::DisconnectedBecause { client, reason } => {
                write!(f, "Client {client} disconnected: {reason}.")
            }
            E::MessagesDropped(c) => {
                write!(f, "Outgoing messages are being dropped for client {c}.")
            }
            E::SessionExpired(c) => write!(f, "Expiring client {c} due to timeout."),
            E::Lagged(n) => write!(f, "... {n} log lines dropped (the log reader fell behind)"),
            E::SubscriptionTree { lines, retained } => {
                write!(f, "Subscriptions ({}):", lines.len())?;
                for l in lines {
                    write!(f, "\n{l}")?;
                }
                write!(
                    f,
                    "\nRetained messages: {} (and {} under $SYS)",
                    retained.0, retained.1
                )
            }
            E::NotDelivered {
                client: Some(c),
                topic,
                reason,
            } => write!(f, "Not delivered to {c} ('{topic}'): {}", reason.short()),
            E::NotDelivered {
                client: None,
                topic,
                reason,
            } => write!(f, "Not delivered ('{topic}'): {}", reason.short()),
            E::WillPublished {
                client,
                topic,
                qos,
                retain,
                len,
            } => write!(
                f,
                "Will of {client} published (q{qos}, r{}, '{topic}', ... ({len} bytes))",
                b(*retain)
            ),
        }
    }
}

/// Which log lines are wanted: mosquitto's `log_type` and `connection_messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogFilter {
    /// The classes to keep.
    pub types: LogTypes,
    /// False hides connection and disconnection lines.
    pub connection_messages: bool,
}

impl Default for LogFilter {
    fn default() -> Self {
        Self {
            types: LogTypes::DEFAULT,
            connection_messages: true,
        }
    }
}

impl LogFilter {
    /// The filter a configuration asks for; `verbose` (`-v`) means `log_type all`, as in
    /// mosquitto, whatever the file says.
    #[must_use]
    pub fn from_config(cfg: &BrokerConfig, verbose: bool) -> Self {
        Self {
            types: if verbose {
                LogTypes::ALL
            } else {
                cfg.log_type.unwrap_or(LogTypes::DEFAULT)
            },
            connection_messages: cfg.connection_messages,
        }
    }

    /// True when the broker must produce packet-level events for this filter (see
    /// [`EventBus::quiet`]).
    #[must_use]
    pub fn wants_packets(&self) -> bool {
        self.types.intersects(
            LogTypes::DEBUG
                .with(LogTypes::SUBSCRIBE)
                .with(LogTypes::UNSUBSCRIBE),
        )
    }

    /// The lines of `event` this filter keeps, each with its class, in order.
    #[must_use]
    pub fn lines(&self, event: &BrokerEvent) -> Vec<(LogTypes, String)> {
        if !self.connection_messages && event.is_connection_message() {
            return Vec::new();
        }
        let text = event.to_string();
        let split = match event {
            BrokerEvent::SubscribeReceived { .. } => Some(LogTypes::SUBSCRIBE),
            BrokerEvent::UnsubscribeReceived { .. } => Some(LogTypes::UNSUBSCRIBE),
            _ => None,
        };
        let class = event.log_type();
        text.split('\n')
            .map(|line| {
                let c = match split {
                    // `Received SUBSCRIBE from ID` and the TAB lines are debug; the
                    // `ID QOS FILTER` lines are the subscribe class.
                    Some(sub) if !line.starts_with('\t') && !line.starts_with("Received ") => sub,
                    _ => class,
                };
                (c, line.to_owned())
            })
            .filter(|(c, _)| self.types.contains(*c))
            .collect()
    }
}

/// One log line as it travels to the log readers: the event and when it happened.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// When the broker emitted it.
    pub time: SystemTime,
    /// What happened.
    pub event: BrokerEvent,
    /// The message journey and why note of this line (workbench only).
    pub tag: Tag,
}

impl LogEntry {
    /// An untagged line.
    #[must_use]
    pub fn new(time: SystemTime, event: BrokerEvent) -> Self {
        Self {
            time,
            event,
            tag: Tag::default(),
        }
    }
}

/// The broadcast channel the broker writes its log to. Building an event is skipped entirely
/// when nobody listens, and packet-level (debug) events are skipped unless the bus is verbose,
/// which keeps the hot path free of formatting and cloning.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<LogEntry>,
    verbose: bool,
    journeys: bool,
}

impl EventBus {
    /// A verbose bus (every packet is logged) that keeps up to `capacity` lines for slow
    /// readers.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Self {
            tx,
            verbose: true,
            journeys: false,
        }
    }

    /// The same bus with the workbench's journey lines on: [`BrokerEvent::NotDelivered`] and
    /// [`BrokerEvent::WillPublished`], which `broker -v` (mosquitto's wording) never prints.
    #[must_use]
    pub fn with_journeys(self) -> Self {
        Self {
            journeys: true,
            ..self
        }
    }

    /// True when journey lines are wanted and someone listens.
    #[must_use]
    pub fn journeys(&self) -> bool {
        self.journeys && self.tracing()
    }

    /// Sends one line, stamped now (a send with no reader left is not an error).
    fn send(&self, tag: Tag, event: BrokerEvent) {
        let _ = self.tx.send(LogEntry {
            time: SystemTime::now(),
            event,
            tag,
        });
    }

    /// Emits a packet-level event of a message's journey, with its tag; built only if used.
    pub fn trace_tagged(&self, tag: Tag, make: impl FnOnce() -> BrokerEvent) {
        if self.tracing() {
            self.send(tag, make());
        }
    }

    /// Emits a journey-only line (see [`Self::with_journeys`]); built only on a journey bus
    /// somebody listens to.
    pub fn journey(&self, tag: Tag, make: impl FnOnce() -> BrokerEvent) {
        if self.journeys() {
            self.send(tag, make());
        }
    }

    /// Emits an event with a tag, built only if somebody listens.
    pub fn emit_tagged(&self, tag: Tag, make: impl FnOnce() -> BrokerEvent) {
        if self.enabled() {
            self.send(tag, make());
        }
    }

    /// A bus that carries connections, start-up and errors but no per-packet lines (like
    /// mosquitto without `-v`).
    #[must_use]
    pub fn quiet(capacity: usize) -> Self {
        Self {
            verbose: false,
            ..Self::new(capacity)
        }
    }

    /// True when at least one reader listens.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// True when packet-level events are wanted and someone listens.
    #[must_use]
    pub fn tracing(&self) -> bool {
        self.verbose && self.enabled()
    }

    /// Emits a packet-level ([`LogLevel::Debug`]) event, built only if it will be used.
    pub fn trace(&self, make: impl FnOnce() -> BrokerEvent) {
        self.trace_tagged(Tag::default(), make);
    }

    /// Emits an event built only if somebody listens.
    pub fn emit_with(&self, make: impl FnOnce() -> BrokerEvent) {
        self.emit_tagged(Tag::default(), make);
    }

    /// Emits an event.
    pub fn emit(&self, event: BrokerEvent) {
        self.emit_tagged(Tag::default(), || event);
    }

    /// A new reader that sees every line from now on.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<LogEntry> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tutorial_lines_match_mosquitto() {
        let client: Arc<str> = "tutorial-sub".into();
        let peer: SocketAddr = "127.0.0.1:39052".parse().unwrap_or_else(|_| unreachable!());
        let ev = BrokerEvent::ClientConnected {
            peer,
            client: client.clone(),
            protocol: 2,
            clean: true,
            keep_alive: 60,
            username: None,
        };
        assert_eq!(
            ev.to_string(),
            "New client connected from 127.0.0.1:39052 as tutorial-sub (p2, c1, k60)."
        );
        let ev = BrokerEvent::SubscribeReceived {
            client: client.clone(),
            filters: vec![("mqtt".into(), 0)],
        };
        assert_eq!(
            ev.to_string(),
            "Received SUBSCRIBE from tutorial-sub\n\tmqtt (QoS 0)\ntutorial-sub 0 mqtt"
        );
        let ev = BrokerEvent::PublishSent {
            client,
            flags: PublishFlags {
                dup: false,
                qos: 0,
                retain: false,
                pkid: 0,
            },
            topic: "mqtt".into(),
            len: 11,
        };
        assert_eq!(
            ev.to_string(),
            "Sending PUBLISH to tutorial-sub (d0, q0, r0, m0, 'mqtt', ... (11 bytes))"
        );
    }
}
