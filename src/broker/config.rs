//! Broker settings and the mosquitto.conf subset that `-c FILE` reads.
//!
//! Every line is `option value...`; `#` starts a comment line. An unknown option or a bad
//! value is an error that names the file, the line and the option, like mosquitto's
//! `Error found at FILE:LINE.`

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod bridge;
mod logging;

use self::bridge::apply_bridge;
pub use self::bridge::{BridgeConfig, BridgeDirection, BridgeTopic};
pub use self::logging::{LogDest, LogTypes};

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerProtocol {
    /// MQTT over TCP.
    Mqtt,
    /// MQTT over WebSockets (`protocol websockets`).
    WebSockets,
}

/// One `listener PORT [ADDRESS]` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Port; 0 picks a free one.
    pub port: u16,
    /// Address to bind; `None` = all interfaces.
    pub bind: Option<IpAddr>,
    /// Transport.
    pub protocol: ListenerProtocol,
    /// `max_connections` for this listener; `None` = unlimited.
    pub max_connections: Option<usize>,
    /// TLS for this listener (`certfile` + `keyfile`, optionally `cafile` and
    /// `require_certificate`).
    pub tls: Option<ListenerTls>,
    /// `socket_domain`: only IPv4 or only IPv6 when the listener has no address.
    pub socket_domain: Option<SocketDomain>,
    /// `allow_anonymous`, `password_file` and `acl_file` given after this `listener` line:
    /// they apply to this listener alone with `per_listener_settings true`.
    pub security: SecuritySettings,
}

/// `socket_domain` of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketDomain {
    /// IPv4 only.
    Ipv4,
    /// IPv6 only.
    Ipv6,
}

/// The options that decide who may connect and what they may do, named like mosquitto's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecuritySettings {
    /// `allow_anonymous`; `None` = not given.
    pub allow_anonymous: Option<bool>,
    /// `password_file` (mosquitto_passwd format).
    pub password_file: Option<PathBuf>,
    /// `acl_file` (mosquitto format: `topic`, `user`, `pattern` lines).
    pub acl_file: Option<PathBuf>,
}

/// The lowest TLS version a listener accepts (`tls_version`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3 (mosquitto's default, and `tls_version tlsv1.2`).
    #[default]
    Tls12,
    /// TLS 1.3 only (`tls_version tlsv1.3`).
    Tls13,
}

/// A listener's TLS settings, named like mosquitto's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerTls {
    /// `certfile`: the server certificate chain (PEM).
    pub certfile: Option<PathBuf>,
    /// `keyfile`: its private key (PEM).
    pub keyfile: Option<PathBuf>,
    /// `cafile`: CAs that client certificates must chain to.
    pub cafile: Option<PathBuf>,
    /// `require_certificate`: clients must present a certificate signed by `cafile`.
    pub require_certificate: bool,
    /// `tls_version`: the lowest version accepted.
    pub min_version: TlsVersion,
}

/// Payload bytes one client may have queued when `max_queued_bytes` is 0: a backstop so that no
/// single client can take the broker's memory, however large its messages.
pub const QUEUE_BYTES_BACKSTOP: usize = 64 * 1024 * 1024;

/// The default `max_packet_size`: 2,000,000 bytes, mosquitto 2.1's default, instead of the
/// 256 MB the protocol allows (a client cannot make the broker buffer more than this for one
/// packet unless the configuration asks for it).
pub const DEFAULT_MAX_PACKET_SIZE: usize = 2_000_000;

