//! Payload detection and rendering: text, pretty JSON, hex, MessagePack and CBOR.
//!
//! Rendering works on at most [`RENDER_LIMIT`] bytes so a huge payload costs the same as a
//! modest one; the rest is summarised in a final line.

use std::fmt::Write as _;

/// The most payload bytes that are decoded for display.
pub const RENDER_LIMIT: usize = 64 * 1024;

/// How to show a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadMode {
    /// Detect from the bytes.
    #[default]
    Auto,
    /// UTF-8 text (invalid bytes replaced).
    Text,
    /// JSON, pretty-printed.
    Json,
    /// Hex dump with ASCII.
    Hex,
    /// MessagePack, shown as JSON-like text.
    MsgPack,
    /// CBOR, shown in diagnostic-like text.
    Cbor,
}

impl PayloadMode {
    /// The next mode in the cycle the `m` key walks.
    #[must_use]
    pub fn next(self) -> Self {
        match self {
            Self::Auto => Self::Text,
            Self::Text => Self::Json,
            Self::Json => Self::Hex,
            Self::Hex => Self::MsgPack,
            Self::MsgPack => Self::Cbor,
            Self::Cbor => Self::Auto,
        }
    }

    /// A short name for titles.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Text => "text",
            Self::Json => "json",
            Self::Hex => "hex",
            Self::MsgPack => "msgpack",
            Self::Cbor => "cbor",
        }
    }
}

/// Picks a concrete mode for a payload: JSON if it parses as JSON, text if it is printable
/// UTF-8, MessagePack or CBOR if one of them decodes the whole payload to a map or array, hex
/// otherwise.
#[must_use]
pub fn detect(bytes: &[u8]) -> PayloadMode {
    if bytes.is_empty() {
        return PayloadMode::Text;
    }
    let head = &bytes[..bytes.len().min(RENDER_LIMIT)];
    if let Ok(s) = std::str::from_utf8(bytes) {
        let t = s.trim_start();
        if (t.starts_with('{') || t.starts_with('['))
            && bytes.len() <= RENDER_LIMIT
            && serde_json::from_str::<serde_json::Value>(s).is_ok()
        {
            return PayloadMode::Json;
        }
        if s.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        {
            return PayloadMode::Text;
        }
    }
    if bytes.len() <= RENDER_LIMIT {
        if let Some(v) = decode_msgpack(head)
            && matches!(v, rmpv::Value::Map(_) | rmpv::Value::Array(_))
        {
            return PayloadMode::MsgPack;
        }
        if let Some(v) = decode_cbor(head)
            && matches!(v, ciborium::Value::Map(_) | ciborium::Value::Array(_))
        {
            return PayloadMode::Cbor;
        }
    }
    PayloadMode::Hex
}

fn decode_msgpack(bytes: &[u8]) -> Option<rmpv::Value> {
    let mut rd = bytes;
    let v = rmpv::decode::read_value(&mut rd).ok()?;
    rd.is_empty().then_some(v)
}

fn decode_cbor(bytes: &[u8]) -> Option<ciborium::Value> {
    let mut rd = bytes;
    let v: ciborium::Value = ciborium::de::from_reader(&mut rd).ok()?;
    rd.is_empty().then_some(v)
}

/// A one-line preview for the message list: text with control characters shown as `·`, or
/// the mode name and size for binary payloads. At most `max_chars` characters.
#[must_use]
pub fn preview(bytes: &[u8], max_chars: usize) -> String {
    let head = &bytes[..bytes.len().min(max_chars.saturating_mul(4).max(16))];
    let text = match std::str::from_utf8(head) {
        Ok(s) => Some(s),
        // A multi-byte character cut at the end of `head` is fine.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text {
        Some(s) => s
            .chars()
            .map(|c| if c.is_control() { '·' } else { c })
            .take(max_chars)
            .collect(),
        None => {
            let mut s = String::new();
            for b in bytes.iter().take(max_chars / 3) {
                let _ = write!(s, "{b:02x} ");
            }
            s.truncate(max_chars);
            s
        }
    }
}

