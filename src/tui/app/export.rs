//! What `x` writes: the selected payload as its exact bytes, or the history of a topic
//! subtree as JSON lines (the record format of `src/record`, documented in
//! `docs/record-format.md`, so `mqtt-workbench replay` reads it) or as CSV. Building the bytes
//! is pure; the run loop writes them (never over an existing file unless the user said yes).

use std::fmt::Write as _;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use super::messages::Message;
use crate::client::MessageProperties;
use crate::protocol::QoS;
use crate::record::{Entry, Header, RecordWriter, rfc3339};
use crate::tui::client_link::{CORRELATION, CORRELATION_HEX, unhex};
use crate::tui::payload::{PayloadMode, detect};

/// The format of a history export, chosen by the file name (`.csv`, else JSON lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The record format: a header line, then one JSON object per message.
    Jsonl,
    /// `time,topic,qos,retain,encoding,payload` with a header row (RFC 4180 quoting).
    Csv,
}

impl Format {
    /// The format a file name asks for.
    #[must_use]
    pub fn of(path: &str) -> Self {
        if path.to_ascii_lowercase().ends_with(".csv") {
            Self::Csv
        } else {
            Self::Jsonl
        }
    }
}

/// A file name made of a topic: `/` becomes `_`, anything but letters, digits, `-`, `_` and
/// `.` becomes `-`, and an empty result is `topic`.
#[must_use]
pub fn file_stem(topic: &str) -> String {
    let s: String = topic
        .chars()
        .map(|c| match c {
            '/' => '_',
            c if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') => c,
            _ => '-',
        })
        .collect();
    let s = s.trim_start_matches('.').to_owned();
    if s.is_empty() { "topic".to_owned() } else { s }
}

/// The default file for one payload: the topic as a name, the extension by content.
#[must_use]
pub fn payload_path(topic: &str, payload: &[u8]) -> String {
    let ext = match detect(payload) {
        PayloadMode::Json => "json",
        PayloadMode::Text | PayloadMode::Auto => "txt",
        _ => "bin",
    };
    format!("{}.{ext}", file_stem(topic))
}

/// The default file for a subtree's history (`None`: every topic).
#[must_use]
pub fn history_path(subtree: Option<&str>) -> String {
    match subtree {
        Some(t) => format!("{}.jsonl", file_stem(t)),
        None => "all-topics.jsonl".to_owned(),
    }
}

/// The messages of a history export in `format`, oldest first.
#[must_use]
pub fn history<'a>(msgs: impl IntoIterator<Item = &'a Message>, format: Format) -> Vec<u8> {
    let msgs: Vec<&Message> = msgs.into_iter().collect();
    match format {
        Format::Jsonl => jsonl(&msgs),
        Format::Csv => csv(&msgs),
    }
}

fn jsonl(msgs: &[&Message]) -> Vec<u8> {
    let started = msgs.first().map_or(SystemTime::UNIX_EPOCH, |m| m.time);
    let mut header = Header::new(started);
    header.broker = None;
    let Ok(mut w) = RecordWriter::new(Vec::new(), &header) else {
        return Vec::new();
    };
    for m in msgs {
        let entry = Entry {
            time: rfc3339(m.time),
            offset: m.time.duration_since(started).unwrap_or_default(),
            topic: m.topic.to_string(),
            qos: QoS::from_u8(m.qos).unwrap_or_default(),
            retain: m.retain,
            properties: properties(&m.properties),
            payload: m.payload.clone(),
        };
        // Writing into a Vec cannot fail.
        let _ = w.write(&entry);
    }
    w.into_inner()
}

/// The properties back from the pane's `name: value` pairs (see `client_link`): Correlation
/// Data that is not UTF-8 is kept in hex there, and comes back byte for byte.
fn properties(pairs: &[(String, String)]) -> MessageProperties {
    let mut p = MessageProperties::default();
    for (k, v) in pairs {
        match k.as_str() {
            "Payload Format Indicator" => {
                p.payload_format_indicator = Some(u8::from(v.starts_with('1')));
            }
            "Message Expiry Interval" => {
                p.message_expiry_interval = v.trim_end_matches(" s").parse().ok();
            }
            "Response Topic" => p.response_topic = Some(v.clone()),
            CORRELATION => p.correlation_data = Some(Bytes::from(v.clone().into_bytes())),
            // Binary Correlation Data, byte for byte (the record writes it as base64).
            CORRELATION_HEX => {
                p.correlation_data = unhex(v).map(Bytes::from);
            }
            "User Property" => {
                let (name, value) = v.split_once(" = ").unwrap_or((v, ""));
                p.user_properties.push((name.to_owned(), value.to_owned()));
            }
            "Subscription Identifier" => {
                if let Ok(id) = v.parse() {
                    p.subscription_identifiers.push(id);
                }
            }
            "Content Type" => p.content_type = Some(v.clone()),
            _ => {}
        }
    }
    p
}

