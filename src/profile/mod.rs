//! Saved connection profiles: named brokers with their transport, credentials, TLS files,
//! MQTT version, will and default subscriptions, kept in `profiles.toml` in the config
//! directory and used by the workbench, `sub`, `pub` and `profile`.
//!
//! # Layout
//!
//! * this module: [`Profile`] (one `[[profile]]` table), its validation and its
//!   [`ConnectOptions`].
//! * [`store`]: [`ProfileStore`]: finding the config directory, loading with file:line:column
//!   errors, atomic writes with a `.bak` copy and mode 0600.
//! * [`secret`]: [`Secret`] (prints as `***`) and resolving a password from the file, an
//!   environment variable, a password file or a prompt at connect time.
//!
//! # File format
//!
//! ```toml
//! [[profile]]
//! name = "lab"
//! note = "rack 3, mosquitto 2.0"
//! url = "mqtts://broker.lab:8883"   # or host = ..., port = ..., transport = "tls"
//! version = "5"                     # "3.1.1" (default) or "5"
//! username = "alice"
//! password_env = "LAB_PASSWORD"     # or password, password_file, ask_password = true
//! subscriptions = [{ filter = "sensors/#", qos = 1 }]
//!
//! [profile.tls]
//! ca_file = "/etc/lab/ca.pem"
//!
//! [[profile.decoders]]              # payload decoders per topic filter (see [`decoder`])
//! filter = "spBv1.0/#"
//! type = "sparkplug"                # or "protobuf" (with proto and message), "json",
//!                                   # "msgpack", "cbor", "hex", "text"
//! ```

pub mod decoder;
pub mod secret;
pub mod store;

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

pub use decoder::{DecoderKind, DecoderSpec};
pub use secret::{PasswordSource, Secret};
pub use store::{ProfileError, ProfileStore, config_dir};

use crate::client::{BrokerUrl, ConnectOptions, MqttVersion, QoS, TlsOptions, Transport, Will};
use crate::protocol::topic::validate_filter;

/// Keep-alive when a profile names none, as mosquitto_sub's.
pub const DEFAULT_KEEP_ALIVE: u16 = 60;

/// One default subscription of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// Topic filter (wildcards allowed).
    pub filter: String,
    /// Requested QoS (0 when absent).
    #[serde(default, skip_serializing_if = "is_qos0")]
    pub qos: QoS,
}

/// TLS settings of a profile (`[profile.tls]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileTls {
    /// PEM file of the CA certificates to trust (the system's roots when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// PEM client certificate for mutual TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// PEM private key of `cert_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Accept any server certificate (dangerous; self-signed test brokers only).
    #[serde(skip_serializing_if = "is_false")]
    pub insecure: bool,
    /// Server name to verify the certificate against instead of the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// ALPN protocol to offer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
}

impl ProfileTls {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

// serde's skip_serializing_if passes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_qos0(q: &QoS) -> bool {
    *q == QoS::AtMostOnce
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(b: &bool) -> bool {
    !*b
}

/// One saved connection: a `[[profile]]` table of `profiles.toml`.
///
/// Every field but `name` is optional; absent fields take the defaults of `mosquitto_sub`.
/// Unknown keys are errors, so a typo cannot silently drop a setting.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// The name used by `--profile` and shown in lists.
    pub name: String,
    /// Free text shown in lists and the picker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `mqtt://`, `mqtts://`, `ws://` or `wss://` URL with host, port (and WebSocket path);
    /// an alternative to `host`/`port`/`transport`/`ws_path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Broker host (default `localhost`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Broker port (default: the transport's, 1883/8883/80/443).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `tcp` (default), `tls`, `ws` or `wss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// WebSocket path (default `/mqtt`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ws_path: Option<String>,
    /// MQTT version: `"3.1.1"` (default) or `"5"` (also `5`, `"mqttv5"`, `"311"`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_version"
    )]
    pub version: Option<MqttVersion>,
    /// Client id (default: `mqtt-workbench-PID` in the workbench, broker-assigned in `sub`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// User name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password stored in the file (the file is then written with mode 0600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Name of an environment variable holding the password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// A file whose first line is the password (`~/` is the home directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// Ask for the password at connect time.
    #[serde(skip_serializing_if = "is_false")]
    pub ask_password: bool,
    /// Keep alive in seconds, 5 to 65535 (default 60).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<u16>,
    /// Clean session (3.1.1) / clean start (5) (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean_session: Option<bool>,
    /// MQTT 5 session expiry interval in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_expiry: Option<u32>,
    /// The will message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub will: Option<Will>,
    /// TLS files and options (for `tls` and `wss`).
    #[serde(skip_serializing_if = "ProfileTls::is_empty")]
    pub tls: ProfileTls,
    /// Subscriptions made on connect (the workbench subscribes to `#` when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<Subscription>,
    /// Payload decoders chosen per topic filter (`[[profile.decoders]]`; the first match
    /// wins).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decoders: Vec<DecoderSpec>,
}

