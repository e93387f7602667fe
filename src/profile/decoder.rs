//! Payload decoders chosen per topic filter in a profile (`[[profile.decoders]]`).
//!
//! ```toml
//! [[profile]]
//! name = "plant"
//! host = "broker.plant"
//!
//! [[profile.decoders]]
//! filter = "spBv1.0/#"          # an MQTT topic filter
//! type = "sparkplug"            # Sparkplug B payloads
//!
//! [[profile.decoders]]
//! filter = "plant/+/reading"
//! type = "protobuf"             # a message of a .proto file
//! proto = "schemas/reading.proto"   # relative to the directory of profiles.toml
//! message = "plant.Reading"     # the full name of the message
//!
//! [[profile.decoders]]
//! filter = "legacy/#"
//! type = "msgpack"              # or "json", "cbor", "hex", "text"
//! ```
//!
//! The first entry whose filter matches a topic decodes its payloads; the workbench always
//! shows the raw bytes below the decoded view, and a payload that does not decode shows the
//! error and the bytes in hex.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::protocol::topic::validate_filter;

/// Which decoder an entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecoderKind {
    /// Sparkplug B (`org.eclipse.tahu.protobuf.Payload`).
    Sparkplug,
    /// A Protobuf message from a `.proto` file (`proto` and `message`).
    Protobuf,
    /// JSON, pretty-printed.
    Json,
    /// MessagePack.
    Msgpack,
    /// CBOR.
    Cbor,
    /// Hex dump.
    Hex,
    /// UTF-8 text.
    Text,
}

impl DecoderKind {
    /// The name used in the file and in the payload pane.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sparkplug => "sparkplug",
            Self::Protobuf => "protobuf",
            Self::Json => "json",
            Self::Msgpack => "msgpack",
            Self::Cbor => "cbor",
            Self::Hex => "hex",
            Self::Text => "text",
        }
    }
}

/// One `[[profile.decoders]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecoderSpec {
    /// The topic filter whose payloads this decoder reads.
    pub filter: String,
    /// The decoder.
    #[serde(rename = "type")]
    pub kind: DecoderKind,
    /// For `protobuf`: the `.proto` file (relative paths start at the profiles file's
    /// directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<PathBuf>,
    /// For `protobuf`: the message's full name (`package.Message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl DecoderSpec {
    /// Checks what the TOML types cannot: a valid filter, and `proto` and `message` given
    /// for `protobuf` and only there.
    ///
    /// # Errors
    /// The problem, in words.
    pub fn validate(&self) -> Result<(), String> {
        validate_filter(&self.filter)
            .map_err(|e| format!("decoder filter '{}' is invalid: {e}", self.filter))?;
        let is_pb = self.kind == DecoderKind::Protobuf;
        match (&self.proto, &self.message) {
            (Some(_), Some(m)) if is_pb && !m.trim().is_empty() => Ok(()),
            _ if is_pb => Err(format!(
                "decoder for '{}': type = \"protobuf\" needs proto = \"file.proto\" and \
                 message = \"package.Message\"",
                self.filter
            )),
            (None, None) => Ok(()),
            _ => Err(format!(
                "decoder for '{}': proto and message go with type = \"protobuf\" only",
                self.filter
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: DecoderKind, proto: Option<&str>, message: Option<&str>) -> DecoderSpec {
        DecoderSpec {
            filter: "a/#".into(),
            kind,
            proto: proto.map(PathBuf::from),
            message: message.map(str::to_owned),
        }
    }

    #[test]
    fn protobuf_needs_its_file_and_message_and_others_take_neither() {
        use DecoderKind as K;
        let ok = [
            spec(K::Sparkplug, None, None),
            spec(K::Protobuf, Some("x.proto"), Some("p.M")),
            spec(K::Cbor, None, None),
        ];
        for s in ok {
            assert_eq!(s.validate(), Ok(()), "{s:?}");
        }
        let bad = [
            spec(K::Protobuf, None, Some("p.M")),
            spec(K::Protobuf, Some("x.proto"), None),
            spec(K::Protobuf, Some("x.proto"), Some(" ")),
            spec(K::Sparkplug, Some("x.proto"), None),
            spec(K::Json, None, Some("p.M")),
        ];
        for s in bad {
            assert!(s.validate().is_err(), "{s:?}");
        }
        let mut s = spec(K::Hex, None, None);
        s.filter = "a/#/b".into();
        assert!(s.validate().unwrap_err().contains("'a/#/b'"));
    }
}