/// Renders a payload in `mode` (detecting it for [`PayloadMode::Auto`]) into lines, and names
/// the mode actually used. A payload that does not decode in the requested mode falls back to
/// hex with an explanation in the first line.
#[must_use]
pub fn render(bytes: &[u8], mode: PayloadMode) -> (PayloadMode, Vec<String>) {
    let mode = if mode == PayloadMode::Auto {
        detect(bytes)
    } else {
        mode
    };
    let cut = bytes.len() > RENDER_LIMIT;
    let head = &bytes[..bytes.len().min(RENDER_LIMIT)];
    let mut lines = match mode {
        PayloadMode::Auto | PayloadMode::Text => text_lines(head),
        PayloadMode::Json => match serde_json::from_slice::<serde_json::Value>(head) {
            Ok(v) => serde_json::to_string_pretty(&v)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect(),
            Err(e) => fallback(head, &format!("not JSON: {e}")),
        },
        PayloadMode::Hex => hex_lines(head),
        PayloadMode::MsgPack => match decode_msgpack(head) {
            Some(v) => pretty_lines(&msgpack_to_json(&v)),
            None => fallback(head, "not a single MessagePack value"),
        },
        PayloadMode::Cbor => match decode_cbor(head) {
            Some(v) => pretty_lines(&cbor_to_json(&v)),
            None => fallback(head, "not a single CBOR value"),
        },
    };
    if cut {
        lines.push(format!(
            "… {} more bytes not shown",
            bytes.len() - RENDER_LIMIT
        ));
    }
    (mode, lines)
}

fn fallback(bytes: &[u8], why: &str) -> Vec<String> {
    let mut v = vec![format!("({why}; shown as hex)")];
    v.extend(hex_lines(bytes));
    v
}

fn text_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split('\n')
        .map(|l| {
            l.trim_end_matches('\r')
                .chars()
                .map(|c| match c {
                    '\t' => ' ',
                    c if c.is_control() => '·',
                    c => c,
                })
                .collect()
        })
        .collect()
}

/// `offset  hex bytes (16 per line)  ascii`.
fn hex_lines(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let mut s = format!("{:08x}  ", i * 16);
            for (j, b) in chunk.iter().enumerate() {
                let _ = write!(s, "{b:02x} ");
                if j == 7 {
                    s.push(' ');
                }
            }
            let pad = 16 - chunk.len();
            s.push_str(&"   ".repeat(pad));
            if chunk.len() <= 8 {
                s.push(' ');
            }
            s.push(' ');
            s.extend(chunk.iter().map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    char::from(b)
                } else {
                    '.'
                }
            }));
            s
        })
        .collect()
}

fn pretty_lines(v: &serde_json::Value) -> Vec<String> {
    serde_json::to_string_pretty(v)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn bytes_to_json(b: &[u8]) -> serde_json::Value {
    let mut s = String::from("h'");
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s.push('\'');
    serde_json::Value::String(s)
}

fn msgpack_to_json(v: &rmpv::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        rmpv::Value::Nil => J::Null,
        rmpv::Value::Boolean(b) => J::Bool(*b),
        rmpv::Value::Integer(i) => i
            .as_i64()
            .map(J::from)
            .or_else(|| i.as_u64().map(J::from))
            .unwrap_or(J::Null),
        rmpv::Value::F32(f) => J::from(f64::from(*f)),
        rmpv::Value::F64(f) => J::from(*f),
        rmpv::Value::String(s) => match s.as_str() {
            Some(s) => J::String(s.to_owned()),
            None => bytes_to_json(s.as_bytes()),
        },
        rmpv::Value::Binary(b) => bytes_to_json(b),
        rmpv::Value::Array(a) => J::Array(a.iter().map(msgpack_to_json).collect()),
        rmpv::Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| (map_key(&msgpack_to_json(k)), msgpack_to_json(v)))
                .collect(),
        ),
        rmpv::Value::Ext(t, b) => {
            let mut o = serde_json::Map::new();
            o.insert("ext".into(), J::from(*t));
            o.insert("data".into(), bytes_to_json(b));
            J::Object(o)
        }
    }
}