fn csv(msgs: &[&Message]) -> Vec<u8> {
    let mut out = String::from("time,topic,qos,retain,encoding,payload\r\n");
    for m in msgs {
        let (enc, payload) = match std::str::from_utf8(&m.payload) {
            Ok(s) => ("text", s.to_owned()),
            Err(_) => ("base64", BASE64.encode(&m.payload)),
        };
        let _ = write!(
            out,
            "{},{},{},{},{enc},{}\r\n",
            rfc3339(m.time),
            quote(&m.topic),
            m.qos,
            m.retain,
            quote(&payload)
        );
    }
    out.into_bytes()
}

/// An RFC 4180 field: quoted (with `"` doubled) when it holds a comma, quote or line break.
/// A field starting with `=`, `+`, `-` or `@` is quoted too, so spreadsheets keep it text.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(['=', '+', '-', '@']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;
    use std::sync::Arc;
    use std::time::Duration;

    fn m(topic: &str, payload: &[u8], ms: u64) -> Message {
        Message {
            time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + ms),
            topic: Arc::from(topic),
            payload: Bytes::copy_from_slice(payload),
            qos: 1,
            pkid: 1,
            retain: false,
            sent_retained: false,
            copy: false,
            properties: vec![("User Property".into(), "unit = C".into())],
            journey: 0,
        }
    }

    #[test]
    fn jsonl_is_a_record_that_reads_back_byte_for_byte() {
        let msgs = [
            m("plant/1/temp", b"21.5", 0),
            m("plant/1/raw", &[0, 0xff], 250),
        ];
        let data = history(&msgs, Format::Jsonl);
        let (header, mut reader) =
            crate::record::RecordReader::open(BufReader::new(&data[..]), "export.jsonl")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(header.format, crate::record::FORMAT_NAME);
        let mut back = Vec::new();
        while let Some(e) = reader.next_entry().unwrap_or_else(|e| panic!("{e}")) {
            back.push(e);
        }
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].payload.as_ref(), &[0, 0xff]);
        assert_eq!(back[1].offset, Duration::from_millis(250));
        assert_eq!(
            back[0].properties.user_properties,
            [("unit".into(), "C".into())]
        );
    }

    /// Item 7 of task `polish`: binary Correlation Data survives the message list and the
    /// export byte for byte, as `correlation_data_b64`.
    #[test]
    fn binary_correlation_data_is_exported_byte_for_byte() {
        let bytes = [0x00, 0xff, 0xfe, 0x80, b'a'];
        let props = MessageProperties {
            correlation_data: Some(Bytes::copy_from_slice(&bytes)),
            ..MessageProperties::default()
        };
        let mut msg = m("rr/req", b"x", 0);
        msg.properties = crate::tui::client_link::shown_properties(props);
        assert_eq!(
            msg.properties,
            [(CORRELATION_HEX.to_owned(), "00 ff fe 80 61".to_owned())]
        );
        let mut text = m("rr/req", b"y", 1);
        text.properties = vec![(CORRELATION.into(), "req-42".into())];
        let data = history(&[msg, text], Format::Jsonl);
        let lines = String::from_utf8_lossy(&data).into_owned();
        assert!(
            lines.contains(r#""correlation_data_b64":"AP/+gGE=""#),
            "{lines}"
        );
        let (_, mut reader) =
            crate::record::RecordReader::open(BufReader::new(&data[..]), "export.jsonl")
                .unwrap_or_else(|e| panic!("{e}"));
        let first = reader.next_entry().ok().flatten().map(|e| e.properties);
        assert_eq!(
            first.and_then(|p| p.correlation_data).as_deref(),
            Some(&bytes[..])
        );
        let second = reader.next_entry().ok().flatten().map(|e| e.properties);
        assert_eq!(
            second.and_then(|p| p.correlation_data).as_deref(),
            Some(&b"req-42"[..])
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let msgs = [m("a,b", b"say \"hi\"\nbye", 0), m("t", &[0xff], 1)];
        let text = String::from_utf8(history(&msgs, Format::Csv)).unwrap_or_default();
        let rows: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(rows[0], "time,topic,qos,retain,encoding,payload");
        assert!(
            rows[1].ends_with(",\"a,b\",1,false,text,\"say \"\"hi\"\"\nbye\""),
            "{}",
            rows[1]
        );
        assert!(rows[2].ends_with(",t,1,false,base64,/w=="), "{}", rows[2]);
        assert_eq!(Format::of("x.CSV"), Format::Csv);
        assert_eq!(Format::of("x.jsonl"), Format::Jsonl);
    }

    #[test]
    fn default_names_come_from_the_topic_and_content() {
        assert_eq!(
            payload_path("plant/1/temp", b"{\"t\":1}"),
            "plant_1_temp.json"
        );
        assert_eq!(payload_path("a b/c", b"21"), "a-b_c.txt");
        assert_eq!(payload_path("../x", &[0, 1, 2]), "_x.bin");
        assert_eq!(history_path(Some("plant")), "plant.jsonl");
        assert_eq!(history_path(None), "all-topics.jsonl");
    }
}
