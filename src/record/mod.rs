//! The record format: MQTT messages as JSON lines, written by `mqtt-workbench record`, read by
//! `mqtt-workbench replay` (and meant for the workbench's export too).
//!
//! A record is UTF-8 text, one JSON object per line. The first line is a [`Header`] naming the
//! format and its version; every later line is one message ([`Entry`]). The full description,
//! with examples and the compatibility rules, is `docs/record-format.md`.
//!
//! * [`RecordWriter`] writes the header and then one line per message, flushing each line so a
//!   record cut short (Ctrl-C, a full disk) keeps every message written before.
//! * [`RecordReader`] reads a record back; every problem names the file and the line, and a
//!   record of an unknown major version is refused rather than half understood.

use std::io::{BufRead, Write};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::client::{IncomingMessage, MessageProperties, QoS};

/// The value of the header's `format` field.
pub const FORMAT_NAME: &str = "mqtt-workbench-record";
/// The major version this build writes and reads. A reader refuses any other major version.
pub const VERSION_MAJOR: u32 = 1;
/// The minor version this build writes. Minor versions only add optional fields, which older
/// readers ignore.
pub const VERSION_MINOR: u32 = 0;

/// The first line of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// `"MAJOR.MINOR"`, e.g. `"1.0"`.
    pub version: String,
    /// When the recording started (RFC 3339, UTC, microseconds); every message's `offset_us`
    /// counts from this moment.
    pub started: String,
    /// The broker recorded from, as `host:port` (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<String>,
    /// The MQTT version of the recording connection: `"3.1.1"` or `"5"` (informational; a
    /// 3.1.1 recording has no properties).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<String>,
    /// The topic filters subscribed to (informational).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
}

impl Header {
    /// A header of the current version for a recording that starts at `started`.
    #[must_use]
    pub fn new(started: SystemTime) -> Self {
        Self {
            format: FORMAT_NAME.to_string(),
            version: format!("{VERSION_MAJOR}.{VERSION_MINOR}"),
            started: rfc3339(started),
            broker: None,
            mqtt: None,
            filters: Vec::new(),
        }
    }
}

/// One recorded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When the message arrived (wall clock), as written: RFC 3339, UTC, microseconds.
    pub time: String,
    /// When the message arrived on the monotonic clock, counted from the header's `started`.
    /// Replay timing uses this, never `time`, so clock steps do not disturb it.
    pub offset: Duration,
    /// The topic name.
    pub topic: String,
    /// The QoS the message was delivered with.
    pub qos: QoS,
    /// The Retain flag as delivered.
    pub retain: bool,
    /// MQTT 5 properties (empty for a 3.1.1 recording). The Topic Alias is never recorded:
    /// `topic` is already the resolved name.
    pub properties: MessageProperties,
    /// The payload bytes.
    pub payload: Bytes,
}

impl Entry {
    /// The entry for a received message that arrived `offset` after the recording started.
    #[must_use]
    pub fn from_incoming(msg: &IncomingMessage, offset: Duration) -> Self {
        let mut properties = msg.properties.clone();
        properties.topic_alias = None;
        Self {
            time: rfc3339(msg.received_at),
            offset,
            topic: msg.topic.clone(),
            qos: msg.qos,
            retain: msg.retain,
            properties,
            payload: msg.payload.clone(),
        }
    }
}

/// A wall-clock time as RFC 3339 in UTC with microseconds: `2026-12-01T00:30:00.123456Z`.
#[must_use]
pub fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Bytes as JSON text when they are valid UTF-8, else as base64.
fn text_or_b64(bytes: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Some(s.to_string()), None),
        Err(_) => (None, Some(BASE64.encode(bytes))),
    }
}

/// The properties object as written.
#[derive(Debug, Default, Serialize, Deserialize)]
struct WireProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload_format_indicator: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_expiry_interval: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    correlation_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    correlation_data_b64: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    user_properties: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    subscription_identifiers: Vec<u32>,
}