fn cbor_to_json(v: &ciborium::Value) -> serde_json::Value {
    use ciborium::Value as C;
    use serde_json::Value as J;
    match v {
        C::Null => J::Null,
        C::Bool(b) => J::Bool(*b),
        C::Integer(i) => {
            let n: i128 = (*i).into();
            i64::try_from(n)
                .map(J::from)
                .or_else(|_| u64::try_from(n).map(J::from))
                .unwrap_or_else(|_| J::String(n.to_string()))
        }
        C::Float(f) => J::from(*f),
        C::Text(s) => J::String(s.clone()),
        C::Bytes(b) => bytes_to_json(b),
        C::Array(a) => J::Array(a.iter().map(cbor_to_json).collect()),
        C::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| (map_key(&cbor_to_json(k)), cbor_to_json(v)))
                .collect(),
        ),
        C::Tag(t, inner) => {
            let mut o = serde_json::Map::new();
            o.insert("tag".into(), J::from(*t));
            o.insert("value".into(), cbor_to_json(inner));
            J::Object(o)
        }
        _ => J::Null,
    }
}

fn map_key(k: &serde_json::Value) -> String {
    match k {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format() {
        assert_eq!(detect(b"Hello2 mqtt"), PayloadMode::Text);
        assert_eq!(detect(br#"{"t": 21.5}"#), PayloadMode::Json);
        assert_eq!(detect(b"[1,2"), PayloadMode::Text);
        // {"a": 1} in MessagePack: fixmap(1), fixstr "a", 1.
        assert_eq!(detect(&[0x81, 0xa1, b'a', 0x01]), PayloadMode::MsgPack);
        let mut cbor = Vec::new();
        ciborium::ser::into_writer(&vec![1u8, 2, 3], &mut cbor).unwrap();
        // [1, 2, 3] in CBOR is 83 01 02 03, which is also a (partial) MessagePack fixint 0x83
        // with trailing bytes, so MessagePack does not claim it.
        assert_eq!(detect(&cbor), PayloadMode::Cbor);
        assert_eq!(detect(&[0x00, 0xff, 0xfe]), PayloadMode::Hex);
    }

    #[test]
    fn renders_pretty_json_msgpack_and_hex() {
        let (m, lines) = render(br#"{"a":[1,2]}"#, PayloadMode::Auto);
        assert_eq!(m, PayloadMode::Json);
        assert_eq!(lines[0], "{");
        assert_eq!(lines[1], r#"  "a": ["#);
        let (_, lines) = render(&[0x81, 0xa1, b'a', 0x01], PayloadMode::MsgPack);
        assert_eq!(lines.join(""), r#"{  "a": 1}"#);
        let (_, lines) = render(b"ABC", PayloadMode::Hex);
        assert_eq!(
            lines[0].trim_end(),
            "00000000  41 42 43                                          ABC"
        );
        let (_, lines) = render(b"not json", PayloadMode::Json);
        assert!(lines[0].starts_with("(not JSON"));
    }

    #[test]
    fn huge_payload_render_is_capped() {
        let big = vec![b'a'; RENDER_LIMIT * 3];
        let (_, lines) = render(&big, PayloadMode::Hex);
        assert_eq!(lines.len(), RENDER_LIMIT / 16 + 1);
        assert!(lines.last().unwrap().contains("more bytes not shown"));
    }

    #[test]
    fn preview_masks_control_characters_and_cuts() {
        assert_eq!(preview(b"a\nb", 10), "a·b");
        assert_eq!(preview(b"abcdef", 3), "abc");
        assert_eq!(preview(&[0xff, 0x00], 12), "ff 00 ");
    }
}
