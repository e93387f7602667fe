//! Connection flags shared by `sub` and `pub`, named like mosquitto_sub's and mosquitto_pub's.

use bytes::Bytes;
use clap::Args;

use crate::client::{
    BrokerUrl, ConnectOptions, FailureKind, MessageProperties, MqttVersion, QoS, Transport, Will,
};

/// How to reach and log in to the broker (mosquitto's flag names; `-h` is the host).
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Broker host [default: localhost].
    #[arg(short = 'h', long = "host", value_name = "HOST")]
    pub host: Option<String>,
    /// Broker port [default: 1883, or 8883 with TLS].
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<u16>,
    /// Broker URL: mqtt(s)://[user[:pass]@]host[:port]/topic, or ws(s)://host[:port]/path.
    #[arg(short = 'L', long = "url", value_name = "URL")]
    pub url: Option<String>,
    /// Client id [default: assigned by the broker].
    #[arg(short = 'i', long = "id", value_name = "ID")]
    pub id: Option<String>,
    /// Client id prefix; the process id is appended.
    #[arg(short = 'I', long = "id-prefix", value_name = "PREFIX")]
    pub id_prefix: Option<String>,
    /// User name.
    #[arg(short = 'u', long = "username", value_name = "USER")]
    pub username: Option<String>,
    /// Password.
    #[arg(short = 'P', long = "pw", value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Keep alive in seconds (5 to 65535) [default: 60].
    #[arg(short = 'k', long = "keepalive", value_name = "SECS")]
    pub keepalive: Option<u32>,
    /// Disable clean session: keep the session (and queued messages) between connections.
    #[arg(short = 'c', long = "disable-clean-session")]
    pub no_clean: bool,
    /// MQTT 5 session expiry interval in seconds.
    #[arg(short = 'x', long = "session-expiry-interval", value_name = "SECS")]
    pub session_expiry: Option<u32>,
    /// Protocol version: mqttv5 (5), mqttv311 (311); mqttv31 is refused.
    #[arg(short = 'V', long = "protocol-version", value_name = "VERSION")]
    pub protocol: Option<String>,
    /// QoS of the subscription or the published messages [default: 0].
    #[arg(short = 'q', long = "qos", value_name = "QOS",
          value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: Option<u8>,
    /// Will topic.
    #[arg(long = "will-topic", value_name = "TOPIC")]
    pub will_topic: Option<String>,
    /// Will payload.
    #[arg(long = "will-payload", value_name = "PAYLOAD")]
    pub will_payload: Option<String>,
    /// Will QoS [default: 0].
    #[arg(long = "will-qos", value_name = "QOS",
          value_parser = clap::value_parser!(u8).range(0..=2))]
    pub will_qos: Option<u8>,
    /// Retain the will.
    #[arg(long = "will-retain")]
    pub will_retain: bool,
    /// CA certificates (PEM) to trust; enables TLS.
    #[arg(long = "cafile", value_name = "FILE")]
    pub cafile: Option<String>,
    /// Client certificate (PEM).
    #[arg(long = "cert", value_name = "FILE")]
    pub cert: Option<String>,
    /// Client private key (PEM).
    #[arg(long = "key", value_name = "FILE")]
    pub key: Option<String>,
    /// Do not check the server certificate. Dangerous: anyone can pose as the broker.
    #[arg(long = "insecure")]
    pub insecure: bool,
    /// Trust the operating system's CA certificates; enables TLS (as mosquitto's tools).
    #[arg(long = "tls-use-os-certs")]
    pub tls_use_os_certs: bool,
    /// ALPN protocol to offer in the TLS handshake.
    #[arg(long = "tls-alpn", value_name = "PROTOCOL")]
    pub tls_alpn: Option<String>,
    /// MQTT 5 property: -D <command> <property> <value>, e.g. -D publish content-type text/plain
    /// or -D publish user-property <key> <value>.
    #[arg(short = 'D', long = "property", num_args = 3..=4,
          value_names = ["COMMAND", "PROPERTY", "VALUE"], action = clap::ArgAction::Append)]
    pub properties: Vec<String>,
    /// Print the packet trace (mosquitto's -d).
    #[arg(short = 'd', long = "debug")]
    pub debug: bool,
    /// Print no error messages.
    #[arg(long = "quiet")]
    pub quiet: bool,
}

