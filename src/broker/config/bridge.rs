//! The `connection` blocks of a configuration file: bridges, with mosquitto's option names.

use std::path::PathBuf;

use super::{parse_bool, parse_num};

/// Which way a bridged topic flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeDirection {
    /// From the remote broker to this one.
    In,
    /// From this broker to the remote one.
    Out,
    /// Both ways.
    Both,
}

/// One `topic pattern [in|out|both [qos [local-prefix remote-prefix]]]` line of a bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeTopic {
    /// The topic filter between the prefixes (may be empty when the prefixes are whole topics).
    pub pattern: String,
    /// Direction.
    pub direction: BridgeDirection,
    /// QoS of the subscriptions the bridge makes.
    pub qos: u8,
    /// Put before `pattern` on this broker.
    pub local_prefix: String,
    /// Put before `pattern` on the remote broker.
    pub remote_prefix: String,
}

/// One `connection NAME` block: a bridge to another broker, with mosquitto's option names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    /// `connection NAME`.
    pub name: String,
    /// `address host[:port] ...` (tried in turn).
    pub addresses: Vec<(String, u16)>,
    /// `topic` lines.
    pub topics: Vec<BridgeTopic>,
    /// `remote_clientid` (default `<hostname>.<name>`).
    pub remote_clientid: Option<String>,
    /// `local_clientid` (default `local.<hostname>.<name>`).
    pub local_clientid: Option<String>,
    /// `remote_username`.
    pub remote_username: Option<String>,
    /// `remote_password`.
    pub remote_password: Option<String>,
    /// `cleansession` (default false).
    pub cleansession: bool,
    /// `try_private` (default true).
    pub try_private: bool,
    /// `notifications` (default true).
    pub notifications: bool,
    /// `notification_topic` (default `$SYS/broker/connection/<remote_clientid>/state`).
    pub notification_topic: Option<String>,
    /// `keepalive_interval` in seconds (default 60).
    pub keepalive_interval: u16,
    /// `restart_timeout base [cap]` in seconds: constant with one value, else doubling from
    /// base up to cap (default 5 30).
    pub restart_timeout: (u64, Option<u64>),
    /// `bridge_cafile`: makes the connection TLS.
    pub cafile: Option<PathBuf>,
    /// `bridge_certfile`.
    pub certfile: Option<PathBuf>,
    /// `bridge_keyfile`.
    pub keyfile: Option<PathBuf>,
    /// `bridge_insecure`: do not check the remote's certificate name.
    pub insecure: bool,
    /// `bridge_alpn`.
    pub alpn: Option<String>,
}

impl BridgeConfig {
    pub(super) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            addresses: Vec::new(),
            topics: Vec::new(),
            remote_clientid: None,
            local_clientid: None,
            remote_username: None,
            remote_password: None,
            cleansession: false,
            try_private: true,
            notifications: true,
            notification_topic: None,
            keepalive_interval: 60,
            restart_timeout: (5, Some(30)),
            cafile: None,
            certfile: None,
            keyfile: None,
            insecure: false,
            alpn: None,
        }
    }

    /// True when the bridge connects with TLS.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.cafile.is_some()
    }
}

/// Splits a bridge `topic` line into words; `""` is an empty word (an empty pattern).
fn bridge_topic(v: &str) -> Result<BridgeTopic, String> {
    let words: Vec<&str> = v
        .split_whitespace()
        .map(|w| if w == "\"\"" { "" } else { w })
        .collect();
    let (pattern, rest) = words
        .split_first()
        .ok_or_else(|| "'topic' needs a pattern".to_string())?;
    let direction = match rest.first().copied() {
        None | Some("out") => BridgeDirection::Out,
        Some("in") => BridgeDirection::In,
        Some("both") => BridgeDirection::Both,
        Some(d) => {
            return Err(format!(
                "bridge 'topic' direction must be in, out or both, not '{d}'"
            ));
        }
    };
    let qos = match rest.get(1) {
        None => 0,
        Some(q) => match *q {
            "0" => 0,
            "1" => 1,
            "2" => 2,
            _ => return Err(format!("bridge 'topic' QoS must be 0, 1 or 2, not '{q}'")),
        },
    };
    let (local_prefix, remote_prefix) = match (rest.get(2), rest.get(3)) {
        (None, None) => (String::new(), String::new()),
        (Some(l), Some(r)) => ((*l).to_owned(), (*r).to_owned()),
        _ => {
            return Err("bridge 'topic' takes both a local and a remote prefix, or neither".into());
        }
    };
    if rest.len() > 4 {
        return Err("bridge 'topic' has too many words".into());
    }
    if pattern.is_empty() && local_prefix.is_empty() && remote_prefix.is_empty() {
        return Err("bridge 'topic' with an empty pattern needs both prefixes".into());
    }
    for f in [
        format!("{local_prefix}{pattern}"),
        format!("{remote_prefix}{pattern}"),
    ] {
        crate::broker::topic::validate_filter(&f)
            .map_err(|e| format!("bridge 'topic' makes an invalid filter '{f}': {e}"))?;
    }
    Ok(BridgeTopic {
        pattern: (*pattern).to_owned(),
        direction,
        qos,
        local_prefix,
        remote_prefix,
    })
}