/// Accepts `"5"`, `5`, `"mqttv5"`, `"3.1.1"`, `"311"`, `4`, `"mqttv311"`.
fn de_version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MqttVersion>, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Option<MqttVersion>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an MQTT version: \"3.1.1\" or \"5\"")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            match v {
                5 => Ok(Some(MqttVersion::V5)),
                4 | 311 => Ok(Some(MqttVersion::V311)),
                _ => Err(E::custom(format!(
                    "unsupported MQTT version {v}: use \"3.1.1\" or \"5\""
                ))),
            }
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_version(v).map(Some).map_err(E::custom)
        }
    }
    d.deserialize_any(V)
}

/// Parses a version as mosquitto's `-V` and profiles write it.
///
/// # Errors
/// A message naming the value, including for MQTT 3.1, which the client does not speak.
pub fn parse_version(v: &str) -> Result<MqttVersion, String> {
    MqttVersion::parse(v)
}

/// Shows a version as profiles write it.
#[must_use]
pub fn version_text(v: MqttVersion) -> &'static str {
    v.as_str()
}

/// Shows a transport as profiles write it.
#[must_use]
pub fn transport_text(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "tcp",
        Transport::Tls => "tls",
        Transport::Ws => "ws",
        Transport::Wss => "wss",
    }
}

/// A problem with one profile's settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("profile '{name}': {problem}")]
pub struct Invalid {
    /// The profile's name (may be empty when that is the problem).
    pub name: String,
    /// What is wrong, in words.
    pub problem: String,
}

impl Profile {
    /// A profile with only a name: localhost:1883 over TCP, MQTT 3.1.1.
    #[must_use]
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    fn invalid(&self, problem: impl Into<String>) -> Invalid {
        Invalid {
            name: self.name.clone(),
            problem: problem.into(),
        }
    }

    /// Where the password comes from.
    #[must_use]
    pub fn password_source(&self) -> PasswordSource {
        if let Some(p) = &self.password {
            PasswordSource::Stored(p.clone())
        } else if let Some(v) = &self.password_env {
            PasswordSource::Env(v.clone())
        } else if let Some(f) = &self.password_file {
            PasswordSource::File(f.clone())
        } else if self.ask_password {
            PasswordSource::Ask
        } else {
            PasswordSource::None
        }
    }

    /// Replaces the password settings with `source`.
    pub fn set_password_source(&mut self, source: PasswordSource) {
        self.password = None;
        self.password_env = None;
        self.password_file = None;
        self.ask_password = false;
        match source {
            PasswordSource::None => {}
            PasswordSource::Stored(s) => self.password = Some(s),
            PasswordSource::Env(v) => self.password_env = Some(v),
            PasswordSource::File(f) => self.password_file = Some(f),
            PasswordSource::Ask => self.ask_password = true,
        }
    }