/// MQTT 5 properties from `-D`, sorted by packet.
#[derive(Debug, Default, Clone)]
pub struct Properties {
    /// For PUBLISH.
    pub publish: MessageProperties,
    /// User properties for SUBSCRIBE.
    pub subscribe_user: Vec<(String, String)>,
}

/// The result of checking the connection flags.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Options for [`crate::client::connect`].
    pub options: ConnectOptions,
    /// The topic given in `-L`'s path.
    pub url_topic: Option<String>,
    /// Properties for the other packets.
    pub properties: Properties,
    /// QoS for messages / subscriptions.
    pub qos: QoS,
}

fn parse_num<T: std::str::FromStr>(prop: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("Invalid property value for {prop}: '{value}'."))
}

impl ConnArgs {
    /// Turns the flags into connection options, or a mosquitto-style error message.
    ///
    /// # Errors
    /// A message without the `Error: ` prefix.
    pub fn resolve(&self) -> Result<Connection, String> {
        self.resolve_on(ConnectOptions::default())
    }

    /// Like [`ConnArgs::resolve`], starting from `base` (a saved profile's options) instead
    /// of the defaults: every flag given overrides the profile, everything else comes from
    /// it.
    ///
    /// # Errors
    /// A message without the `Error: ` prefix.
    pub fn resolve_on(&self, base: ConnectOptions) -> Result<Connection, String> {
        let mut options = base;
        let mut url_topic = None;
        if let Some(url) = &self.url {
            let p = BrokerUrl::parse(url).map_err(|e| e.to_string())?;
            options.transport = p.transport;
            options.host = p.host;
            options.port = p.port;
            options.ws_path = p
                .ws_path
                .unwrap_or_else(|| ConnectOptions::default().ws_path);
            if p.username.is_some() {
                options.username = p.username;
                options.password = p.password;
            }
            url_topic = p.topic;
        }
        match self.protocol.as_deref() {
            None => {}
            Some("5" | "mqttv5") => options.version = MqttVersion::V5,
            Some("311" | "mqttv311") => options.version = MqttVersion::V311,
            Some("31" | "mqttv31") => {
                return Err(
                    "MQTT v3.1 (mqttv31) is not supported: the client speaks MQTT \
                            3.1.1 and 5. Use -V mqttv311 or -V mqttv5."
                        .into(),
                );
            }
            Some(_) => return Err("Invalid protocol version argument given.".into()),
        }
        if let Some(h) = &self.host {
            options.host.clone_from(h);
        }
        let tls_wanted =
            self.cafile.is_some() || self.insecure || self.cert.is_some() || self.tls_use_os_certs;
        if tls_wanted && options.transport == Transport::Tcp {
            options.transport = Transport::Tls;
            if self.url.is_none() || options.port == 1883 {
                options.port = 8883;
            }
        }
        if let Some(p) = self.port {
            options.port = p;
        }
        if let Some(u) = &self.username {
            options.username = Some(u.clone());
        }
        if let Some(p) = &self.password {
            options.password = Some(p.clone());
        }
        if self.password.is_some() && options.username.is_none() {
            return Err("A password was given without a username (-u).".into());
        }
        match (&self.id, &self.id_prefix) {
            (Some(id), _) => options.client_id = Some(id.clone()),
            (None, Some(prefix)) => {
                options.client_id = Some(format!("{prefix}{}", std::process::id()));
            }
            (None, None) => {}
        }
        if let Some(k) = self.keepalive {
            if !(5..=65535).contains(&k) {
                return Err(
                    "Invalid keepalive given, it must be between 5 and 65535 inclusive.".into(),
                );
            }
            options.keep_alive = u16::try_from(k).unwrap_or(u16::MAX);
        }
        if self.no_clean {
            options.clean_session = false;
        }
        if !options.clean_session && options.client_id.is_none() {
            return Err("You must provide a client id if you are using the -c option.".into());
        }
        options.session_expiry = match (options.version, self.session_expiry) {
            (MqttVersion::V5, Some(x)) => Some(x),
            (MqttVersion::V5, None) if self.no_clean => Some(u32::MAX),
            (MqttVersion::V5, None) => options.session_expiry,
            (MqttVersion::V311, _) => None,
        };
        if let Some(topic) = &self.will_topic {
            crate::client::validate_topic(topic).map_err(|_| {
                format!("Invalid will topic '{topic}', does it contain '+' or '#'?")
            })?;
            options.will = Some(Will {
                topic: topic.clone(),
                payload: self.will_payload.clone().unwrap_or_default(),
                qos: QoS::try_from(self.will_qos.unwrap_or(0))?,
                retain: self.will_retain,
            });
        } else if self.will_payload.is_some() {
            return Err("Will payload given, but no will topic given.".into());
        } else if self.will_retain {
            return Err("Will retain given, but no will topic given.".into());
        }
        if self.cert.is_some() != self.key.is_some() {
            return Err("Both certfile and keyfile must be provided if one of them is set.".into());
        }
        let tls = &mut options.tls;
        if self.cafile.is_some() {
            tls.ca_file.clone_from(&self.cafile);
        }
        if self.cert.is_some() {
            tls.cert_file.clone_from(&self.cert);
            tls.key_file.clone_from(&self.key);
        }
        tls.insecure |= self.insecure;
        if self.tls_alpn.is_some() {
            tls.alpn.clone_from(&self.tls_alpn);
        }
        let properties = self.properties(&mut options)?;
        Ok(Connection {
            options,
            url_topic,
            properties,
            qos: QoS::try_from(self.qos.unwrap_or(0))?,
        })
    }

