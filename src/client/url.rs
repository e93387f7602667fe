//! Broker URLs: the one parser behind `sub`/`pub -L`, a profile's `url` and the workbench's
//! `-L`.
//!
//! The syntax is RFC 3986, checked by [`fluent_uri`] (a small, dependency-light, strictly
//! RFC 3986 parser; the `url` crate would bring the WHATWG rules and the IDNA tables for no
//! gain here). On top of it this module knows MQTT's schemes, their default ports, and what the
//! path means: the topic for `mqtt`/`mqtts` (as mosquitto's `-L`), the WebSocket path for
//! `ws`/`wss`.
//!
//! | scheme          | transport | default port |
//! |-----------------|-----------|--------------|
//! | `mqtt`, `tcp`   | TCP       | 1883         |
//! | `mqtts`, `ssl`  | TLS       | 8883         |
//! | `ws`            | WebSocket | 80           |
//! | `wss`           | WebSocket over TLS | 443 |
//!
//! User name and password in the userinfo are percent-decoded (`p%40ss` is `p@ss`), and so is
//! the topic. A `#` in an MQTT URL starts the fragment in RFC 3986; since mosquitto's `-L`
//! takes it as part of the topic (`mqtt://host/sensors/#`), so does this parser.

use fluent_uri::Uri;
use fluent_uri::component::Host;
use fluent_uri::pct_enc::EStr;

use super::options::{ConnectOptions, Transport};

/// Why a broker URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The scheme is not one of mqtt, mqtts, ws, wss (or the aliases tcp, ssl).
    #[error("unsupported URL scheme in '{0}': use mqtt://, mqtts://, ws:// or wss://")]
    Scheme(String),
    /// No host between the scheme and the port or path.
    #[error("no host in URL '{0}'")]
    NoHost(String),
    /// The port is not a number from 1 to 65535.
    #[error("invalid port in URL '{0}'")]
    Port(String),
    /// Not an RFC 3986 URI (a space, a stray `@`, a bad percent escape, ...).
    #[error("invalid URL '{url}': {reason}")]
    Syntax {
        /// The URL as given.
        url: String,
        /// What the RFC 3986 parser found.
        reason: String,
    },
}

/// A parsed broker URL such as `mqtts://bob:s3cret@broker.example:8884/a/b` or
/// `ws://[::1]:9001/mqtt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// The transport the scheme names.
    pub transport: Transport,
    /// The host, without the brackets of an IPv6 literal (`::1`).
    pub host: String,
    /// The port, or the scheme's default port.
    pub port: u16,
    /// The user name from the userinfo, percent-decoded.
    pub username: Option<String>,
    /// The password from the userinfo, percent-decoded.
    pub password: Option<String>,
    /// The WebSocket path (ws/wss only): the URL's path, `/mqtt` when it has none.
    pub ws_path: Option<String>,
    /// The topic from the path of an `mqtt`/`mqtts` URL (`mqtt://host/a/b` gives `a/b`);
    /// `None` when empty.
    pub topic: Option<String>,
}