/// Broker settings. `Default` is mosquitto 2.0's defaults.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Listeners from the file; empty means "local only mode" on the default port.
    pub listeners: Vec<ListenerConfig>,
    /// `allow_anonymous`, `password_file` and `acl_file` as they apply broker-wide (without
    /// `per_listener_settings`, the last value given anywhere wins, as in mosquitto).
    /// `allow_anonymous` `None` = the mosquitto 2 default (true in local only mode, else false).
    pub security: SecuritySettings,
    /// `per_listener_settings`: each listener has its own `allow_anonymous`, `password_file`
    /// and `acl_file`.
    pub per_listener_settings: bool,
    /// `max_packet_size` in bytes; 0 = the MQTT maximum. Default [`DEFAULT_MAX_PACKET_SIZE`].
    pub max_packet_size: usize,
    /// `max_inflight_messages` per client, outgoing QoS 1/2; 0 = unlimited.
    pub max_inflight_messages: u16,
    /// `max_queued_messages` per client beyond the in-flight window; 0 = unlimited.
    pub max_queued_messages: usize,
    /// `incoming_packet_budget`: bytes that all half-received packets larger than 64 KiB may
    /// hold together, broker-wide; 0 = no bound (see [`crate::broker::pressure::PacketBudget`]).
    pub incoming_packet_budget: usize,
    /// `max_queued_bytes` per client; 0 = mosquitto's "no limit", which here still means
    /// [`QUEUE_BYTES_BACKSTOP`] (see [`BrokerConfig::queue_bytes_limit`]).
    pub max_queued_bytes: usize,
    /// `max_keepalive`: the largest keep alive a client may ask for.
    pub max_keepalive: u16,
    /// `sys_interval` in seconds; 0 disables `$SYS`.
    pub sys_interval: u64,
    /// `log_timestamp`.
    pub log_timestamp: bool,
    /// `log_timestamp_format` (strftime).
    pub log_timestamp_format: Option<String>,
    /// `queue_qos0_messages` for offline persistent sessions.
    pub queue_qos0_messages: bool,
    /// `slow_consumer_disconnect`: a connected client whose queue overflows is disconnected
    /// (MQTT 5: DISCONNECT 0x97 Quota exceeded) instead of having its excess dropped.
    pub slow_consumer_disconnect: bool,
    /// `retain_available`.
    pub retain_available: bool,
    /// `allow_zero_length_clientid`.
    pub allow_zero_length_clientid: bool,
    /// `auto_id_prefix` for assigned client ids.
    pub auto_id_prefix: String,
    /// `max_topic_alias` announced to MQTT 5 clients.
    pub max_topic_alias: u16,
    /// `outgoing_topic_alias_max`: how many Topic Aliases the broker assigns per MQTT 5
    /// client for the messages it sends (never more than the client's Topic Alias Maximum);
    /// 0 = none (the default: common clients do not present aliased messages correctly, see
    /// docs/broker.md).
    pub outgoing_topic_alias_max: u16,
    /// `persistent_client_expiration` for 3.x persistent sessions, in seconds.
    pub persistent_client_expiration: Option<u32>,
    /// `connection_messages`: log connects and disconnects.
    pub connection_messages: bool,
    /// How long a new connection may take to send CONNECT.
    pub connect_timeout: Duration,
    /// `persistence`: keep retained messages and persistent sessions on disk.
    pub persistence: bool,
    /// `persistence_location`: the directory of the persistence file (default: the current one).
    pub persistence_location: Option<PathBuf>,
    /// `persistence_file`: its name. The default differs from mosquitto's `mosquitto.db` so
    /// that a mosquitto database in the same place is never touched.
    pub persistence_file: String,
    /// `autosave_interval` in seconds, only when the config sets it: the weaker periodic mode
    /// (changes reach the disk every interval; 0: only at SIGUSR1 and shutdown). Unset (the
    /// default), every change is on disk before it is acknowledged.
    pub autosave_interval: Option<u64>,
    /// `pid_file`: written with the process id at start, removed at shutdown.
    pub pid_file: Option<PathBuf>,
    /// `user`: when started as root, the user to run as once the listeners are open.
    pub user: Option<String>,
    /// `log_dest` lines in order; empty = standard output.
    pub log_dest: Vec<LogDest>,
    /// `log_type` lines combined; `None` = mosquitto's default (error, warning, notice,
    /// information). `-v` overrides it with `all`.
    pub log_type: Option<LogTypes>,
    /// `connection` blocks: bridges to other brokers.
    pub bridges: Vec<BridgeConfig>,
    /// Set while parsing: the first security option given before any `listener` line (it
    /// would apply to no listener with `per_listener_settings true`).
    pub early_security: Option<String>,
    /// The file this was read from.
    pub source: Option<PathBuf>,
    /// Keep the raw bytes of recent packets for the packet inspector (the workbench sets it;
    /// never from a file). `None`: nothing is captured (see [`super::capture`]).
    pub capture: Option<super::capture::CaptureLimits>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            listeners: Vec::new(),
            security: SecuritySettings::default(),
            per_listener_settings: false,
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            max_inflight_messages: 20,
            max_queued_messages: 1000,
            max_queued_bytes: 0,
            incoming_packet_budget: crate::broker::pressure::DEFAULT_PACKET_BUDGET,
            max_keepalive: 65535,
            sys_interval: 10,
            log_timestamp: true,
            log_timestamp_format: None,
            queue_qos0_messages: false,
            slow_consumer_disconnect: false,
            retain_available: true,
            allow_zero_length_clientid: true,
            auto_id_prefix: "auto-".into(),
            max_topic_alias: 10,
            outgoing_topic_alias_max: 0,
            persistent_client_expiration: None,
            connection_messages: true,
            connect_timeout: Duration::from_secs(10),
            persistence: false,
            persistence_location: None,
            persistence_file: "mqtt-workbench.db".into(),
            autosave_interval: None,
            pid_file: None,
            user: None,
            log_dest: Vec::new(),
            log_type: None,
            bridges: Vec::new(),
            early_security: None,
            source: None,
            capture: None,
        }
    }
}