impl WireProperties {
    fn is_empty(&self) -> bool {
        self.payload_format_indicator.is_none()
            && self.message_expiry_interval.is_none()
            && self.content_type.is_none()
            && self.response_topic.is_none()
            && self.correlation_data.is_none()
            && self.correlation_data_b64.is_none()
            && self.user_properties.is_empty()
            && self.subscription_identifiers.is_empty()
    }
}

/// A message line as written.
#[derive(Debug, Serialize, Deserialize)]
struct WireEntry {
    time: String,
    offset_us: u64,
    topic: String,
    qos: u8,
    retain: bool,
    #[serde(default, skip_serializing_if = "WireProperties::is_empty")]
    properties: WireProperties,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload_b64: Option<String>,
}

impl From<&Entry> for WireEntry {
    fn from(e: &Entry) -> Self {
        let p = &e.properties;
        let (correlation_data, correlation_data_b64) = match &p.correlation_data {
            Some(c) => text_or_b64(c),
            None => (None, None),
        };
        let (payload, payload_b64) = text_or_b64(&e.payload);
        Self {
            time: e.time.clone(),
            offset_us: u64::try_from(e.offset.as_micros()).unwrap_or(u64::MAX),
            topic: e.topic.clone(),
            qos: e.qos.as_u8(),
            retain: e.retain,
            properties: WireProperties {
                payload_format_indicator: p.payload_format_indicator,
                message_expiry_interval: p.message_expiry_interval,
                content_type: p.content_type.clone(),
                response_topic: p.response_topic.clone(),
                correlation_data,
                correlation_data_b64,
                user_properties: p.user_properties.clone(),
                subscription_identifiers: p.subscription_identifiers.clone(),
            },
            payload,
            payload_b64,
        }
    }
}

/// Decodes a text-or-base64 pair; `what` names the field for errors.
fn bytes_of(
    text: Option<String>,
    b64: Option<String>,
    what: &str,
) -> Result<Option<Bytes>, String> {
    match (text, b64) {
        (Some(_), Some(_)) => Err(format!("both \"{what}\" and \"{what}_b64\" are given")),
        (Some(t), None) => Ok(Some(Bytes::from(t.into_bytes()))),
        (None, Some(b)) => BASE64
            .decode(b.as_bytes())
            .map(|v| Some(Bytes::from(v)))
            .map_err(|e| format!("\"{what}_b64\" is not valid base64: {e}")),
        (None, None) => Ok(None),
    }
}

impl TryFrom<WireEntry> for Entry {
    type Error = String;

    fn try_from(w: WireEntry) -> Result<Self, String> {
        if DateTime::parse_from_rfc3339(&w.time).is_err() {
            return Err(format!("\"time\" is not an RFC 3339 time: {:?}", w.time));
        }
        crate::client::validate_topic(&w.topic).map_err(|e| e.to_string())?;
        let qos =
            QoS::from_u8(w.qos).ok_or_else(|| format!("\"qos\" is {}, not 0, 1 or 2", w.qos))?;
        let payload = bytes_of(w.payload, w.payload_b64, "payload")?
            .ok_or("no \"payload\" or \"payload_b64\"")?;
        let p = w.properties;
        let correlation_data = bytes_of(
            p.correlation_data,
            p.correlation_data_b64,
            "correlation_data",
        )?;
        Ok(Self {
            time: w.time,
            offset: Duration::from_micros(w.offset_us),
            topic: w.topic,
            qos,
            retain: w.retain,
            properties: MessageProperties {
                payload_format_indicator: p.payload_format_indicator,
                message_expiry_interval: p.message_expiry_interval,
                topic_alias: None,
                content_type: p.content_type,
                response_topic: p.response_topic,
                correlation_data,
                user_properties: p.user_properties,
                subscription_identifiers: p.subscription_identifiers,
            },
            payload,
        })
    }
}

