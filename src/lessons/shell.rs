//! The equivalent command for a publish or a subscribe, for mosquitto's tools and for
//! `mqtt-workbench pub`/`sub` (which take the same flags), shell-quoted so that running the
//! printed line does the same thing.

/// Which program the command is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `mosquitto_pub` / `mosquitto_sub`.
    Mosquitto,
    /// `mqtt-workbench pub` / `mqtt-workbench sub`.
    Workbench,
}

/// Quotes `s` for a POSIX shell: unchanged when it holds only safe characters, otherwise in
/// single quotes, with each `'` written as `'\''`.
#[must_use]
pub fn quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Where the command connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// How it connects beyond host and port (a saved profile's TLS files, protocol version,
    /// username), as flags both tools take; see [`Login`].
    pub login: Login,
}

/// A connection's options as command-line flags for `mosquitto_sub`/`mosquitto_pub` (and
/// `mqtt-workbench sub`/`pub`, which take the same), and what the flags cannot carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Login {
    /// The flags: `--cafile`, `--tls-use-os-certs`, `--cert`, `--key`, `--insecure`,
    /// `--tls-alpn`, `-V`, `-u`.
    pub args: Vec<String>,
    /// What the command leaves out, said to the learner (the password, never in clear).
    pub left_out: Vec<String>,
    /// The same, each in a few words, for a status line or a dialog's one-line note.
    pub brief: Vec<String>,
}

impl Login {
    /// The flags that connect the way `o` does (beyond host and port); `has_password` when
    /// the connection logs in with a password (stored, from the environment or a file, or
    /// typed), which the flags leave out.
    #[must_use]
    pub fn of(o: &crate::client::ConnectOptions, has_password: bool) -> Self {
        use crate::client::{MqttVersion, Transport};
        let mut l = Self::default();
        let mut arg = |a: &[&str]| l.args.extend(a.iter().map(|s| (*s).to_owned()));
        if matches!(o.transport, Transport::Tls | Transport::Wss) {
            match &o.tls.ca_file {
                Some(ca) => arg(&["--cafile", ca.as_str()]),
                // Both tools turn TLS on with a CA: the system's, as the profile trusts.
                None => arg(&["--tls-use-os-certs"]),
            }
            if let Some(c) = &o.tls.cert_file {
                arg(&["--cert", c.as_str()]);
            }
            if let Some(k) = &o.tls.key_file {
                arg(&["--key", k.as_str()]);
            }
            if o.tls.insecure {
                arg(&["--insecure"]);
            }
            if let Some(a) = &o.tls.alpn {
                arg(&["--tls-alpn", a.as_str()]);
            }
        }
        arg(&[
            "-V",
            match o.version {
                MqttVersion::V5 => "5",
                MqttVersion::V311 => "311",
            },
        ]);
        if let Some(u) = &o.username {
            arg(&["-u", u.as_str()]);
        }
        if has_password || o.password.is_some() {
            l.left_out
                .push("the password (add -P yourself; it is never copied)".into());
            l.brief.push("password left out: add -P".into());
        }
        if matches!(o.transport, Transport::Ws | Transport::Wss) {
            l.left_out.push(format!(
                "the WebSocket path {} (the command connects over MQTT on TCP to the same port)",
                o.ws_path
            ));
            l.brief.push("WebSocket path left out".into());
        }
        if matches!(o.transport, Transport::Tls | Transport::Wss) && o.tls.insecure {
            l.left_out.push(
                "any certificate: mosquitto's --insecure skips only the host name check, so \
                 a certificate the CA does not sign still fails there"
                    .into(),
            );
            l.brief.push("--insecure differs".into());
        }
        if o.tls.sni.is_some() {
            l.left_out.push("the TLS server name (SNI)".into());
            l.brief.push("SNI left out".into());
        }
        l
    }

    /// What the command leaves out, in a few words (`password left out: add -P`), or `None`
    /// when it carries everything.
    #[must_use]
    pub fn note(&self) -> Option<String> {
        (!self.brief.is_empty()).then(|| self.brief.join("; "))
    }
}