/// A configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file '{path}'")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is wrong.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong, naming the option.
        message: String,
    },
}

fn parse_bool(option: &str, v: &str) -> Result<bool, String> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("'{option}' takes true or false, not '{v}'")),
    }
}

fn parse_num<T: std::str::FromStr>(option: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("'{option}' was set with an invalid value '{v}'"))
}

/// Options mosquitto knows that this broker accepts but does not act on.
/// None of them touches security or service behaviour: `set_tcp_nodelay` (always on here),
/// `max_inflight_bytes` (the in-flight window counts messages), `websockets_log_level`
/// (libwebsockets' own log).
const IGNORED: &[&str] = &[
    "set_tcp_nodelay",
    "max_inflight_bytes",
    "websockets_log_level",
];

/// Options accepted only with the value that matches what this broker does; any other value
/// is refused with the reason.
const ONLY: &[(&str, &str, &str)] = &[
    (
        "autosave_on_changes",
        "false",
        "changes are stored as they happen (or, with autosave_interval, synced every that many seconds); a count of changes is not supported",
    ),
    (
        "upgrade_outgoing_qos",
        "false",
        "messages are delivered at the lower of the published and the granted QoS",
    ),
    (
        "check_retain_source",
        "false",
        "a retained message is checked against the subscriber's read access only, not its \
         publisher's current rights",
    ),
];

impl BrokerConfig {
    /// Reads a mosquitto.conf-style file (and any `include_dir`). Returns the config and
    /// notices to log.
    pub fn from_file(path: &Path) -> Result<(Self, Vec<String>), ConfigError> {
        let mut cfg = Self::default();
        let mut notes = Vec::new();
        cfg.read_file(path, &mut notes, 0)?;
        cfg.source = Some(path.to_owned());
        Ok((cfg, notes))
    }

    fn read_file(
        &mut self,
        path: &Path,
        notes: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let at = |line: usize, message: String| ConfigError::Line {
            path: path.to_owned(),
            line,
            message,
        };
        for (line, option, value) in config_lines(&text) {
            if option == "include_dir" {
                if depth >= 8 {
                    return Err(at(line, "'include_dir' nested too deeply".into()));
                }
                for file in conf_files(Path::new(value)).map_err(|m| at(line, m))? {
                    self.read_file(&file, notes, depth + 1)?;
                }
                continue;
            }
            self.apply(option, value, notes).map_err(|m| at(line, m))?;
        }
        Ok(())
    }

    /// Parses config text. An error carries the 1-based line and a message naming the option.
    pub fn parse(text: &str) -> Result<(Self, Vec<String>), (usize, String)> {
        let mut cfg = Self::default();
        let mut notes = Vec::new();
        for (line, option, value) in config_lines(text) {
            if option == "include_dir" {
                return Err((
                    line,
                    "'include_dir' needs a config file to be relative to".into(),
                ));
            }
            cfg.apply(option, value, &mut notes)
                .map_err(|m| (line, m))?;
        }
        Ok((cfg, notes))
    }