/// A problem reading a record: the file, the line (1-based) and what is wrong.
/// Shown as `FILE:LINE: message`, or `FILE: message` for the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", if *line > 0 { format!(":{line}") } else { String::new() })]
pub struct RecordError {
    /// The file name as given (or `-` for stdin).
    pub file: String,
    /// The line number, from 1; 0 when the file as a whole is at fault (it cannot be opened).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Writes a record: the header first, then one line per message, each flushed.
pub struct RecordWriter<W: Write> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write> RecordWriter<W> {
    /// Writes `header` as the first line.
    ///
    /// # Errors
    /// A failed write.
    pub fn new(mut out: W, header: &Header) -> std::io::Result<Self> {
        let mut line = serde_json::to_vec(header).map_err(std::io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
        out.flush()?;
        line.clear();
        Ok(Self { out, line })
    }

    /// Writes one message as one line and flushes it.
    ///
    /// # Errors
    /// A failed write.
    pub fn write(&mut self, entry: &Entry) -> std::io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, &WireEntry::from(entry))
            .map_err(std::io::Error::other)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.out.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads a record line by line; see [`RecordReader::open`].
pub struct RecordReader<R: BufRead> {
    input: R,
    file: String,
    line_no: usize,
    buf: String,
}

impl<R: BufRead> std::fmt::Debug for RecordReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordReader")
            .field("file", &self.file)
            .field("line", &self.line_no)
            .finish_non_exhaustive()
    }
}

/// Checks a header's format name and version.
fn check_header(h: &Header) -> Result<(), String> {
    if h.format != FORMAT_NAME {
        return Err(format!(
            "the header's format is {:?}, not {FORMAT_NAME:?}",
            h.format
        ));
    }
    let major = h
        .version
        .split_once('.')
        .map_or(h.version.as_str(), |(m, _)| m)
        .parse::<u32>()
        .map_err(|_| format!("the header's version {:?} is not MAJOR.MINOR", h.version))?;
    if major != VERSION_MAJOR {
        return Err(format!(
            "record format version {} is not supported (this build reads {VERSION_MAJOR}.x)",
            h.version
        ));
    }
    Ok(())
}

impl<R: BufRead> RecordReader<R> {
    /// Reads and checks the header. `file` names the input in errors.
    ///
    /// # Errors
    /// A missing or invalid header, or an unknown major version.
    pub fn open(input: R, file: &str) -> Result<(Header, Self), RecordError> {
        let mut r = Self {
            input,
            file: file.to_string(),
            line_no: 0,
            buf: String::new(),
        };
        let Some(text) = r.next_line()? else {
            return Err(r.error("empty file: no record header"));
        };
        let header: Header = serde_json::from_str(&text).map_err(|e| {
            r.error(&format!(
                "not a record header ({{\"format\":\"{FORMAT_NAME}\",\"version\":...}}): {e}"
            ))
        })?;
        check_header(&header).map_err(|e| r.error(&e))?;
        Ok((header, r))
    }

    fn error(&self, message: &str) -> RecordError {
        RecordError {
            file: self.file.clone(),
            line: self.line_no.max(1),
            message: message.to_string(),
        }
    }

    /// The next line that is not blank, without its line end; `None` at the end.
    fn next_line(&mut self) -> Result<Option<String>, RecordError> {
        loop {
            self.buf.clear();
            self.line_no += 1;
            match self.input.read_line(&mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(_) => {
                    let t = self.buf.trim_end_matches(['\n', '\r']);
                    if !t.trim().is_empty() {
                        return Ok(Some(t.to_string()));
                    }
                }
                Err(e) => return Err(self.error(&format!("cannot read: {e}"))),
            }
        }
    }