impl BrokerUrl {
    /// Parses a broker URL.
    ///
    /// # Errors
    /// Not RFC 3986, an unknown scheme, a missing host or a bad port.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let syntax = |reason: String| UrlError::Syntax {
            url: url.to_string(),
            reason,
        };
        let uri = Uri::parse(url).map_err(|e| {
            // "localhost" or "host:1883" without a scheme: say what is missing.
            if url.contains("://") {
                syntax(e.to_string())
            } else {
                UrlError::Scheme(url.to_string())
            }
        })?;
        let transport = match uri.scheme().as_str().to_ascii_lowercase().as_str() {
            "mqtt" | "tcp" => Transport::Tcp,
            "mqtts" | "ssl" => Transport::Tls,
            "ws" => Transport::Ws,
            "wss" => Transport::Wss,
            _ => return Err(UrlError::Scheme(url.to_string())),
        };
        let auth = uri
            .authority()
            .ok_or_else(|| UrlError::NoHost(url.to_string()))?;
        let host = match auth.host_parsed() {
            Host::Ipv4 { .. } => auth.host().to_string(),
            Host::Ipv6 { .. } => auth.host().trim_matches(['[', ']']).to_string(),
            Host::RegName(name) => decode(name, url)?,
            _ => return Err(syntax("IPvFuture hosts are not supported".into())),
        };
        if host.is_empty() {
            return Err(UrlError::NoHost(url.to_string()));
        }
        let port = match auth.port_to_u16() {
            Ok(Some(0)) | Err(_) => return Err(UrlError::Port(url.to_string())),
            // `mqtt://host:` has an empty port, which RFC 3986 reads as the default.
            Ok(None) => transport.default_port(),
            Ok(Some(p)) => p,
        };
        let (username, password) = match auth.userinfo() {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                Some((u, p)) => (Some(decode(u, url)?), Some(decode(p, url)?)),
                None => (Some(decode(info, url)?), None),
            },
        };
        let path = uri.path();
        let (ws_path, topic) = match transport {
            Transport::Ws | Transport::Wss => {
                let mut p = if path.is_empty() {
                    "/mqtt".to_string()
                } else {
                    path.as_str().to_string()
                };
                if let Some(q) = uri.query() {
                    p.push('?');
                    p.push_str(q.as_str());
                }
                (Some(p), None)
            }
            Transport::Tcp | Transport::Tls => {
                let mut topic = decode(path, url)?;
                if let Some(q) = uri.query() {
                    topic.push('?');
                    topic.push_str(&decode(q, url)?);
                }
                if let Some(f) = uri.fragment() {
                    topic.push('#');
                    topic.push_str(&decode(f, url)?);
                }
                let topic = topic.strip_prefix('/').unwrap_or(&topic).to_string();
                (None, (!topic.is_empty()).then_some(topic))
            }
        };
        Ok(Self {
            transport,
            host,
            port,
            username,
            password,
            ws_path,
            topic,
        })
    }

    /// Connection options for this URL, with defaults for everything a URL cannot say.
    #[must_use]
    pub fn to_options(&self) -> ConnectOptions {
        let mut options = ConnectOptions {
            transport: self.transport,
            host: self.host.clone(),
            port: self.port,
            username: self.username.clone(),
            password: self.password.clone(),
            ..ConnectOptions::default()
        };
        if let Some(p) = &self.ws_path {
            options.ws_path.clone_from(p);
        }
        options
    }
}

