//! The MQTT wire format: 3.1 (`MQIsdp`), 3.1.1 and 5.0 on one port.
//!
//! The decoder reads what a client sends a server (CONNECT, PUBLISH, SUBSCRIBE, ...) and
//! validates it strictly: every field is bounds-checked, nothing is allocated from a declared
//! length, reserved bits and property rules are enforced. The encoder writes what a server sends
//! a client (CONNACK, PUBLISH, SUBACK, ...).
//!
//! # Layout
//!
//! * [`reader`]: bounds-checked primitive reads (integers, strings, variable byte integers).
//! * [`properties`]: MQTT 5 properties, with the per-packet allow lists of §2.2.2.2.
//! * [`packet`]: the packet types shared by the decoder and the encoder.
//! * [`decode`]: frame splitting ([`decode::Decoder`]) and packet parsing.
//! * [`encode`]: server-to-client packet serialisation.
//! * [`reason`]: reason codes and the decode error type.
//! * [`topic`]: Topic Names and Topic Filters, validated, and filter matching.
//!
//! # Vocabulary
//!
//! This module owns the MQTT words the rest of the crate uses; the broker, the client, the
//! CLIs, profiles and the benchmark import them from here:
//!
//! * [`QoS`]: the one quality-of-service type (profiles and JSON write it as 0, 1 or 2).
//! * [`ProtocolVersion`]: every level the broker accepts (3.1, 3.1.1, 5.0); [`MqttVersion`]:
//!   the subset our clients speak (3.1.1, 5.0), converting into it.
//! * [`ReasonCode`]: MQTT 5 reason codes.
//! * [`TopicName`], [`TopicFilter`]: validated topic strings, with the matching and `$` rules.
//! * [`Will`]: the Will Message ("will" everywhere, never "last will" or "testament").
//! * `clean_start`: the CONNECT flag that MQTT 3.1.1 calls Clean Session and MQTT 5 Clean
//!   Start (the same bit); `clean_session` appears only where the version is 3.1.1 or in
//!   names kept for compatibility (a profile's `clean_session` key).

pub mod decode;
pub mod encode;
pub mod packet;
pub mod properties;
pub mod reader;
pub mod reason;
pub mod topic;

pub use decode::Decoder;
pub use packet::*;
pub use properties::Properties;
pub use reason::{DecodeError, ReasonCode};
pub use topic::{TopicFilter, TopicName};

/// The protocol level a client announced in its CONNECT packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// MQTT 3.1, protocol name `MQIsdp`, level 3.
    V31,
    /// MQTT 3.1.1, protocol name `MQTT`, level 4.
    V311,
    /// MQTT 5.0, protocol name `MQTT`, level 5.
    V5,
}

impl ProtocolVersion {
    /// The number mosquitto prints in `New client connected ... (p2, ...)`: 1, 2 or 5.
    #[must_use]
    pub fn log_number(self) -> u8 {
        match self {
            Self::V31 => 1,
            Self::V311 => 2,
            Self::V5 => 5,
        }
    }

    /// True for MQTT 5.0.
    #[must_use]
    pub fn is_v5(self) -> bool {
        self == Self::V5
    }
}

/// The MQTT version this crate's clients speak: the client pane, `sub`/`pub`, profiles and the
/// benchmark.
///
/// A subset of [`ProtocolVersion`] (what the broker accepts): no client here speaks MQTT 3.1.
/// Profiles and the benchmark's JSON write it as `"3.1.1"` or `"5"`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum MqttVersion {
    /// MQTT 3.1.1 (protocol level 4), mosquitto_sub's default.
    #[default]
    #[serde(rename = "3.1.1")]
    V311,
    /// MQTT 5.0 (protocol level 5).
    #[serde(rename = "5")]
    V5,
}

impl MqttVersion {
    /// Parses a version as written on a command line or in a profile: `3.1.1`, `311`, `4`,
    /// `mqttv311`, `v311`, `5`, `5.0`, `mqttv5` or `v5` (any case, surrounding blanks ignored).
    ///
    /// # Errors
    /// A message naming the value, including for MQTT 3.1, which no client here speaks.
    pub fn parse(v: &str) -> Result<Self, String> {
        match v.trim().to_ascii_lowercase().as_str() {
            "5" | "5.0" | "mqttv5" | "v5" => Ok(Self::V5),
            "3.1.1" | "311" | "4" | "mqttv311" | "v311" => Ok(Self::V311),
            _ => Err(format!(
                "unsupported MQTT version '{v}': use \"3.1.1\" or \"5\""
            )),
        }
    }