/// What a publish sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PubSpec {
    /// Topic name.
    pub topic: String,
    /// Payload text.
    pub payload: String,
    /// QoS.
    pub qos: u8,
    /// RETAIN.
    pub retain: bool,
    /// MQTT 5 Content Type.
    pub content_type: Option<String>,
    /// MQTT 5 Message Expiry Interval, seconds.
    pub expiry: Option<u32>,
    /// MQTT 5 Response Topic.
    pub response_topic: Option<String>,
    /// MQTT 5 Correlation Data (text).
    pub correlation: Option<String>,
    /// MQTT 5 User Properties.
    pub user: Vec<(String, String)>,
}

fn program(tool: Tool, publish: bool) -> &'static str {
    match (tool, publish) {
        (Tool::Mosquitto, true) => "mosquitto_pub",
        (Tool::Mosquitto, false) => "mosquitto_sub",
        (Tool::Workbench, true) => "mqtt-workbench pub",
        (Tool::Workbench, false) => "mqtt-workbench sub",
    }
}

fn push(out: &mut String, parts: &[&str]) {
    for p in parts {
        out.push(' ');
        out.push_str(&quote(p));
    }
}

/// The command line that publishes `p` to `at`.
#[must_use]
pub fn pub_command(tool: Tool, at: &Endpoint, p: &PubSpec) -> String {
    let mut out = program(tool, true).to_owned();
    push(&mut out, &["-h", &at.host, "-p", &at.port.to_string()]);
    let login: Vec<&str> = at.login.args.iter().map(String::as_str).collect();
    push(&mut out, &login);
    let has_version = at.login.args.iter().any(|a| a == "-V");
    let v5 = !has_version && p.content_type.is_some()
        || p.expiry.is_some()
        || p.response_topic.is_some()
        || p.correlation.is_some()
        || !p.user.is_empty();
    if v5 {
        push(&mut out, &["-V", "5"]);
    }
    push(&mut out, &["-t", &p.topic]);
    if p.payload.is_empty() {
        push(&mut out, &["-n"]);
    } else {
        push(&mut out, &["-m", &p.payload]);
    }
    if p.qos > 0 {
        push(&mut out, &["-q", &p.qos.to_string()]);
    }
    if p.retain {
        push(&mut out, &["-r"]);
    }
    let prop = |out: &mut String, name: &str, v: &str| {
        push(out, &["-D", "publish", name, v]);
    };
    if let Some(v) = &p.content_type {
        prop(&mut out, "content-type", v);
    }
    if let Some(v) = p.expiry {
        prop(&mut out, "message-expiry-interval", &v.to_string());
    }
    if let Some(v) = &p.response_topic {
        prop(&mut out, "response-topic", v);
    }
    if let Some(v) = &p.correlation {
        prop(&mut out, "correlation-data", v);
    }
    for (k, v) in &p.user {
        push(&mut out, &["-D", "publish", "user-property", k, v]);
    }
    out
}

