//! Where the client pane's address points, and whether that is the workbench's own
//! (embedded) broker: a saved profile may name `127.0.0.1` and the embedded port, and the
//! views must not call that "another broker".

/// An address split into its scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// `mqtt`, `mqtts`, `ssl`, `ws`, `wss` or `tcp` (`mqtt` when the address has none).
    pub scheme: String,
    /// The host, without IPv6 brackets.
    pub host: String,
    /// The port (the scheme's default when the address has none).
    pub port: u16,
}

/// Splits `address`: `host:port` as the embedded and `-h` connections show it, or a
/// profile's `scheme://host:port[/path]`.
#[must_use]
pub fn place(address: &str) -> Place {
    let (scheme, rest) = address.split_once("://").unwrap_or(("mqtt", address));
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    let default_port = match scheme {
        "mqtts" | "ssl" => 8883,
        "ws" => 80,
        "wss" => 443,
        _ => 1883,
    };
    let (host, port) = authority
        .rsplit_once(':')
        .filter(|(h, _)| !h.is_empty())
        .and_then(|(h, p)| Some((h, p.parse().ok()?)))
        .unwrap_or((authority, default_port));
    Place {
        scheme: scheme.to_ascii_lowercase(),
        host: host.trim_matches(['[', ']']).to_owned(),
        port,
    }
}

fn loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn unspecified(host: &str) -> bool {
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified())
}

/// True when `link` (the client pane's address) reaches the embedded broker listening at
/// `embedded` (`host:port`): plain MQTT over TCP, the same port, and the same host or a
/// loopback name for a broker on loopback or on every address.
#[must_use]
pub fn is_own_broker(link: &str, embedded: &str) -> bool {
    let l = place(link);
    let b = place(embedded);
    if !matches!(l.scheme.as_str(), "mqtt" | "tcp") || l.port != b.port {
        return false;
    }
    l.host.eq_ignore_ascii_case(&b.host)
        || (loopback(&l.host) && (loopback(&b.host) || unspecified(&b.host)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_naming_the_embedded_host_and_port_is_the_own_broker() {
        let own = |l| is_own_broker(l, "127.0.0.1:1884");
        assert!(own("127.0.0.1:1884"));
        assert!(own("mqtt://127.0.0.1:1884"));
        assert!(own("mqtt://localhost:1884"));
        assert!(own("tcp://[::1]:1884"));
        assert!(!own("mqtt://127.0.0.1:1883"), "another port");
        assert!(
            !own("mqtts://127.0.0.1:1884"),
            "TLS is not the embedded listener"
        );
        assert!(!own("mqtt://10.0.0.5:1884"), "another host");
        assert!(!own("mqtt://broker.lab"), "default port 1883, another host");
        assert!(is_own_broker("mqtt://localhost:1883", "0.0.0.0:1883"));
        assert!(is_own_broker("mqtt://[::1]:1883", "[::]:1883"));
    }

    #[test]
    fn places_take_the_scheme_default_port() {
        let p = place("mqtts://broker.lab");
        assert_eq!(
            (p.scheme.as_str(), p.host.as_str(), p.port),
            ("mqtts", "broker.lab", 8883)
        );
        let p = place("wss://mqtt.example.com:443/mqtt");
        assert_eq!((p.host.as_str(), p.port), ("mqtt.example.com", 443));
        let p = place("mqtt://[::1]:1884");
        assert_eq!((p.host.as_str(), p.port), ("::1", 1884));
    }
}