    /// Checks what the TOML types cannot: a usable name, one way to reach the broker, one
    /// password source, valid filters and ranges.
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), Invalid> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(self.invalid("the name must not be empty"));
        }
        if name != self.name || self.name.chars().any(char::is_control) {
            return Err(self.invalid(
                "the name must not start or end with spaces or contain control characters",
            ));
        }
        if let Some(url) = &self.url {
            if self.host.is_some()
                || self.port.is_some()
                || self.transport.is_some()
                || self.ws_path.is_some()
            {
                return Err(
                    self.invalid("give either url or host/port/transport/ws_path, not both")
                );
            }
            let parsed = BrokerUrl::parse(url).map_err(|e| self.invalid(e.to_string()))?;
            if parsed.password.is_some() {
                return Err(self.invalid(
                    "the url holds a password; put it in password, password_env or \
                     password_file so that it is never shown",
                ));
            }
            if let Some(t) = parsed.topic {
                return Err(self.invalid(format!(
                    "the url has the topic '{t}'; put topics in subscriptions"
                )));
            }
        }
        if self.port == Some(0) {
            return Err(self.invalid("port must be from 1 to 65535"));
        }
        if self.host.as_deref().is_some_and(|h| h.trim().is_empty()) {
            return Err(self.invalid("host must not be empty"));
        }
        let sources = usize::from(self.password.is_some())
            + usize::from(self.password_env.is_some())
            + usize::from(self.password_file.is_some())
            + usize::from(self.ask_password);
        if sources > 1 {
            return Err(self.invalid(
                "give only one of password, password_env, password_file and ask_password",
            ));
        }
        if sources == 1 && self.username.is_none() {
            return Err(self.invalid("a password needs a username"));
        }
        if let Some(k) = self.keep_alive
            && k < 5
        {
            return Err(self.invalid(format!(
                "keep_alive {k} is too short: use 5 to 65535 seconds"
            )));
        }
        let version = self.version.unwrap_or_default();
        if self.session_expiry.is_some() && version != MqttVersion::V5 {
            return Err(self.invalid("session_expiry needs version = \"5\""));
        }
        if self.clean_session == Some(false) && self.client_id.is_none() {
            return Err(self.invalid("clean_session = false needs a client_id"));
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err(self.invalid("tls.cert_file and tls.key_file go together"));
        }
        if let Some(w) = &self.will {
            crate::client::validate_topic(&w.topic)
                .map_err(|_| self.invalid(format!("invalid will topic '{}'", w.topic)))?;
        }
        for s in &self.subscriptions {
            validate_filter(&s.filter).map_err(|e| {
                self.invalid(format!("invalid subscription filter '{}': {e}", s.filter))
            })?;
        }
        for d in &self.decoders {
            d.validate().map_err(|p| self.invalid(p))?;
        }
        Ok(())
    }

    /// The connection options this profile describes, without the password (which may have
    /// to be read or asked for: see [`Profile::password_source`]). A stored password is
    /// included.
    ///
    /// # Errors
    /// An invalid profile (see [`Profile::validate`]).
    pub fn base_options(&self) -> Result<ConnectOptions, Invalid> {
        self.validate()?;
        let mut o = match &self.url {
            Some(url) => BrokerUrl::parse(url)
                .map_err(|e| self.invalid(e.to_string()))?
                .to_options(),
            None => {
                let transport = self.transport.unwrap_or_default();
                ConnectOptions {
                    host: self.host.clone().unwrap_or_else(|| "localhost".into()),
                    port: self.port.unwrap_or_else(|| transport.default_port()),
                    transport,
                    ws_path: self.ws_path.clone().unwrap_or_else(|| "/mqtt".into()),
                    ..ConnectOptions::default()
                }
            }
        };
        o.version = self.version.unwrap_or_default();
        o.client_id.clone_from(&self.client_id);
        if self.username.is_some() {
            o.username.clone_from(&self.username);
        }
        o.password = self.password.as_ref().map(|p| p.expose().to_owned());
        o.keep_alive = self.keep_alive.unwrap_or(DEFAULT_KEEP_ALIVE);
        o.clean_session = self.clean_session.unwrap_or(true);
        o.session_expiry = self.session_expiry;
        o.will.clone_from(&self.will);
        o.tls = TlsOptions {
            ca_file: self.tls.ca_file.clone(),
            cert_file: self.tls.cert_file.clone(),
            key_file: self.tls.key_file.clone(),
            insecure: self.tls.insecure,
            alpn: self.tls.alpn.clone(),
            sni: self.tls.sni.clone(),
        };
        Ok(o)
    }

    /// Takes the connection settings of `o` (everything but the password, which the caller
    /// sets with [`Profile::set_password_source`]), writing only what differs from the
    /// defaults so the file stays short. Name, note and subscriptions are kept.
    pub fn set_options(&mut self, o: &ConnectOptions) {
        self.url = None;
        self.host = (o.host != "localhost").then(|| o.host.clone());
        self.transport = (o.transport != Transport::Tcp).then_some(o.transport);
        self.port = (o.port != o.transport.default_port()).then_some(o.port);
        self.ws_path = (matches!(o.transport, Transport::Ws | Transport::Wss)
            && o.ws_path != "/mqtt")
            .then(|| o.ws_path.clone());
        self.version = (o.version != MqttVersion::V311).then_some(o.version);
        self.client_id.clone_from(&o.client_id);
        self.username.clone_from(&o.username);
        self.keep_alive = (o.keep_alive != DEFAULT_KEEP_ALIVE).then_some(o.keep_alive);
        self.clean_session = (!o.clean_session).then_some(false);
        self.session_expiry = o.session_expiry;
        self.will.clone_from(&o.will);
        self.tls = ProfileTls {
            ca_file: o.tls.ca_file.clone(),
            cert_file: o.tls.cert_file.clone(),
            key_file: o.tls.key_file.clone(),
            insecure: o.tls.insecure,
            sni: o.tls.sni.clone(),
            alpn: o.tls.alpn.clone(),
        };
    }

    /// The broker as a URL without credentials: `mqtts://broker.lab:8883`,
    /// `ws://host:9001/mqtt`.
    #[must_use]
    pub fn address(&self) -> String {
        match self.base_options() {
            Ok(o) => options_address(&o),
            Err(_) => self
                .url
                .clone()
                .or_else(|| self.host.clone())
                .unwrap_or_else(|| "?".into()),
        }
    }

    /// The subscriptions to make on connect: the profile's, or `#` at QoS 0.
    #[must_use]
    pub fn subscriptions_or_all(&self) -> Vec<(String, QoS)> {
        if self.subscriptions.is_empty() {
            vec![("#".to_owned(), QoS::AtMostOnce)]
        } else {
            self.subscriptions
                .iter()
                .map(|s| (s.filter.clone(), s.qos))
                .collect()
        }
    }

    /// The profile as TOML, with a stored password shown as `***`.
    #[must_use]
    pub fn to_display_toml(&self) -> String {
        #[derive(Serialize)]
        struct One<'a> {
            profile: [&'a Profile; 1],
        }
        let mut masked = self.clone();
        if masked.password.is_some() {
            masked.password = Some(Secret::new("***"));
        }
        toml::to_string_pretty(&One { profile: [&masked] })
            .unwrap_or_else(|e| format!("# cannot show the profile: {e}\n"))
    }

    /// A one-line summary of how the password is obtained, never the password itself.
    #[must_use]
    pub fn auth_summary(&self) -> String {
        let mut s = String::new();
        if let Some(u) = &self.username {
            s.push_str(u);
            match self.password_source() {
                PasswordSource::None => {}
                PasswordSource::Stored(_) => s.push_str(" (password ***)"),
                PasswordSource::Env(v) => {
                    let _ = write!(s, " (password from ${v})");
                }
                PasswordSource::File(f) => {
                    let _ = write!(s, " (password from {})", f.display());
                }
                PasswordSource::Ask => s.push_str(" (password asked)"),
            }
        } else {
            s.push('-');
        }
        s
    }
}

