//! Protobuf payloads from a user's `.proto` file: compiled at run time by protox (a Rust
//! protobuf compiler, no `protoc` and no C) into a prost-reflect descriptor pool, and each
//! payload decoded as a dynamic message and shown in protobuf's text format.

use std::path::Path;

use prost_reflect::{DynamicMessage, MessageDescriptor};

/// A message type of a `.proto` file, ready to decode payloads.
#[derive(Debug, Clone)]
pub struct ProtoMessage {
    desc: MessageDescriptor,
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |s| s.matches('\n').count() + 1)
}

impl ProtoMessage {
    /// Compiles `proto` (with the files it imports, looked up next to it) and finds
    /// `message` (`package.Message`).
    ///
    /// # Errors
    /// The file cannot be read or compiled (the error names the file and, for syntax and
    /// type errors, the line), or it has no such message.
    pub fn load(proto: &Path, message: &str) -> Result<Self, String> {
        let dir = proto.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = dir.unwrap_or_else(|| Path::new("."));
        let name = proto.file_name().unwrap_or(proto.as_os_str());
        let shown = proto.display();
        let mut compiler = protox::Compiler::new([dir]).map_err(|e| format!("{shown}: {e}"))?;
        compiler.include_imports(true);
        if let Err(e) = compiler.open_file(name) {
            let line = miette::Diagnostic::labels(&e)
                .and_then(|mut l| l.next())
                .and_then(|span| {
                    let file = e
                        .file()
                        .map_or_else(|| proto.to_path_buf(), |f| dir.join(f));
                    std::fs::read_to_string(file)
                        .ok()
                        .map(|t| line_of(&t, span.offset()))
                });
            let file = e
                .file()
                .map_or_else(|| shown.to_string(), |f| dir.join(f).display().to_string());
            return Err(match line {
                Some(l) => format!("{file}:{l}: {e}"),
                None => format!("{file}: {e}"),
            });
        }
        let pool = compiler.descriptor_pool();
        let desc = pool.get_message_by_name(message).ok_or_else(|| {
            let known: Vec<String> = pool
                .all_messages()
                .map(|m| m.full_name().to_owned())
                .take(8)
                .collect();
            format!(
                "{shown}: no message '{message}' (it has: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )
        })?;
        Ok(Self { desc })
    }

    /// The message's full name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.desc.full_name()
    }

    /// Decodes a payload into lines of protobuf text format.
    ///
    /// # Errors
    /// prost's decode error.
    pub fn render(&self, bytes: &[u8]) -> Result<Vec<String>, prost::DecodeError> {
        let msg = DynamicMessage::decode(self.desc.clone(), bytes)?;
        let text = format!("{msg:#}");
        Ok(text.lines().map(str::to_owned).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    const PROTO: &str = r#"syntax = "proto3";
package plant;

message Reading {
  string sensor = 1;
  double value = 2;
  repeated int32 history = 3;
  Unit unit = 4;
  enum Unit { CELSIUS = 0; KELVIN = 1; }
}
"#;

    /// The same message, hand-declared, to encode test payloads with prost.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Reading {
        #[prost(string, tag = "1")]
        sensor: String,
        #[prost(double, tag = "2")]
        value: f64,
        #[prost(int32, repeated, tag = "3")]
        history: Vec<i32>,
        #[prost(int32, tag = "4")]
        unit: i32,
    }

    #[test]
    fn a_user_proto_decodes_prost_encoded_payloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reading.proto");
        std::fs::write(&path, PROTO).unwrap();
        let m = ProtoMessage::load(&path, "plant.Reading").unwrap();
        assert_eq!(m.name(), "plant.Reading");
        let bytes = Reading {
            sensor: "oven-3".into(),
            value: 181.25,
            history: vec![170, -4],
            unit: 1,
        }
        .encode_to_vec();
        let lines = m.render(&bytes).unwrap();
        let text = lines.join("\n");
        assert!(text.contains("sensor: \"oven-3\""), "{text}");
        assert!(text.contains("value: 181.25"), "{text}");
        assert!(text.contains("170") && text.contains("-4"), "{text}");
        assert!(text.contains("unit: KELVIN"), "{text}");
        // Truncated bytes are an error, not a guess.
        assert!(m.render(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn errors_name_the_file_the_line_or_the_missing_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.proto");
        std::fs::write(
            &path,
            "syntax = \"proto3\";\n\nmessage A {\n  strin x = 1\n}\n",
        )
        .unwrap();
        let e = ProtoMessage::load(&path, "A").unwrap_err();
        assert!(e.contains("bad.proto:5: expected ';'"), "{e}");
        let good = dir.path().join("good.proto");
        std::fs::write(&good, PROTO).unwrap();
        let e = ProtoMessage::load(&good, "plant.Nope").unwrap_err();
        assert!(
            e.contains("no message 'plant.Nope'") && e.contains("plant.Reading"),
            "{e}"
        );
        let e = ProtoMessage::load(&dir.path().join("missing.proto"), "A").unwrap_err();
        assert!(e.contains("missing.proto"), "{e}");
    }
}
