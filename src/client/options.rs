//! Connection options: everything a CONNECT needs, plus the transport, in a plain struct that
//! saved profiles serialize to TOML.

use serde::{Deserialize, Serialize};

/// The network transport under MQTT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Plain TCP (`mqtt://`, port 1883).
    #[default]
    Tcp,
    /// TLS over TCP (`mqtts://`, port 8883).
    Tls,
    /// WebSocket (`ws://`).
    Ws,
    /// WebSocket over TLS (`wss://`).
    Wss,
}

impl Transport {
    /// The port a URL of this scheme means when it names none.
    #[must_use]
    pub fn default_port(self) -> u16 {
        match self {
            Self::Tcp => 1883,
            Self::Tls => 8883,
            Self::Ws => 80,
            Self::Wss => 443,
        }
    }

    /// True for the transports that run TLS.
    #[must_use]
    pub fn is_tls(self) -> bool {
        matches!(self, Self::Tls | Self::Wss)
    }
}

pub use crate::protocol::MqttVersion;
pub use crate::protocol::QoS;

/// The Will Message the broker publishes if the client vanishes (MQTT311 §3.1.2.5,
/// MQTT5 §3.1.2.5), as the client is configured with it; [`crate::protocol::Will`] is the form
/// the broker decodes. Saved profiles store it as their `[profile.will]` table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Will {
    /// Topic of the will message.
    pub topic: String,
    /// Payload of the will message (UTF-8 text here; mosquitto's `--will-payload` is text too).
    #[serde(default)]
    pub payload: String,
    /// QoS of the will message.
    #[serde(default, skip_serializing_if = "is_qos0")]
    pub qos: QoS,
    /// Whether the will is retained.
    #[serde(default, skip_serializing_if = "is_false")]
    pub retain: bool,
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

/// TLS settings for `mqtts://` and `wss://`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsOptions {
    /// PEM file of the certificate authorities to trust; the operating system's roots when
    /// absent.
    pub ca_file: Option<String>,
    /// PEM client certificate chain for mutual TLS.
    pub cert_file: Option<String>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<String>,
    /// Accept any server certificate. **Dangerous**: anyone on the path can impersonate the
    /// broker. For tests against self-signed brokers only.
    pub insecure: bool,
    /// ALPN protocol to offer (for example `mqtt`, or `x-amzn-mqtt-ca` for AWS IoT).
    pub alpn: Option<String>,
    /// Name to verify the server certificate against instead of the host name.
    pub sni: Option<String>,
}

/// MQTT 5 CONNECT properties that `-D connect ...` can set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectProperties {
    /// Receive Maximum (MQTT 5 §3.1.2.11.3).
    pub receive_maximum: Option<u16>,
    /// Maximum Packet Size the client accepts (MQTT 5 §3.1.2.11.4).
    pub maximum_packet_size: Option<u32>,
    /// Topic Alias Maximum (MQTT 5 §3.1.2.11.5).
    pub topic_alias_maximum: Option<u16>,
    /// Request Response Information (MQTT 5 §3.1.2.11.6).
    pub request_response_information: Option<u8>,
    /// Request Problem Information (MQTT 5 §3.1.2.11.7).
    pub request_problem_information: Option<u8>,
    /// User properties sent with CONNECT.
    pub user_properties: Vec<(String, String)>,
}

/// Everything needed to connect to a broker. Saved profiles store this struct as TOML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectOptions {
    /// Broker host name or address.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// TCP, TLS, WebSocket or secure WebSocket.
    pub transport: Transport,
    /// Path of the WebSocket endpoint (ws/wss only).
    pub ws_path: String,
    /// MQTT 3.1.1 or 5.
    pub version: MqttVersion,
    /// Client identifier; `None` sends an empty one so the broker assigns it.
    pub client_id: Option<String>,
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Keep alive in seconds (0 disables pings).
    pub keep_alive: u16,
    /// Start without a stored Session: Clean Session in MQTT 3.1.1 (MQTT311 §3.1.2.4), Clean
    /// Start in MQTT 5 (MQTT5 §3.1.2.4); the same CONNECT flag bit. The crate's general name
    /// for it is `clean_start` (as in [`crate::protocol::Connect`]); this field keeps the
    /// 3.1.1 name until the TUI, which reads it, is renamed with it.
    pub clean_session: bool,
    /// MQTT 5 session expiry interval in seconds.
    pub session_expiry: Option<u32>,
    /// The will message.
    pub will: Option<Will>,
    /// TLS settings (used by `Tls` and `Wss`).
    pub tls: TlsOptions,
    /// MQTT 5 CONNECT properties.
    pub properties: ConnectProperties,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 1883,
            transport: Transport::Tcp,
            ws_path: "/mqtt".into(),
            version: MqttVersion::V311,
            client_id: None,
            username: None,
            password: None,
            keep_alive: 60,
            clean_session: true,
            session_expiry: None,
            will: None,
            tls: TlsOptions::default(),
            properties: ConnectProperties::default(),
        }
    }
}

impl ConnectOptions {
    /// The client id as mosquitto's `-d` trace shows it: `(null)` when the broker assigns it.
    #[must_use]
    pub fn display_id(&self) -> String {
        self.client_id
            .clone()
            .unwrap_or_else(|| "(null)".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip_through_toml() {
        let o = ConnectOptions {
            will: Some(Will {
                topic: "t".into(),
                payload: "bye".into(),
                qos: QoS::AtLeastOnce,
                retain: true,
            }),
            version: MqttVersion::V5,
            ..ConnectOptions::default()
        };
        let text = toml::to_string_pretty(&o).unwrap();
        assert_eq!(toml::from_str::<ConnectOptions>(&text).unwrap(), o);
    }
}