    /// The next message, `None` at the end of the record.
    ///
    /// # Errors
    /// A line that is not a valid message (the error names the file and the line).
    pub fn next_entry(&mut self) -> Result<Option<Entry>, RecordError> {
        let Some(text) = self.next_line()? else {
            return Ok(None);
        };
        let wire: WireEntry = serde_json::from_str(&text)
            .map_err(|e| self.error(&format!("not a record message: {e}")))?;
        Entry::try_from(wire).map(Some).map_err(|e| self.error(&e))
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<Entry, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

/// Reads a whole record file: its header and every message.
///
/// # Errors
/// A file that cannot be opened or read, or any invalid line (named by file and line).
pub fn read_file(path: &std::path::Path) -> Result<(Header, Vec<Entry>), RecordError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| RecordError {
        file: name.clone(),
        line: 0,
        message: format!("cannot open: {e}"),
    })?;
    let (header, reader) = RecordReader::open(std::io::BufReader::new(file), &name)?;
    let entries = reader.collect::<Result<Vec<_>, _>>()?;
    Ok((header, entries))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(payload: &[u8]) -> Entry {
        Entry {
            time: "2026-12-01T00:30:00.123456Z".into(),
            offset: Duration::from_micros(1_500_042),
            topic: "plant/1/temp".into(),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: MessageProperties::default(),
            payload: Bytes::copy_from_slice(payload),
        }
    }

