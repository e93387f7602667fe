//! Payload decoders chosen per topic filter in a connection's profile
//! (`[[profile.decoders]]`, see [`crate::profile::decoder`]): Sparkplug B ([`sparkplug`]),
//! Protobuf from a `.proto` file ([`protobuf`]), and the built-in JSON, MessagePack, CBOR,
//! hex and text views forced for a filter.
//!
//! A decoder never hides the raw bytes: its view ends with them in hex, and a payload it
//! cannot decode shows the error and then the bytes.

pub mod protobuf;
pub mod sparkplug;

use std::path::Path;

use crate::profile::{DecoderKind, DecoderSpec};
use crate::protocol::topic::matches;
use crate::tui::payload::{PayloadMode, VIEW_LIMIT, render as render_payload};

/// What one entry decodes with.
#[derive(Debug, Clone)]
enum Decoder {
    Sparkplug,
    Proto(protobuf::ProtoMessage),
    Mode(PayloadMode),
    /// The entry could not be set up (its `.proto` did not compile): why.
    Broken(String),
}

/// The decoders of one connection, in the profile's order (the first match wins).
#[derive(Debug, Clone, Default)]
pub struct Decoders {
    entries: Vec<(String, DecoderKind, Decoder)>,
}

fn hex(bytes: &[u8]) -> Vec<String> {
    render_payload(&bytes[..bytes.len().min(VIEW_LIMIT)], PayloadMode::Hex).1
}

impl Decoders {
    /// Sets up `specs`, reading `.proto` files relative to `base` (the profiles file's
    /// directory). Entries that fail stay (their topics show the error and the bytes); the
    /// errors are returned as well, for the error list.
    #[must_use]
    pub fn load(specs: &[DecoderSpec], base: &Path) -> (Self, Vec<String>) {
        let mut errors = Vec::new();
        let entries = specs
            .iter()
            .map(|s| {
                let d = match s.kind {
                    DecoderKind::Sparkplug => Decoder::Sparkplug,
                    DecoderKind::Protobuf => {
                        let proto = s.proto.as_deref().unwrap_or(Path::new(""));
                        let path = base.join(proto);
                        let msg = s.message.as_deref().unwrap_or("");
                        match protobuf::ProtoMessage::load(&path, msg) {
                            Ok(m) => Decoder::Proto(m),
                            Err(e) => {
                                errors.push(format!("decoder for '{}': {e}", s.filter));
                                Decoder::Broken(e)
                            }
                        }
                    }
                    DecoderKind::Json => Decoder::Mode(PayloadMode::Json),
                    DecoderKind::Msgpack => Decoder::Mode(PayloadMode::MsgPack),
                    DecoderKind::Cbor => Decoder::Mode(PayloadMode::Cbor),
                    DecoderKind::Hex => Decoder::Mode(PayloadMode::Hex),
                    DecoderKind::Text => Decoder::Mode(PayloadMode::Text),
                };
                (s.filter.clone(), s.kind, d)
            })
            .collect();
        (Self { entries }, errors)
    }

    /// True when no entry is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The decoder name for `topic`, if an entry's filter matches it.
    #[must_use]
    pub fn name_for(&self, topic: &str) -> Option<&'static str> {
        self.entries
            .iter()
            .find(|(f, _, _)| matches(f, topic))
            .map(|(_, k, _)| k.name())
    }

    /// The payload pane's lines for a payload of `topic`, or `None` when no entry matches
    /// it. Decoded views end with the raw bytes; failures show the error, then the bytes.
    #[must_use]
    pub fn render(&self, topic: &str, bytes: &[u8]) -> Option<Vec<String>> {
        let (filter, kind, d) = self.entries.iter().find(|(f, _, _)| matches(f, topic))?;
        let name = kind.name();
        let decoded = match d {
            Decoder::Sparkplug => sparkplug::render(bytes).map_err(|e| e.to_string()),
            Decoder::Proto(m) => m
                .render(bytes)
                .map(|mut l| {
                    l.insert(0, format!("{} {{", m.name()));
                    l.push("}".to_owned());
                    l
                })
                .map_err(|e| e.to_string()),
            Decoder::Mode(mode) => {
                let (_, lines) = render_payload(bytes, *mode);
                let mut out = vec![format!("({name} view for '{filter}'; m: other views)")];
                out.extend(lines);
                return Some(out);
            }
            Decoder::Broken(why) => Err(format!("the decoder did not load: {why}")),
        };
        let mut out = Vec::new();
        match decoded {
            Ok(lines) => {
                out.push(format!(
                    "({name} decoder for '{filter}'; m: other views; raw bytes below)"
                ));
                out.extend(lines);
                out.push(String::new());
                out.push(format!("raw bytes ({}):", bytes.len()));
            }
            Err(e) => out.push(format!("({name} decode failed: {e}; shown as hex)")),
        }
        out.extend(hex(bytes));
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn spec(filter: &str, kind: DecoderKind) -> DecoderSpec {
        DecoderSpec {
            filter: filter.into(),
            kind,
            proto: None,
            message: None,
        }
    }

    #[test]
    fn the_first_matching_filter_decodes_and_the_raw_bytes_stay() {
        let (d, errors) = Decoders::load(
            &[
                spec("spBv1.0/#", DecoderKind::Sparkplug),
                spec("legacy/+", DecoderKind::Hex),
            ],
            Path::new("."),
        );
        assert!(errors.is_empty());
        assert!(d.render("other/topic", b"x").is_none());
        assert_eq!(d.name_for("spBv1.0/g/NDATA/n"), Some("sparkplug"));
        let bytes = sparkplug::tests_sample();
        let lines = d.render("spBv1.0/g/NDATA/n", &bytes).unwrap();
        assert!(
            lines[0].starts_with("(sparkplug decoder for 'spBv1.0/#'"),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l == "  Line/Running: Boolean = true"));
        let raw = lines
            .iter()
            .position(|l| l.starts_with("raw bytes ("))
            .unwrap();
        assert_eq!(lines[raw], format!("raw bytes ({}):", bytes.len()));
        assert!(lines[raw + 1].starts_with("00000000  "));
        // Not Sparkplug: the error and the bytes.
        let lines = d.render("spBv1.0/g/NDATA/n", &[0x12, 0x05, 0x01]).unwrap();
        assert!(
            lines[0].starts_with("(sparkplug decode failed: "),
            "{lines:?}"
        );
        assert!(lines[1].starts_with("00000000  12 05 01"), "{lines:?}");
        let lines = d.render("legacy/a", b"AB").unwrap();
        assert_eq!(lines[0], "(hex view for 'legacy/+'; m: other views)");
    }

    #[test]
    fn a_proto_that_does_not_load_is_reported_and_its_topics_show_hex() {
        let s = DecoderSpec {
            proto: Some(PathBuf::from("missing.proto")),
            message: Some("a.B".into()),
            ..spec("pb/#", DecoderKind::Protobuf)
        };
        let dir = tempfile::tempdir().unwrap();
        let (d, errors) = Decoders::load(&[s], dir.path());
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("missing.proto"), "{errors:?}");
        let lines = d.render("pb/x", b"\x08\x01").unwrap();
        assert!(lines[0].contains("the decoder did not load"), "{lines:?}");
        assert!(lines[1].starts_with("00000000  08 01"));
    }
}