/// `host[:port]` (IPv6 as `[addr]:port`), default port 1883.
fn bridge_address(a: &str) -> Result<(String, u16), String> {
    let bad = || format!("bridge 'address' '{a}' is not host[:port]");
    if let Some(rest) = a.strip_prefix('[') {
        let (host, tail) = rest.split_once(']').ok_or_else(bad)?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if tail.is_empty() => 1883,
            None => return Err(bad()),
        };
        return Ok((host.to_owned(), port));
    }
    match a.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Ok((h.to_owned(), p.parse().map_err(|_| bad())?)),
        _ => Ok((a.to_owned(), 1883)),
    }
}

pub(super) fn apply_bridge(b: &mut BridgeConfig, option: &str, v: &str) -> Result<(), String> {
    match option {
        "address" | "addresses" => {
            for a in v.split_whitespace() {
                b.addresses.push(bridge_address(a)?);
            }
        }
        "topic" => b.topics.push(bridge_topic(v)?),
        "remote_clientid" | "clientid" => b.remote_clientid = Some(v.to_owned()),
        "local_clientid" => b.local_clientid = Some(v.to_owned()),
        "remote_username" | "username" => b.remote_username = Some(v.to_owned()),
        "remote_password" | "password" => b.remote_password = Some(v.to_owned()),
        "cleansession" => b.cleansession = parse_bool(option, v)?,
        "try_private" => b.try_private = parse_bool(option, v)?,
        "notifications" => b.notifications = parse_bool(option, v)?,
        "notification_topic" => b.notification_topic = Some(v.to_owned()),
        "keepalive_interval" => {
            let n: u16 = parse_num(option, v)?;
            if n < 5 {
                return Err("'keepalive_interval' must be at least 5 seconds".into());
            }
            b.keepalive_interval = n;
        }
        "restart_timeout" => {
            let mut w = v.split_whitespace();
            let base: u64 = parse_num(option, w.next().unwrap_or_default())?;
            let cap = match w.next() {
                Some(c) => Some(parse_num::<u64>(option, c)?),
                None => None,
            };
            if base == 0 || cap.is_some_and(|c| c < base) {
                return Err("'restart_timeout' takes a base above 0 and a cap not below it".into());
            }
            b.restart_timeout = (base, cap);
        }
        "bridge_cafile" => b.cafile = Some(PathBuf::from(v)),
        "bridge_certfile" => b.certfile = Some(PathBuf::from(v)),
        "bridge_keyfile" => b.keyfile = Some(PathBuf::from(v)),
        "bridge_insecure" => b.insecure = parse_bool(option, v)?,
        "bridge_alpn" => b.alpn = Some(v.to_owned()),
        "bridge_protocol_version" if v == "mqttv311" => {}
        "bridge_protocol_version" => {
            return Err(format!(
                "'bridge_protocol_version {v}' is not supported: bridges speak MQTT 3.1.1 \
                 (mqttv311)"
            ));
        }
        "bridge_tls_version" if v == "tlsv1.2" || v == "tlsv1.3" => {
            if v == "tlsv1.3" {
                return Err(
                    "'bridge_tls_version tlsv1.3' is not supported: bridges offer TLS 1.3 and \
                     1.2 (tlsv1.2)"
                        .into(),
                );
            }
        }
        "bridge_tls_version" => {
            return Err(format!(
                "'bridge_tls_version {v}' is not supported (use tlsv1.2)"
            ));
        }
        "start_type" if v == "automatic" => {}
        "start_type" => {
            return Err(format!(
                "'start_type {v}' is not supported: bridges start automatically"
            ));
        }
        _ => return Err(format!("unknown option '{option}'")),
    }
    Ok(())
}