    /// Sorts `-D command property value` triples into CONNECT options and packet properties.
    fn properties(&self, options: &mut ConnectOptions) -> Result<Properties, String> {
        let mut out = Properties::default();
        if !self.properties.is_empty() && options.version != MqttVersion::V5 {
            return Err("You must use MQTT v5 (-V mqttv5) to use properties.".into());
        }
        // The values of all -D flags, in order: `user-property` takes a name and a value,
        // every other property one value.
        let mut rest = self.properties.as_slice();
        while !rest.is_empty() {
            let (cmd, name, value, extra) = match rest {
                [c, n, k, v, tail @ ..] if n == "user-property" => {
                    rest = tail;
                    (c, n, k, Some(v))
                }
                [c, n, v, tail @ ..] if n != "user-property" => {
                    rest = tail;
                    (c, n, v, None)
                }
                _ => return Err("-D needs a command, a property and a value.".into()),
            };
            let user = || -> Result<(String, String), String> {
                extra
                    .map(|v| (value.clone(), v.clone()))
                    .ok_or_else(|| format!("-D {cmd} user-property needs a name and a value."))
            };
            if extra.is_some() && name != "user-property" {
                return Err(format!("-D {cmd} {name} takes one value."));
            }
            match (cmd.as_str(), name.as_str()) {
                ("connect", "user-property") => options.properties.user_properties.push(user()?),
                ("connect", "receive-maximum") => {
                    options.properties.receive_maximum = Some(parse_num(name, value)?);
                }
                ("connect", "maximum-packet-size") => {
                    options.properties.maximum_packet_size = Some(parse_num(name, value)?);
                }
                ("connect", "topic-alias-maximum") => {
                    options.properties.topic_alias_maximum = Some(parse_num(name, value)?);
                }
                ("connect", "request-response-information") => {
                    options.properties.request_response_information = Some(parse_num(name, value)?);
                }
                ("connect", "request-problem-information") => {
                    options.properties.request_problem_information = Some(parse_num(name, value)?);
                }
                ("connect", "session-expiry-interval") => {
                    options.session_expiry = Some(parse_num(name, value)?);
                }
                ("publish", "payload-format-indicator") => {
                    out.publish.payload_format_indicator = Some(parse_num(name, value)?);
                }
                ("publish", "message-expiry-interval") => {
                    out.publish.message_expiry_interval = Some(parse_num(name, value)?);
                }
                ("publish", "topic-alias") => {
                    out.publish.topic_alias = Some(parse_num(name, value)?);
                }
                ("publish", "content-type") => out.publish.content_type = Some(value.clone()),
                ("publish", "response-topic") => out.publish.response_topic = Some(value.clone()),
                ("publish", "correlation-data") => {
                    out.publish.correlation_data = Some(Bytes::from(value.clone().into_bytes()));
                }
                ("publish", "user-property") => out.publish.user_properties.push(user()?),
                ("subscribe", "user-property") => out.subscribe_user.push(user()?),
                (c, p) => {
                    return Err(format!(
                        "Invalid property '{p}' for command '{c}' (supported: connect, publish, \
                         subscribe properties)."
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// mosquitto's exit status for a failed TLS handshake (libmosquitto's `MOSQ_ERR_TLS`).
pub const TLS_FAILED: u8 = 8;

/// Reports a connection that could not be made, in mosquitto_sub's and mosquitto_pub's words,
/// and returns their exit status: the CONNACK code for a refusal (3.1.1 return code or 5.0
/// reason code), 8 for a TLS failure, 1 for everything else (socket errors, a host name
/// that does not resolve, options that cannot be used).
///
/// The first line of stderr is mosquitto's; a TLS failure adds a second line saying what
/// exactly failed, which mosquitto does not.
#[must_use]
pub fn connect_failed(
    kind: Option<FailureKind>,
    reason: &str,
    code: Option<u8>,
    quiet: bool,
) -> std::process::ExitCode {
    let (lines, status): (Vec<String>, u8) = match (code, kind) {
        (Some(c), _) => (vec![format!("Connection error: {reason}")], c),
        (None, Some(FailureKind::Tls)) => {
            let detail = reason
                .strip_prefix("A TLS error occurred: ")
                .unwrap_or(reason);
            (
                vec![
                    "Error: A TLS error occurred.".into(),
                    format!("TLS: {detail}"),
                ],
                TLS_FAILED,
            )
        }
        (None, Some(FailureKind::Lookup)) => (vec!["Unable to connect (Lookup error.).".into()], 1),
        (None, _) => (vec![format!("Error: {reason}")], 1),
    };
    if !quiet {
        for l in lines {
            eprintln!("{l}");
        }
    }
    std::process::ExitCode::from(status)
}

/// Prints a usage error the way mosquitto's clients do (`Error: …`, then where to find the
/// usage; nothing with `--quiet`) and returns their status for it, 1. `command` is the
/// subcommand (`sub`, `pub`, …).
pub fn usage_error(command: &str, quiet: bool, msg: &str) -> std::process::ExitCode {
    if !quiet {
        eprintln!("Error: {msg}\n\nUse 'mqtt-workbench {command} --help' to see usage.");
    }
    std::process::ExitCode::from(1)
}

/// Writes bytes to stdout and flushes, as mosquitto_sub does per message (a closed pipe is
/// not an error here: the next read of the connection ends the program).
pub fn write_stdout(bytes: &[u8]) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes);
    let _ = stdout.flush();
}

/// The printing options of `sub` and `rr` (`-F`, `-v`, `-N`, `--pretty`), with `-F` checked
/// first as mosquitto's clients do: a bad format is a usage error (status 1).
///
/// # Errors
/// The exit code after a usage error was printed.
pub fn output_options(
    command: &str,
    quiet: bool,
    format: Option<&String>,
    verbose: bool,
    no_eol: bool,
    pretty: bool,
) -> Result<crate::client::format::OutputOptions, std::process::ExitCode> {
    if let Some(f) = format
        && let Err(e) = crate::client::format::check_format(f)
    {
        return Err(usage_error(command, quiet, &e.to_string()));
    }
    Ok(crate::client::format::OutputOptions {
        format: format.cloned(),
        verbose,
        eol: !no_eol,
        pretty,
    })
}

/// SIGINT and SIGTERM for a long-running client command (`sub`, `pub -l`, `rr`): both end it
/// with a clean DISCONNECT, as mosquitto_sub does, so that its Will is not published.
/// Installed once before the command's loop, so a signal between two waits is not lost.
#[derive(Debug)]
pub struct StopSignals {
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Starts listening for SIGINT and SIGTERM (Ctrl-C elsewhere).
    #[must_use]
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                int: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves at the next SIGINT or SIGTERM.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        {
            async fn next(s: Option<&mut tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        if s.recv().await.is_none() {
                            std::future::pending::<()>().await;
                        }
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = next(self.int.as_mut()) => {}
                () = next(self.term.as_mut()) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

impl Default for StopSignals {
    fn default() -> Self {
        Self::new()
    }
}