    fn apply(&mut self, option: &str, v: &str, notes: &mut Vec<String>) -> Result<(), String> {
        let need = |v: &str| {
            if v.is_empty() {
                Err(format!("'{option}' needs a value"))
            } else {
                Ok(())
            }
        };
        if option != "listener" && !IGNORED.contains(&option) {
            need(v)?;
        }
        match option {
            "listener" => {
                let mut parts = v.split_whitespace();
                let port = parts
                    .next()
                    .ok_or_else(|| "'listener' needs a port".to_string())?;
                let port: u16 = parse_num(option, port)?;
                let bind = match parts.next() {
                    Some(a) => Some(a.parse::<IpAddr>().map_err(|_| {
                        format!("'listener' bind address '{a}' is not an IP address")
                    })?),
                    None => None,
                };
                if parts.next().is_some() {
                    return Err("'listener' takes a port and an optional address".into());
                }
                if self.per_listener_settings {
                    self.check_early_security()?;
                }
                self.listeners.push(ListenerConfig {
                    port,
                    bind,
                    protocol: ListenerProtocol::Mqtt,
                    max_connections: None,
                    tls: None,
                    socket_domain: None,
                    security: SecuritySettings::default(),
                });
            }
            "protocol" => {
                let l = self
                    .listeners
                    .last_mut()
                    .ok_or_else(|| "'protocol' must follow a 'listener' line".to_string())?;
                l.protocol = match v {
                    "mqtt" => ListenerProtocol::Mqtt,
                    "websockets" => ListenerProtocol::WebSockets,
                    _ => return Err(format!("'protocol' takes mqtt or websockets, not '{v}'")),
                };
            }
            "certfile" | "keyfile" | "cafile" | "require_certificate" | "tls_version" => {
                let l = self
                    .listeners
                    .last_mut()
                    .ok_or_else(|| format!("'{option}' must follow a 'listener' line"))?;
                let tls = l.tls.get_or_insert_with(ListenerTls::default);
                match option {
                    "certfile" => tls.certfile = Some(PathBuf::from(v)),
                    "keyfile" => tls.keyfile = Some(PathBuf::from(v)),
                    "cafile" => tls.cafile = Some(PathBuf::from(v)),
                    "require_certificate" => tls.require_certificate = parse_bool(option, v)?,
                    _ => {
                        tls.min_version = match v {
                            "tlsv1.2" => TlsVersion::Tls12,
                            "tlsv1.3" => TlsVersion::Tls13,
                            "tlsv1.1" | "tlsv1" => {
                                return Err(format!(
                                    "'tls_version {v}' is not supported: TLS before 1.2 is \
                                     insecure; use tlsv1.2 or tlsv1.3"
                                ));
                            }
                            _ => {
                                return Err(format!(
                                    "'tls_version' takes tlsv1.2 or tlsv1.3, not '{v}'"
                                ));
                            }
                        };
                    }
                }
            }
            "ciphers" | "ciphers_tls1.3" => {
                return Err(format!(
                    "'{option}' is not supported: the broker offers only rustls's safe default \
                     cipher suites (TLS 1.3: AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305; TLS 1.2: \
                     ECDHE with the same ciphers); remove the line"
                ));
            }
            "max_connections" => {
                let n: i64 = parse_num(option, v)?;
                let limit = usize::try_from(n).ok();
                if let Some(l) = self.listeners.last_mut() {
                    l.max_connections = limit;
                }
            }
            "allow_anonymous" | "password_file" | "acl_file"
                if self.listeners.is_empty() && self.early_security.is_none() =>
            {
                self.early_security = Some(option.to_owned());
                return self.apply(option, v, notes);
            }
            "allow_anonymous" => {
                let b = parse_bool(option, v)?;
                self.security.allow_anonymous = Some(b);
                if let Some(l) = self.listeners.last_mut() {
                    l.security.allow_anonymous = Some(b);
                }
            }
            "password_file" | "acl_file" => {
                let path = Some(PathBuf::from(v));
                let (global, local) = match self.listeners.last_mut() {
                    Some(l) => (&mut self.security, Some(&mut l.security)),
                    None => (&mut self.security, None),
                };
                for s in std::iter::once(global).chain(local) {
                    if option == "password_file" {
                        s.password_file.clone_from(&path);
                    } else {
                        s.acl_file.clone_from(&path);
                    }
                }
            }
            "per_listener_settings" => {
                self.per_listener_settings = parse_bool(option, v)?;
                if self.per_listener_settings && !self.listeners.is_empty() {
                    self.check_early_security()?;
                }
            }
            "max_packet_size" => {
                let n: usize = parse_num(option, v)?;
                if n != 0 && n < 20 {
                    return Err("'max_packet_size' must be 0 or at least 20".into());
                }
                self.max_packet_size = n;
            }
            "message_size_limit" => {
                notes.push(
                    "Note: It is recommended to replace `message_size_limit` with `max_packet_size`."
                        .into(),
                );
                let n: usize = parse_num(option, v)?;
                self.max_packet_size = if n == 0 {
                    0
                } else {
                    n.saturating_add(65_536 + 5)
                };
            }
            "max_inflight_messages" => self.max_inflight_messages = parse_num(option, v)?,
            "max_queued_messages" => self.max_queued_messages = parse_num(option, v)?,
            "max_queued_bytes" => self.max_queued_bytes = parse_num(option, v)?,
            "incoming_packet_budget" => self.incoming_packet_budget = parse_num(option, v)?,
            "max_keepalive" => self.max_keepalive = parse_num(option, v)?,
            "sys_interval" => self.sys_interval = parse_num(option, v)?,
            "log_timestamp" => self.log_timestamp = parse_bool(option, v)?,
            "log_timestamp_format" => self.log_timestamp_format = Some(v.to_owned()),
            "queue_qos0_messages" => self.queue_qos0_messages = parse_bool(option, v)?,
            "slow_consumer_disconnect" => {
                self.slow_consumer_disconnect = parse_bool(option, v)?;
            }
            "retain_available" => self.retain_available = parse_bool(option, v)?,
            "allow_zero_length_clientid" => {
                self.allow_zero_length_clientid = parse_bool(option, v)?;
            }
            "auto_id_prefix" => self.auto_id_prefix = v.to_owned(),
            "max_topic_alias" => self.max_topic_alias = parse_num(option, v)?,
            "outgoing_topic_alias_max" => self.outgoing_topic_alias_max = parse_num(option, v)?,
            "connection_messages" => self.connection_messages = parse_bool(option, v)?,
            "persistent_client_expiration" => {
                self.persistent_client_expiration = Some(parse_duration(option, v)?);
            }
            "persistence" => self.persistence = parse_bool(option, v)?,
            "persistence_location" => self.persistence_location = Some(PathBuf::from(v)),
            "persistence_file" => self.persistence_file = v.to_owned(),
            "autosave_interval" => self.autosave_interval = Some(parse_num(option, v)?),
            "pid_file" => self.pid_file = Some(PathBuf::from(v)),
            "user" => self.user = Some(v.to_owned()),
            "log_type" => {
                let t = LogTypes::from_word(v).ok_or_else(|| {
                    format!(
                        "'log_type' takes debug, error, warning, notice, information, \
                         subscribe, unsubscribe, websockets, none or all, not '{v}'"
                    )
                })?;
                self.log_type = Some(self.log_type.unwrap_or(LogTypes::NONE).with(t));
            }
            "log_dest" => {
                let (kind, rest) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
                let dest = match (kind, rest.trim()) {
                    ("stdout", "") => LogDest::Stdout,
                    ("stderr", "") => LogDest::Stderr,
                    ("syslog", "") => LogDest::Syslog,
                    ("topic", "") => LogDest::Topic,
                    ("none", "") => {
                        self.log_dest.clear();
                        return Ok(());
                    }
                    ("file", "") => return Err("'log_dest file' needs a file name".into()),
                    ("file", path) => LogDest::File(PathBuf::from(path)),
                    ("dlt", _) => {
                        return Err("'log_dest dlt' is not supported (no DLT daemon client)".into());
                    }
                    _ => {
                        return Err(format!(
                            "'log_dest' takes stdout, stderr, file FILE, syslog, topic or none, \
                             not '{v}'"
                        ));
                    }
                };
                if !self.log_dest.contains(&dest) {
                    self.log_dest.push(dest);
                }
            }
            "connection" => {
                if self.bridges.iter().any(|b| b.name == v) {
                    return Err(format!("bridge 'connection {v}' is defined twice"));
                }
                self.bridges.push(BridgeConfig::new(v));
            }
            "address"
            | "addresses"
            | "topic"
            | "remote_clientid"
            | "clientid"
            | "local_clientid"
            | "remote_username"
            | "username"
            | "remote_password"
            | "password"
            | "cleansession"
            | "try_private"
            | "notifications"
            | "notification_topic"
            | "keepalive_interval"
            | "restart_timeout"
            | "bridge_cafile"
            | "bridge_certfile"
            | "bridge_keyfile"
            | "bridge_insecure"
            | "bridge_alpn"
            | "bridge_protocol_version"
            | "bridge_tls_version"
            | "start_type" => {
                let b = self
                    .bridges
                    .last_mut()
                    .ok_or_else(|| format!("'{option}' must follow a 'connection' line"))?;
                apply_bridge(b, option, v)?;
            }
            o if IGNORED.contains(&o) => {}
            o if ONLY.iter().any(|(name, _, _)| *name == o) => {
                let (_, allowed, why) = ONLY
                    .iter()
                    .find(|(name, _, _)| *name == o)
                    .copied()
                    .unwrap_or_default();
                if v != allowed {
                    return Err(format!(
                        "'{o} {v}' is not supported ({why}); use '{o} {allowed}'"
                    ));
                }
            }
            "socket_domain" => {
                let l = self
                    .listeners
                    .last_mut()
                    .ok_or_else(|| "'socket_domain' must follow a 'listener' line".to_string())?;
                l.socket_domain = match v {
                    "ipv4" => Some(SocketDomain::Ipv4),
                    "ipv6" => Some(SocketDomain::Ipv6),
                    _ => return Err(format!("'socket_domain' takes ipv4 or ipv6, not '{v}'")),
                };
            }
            _ => return Err(format!("unknown option '{option}'")),
        }
        Ok(())
    }