/// The command line that subscribes to `filter` at `qos` on `at` and prints topic and payload.
#[must_use]
pub fn sub_command(tool: Tool, at: &Endpoint, filter: &str, qos: u8) -> String {
    let mut out = program(tool, false).to_owned();
    push(&mut out, &["-h", &at.host, "-p", &at.port.to_string()]);
    let login: Vec<&str> = at.login.args.iter().map(String::as_str).collect();
    push(&mut out, &login);
    push(&mut out, &["-t", filter]);
    if qos > 0 {
        push(&mut out, &["-q", &qos.to_string()]);
    }
    push(&mut out, &["-v"]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_leaves_plain_words_and_protects_the_rest() {
        assert_eq!(quote("mqtt"), "mqtt");
        assert_eq!(quote("a/b/c"), "a/b/c");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("Hello2 mqtt"), "'Hello2 mqtt'");
        assert_eq!(quote("sensors/#"), "'sensors/#'");
        assert_eq!(quote("+/x"), "+/x");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$SYS/#"), "'$SYS/#'");
        assert_eq!(quote("a\"b`c\\d"), "'a\"b`c\\d'");
        assert_eq!(quote("two\nlines"), "'two\nlines'");
        assert_eq!(quote("~home"), "'~home'");
        assert_eq!(quote("*"), "'*'");
    }

    #[test]
    fn quoted_text_survives_a_real_shell() {
        let Ok(out) = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "printf %s {}",
                quote("it's $HOME `x` \"q\" \\ * #")
            ))
            .output()
        else {
            eprintln!("SKIPPED: no sh");
            return;
        };
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "it's $HOME `x` \"q\" \\ * #"
        );
    }

    fn at() -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port: 1883,
            login: Login::default(),
        }
    }

    #[test]
    fn the_classic_publish_and_subscribe() {
        let p = PubSpec {
            topic: "mqtt".into(),
            payload: "Hello2 mqtt".into(),
            ..PubSpec::default()
        };
        assert_eq!(
            pub_command(Tool::Mosquitto, &at(), &p),
            "mosquitto_pub -h 127.0.0.1 -p 1883 -t mqtt -m 'Hello2 mqtt'"
        );
        assert_eq!(
            sub_command(Tool::Workbench, &at(), "mqtt", 0),
            "mqtt-workbench sub -h 127.0.0.1 -p 1883 -t mqtt -v"
        );
        assert_eq!(
            sub_command(Tool::Mosquitto, &at(), "a/#", 2),
            "mosquitto_sub -h 127.0.0.1 -p 1883 -t 'a/#' -q 2 -v"
        );
    }

    /// Task `polish`, item 3: a profile's TLS files, version and username become flags; the
    /// password never does, and what cannot be carried is named.
    #[test]
    fn a_profiles_login_becomes_flags_and_the_password_is_left_out() {
        use crate::client::{ConnectOptions, MqttVersion, TlsOptions, Transport};
        let o = ConnectOptions {
            transport: Transport::Tls,
            version: MqttVersion::V5,
            username: Some("alice".into()),
            password: Some("s3cret".into()),
            tls: TlsOptions {
                ca_file: Some("/etc/lab/ca.pem".into()),
                cert_file: Some("/etc/lab/me.pem".into()),
                key_file: Some("/etc/lab/me.key".into()),
                insecure: true,
                ..TlsOptions::default()
            },
            ..ConnectOptions::default()
        };
        let login = Login::of(&o, true);
        let at = Endpoint { login, ..at() };
        let cmd = sub_command(Tool::Mosquitto, &at, "a/#", 1);
        assert_eq!(
            cmd,
            "mosquitto_sub -h 127.0.0.1 -p 1883 --cafile /etc/lab/ca.pem --cert /etc/lab/me.pem \
             --key /etc/lab/me.key --insecure -V 5 -u alice -t 'a/#' -q 1 -v"
        );
        assert!(!cmd.contains("s3cret"));
        assert!(at.login.left_out[0].starts_with("the password"));
        assert!(at.login.left_out.iter().any(|l| l.contains("--insecure")));
        // A version from the login is not repeated for MQTT 5 properties.
        let p = PubSpec {
            topic: "t".into(),
            content_type: Some("text/plain".into()),
            ..PubSpec::default()
        };
        assert_eq!(
            pub_command(Tool::Mosquitto, &at, &p).matches("-V").count(),
            1
        );
        // System CAs: the flag that turns TLS on with them; no password, nothing left out.
        let plain = ConnectOptions {
            transport: Transport::Tls,
            ..ConnectOptions::default()
        };
        let l = Login::of(&plain, false);
        assert_eq!(l.args, ["--tls-use-os-certs", "-V", "311"]);
        assert!(l.left_out.is_empty());
    }

    #[test]
    fn qos_retain_empty_payload_and_properties() {
        let p = PubSpec {
            topic: "t".into(),
            payload: String::new(),
            qos: 1,
            retain: true,
            content_type: Some("text/plain".into()),
            expiry: Some(30),
            response_topic: Some("r/1".into()),
            correlation: Some("id 7".into()),
            user: vec![("k".into(), "v w".into())],
        };
        assert_eq!(
            pub_command(Tool::Mosquitto, &at(), &p),
            "mosquitto_pub -h 127.0.0.1 -p 1883 -V 5 -t t -n -q 1 -r \
             -D publish content-type text/plain -D publish message-expiry-interval 30 \
             -D publish response-topic r/1 -D publish correlation-data 'id 7' \
             -D publish user-property k 'v w'"
        );
    }
}
