//! Payload detection and rendering: text, pretty JSON, hex, MessagePack and CBOR.
//!
//! Views never change data: JSON is pretty-printed from its token stream (see
//! [`crate::tui::json`]), MessagePack and CBOR maps keep their order and duplicate keys.
//! A payload larger than [`VIEW_LIMIT`] is decoded up to the limit only, and the first line
//! says so with the sizes: nothing is cut silently.

use std::fmt::Write as _;

use crate::tui::json;

/// The most payload bytes that are decoded for display (a bigger payload's view says that it
/// shows only this much).
pub const VIEW_LIMIT: usize = 4 * 1024 * 1024;

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
    let head = &bytes[..bytes.len().min(VIEW_LIMIT)];
    if let Ok(s) = std::str::from_utf8(bytes) {
        let t = s.trim_start();
        if (t.starts_with('{') || t.starts_with('['))
            && bytes.len() <= VIEW_LIMIT
            && json::is_json(s)
        {
            return PayloadMode::Json;
        }
        // Text with a few control characters (an escape sequence, a bell) is still text: the
        // text view shows them escaped. NUL or many controls mean binary.
        let mut chars = 0usize;
        let mut controls = 0usize;
        for c in s.chars() {
            chars += 1;
            if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                controls += 1;
            }
        }
        if controls == 0 || (!s.contains('\0') && controls * 16 <= chars) {
            return PayloadMode::Text;
        }
    }
    if bytes.len() <= VIEW_LIMIT {
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

/// A one-line preview for the message list, at most `max_cols` columns: text with control
/// characters escaped (`\n`, `\u{1b}`), cut by grapheme cluster, or the first bytes in hex
/// for binary payloads.
#[must_use]
pub fn preview(bytes: &[u8], max_cols: usize) -> String {
    let head = &bytes[..bytes.len().min(max_cols.saturating_mul(4).max(16))];
    let text = match std::str::from_utf8(head) {
        Ok(s) => Some(s),
        // A multi-byte character cut at the end of `head` is fine.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    // The byte cap may cut a grapheme cluster (a ZWJ emoji sequence) short: its last cluster
    // is dropped, or its trailing joiner would join whatever the terminal draws next.
    let text = text.map(|s| {
        if head.len() < bytes.len() {
            use unicode_segmentation::UnicodeSegmentation;
            s.grapheme_indices(true)
                .next_back()
                .map_or(s, |(i, _)| &s[..i])
        } else {
            s
        }
    });
    let whole = head.len() == bytes.len();
    match text {
        Some(s) if whole => crate::tui::text::fit(s, max_cols),
        // More payload follows what was read: the preview is cut, and says so.
        Some(s) if max_cols > 0 => {
            let mut out = crate::tui::text::head(s, max_cols - 1);
            out.push_str(crate::tui::text::ELLIPSIS);
            out
        }
        Some(_) => String::new(),
        None => {
            // Each byte takes 3 columns ("ff "); a cut list ends in the mark.
            let all = bytes.len().saturating_mul(3).saturating_sub(1) <= max_cols;
            let n = if all {
                bytes.len()
            } else {
                max_cols.saturating_sub(1) / 3
            };
            let mut s = String::new();
            for b in &bytes[..n] {
                let _ = write!(s, "{b:02x} ");
            }
            if all {
                s.truncate(s.trim_end().len());
            } else if max_cols > 0 {
                s.push_str(crate::tui::text::ELLIPSIS);
            }
            s
        }
    }
}

/// Renders a payload in `mode` (detecting it for [`PayloadMode::Auto`]) into lines, and names
/// the mode actually used. A payload that does not decode in the requested mode falls back to
/// hex with an explanation in the first line; a payload over [`VIEW_LIMIT`] starts with a line
/// that says how much of it is shown.
#[must_use]
pub fn render(bytes: &[u8], mode: PayloadMode) -> (PayloadMode, Vec<String>) {
    render_fit(bytes, mode, usize::MAX)
}

/// [`render`] for a pane `width` columns wide: a hex view puts 16, 8 or 4 bytes on a row,
/// the most whose row fits, so a row never wraps in a narrow pane.
#[must_use]
pub fn render_fit(bytes: &[u8], mode: PayloadMode, width: usize) -> (PayloadMode, Vec<String>) {
    let per_row = hex_per_row(width);
    let hex_lines = |b: &[u8]| hex_rows(b, per_row);
    let fallback = |b: &[u8], why: &str| {
        let mut v = vec![format!("({why}; shown as hex)")];
        v.extend(hex_rows(b, per_row));
        v
    };
    let mode = if mode == PayloadMode::Auto {
        detect(bytes)
    } else {
        mode
    };
    let cut = bytes.len() > VIEW_LIMIT;
    let head = &bytes[..bytes.len().min(VIEW_LIMIT)];
    let mut lines = Vec::new();
    if cut {
        lines.push(format!(
            "(the payload is {} bytes; this {} view shows the first {} bytes only. \
             m changes the view, Y copies the whole payload)",
            bytes.len(),
            mode.name(),
            VIEW_LIMIT
        ));
    }
    lines.extend(match mode {
        PayloadMode::Auto | PayloadMode::Text => text_lines(head),
        PayloadMode::Json if cut => fallback(head, "too big to check as JSON"),
        PayloadMode::Json => match std::str::from_utf8(head) {
            Err(e) => fallback(
                head,
                &format!("not JSON: not UTF-8 at byte {}", e.valid_up_to()),
            ),
            Ok(s) => match json::pretty(s) {
                Ok(l) => l,
                Err(e) => fallback(head, &format!("not JSON: {e}")),
            },
        },
        PayloadMode::Hex => hex_lines(head),
        PayloadMode::MsgPack => match decode_msgpack(head) {
            Some(v) => tree_lines(&msgpack_tree(&v)),
            None => fallback(head, "not a single MessagePack value"),
        },
        PayloadMode::Cbor => match decode_cbor(head) {
            Some(v) => tree_lines(&cbor_tree(&v)),
            None => fallback(head, "not a single CBOR value"),
        },
    });
    (mode, lines)
}

fn text_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split('\n')
        .map(|l| l.trim_end_matches('\r').replace('\t', "  "))
        .collect()
}

/// The columns a hex row of `n` bytes takes: offset, the bytes (a gap after 8 when there
/// are 16), the ASCII column.
fn hex_row_width(n: usize) -> usize {
    10 + 3 * n + usize::from(n > 8) + 1 + n
}

/// The most bytes per hex row (16, 8 or 4) whose row fits in `width` columns.
fn hex_per_row(width: usize) -> usize {
    [16, 8]
        .into_iter()
        .find(|&n| hex_row_width(n) <= width)
        .unwrap_or(4)
}

/// `offset  hex bytes (per_row per line)  ascii`.
fn hex_rows(bytes: &[u8], per_row: usize) -> Vec<String> {
    bytes
        .chunks(per_row)
        .enumerate()
        .map(|(i, chunk)| {
            let mut s = format!("{:08x}  ", i * per_row);
            for (j, b) in chunk.iter().enumerate() {
                let _ = write!(s, "{b:02x} ");
                if j == 7 && per_row > 8 {
                    s.push(' ');
                }
            }
            let pad = per_row - chunk.len();
            s.push_str(&"   ".repeat(pad));
            if per_row > 8 && chunk.len() <= 8 {
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

/// A decoded MessagePack or CBOR value, in the order it was encoded (maps keep their order and
/// duplicate keys), for printing only.
enum Tree {
    Scalar(String),
    Array(Vec<Tree>),
    Map(Vec<(String, Tree)>),
}

fn hex_text(b: &[u8]) -> String {
    let mut s = String::from("h'");
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s.push('\'');
    s
}

fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn key_text(t: Tree) -> String {
    match t {
        Tree::Scalar(s) => s,
        other => {
            let mut lines = Vec::new();
            print_tree(&other, 0, String::new(), false, &mut lines);
            lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ")
        }
    }
}

fn print_tree(t: &Tree, depth: usize, prefix: String, comma: bool, out: &mut Vec<String>) {
    let pad = "  ".repeat(depth.min(32));
    let end = if comma { "," } else { "" };
    match t {
        Tree::Scalar(s) => out.push(format!("{pad}{prefix}{s}{end}")),
        Tree::Array(a) if a.is_empty() => out.push(format!("{pad}{prefix}[]{end}")),
        Tree::Map(m) if m.is_empty() => out.push(format!("{pad}{prefix}{{}}{end}")),
        Tree::Array(a) => {
            out.push(format!("{pad}{prefix}["));
            for (i, v) in a.iter().enumerate() {
                print_tree(v, depth + 1, String::new(), i + 1 < a.len(), out);
            }
            out.push(format!("{pad}]{end}"));
        }
        Tree::Map(m) => {
            out.push(format!("{pad}{prefix}{{"));
            for (i, (k, v)) in m.iter().enumerate() {
                print_tree(v, depth + 1, format!("{k}: "), i + 1 < m.len(), out);
            }
            out.push(format!("{pad}}}{end}"));
        }
    }
}

fn tree_lines(t: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    print_tree(t, 0, String::new(), false, &mut out);
    out
}

fn msgpack_tree(v: &rmpv::Value) -> Tree {
    match v {
        rmpv::Value::Nil => Tree::Scalar("null".into()),
        rmpv::Value::Boolean(b) => Tree::Scalar(b.to_string()),
        rmpv::Value::Integer(i) => Tree::Scalar(i.to_string()),
        rmpv::Value::F32(f) => Tree::Scalar(f.to_string()),
        rmpv::Value::F64(f) => Tree::Scalar(f.to_string()),
        rmpv::Value::String(s) => Tree::Scalar(match s.as_str() {
            Some(s) => quoted(s),
            None => hex_text(s.as_bytes()),
        }),
        rmpv::Value::Binary(b) => Tree::Scalar(hex_text(b)),
        rmpv::Value::Array(a) => Tree::Array(a.iter().map(msgpack_tree).collect()),
        rmpv::Value::Map(m) => Tree::Map(
            m.iter()
                .map(|(k, v)| (key_text(msgpack_tree(k)), msgpack_tree(v)))
                .collect(),
        ),
        rmpv::Value::Ext(t, b) => Tree::Scalar(format!("ext({t}, {})", hex_text(b))),
    }
}

fn cbor_tree(v: &ciborium::Value) -> Tree {
    use ciborium::Value as C;
    match v {
        C::Null => Tree::Scalar("null".into()),
        C::Bool(b) => Tree::Scalar(b.to_string()),
        C::Integer(i) => Tree::Scalar(i128::from(*i).to_string()),
        C::Float(f) => Tree::Scalar(f.to_string()),
        C::Text(s) => Tree::Scalar(quoted(s)),
        C::Bytes(b) => Tree::Scalar(hex_text(b)),
        C::Array(a) => Tree::Array(a.iter().map(cbor_tree).collect()),
        C::Map(m) => Tree::Map(
            m.iter()
                .map(|(k, v)| (key_text(cbor_tree(k)), cbor_tree(v)))
                .collect(),
        ),
        C::Tag(t, inner) => match cbor_tree(inner) {
            Tree::Scalar(s) => Tree::Scalar(format!("{t}({s})")),
            other => Tree::Map(vec![(format!("tag {t}"), other)]),
        },
        _ => Tree::Scalar("undefined".into()),
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
        assert_eq!(detect(b"a\x00b"), PayloadMode::Hex);
        assert_eq!(detect(b"\x01\x02\x03"), PayloadMode::Hex);
        assert_eq!(
            detect(b"\x1b[31mred text in a terminal colour\x1b[0m and more words"),
            PayloadMode::Text
        );
    }

    #[test]
    fn hex_rows_fit_the_pane() {
        let bytes: Vec<u8> = (0u8..40).collect();
        // (pane width, bytes per row)
        for (width, per_row) in [(200, 16), (76, 16), (75, 8), (43, 8), (42, 4), (10, 4)] {
            let (_, lines) = render_fit(&bytes, PayloadMode::Hex, width);
            assert_eq!(lines.len(), bytes.len().div_ceil(per_row), "{width}");
            assert!(
                lines[1].starts_with(&format!("{per_row:08x}  ")),
                "{lines:?}"
            );
            if width >= 27 {
                assert!(lines.iter().all(|l| l.len() <= width), "{width}: {lines:?}");
            }
        }
        // The full-width form is unchanged.
        assert_eq!(
            render_fit(&bytes, PayloadMode::Hex, 80),
            render(&bytes, PayloadMode::Hex)
        );
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
    fn a_payload_over_the_limit_says_so_first() {
        let big = vec![b'a'; VIEW_LIMIT * 2 + 5];
        let (_, lines) = render(&big, PayloadMode::Hex);
        assert_eq!(lines.len(), VIEW_LIMIT / 16 + 1);
        assert_eq!(
            lines[0],
            format!(
                "(the payload is {} bytes; this hex view shows the first {VIEW_LIMIT} bytes \
                 only. m changes the view, Y copies the whole payload)",
                VIEW_LIMIT * 2 + 5
            )
        );
    }

    #[test]
    fn json_over_64_kib_is_shown_whole_and_unchanged() {
        let mut doc = String::from("{\"z\": 1.10, \"big\": 123456789012345678901234567890");
        let mut i = 0;
        while doc.len() < 120 * 1024 {
            let _ = write!(doc, ", \"k{i}\": \"v\\u00e9{i}\"");
            i += 1;
        }
        doc.push_str(", \"z\": 2, \"last\": true}");
        let (m, lines) = render(doc.as_bytes(), PayloadMode::Auto);
        assert_eq!(m, PayloadMode::Json);
        assert_eq!(lines[1], "  \"z\": 1.10,");
        assert_eq!(lines[2], "  \"big\": 123456789012345678901234567890,");
        assert_eq!(lines[3], "  \"k0\": \"v\\u00e90\",");
        assert_eq!(lines[lines.len() - 3], "  \"z\": 2,");
        assert_eq!(lines[lines.len() - 2], "  \"last\": true");
        assert_eq!(lines.len(), i + 6);
    }

    #[test]
    fn msgpack_and_cbor_maps_keep_order_and_duplicates() {
        // {"z": 1, "a": 2, "z": 3} in MessagePack.
        let mp = [0x83, 0xa1, b'z', 1, 0xa1, b'a', 2, 0xa1, b'z', 3];
        let (_, lines) = render(&mp, PayloadMode::MsgPack);
        assert_eq!(
            lines,
            ["{", "  \"z\": 1,", "  \"a\": 2,", "  \"z\": 3", "}"]
        );
        // The same map in CBOR: a3 61 7a 01 61 61 02 61 7a 03.
        let cbor = [0xa3, 0x61, b'z', 1, 0x61, b'a', 2, 0x61, b'z', 3];
        let (_, lines) = render(&cbor, PayloadMode::Cbor);
        assert_eq!(
            lines,
            ["{", "  \"z\": 1,", "  \"a\": 2,", "  \"z\": 3", "}"]
        );
    }

    #[test]
    fn preview_never_ends_in_a_cluster_cut_by_the_byte_cap() {
        // 7 columns read at most 28 bytes: one family (18 bytes) and the start of the next.
        let family = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}";
        let p = preview(family.repeat(40).as_bytes(), 7);
        assert_eq!(p, format!("{family}…"), "{p:?}");
        assert!(!p.ends_with('\u{200d}'));
    }

    #[test]
    fn preview_masks_control_characters_and_cuts() {
        assert_eq!(preview(b"a\nb", 10), "a\\nb");
        // A cut preview ends in the mark (review item 1 of task `polish`).
        assert_eq!(preview("東京都".as_bytes(), 5), "東京…");
        assert_eq!(preview("東京都".as_bytes(), 6), "東京都");
        assert_eq!(preview(b"\x1b[2J", 20), "\\u{1b}[2J");
        assert_eq!(preview(b"abcdef", 3), "ab…");
        assert_eq!(preview(b"abc", 3), "abc");
        assert_eq!(preview(&[0xff, 0x00], 12), "ff 00");
        assert_eq!(preview(&[0xff, 0x00, 0x01, 0x02], 8), "ff 00 …");
        assert_eq!(preview(&[0xff; 300], 10).chars().last(), Some('…'));
        assert_eq!(
            preview("a".repeat(100).as_bytes(), 10),
            format!("{}…", "a".repeat(9))
        );
    }
}