    /// With `per_listener_settings true`, security options before the first listener would
    /// apply to no listener: refused rather than ignored.
    fn check_early_security(&self) -> Result<(), String> {
        match &self.early_security {
            Some(o) => Err(format!(
                "'{o}' comes before any 'listener' line, so with 'per_listener_settings true' it \
                 would apply to no listener; put it under the listener it is for"
            )),
            None => Ok(()),
        }
    }

    /// The payload bytes a client's queue may hold (outgoing QoS 0 waiting to be written, and
    /// QoS 1/2 beyond the in-flight window).
    #[must_use]
    pub fn queue_bytes_limit(&self) -> usize {
        if self.max_queued_bytes == 0 {
            QUEUE_BYTES_BACKSTOP
        } else {
            self.max_queued_bytes
        }
    }

    /// Where persisted state lives, when `persistence` is on.
    #[must_use]
    pub fn persistence_path(&self) -> Option<PathBuf> {
        self.persistence.then(|| {
            let dir = self.persistence_location.clone().unwrap_or_default();
            dir.join(&self.persistence_file)
        })
    }

    /// When the persistence store's changes reach the disk: before each acknowledgement
    /// (default), or every `autosave_interval` seconds when the config sets it.
    #[must_use]
    pub fn persistence_sync(&self) -> crate::broker::store::SyncMode {
        use crate::broker::store::SyncMode;
        match self.autosave_interval {
            None => SyncMode::EveryCommit,
            Some(secs) => SyncMode::Interval(std::time::Duration::from_secs(secs)),
        }
    }

