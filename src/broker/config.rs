//! Broker settings and the mosquitto.conf subset that `-c FILE` reads.
//!
//! Every line is `option value...`; `#` starts a comment line. An unknown option or a bad
//! value is an error that names the file, the line and the option, like mosquitto's
//! `Error found at FILE:LINE.`

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// `allow_anonymous`; `None` = the mosquitto 2 default (true in local only mode, else false).
    pub allow_anonymous: Option<bool>,
    /// `password_file` (mosquitto_passwd format).
    pub password_file: Option<PathBuf>,
    /// `acl_file` (mosquitto format: `topic`, `user`, `pattern` lines).
    pub acl_file: Option<PathBuf>,
    /// `max_packet_size` in bytes; 0 = the MQTT maximum. Default [`DEFAULT_MAX_PACKET_SIZE`].
    pub max_packet_size: usize,
    /// `max_inflight_messages` per client, outgoing QoS 1/2; 0 = unlimited.
    pub max_inflight_messages: u16,
    /// `max_queued_messages` per client beyond the in-flight window; 0 = unlimited.
    pub max_queued_messages: usize,
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
    /// `autosave_interval` in seconds; 0 saves only at shutdown.
    pub autosave_interval: u64,
    /// The file this was read from.
    pub source: Option<PathBuf>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            listeners: Vec::new(),
            allow_anonymous: None,
            password_file: None,
            acl_file: None,
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            max_inflight_messages: 20,
            max_queued_messages: 1000,
            max_queued_bytes: 0,
            max_keepalive: 65535,
            sys_interval: 10,
            log_timestamp: true,
            log_timestamp_format: None,
            queue_qos0_messages: false,
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
            autosave_interval: 1800,
            source: None,
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
const IGNORED: &[&str] = &[
    "log_dest",
    "log_type",
    "autosave_on_changes",
    "user",
    "pid_file",
    "per_listener_settings",
    "set_tcp_nodelay",
    "max_inflight_bytes",
    "upgrade_outgoing_qos",
    "check_retain_source",
    "websockets_log_level",
    "socket_domain",
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
                self.listeners.push(ListenerConfig {
                    port,
                    bind,
                    protocol: ListenerProtocol::Mqtt,
                    max_connections: None,
                    tls: None,
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
                    // TLS 1.2 and 1.3 are both offered; a minimum is accepted and ignored.
                    _ => {}
                }
            }
            "max_connections" => {
                let n: i64 = parse_num(option, v)?;
                let limit = usize::try_from(n).ok();
                if let Some(l) = self.listeners.last_mut() {
                    l.max_connections = limit;
                }
            }
            "allow_anonymous" => self.allow_anonymous = Some(parse_bool(option, v)?),
            "password_file" => self.password_file = Some(PathBuf::from(v)),
            "acl_file" => self.acl_file = Some(PathBuf::from(v)),
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
            "max_keepalive" => self.max_keepalive = parse_num(option, v)?,
            "sys_interval" => self.sys_interval = parse_num(option, v)?,
            "log_timestamp" => self.log_timestamp = parse_bool(option, v)?,
            "log_timestamp_format" => self.log_timestamp_format = Some(v.to_owned()),
            "queue_qos0_messages" => self.queue_qos0_messages = parse_bool(option, v)?,
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
            "autosave_interval" => self.autosave_interval = parse_num(option, v)?,
            o if IGNORED.contains(&o) => {}
            _ => return Err(format!("unknown option '{option}'")),
        }
        Ok(())
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

    /// `allow_anonymous` as it applies: mosquitto 2 allows anonymous clients only in local
    /// only mode unless the file says otherwise.
    #[must_use]
    pub fn anonymous_allowed(&self) -> bool {
        self.allow_anonymous.unwrap_or(self.listeners.is_empty())
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
    let (num, unit) = v.split_at(v.len().saturating_sub(1));
    let n: u32 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        "m" => 2_592_000,
        "y" => 31_536_000,
        _ => return Err(bad()),
    };
    Ok(n.saturating_mul(mult))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn listener_without_allow_anonymous_refuses_anonymous() {
        let (cfg, _) = BrokerConfig::parse("listener 1883\n").unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!cfg.anonymous_allowed());
    }
}