    fn write_all(entries: &[Entry]) -> Vec<u8> {
        let h = Header::new(SystemTime::UNIX_EPOCH);
        let mut w = RecordWriter::new(Vec::new(), &h).unwrap();
        for e in entries {
            w.write(e).unwrap();
        }
        w.into_inner()
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Entry>, RecordError> {
        let (_, r) = RecordReader::open(bytes, "rec.jsonl")?;
        r.collect()
    }

    #[test]
    fn text_and_binary_payloads_and_all_properties_round_trip() {
        let mut with_props = entry(b"\x00\xff\xfe binary");
        with_props.properties = MessageProperties {
            payload_format_indicator: Some(0),
            message_expiry_interval: Some(30),
            topic_alias: None,
            content_type: Some("application/octet-stream".into()),
            response_topic: Some("reply/here".into()),
            correlation_data: Some(Bytes::from_static(b"\x01\x02\xff")),
            user_properties: vec![
                ("b".into(), "2".into()),
                ("a".into(), "1".into()),
                ("b".into(), "3".into()),
            ],
            subscription_identifiers: vec![7, 9],
        };
        let text = entry("21.5 °C".as_bytes());
        let empty = entry(b"");
        let entries = vec![text, with_props, empty];
        let bytes = write_all(&entries);
        assert_eq!(read_all(&bytes).unwrap(), entries);
        let lines: Vec<&str> = std::str::from_utf8(&bytes).unwrap().lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with(r#"{"format":"mqtt-workbench-record","version":"1.0","started":"1970-01-01T00:00:00.000000Z""#), "{}", lines[0]);
        assert_eq!(
            lines[1],
            r#"{"time":"2026-12-01T00:30:00.123456Z","offset_us":1500042,"topic":"plant/1/temp","qos":1,"retain":true,"payload":"21.5 °C"}"#
        );
        assert!(
            lines[2].contains(r#""payload_b64":"AP/+IGJpbmFyeQ==""#),
            "{}",
            lines[2]
        );
        assert!(
            lines[2].contains(r#""correlation_data_b64":"AQL/""#),
            "{}",
            lines[2]
        );
        assert!(
            lines[2].contains(r#""user_properties":[["b","2"],["a","1"],["b","3"]]"#),
            "{}",
            lines[2]
        );
        assert!(lines[3].ends_with(r#""payload":""}"#), "{}", lines[3]);
    }

    #[test]
    fn the_topic_alias_is_not_recorded() {
        let msg = IncomingMessage {
            topic: "a".into(),
            payload: Bytes::from_static(b"x"),
            qos: QoS::AtMostOnce,
            retain: false,
            dup: false,
            pkid: 0,
            properties: MessageProperties {
                topic_alias: Some(3),
                ..MessageProperties::default()
            },
            received_at: SystemTime::UNIX_EPOCH + Duration::from_micros(1_000_001),
        };
        let e = Entry::from_incoming(&msg, Duration::from_millis(5));
        assert_eq!(e.properties.topic_alias, None);
        assert_eq!(e.time, "1970-01-01T00:00:01.000001Z");
    }

    #[test]
    fn unknown_major_versions_are_refused_and_newer_minors_read() {
        let err = read_all(
            b"{\"format\":\"mqtt-workbench-record\",\"version\":\"2.0\",\"started\":\"x\"}\n",
        )
        .unwrap_err();
        assert_eq!(err.line, 1);
        assert!(
            err.to_string()
                .starts_with("rec.jsonl:1: record format version 2.0 is not supported"),
            "{err}"
        );
        // A later minor version may add fields; this reader ignores them.
        let ok = read_all(
            b"{\"format\":\"mqtt-workbench-record\",\"version\":\"1.7\",\"started\":\"x\",\"new\":1}\n\
              {\"time\":\"2026-12-01T00:00:00.000001Z\",\"offset_us\":3,\"topic\":\"t\",\"qos\":0,\"retain\":false,\"payload\":\"p\",\"later\":true}\n",
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].payload, Bytes::from_static(b"p"));
        assert_eq!(ok[0].offset, Duration::from_micros(3));
    }

    #[test]
    fn malformed_lines_name_the_file_and_line() {
        let head = "{\"format\":\"mqtt-workbench-record\",\"version\":\"1.0\",\"started\":\"x\"}\n";
        let good = "{\"time\":\"2026-12-01T00:00:00.000001Z\",\"offset_us\":0,\"topic\":\"t\",\"qos\":0,\"retain\":false,\"payload\":\"p\"}\n";
        let cases: &[(&str, usize, &str)] = &[
            ("{\"time\":", 3, "not a record message"),
            (&good.replace("\"qos\":0", "\"qos\":3"), 3, "\"qos\" is 3"),
            (
                &good.replace("\"payload\":\"p\"", "\"payload_b64\":\"!!\""),
                3,
                "not valid base64",
            ),
            (
                &good.replace(",\"payload\":\"p\"", ""),
                3,
                "no \"payload\" or \"payload_b64\"",
            ),
            (
                &good.replace(
                    "\"payload\":\"p\"",
                    "\"payload\":\"p\",\"payload_b64\":\"AA==\"",
                ),
                3,
                "both",
            ),
            (
                &good.replace("\"topic\":\"t\"", "\"topic\":\"a/#\""),
                3,
                "invalid publish topic",
            ),
            (
                &good.replace("2026-12-01T00:00:00.000001Z", "yesterday"),
                3,
                "not an RFC 3339 time",
            ),
            (
                &good.replace("\"offset_us\":0", "\"offset_us\":-1"),
                3,
                "not a record message",
            ),
        ];
        for (bad, line, needle) in cases {
            // A blank line between counts as a line.
            let text = format!("{head}\n{bad}\n{good}");
            let err = read_all(text.as_bytes()).unwrap_err();
            assert_eq!(err.line, *line, "{bad}: {err}");
            assert!(
                err.to_string().starts_with(&format!("rec.jsonl:{line}: ")),
                "{err}"
            );
            assert!(err.message.contains(needle), "{bad}: {err}");
        }
        let err = read_all(good.as_bytes()).unwrap_err();
        assert_eq!(
            (err.line, err.message.contains("not a record header")),
            (1, true),
            "{err}"
        );
        let err = read_all(b"").unwrap_err();
        assert!(err.message.contains("empty file"), "{err}");
        let err =
            read_all(b"{\"format\":\"other\",\"version\":\"1.0\",\"started\":\"x\"}").unwrap_err();
        assert!(err.message.contains("\"other\""), "{err}");
    }
}