    /// `allow_anonymous` as it applies: mosquitto 2 allows anonymous clients only in local
    /// only mode unless the file says otherwise.
    #[must_use]
    pub fn anonymous_allowed(&self) -> bool {
        self.security
            .allow_anonymous
            .unwrap_or(self.listeners.is_empty())
    }
}

/// The `(line number, option, value)` of each non-comment line.
fn config_lines(text: &str) -> impl Iterator<Item = (usize, &str, &str)> {
    text.lines().enumerate().filter_map(|(i, raw)| {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        Some(match line.split_once(char::is_whitespace) {
            Some((o, v)) => (i + 1, o, v.trim()),
            None => (i + 1, line, ""),
        })
    })
}

/// The `*.conf` files of an `include_dir`, in name order like mosquitto.
fn conf_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("'include_dir' cannot read '{}': {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// mosquitto's `<number><h|d|w|m|y>` durations, in seconds.
fn parse_duration(option: &str, v: &str) -> Result<u32, String> {
    let bad = || format!("'{option}' was set with an invalid value '{v}'");
    // The last character is the unit; it may be any character, not only one byte (a fuzz
    // finding: `persistent_client_expiration ϗ` split a character in two and panicked).
    let unit = v.chars().next_back().ok_or_else(bad)?;
    let num = &v[..v.len() - unit.len_utf8()];
    let n: u32 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        'm' => 2_592_000,
        'y' => 31_536_000,
        _ => return Err(bad()),
    };
    Ok(n.saturating_mul(mult))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_any_last_character_are_refused_not_panicked_on() {
        assert_eq!(parse_duration("x", "2d"), Ok(172_800));
        for v in ["ϗ", "1ϗ", "", "d", "1€", "€1d"] {
            assert!(
                parse_duration("persistent_client_expiration", v).is_err(),
                "{v}"
            );
        }
    }

    #[test]
    fn parses_the_common_subset() {
        let text = "# comment\nlistener 1884 127.0.0.1\nallow_anonymous true\nmax_packet_size 2000\n\
                    max_inflight_messages 0\nmax_queued_messages 5\nsys_interval 1\nlog_timestamp false\n";
        let (cfg, _) = BrokerConfig::parse(text).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(cfg.listeners.len(), 1);
        assert_eq!(cfg.listeners[0].port, 1884);
        assert!(cfg.anonymous_allowed());
        assert_eq!(cfg.max_packet_size, 2000);
        assert_eq!(cfg.max_inflight_messages, 0);
        assert_eq!(cfg.max_queued_messages, 5);
        assert!(!cfg.log_timestamp);
    }

    #[test]
    fn errors_name_line_and_option() {
        let err = BrokerConfig::parse("sys_interval 1\nbogus_option 3\n").err();
        assert_eq!(err, Some((2, "unknown option 'bogus_option'".to_string())));
        let err = BrokerConfig::parse("max_keepalive lots\n").err();
        assert_eq!(
            err,
            Some((
                1,
                "'max_keepalive' was set with an invalid value 'lots'".into()
            ))
        );
    }

    #[test]
    fn include_dir_reads_conf_files_in_order_and_names_their_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("conf.d");
        std::fs::create_dir(&d).expect("mkdir");
        std::fs::write(d.join("10-a.conf"), "sys_interval 5\n").expect("write");
        std::fs::write(d.join("20-b.conf"), "sys_interval 7\n").expect("write");
        std::fs::write(d.join("ignored.txt"), "bogus 1\n").expect("write");
        let main = dir.path().join("main.conf");
        std::fs::write(
            &main,
            format!("persistence true\ninclude_dir {}\n", d.display()),
        )
        .expect("write");
        let (cfg, _) = BrokerConfig::from_file(&main).expect("config");
        assert_eq!(cfg.sys_interval, 7);
        assert!(cfg.persistence);
        std::fs::write(d.join("30-c.conf"), "\nnope 1\n").expect("write");
        let err = BrokerConfig::from_file(&main)
            .expect_err("bad include")
            .to_string();
        assert!(err.contains("30-c.conf:2: unknown option 'nope'"), "{err}");
    }

    #[test]
    fn security_and_service_options_work_or_are_refused_with_the_reason() {
        let err = |text: &str| BrokerConfig::parse(text).err();
        // tls_version: 1.2 and 1.3 work; older versions and typos are refused.
        let (cfg, _) = BrokerConfig::parse(
            "listener 1
tls_version tlsv1.3
",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let tls = cfg.listeners[0].tls.as_ref().map(|t| t.min_version);
        assert_eq!(tls, Some(TlsVersion::Tls13));
        let e = err("listener 1
tls_version tlsv1.1
")
        .unwrap_or_default();
        assert_eq!(e.0, 2);
        assert!(e.1.contains("not supported"), "{}", e.1);
        assert!(
            err("listener 1
tls_version tls13
")
            .is_some()
        );
        // ciphers cannot be chosen here: refused, never ignored.
        for o in ["ciphers", "ciphers_tls1.3"] {
            let e = err(&format!(
                "listener 1
{o} HIGH
"
            ))
            .unwrap_or_default();
            assert_eq!(e.0, 2);
            assert!(
                e.1.starts_with(&format!("'{o}' is not supported")),
                "{}",
                e.1
            );
        }
        // Only the value that matches what the broker does.
        assert!(
            err("check_retain_source false
")
            .is_none()
        );
        let e = err("check_retain_source true
")
        .unwrap_or_default();
        assert!(e.1.contains("use 'check_retain_source false'"), "{}", e.1);
        assert!(
            err("upgrade_outgoing_qos true
")
            .is_some()
        );
        assert!(
            err("autosave_on_changes true
")
            .is_some()
        );
        // Logging and service options.
        let (cfg, _) = BrokerConfig::parse(
            "log_dest file /tmp/x.log
log_dest stdout
log_dest stdout
log_type error
             log_type subscribe
pid_file /run/x.pid
user mosquitto
connection_messages false
",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            cfg.log_dest,
            vec![LogDest::File("/tmp/x.log".into()), LogDest::Stdout]
        );
        assert_eq!(
            cfg.log_type,
            Some(LogTypes::ERROR.with(LogTypes::SUBSCRIBE))
        );
        assert_eq!(cfg.pid_file, Some(PathBuf::from("/run/x.pid")));
        assert_eq!(cfg.user.as_deref(), Some("mosquitto"));
        assert!(!cfg.connection_messages);
        assert!(
            err("log_dest dlt
")
            .is_some()
        );
        assert!(
            err("log_dest file
")
            .is_some()
        );
        assert!(
            err("log_type everything
")
            .is_some()
        );
        let (cfg, _) = BrokerConfig::parse(
            "log_dest stdout
log_dest none
",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(cfg.log_dest.is_empty());
        let (cfg, _) = BrokerConfig::parse(
            "listener 1
socket_domain ipv4
",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(cfg.listeners[0].socket_domain, Some(SocketDomain::Ipv4));
    }

    #[test]
    fn per_listener_options_follow_their_listener() {
        let (cfg, _) = BrokerConfig::parse(
            "per_listener_settings true
listener 1
password_file /a
listener 2
             allow_anonymous true
acl_file /b
",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(cfg.per_listener_settings);
        assert_eq!(
            cfg.listeners[0].security.password_file,
            Some(PathBuf::from("/a"))
        );
        assert_eq!(cfg.listeners[0].security.allow_anonymous, None);
        assert_eq!(cfg.listeners[1].security.allow_anonymous, Some(true));
        assert_eq!(
            cfg.listeners[1].security.acl_file,
            Some(PathBuf::from("/b"))
        );
        assert_eq!(cfg.listeners[1].security.password_file, None);
        // A security option before any listener would apply to none: refused, in either
        // order of the lines.
        for text in [
            "per_listener_settings true\npassword_file /a\nlistener 1\n",
            "allow_anonymous true\nlistener 1\nper_listener_settings true\n",
        ] {
            let e = BrokerConfig::parse(text).err().unwrap_or_default();
            assert_eq!(e.0, 3, "{text}");
            assert!(e.1.contains("would apply to no listener"), "{}", e.1);
        }
        // Without listeners (local only mode) they apply broker-wide.
        assert!(BrokerConfig::parse("per_listener_settings true\nallow_anonymous true\n").is_ok());
    }

    #[test]
    fn listener_without_allow_anonymous_refuses_anonymous() {
        let (cfg, _) = BrokerConfig::parse("listener 1883\n").unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!cfg.anonymous_allowed());
    }
}