/// `scheme://host:port[/path]` for connection options (no credentials).
#[must_use]
pub fn options_address(o: &ConnectOptions) -> String {
    let scheme = match o.transport {
        Transport::Tcp => "mqtt",
        Transport::Tls => "mqtts",
        Transport::Ws => "ws",
        Transport::Wss => "wss",
    };
    let host = if o.host.contains(':') {
        format!("[{}]", o.host)
    } else {
        o.host.clone()
    };
    match o.transport {
        Transport::Ws | Transport::Wss => format!("{scheme}://{host}:{}{}", o.port, o.ws_path),
        Transport::Tcp | Transport::Tls => format!("{scheme}://{host}:{}", o.port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Profile {
        #[derive(Deserialize)]
        struct F {
            profile: Vec<Profile>,
        }
        toml::from_str::<F>(text)
            .unwrap()
            .profile
            .into_iter()
            .next()
            .unwrap()
    }

    #[test]
    fn url_profile_gives_options() {
        let p = parse(
            r#"
            [[profile]]
            name = "lab"
            url = "mqtts://broker.lab:8884"
            version = 5
            username = "alice"
            password = "s3cret"
            session_expiry = 300
            subscriptions = [{ filter = "sensors/#", qos = 1 }, { filter = "a/b" }]
            [profile.tls]
            ca_file = "ca.pem"
            sni = "broker.internal"
            "#,
        );
        let o = p.base_options().unwrap();
        assert_eq!(o.transport, Transport::Tls);
        assert_eq!((o.host.as_str(), o.port), ("broker.lab", 8884));
        assert_eq!(o.version, MqttVersion::V5);
        assert_eq!(o.password.as_deref(), Some("s3cret"));
        assert_eq!(o.session_expiry, Some(300));
        assert_eq!(o.tls.ca_file.as_deref(), Some("ca.pem"));
        assert_eq!(o.tls.sni.as_deref(), Some("broker.internal"));
        assert_eq!(
            p.subscriptions_or_all(),
            vec![
                ("sensors/#".into(), QoS::AtLeastOnce),
                ("a/b".into(), QoS::AtMostOnce)
            ]
        );
        assert_eq!(p.address(), "mqtts://broker.lab:8884");
    }

    #[test]
    fn host_port_profile_defaults() {
        let p = parse("[[profile]]\nname = \"x\"\nhost = \"10.0.0.5\"\ntransport = \"wss\"\n");
        let o = p.base_options().unwrap();
        assert_eq!((o.port, o.ws_path.as_str()), (443, "/mqtt"));
        assert_eq!(o.keep_alive, 60);
        assert!(o.clean_session);
        assert_eq!(p.address(), "wss://10.0.0.5:443/mqtt");
        assert_eq!(
            p.subscriptions_or_all(),
            vec![("#".into(), QoS::AtMostOnce)]
        );
    }

    #[test]
    fn version_spellings() {
        for (text, v) in [
            ("\"5\"", MqttVersion::V5),
            ("5", MqttVersion::V5),
            ("\"mqttv5\"", MqttVersion::V5),
            ("\"3.1.1\"", MqttVersion::V311),
            ("311", MqttVersion::V311),
        ] {
            let p = parse(&format!("[[profile]]\nname = \"x\"\nversion = {text}\n"));
            assert_eq!(p.version, Some(v), "{text}");
        }
    }

    #[test]
    fn invalid_profiles_say_why() {
        let cases = [
            ("url = \"mqtt://h\"\nhost = \"h\"", "not both"),
            ("url = \"mqtt://u:pw@h\"", "holds a password"),
            (
                "username = \"u\"\npassword = \"a\"\nask_password = true",
                "only one",
            ),
            ("password_env = \"X\"", "needs a username"),
            ("keep_alive = 2", "too short"),
            ("session_expiry = 5", "needs version"),
            ("clean_session = false", "needs a client_id"),
            (
                "subscriptions = [{ filter = \"a/#/b\" }]",
                "invalid subscription",
            ),
            ("[profile.tls]\ncert_file = \"c.pem\"", "go together"),
        ];
        for (body, want) in cases {
            let p = parse(&format!("[[profile]]\nname = \"x\"\n{body}\n"));
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains(want), "{body}: {e}");
            assert!(e.starts_with("profile 'x': "), "{e}");
        }
        assert!(Profile::named(" x").validate().is_err());
        assert!(Profile::named("").validate().is_err());
    }

    #[test]
    fn set_options_round_trips_and_stays_short() {
        let o = ConnectOptions {
            host: "broker".into(),
            port: 8883,
            transport: Transport::Tls,
            version: MqttVersion::V5,
            username: Some("bob".into()),
            tls: TlsOptions {
                ca_file: Some("ca.pem".into()),
                ..TlsOptions::default()
            },
            ..ConnectOptions::default()
        };
        let mut p = Profile::named("b");
        p.set_options(&o);
        assert_eq!(p.port, None, "8883 is the TLS default");
        assert_eq!(p.keep_alive, None);
        assert_eq!(p.base_options().unwrap(), o);
    }

    #[test]
    fn display_toml_masks_the_password() {
        let mut p = Profile::named("lab");
        p.username = Some("alice".into());
        p.password = Some(Secret::new("hunter2"));
        let text = p.to_display_toml();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("password = \"***\""), "{text}");
        assert!(!format!("{p:?}").contains("hunter2"));
        assert_eq!(p.auth_summary(), "alice (password ***)");
    }
}