/// Percent-decodes one URL component into UTF-8 text.
fn decode<E: fluent_uri::pct_enc::Encoder>(s: &EStr<E>, url: &str) -> Result<String, UrlError> {
    String::from_utf8(s.decode().to_bytes().into_owned()).map_err(|_| UrlError::Syntax {
        url: url.to_string(),
        reason: "a percent escape is not UTF-8".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (url, transport, host, port, username, password, ws path, topic)
    type Row = (
        &'static str,
        Transport,
        &'static str,
        u16,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
    );

    #[test]
    fn accepted_urls() {
        use Transport::{Tcp, Tls, Ws, Wss};
        let rows: [Row; 17] = [
            (
                "mqtt://localhost",
                Tcp,
                "localhost",
                1883,
                None,
                None,
                None,
                None,
            ),
            (
                "MQTT://localhost",
                Tcp,
                "localhost",
                1883,
                None,
                None,
                None,
                None,
            ),
            ("tcp://h:1884", Tcp, "h", 1884, None, None, None, None),
            ("mqtt://h:", Tcp, "h", 1883, None, None, None, None),
            ("mqtts://h", Tls, "h", 8883, None, None, None, None),
            ("ssl://h", Tls, "h", 8883, None, None, None, None),
            ("ws://h", Ws, "h", 80, None, None, Some("/mqtt"), None),
            ("wss://h", Wss, "h", 443, None, None, Some("/mqtt"), None),
            (
                "ws://[::1]:9001/mqtt",
                Ws,
                "::1",
                9001,
                None,
                None,
                Some("/mqtt"),
                None,
            ),
            (
                "wss://h/a/b?x=1",
                Wss,
                "h",
                443,
                None,
                None,
                Some("/a/b?x=1"),
                None,
            ),
            ("ws://h/", Ws, "h", 80, None, None, Some("/"), None),
            ("mqtt://[::1]", Tcp, "::1", 1883, None, None, None, None),
            (
                "mqtt://127.0.0.1:1/",
                Tcp,
                "127.0.0.1",
                1,
                None,
                None,
                None,
                None,
            ),
            (
                "mqtts://bob:s3cret@broker.example:8884/a/b",
                Tls,
                "broker.example",
                8884,
                Some("bob"),
                Some("s3cret"),
                None,
                Some("a/b"),
            ),
            // Percent-decoded userinfo: a password with '@' and ':'.
            (
                "mqtt://b%20ob:p%40ss:w@h",
                Tcp,
                "h",
                1883,
                Some("b ob"),
                Some("p@ss:w"),
                None,
                None,
            ),
            // mosquitto's -L takes '#' (an RFC 3986 fragment) as part of the topic.
            (
                "mqtt://u@h/sensors/#",
                Tcp,
                "h",
                1883,
                Some("u"),
                None,
                None,
                Some("sensors/#"),
            ),
            (
                "mqtt://h/a%20b/+",
                Tcp,
                "h",
                1883,
                None,
                None,
                None,
                Some("a b/+"),
            ),
        ];
        for (url, transport, host, port, user, pass, ws_path, topic) in rows {
            let u = BrokerUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(u.transport, transport, "{url}");
            assert_eq!(u.host, host, "{url}");
            assert_eq!(u.port, port, "{url}");
            assert_eq!(u.username.as_deref(), user, "{url}");
            assert_eq!(u.password.as_deref(), pass, "{url}");
            assert_eq!(u.ws_path.as_deref(), ws_path, "{url}");
            assert_eq!(u.topic.as_deref(), topic, "{url}");
        }
    }

    #[test]
    fn refused_urls() {
        fn scheme(e: &UrlError) -> bool {
            matches!(e, UrlError::Scheme(_))
        }
        fn no_host(e: &UrlError) -> bool {
            matches!(e, UrlError::NoHost(_))
        }
        fn port(e: &UrlError) -> bool {
            matches!(e, UrlError::Port(_))
        }
        fn syntax(e: &UrlError) -> bool {
            matches!(e, UrlError::Syntax { .. })
        }
        type Check = fn(&UrlError) -> bool;
        let rows: [(&str, Check); 13] = [
            ("http://x", scheme),
            ("localhost", scheme),
            ("localhost:1883", scheme),
            ("mqtt:localhost", no_host),
            ("mqtt://:1883", no_host),
            ("mqtt://", no_host),
            ("mqtt://x:0", port),
            ("mqtt://x:65536", port),
            ("mqtt://x:port", syntax),
            ("mqtt://h/a b", syntax),
            ("mqtt://user:p@ss@h", syntax),
            ("mqtt://[::1", syntax),
            ("mqtt://h/%ff", syntax),
        ];
        for (url, expected) in rows {
            match BrokerUrl::parse(url) {
                Ok(u) => panic!("{url} was accepted: {u:?}"),
                Err(e) => assert!(expected(&e), "{url}: unexpected error {e:?}"),
            }
        }
    }

    #[test]
    fn options_carry_the_url() {
        let o = BrokerUrl::parse("wss://u:p@[fe80::1]:8443/ws")
            .unwrap_or_else(|e| panic!("{e}"))
            .to_options();
        assert_eq!(o.transport, Transport::Wss);
        assert_eq!((o.host.as_str(), o.port), ("fe80::1", 8443));
        assert_eq!(
            (o.username.as_deref(), o.password.as_deref()),
            (Some("u"), Some("p"))
        );
        assert_eq!(o.ws_path, "/ws");
        let plain = BrokerUrl::parse("mqtt://h/t").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            plain.to_options().ws_path,
            ConnectOptions::default().ws_path
        );
    }
}