    /// The version as profiles and reports write it: `3.1.1` or `5`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V311 => "3.1.1",
            Self::V5 => "5",
        }
    }

    /// True for MQTT 5.0.
    #[must_use]
    pub fn is_v5(self) -> bool {
        self == Self::V5
    }
}

impl std::fmt::Display for MqttVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<MqttVersion> for ProtocolVersion {
    fn from(v: MqttVersion) -> Self {
        match v {
            MqttVersion::V311 => Self::V311,
            MqttVersion::V5 => Self::V5,
        }
    }
}

/// Quality of service of a PUBLISH, a will or a subscription (MQTT311 §4.3, MQTT5 §4.3).
///
/// The one QoS type of the crate: the broker, the client, the CLIs and saved profiles (where it
/// is written as the number 0, 1 or 2) all use it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(into = "u8", try_from = "u8")]
pub enum QoS {
    /// At most once (0).
    #[default]
    AtMostOnce = 0,
    /// At least once (1).
    AtLeastOnce = 1,
    /// Exactly once (2).
    ExactlyOnce = 2,
}

impl QoS {
    /// Parses the two QoS bits; 3 is not a QoS [MQTT311-3.3.1-4] [MQTT5-3.3.1-4].
    #[must_use]
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::AtMostOnce),
            1 => Some(Self::AtLeastOnce),
            2 => Some(Self::ExactlyOnce),
            _ => None,
        }
    }

    /// The numeric value, 0 to 2.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl From<QoS> for u8 {
    fn from(q: QoS) -> u8 {
        q as u8
    }
}

impl TryFrom<u8> for QoS {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        Self::from_u8(v).ok_or_else(|| format!("QoS must be 0, 1 or 2, not {v}"))
    }
}

/// MQTT control packet types (the high nibble of the first byte).
pub mod packet_type {
    /// CONNECT
    pub const CONNECT: u8 = 1;
    /// CONNACK
    pub const CONNACK: u8 = 2;
    /// PUBLISH
    pub const PUBLISH: u8 = 3;
    /// PUBACK
    pub const PUBACK: u8 = 4;
    /// PUBREC
    pub const PUBREC: u8 = 5;
    /// PUBREL
    pub const PUBREL: u8 = 6;
    /// PUBCOMP
    pub const PUBCOMP: u8 = 7;
    /// SUBSCRIBE
    pub const SUBSCRIBE: u8 = 8;
    /// SUBACK
    pub const SUBACK: u8 = 9;
    /// UNSUBSCRIBE
    pub const UNSUBSCRIBE: u8 = 10;
    /// UNSUBACK
    pub const UNSUBACK: u8 = 11;
    /// PINGREQ
    pub const PINGREQ: u8 = 12;
    /// PINGRESP
    pub const PINGRESP: u8 = 13;
    /// DISCONNECT
    pub const DISCONNECT: u8 = 14;
    /// AUTH (MQTT 5 only)
    pub const AUTH: u8 = 15;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mqtt_version_spellings() {
        for (text, v) in [
            ("3.1.1", MqttVersion::V311),
            ("311", MqttVersion::V311),
            ("4", MqttVersion::V311),
            ("MQTTv311", MqttVersion::V311),
            (" v311 ", MqttVersion::V311),
            ("5", MqttVersion::V5),
            ("5.0", MqttVersion::V5),
            ("mqttv5", MqttVersion::V5),
            ("V5", MqttVersion::V5),
        ] {
            assert_eq!(MqttVersion::parse(text), Ok(v), "{text}");
        }
        for bad in ["3.1", "31", "mqttv31", "6", ""] {
            let e = MqttVersion::parse(bad).expect_err(bad);
            assert!(e.contains(&format!("'{bad}'")), "{e}");
        }
        assert_eq!(
            ProtocolVersion::from(MqttVersion::V311),
            ProtocolVersion::V311
        );
        assert_eq!(ProtocolVersion::from(MqttVersion::V5), ProtocolVersion::V5);
        assert_eq!(MqttVersion::V5.to_string(), "5");
    }

    #[test]
    fn qos_as_a_number() {
        assert_eq!(QoS::try_from(2), Ok(QoS::ExactlyOnce));
        assert_eq!(
            QoS::try_from(3),
            Err("QoS must be 0, 1 or 2, not 3".to_string())
        );
        assert_eq!(u8::from(QoS::AtLeastOnce), 1);
        let json = serde_json::to_string(&[QoS::AtMostOnce, QoS::ExactlyOnce]).unwrap_or_default();
        assert_eq!(json, "[0,2]");
        assert!(serde_json::from_str::<QoS>("3").is_err());
    }
}
