//! The diff of a message against the previous one on the same topic.
//!
//! Two JSON payloads are compared as documents: each is parsed, printed with sorted keys and
//! two-space indentation, and the printouts are line-diffed, so a reordered object shows no
//! change and a changed value shows as one line. Anything else is line-diffed as text (invalid
//! UTF-8 replaced), or as a hex dump when either side is binary.
//!
//! The line diff is the `similar` crate's (Myers' algorithm with a deadline): it is the diff
//! library `insta` already brings into our tree, well kept, dependency-free, and it gives
//! grouped hunks with context, which is what a terminal view needs.

use std::time::{Duration, Instant};

use similar::{ChangeTag, TextDiff};

use crate::tui::payload::{PayloadMode, detect, render};

/// What a diff line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// In both.
    Same,
    /// Only in the previous message.
    Removed,
    /// Only in the selected message.
    Added,
    /// A `@@` line between hunks.
    Hunk,
}

/// How the two payloads were compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Both are JSON: compared with sorted keys.
    Json,
    /// Text lines.
    Text,
    /// Hex dumps (a side is binary).
    Hex,
}

impl Kind {
    /// A name for the title.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON, keys sorted",
            Self::Text => "text",
            Self::Hex => "hex",
        }
    }
}

/// A computed diff, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// How the payloads were compared.
    pub kind: Kind,
    /// Lines with their tag, hunks separated by [`Tag::Hunk`] lines.
    pub lines: Vec<(Tag, String)>,
    /// Lines removed and added.
    pub removed: usize,
    /// Lines added.
    pub added: usize,
}

/// Unchanged lines kept around each change.
const CONTEXT: usize = 3;

/// Diffs `old` (the previous message) against `new` (the selected one).
#[must_use]
pub fn diff(old: &[u8], new: &[u8]) -> Diff {
    let (kind, a, b) = match (json_sorted(old), json_sorted(new)) {
        (Some(a), Some(b)) => (Kind::Json, a, b),
        _ => {
            let binary = |p: &[u8]| matches!(detect(p), PayloadMode::Hex);
            if binary(old) || binary(new) {
                let hex = |p: &[u8]| render(p, PayloadMode::Hex).1.join("\n");
                (Kind::Hex, hex(old), hex(new))
            } else {
                let text = |p: &[u8]| String::from_utf8_lossy(p).into_owned();
                (Kind::Text, text(old), text(new))
            }
        }
    };
    let td = TextDiff::configure()
        .deadline(Instant::now() + Duration::from_millis(200))
        .diff_lines(&a, &b);
    let mut lines = Vec::new();
    let (mut removed, mut added) = (0, 0);
    for (i, group) in td.grouped_ops(CONTEXT).iter().enumerate() {
        if i > 0 {
            lines.push((Tag::Hunk, "@@".to_owned()));
        }
        for op in group {
            for change in td.iter_changes(op) {
                let tag = match change.tag() {
                    ChangeTag::Equal => Tag::Same,
                    ChangeTag::Delete => {
                        removed += 1;
                        Tag::Removed
                    }
                    ChangeTag::Insert => {
                        added += 1;
                        Tag::Added
                    }
                };
                let text = change.value().trim_end_matches(['\n', '\r']).to_owned();
                lines.push((tag, text));
            }
        }
    }
    Diff {
        kind,
        lines,
        removed,
        added,
    }
}

/// The payload as JSON printed with sorted keys (serde_json's map is ordered by key).
fn json_sorted(p: &[u8]) -> Option<String> {
    let t = p.trim_ascii_start();
    if !(t.starts_with(b"{") || t.starts_with(b"[")) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(p).ok()?;
    serde_json::to_string_pretty(&v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(d: &Diff) -> Vec<(Tag, &str)> {
        d.lines
            .iter()
            .filter(|(t, _)| *t != Tag::Same)
            .map(|(t, s)| (*t, s.as_str()))
            .collect()
    }

    #[test]
    fn json_is_compared_with_sorted_keys() {
        let d = diff(br#"{"b": 1, "a": 20.5}"#, br#"{"a": 21.5,"b":1}"#);
        assert_eq!(d.kind, Kind::Json);
        assert_eq!(
            changed(&d),
            [
                (Tag::Removed, r#"  "a": 20.5,"#),
                (Tag::Added, r#"  "a": 21.5,"#)
            ]
        );
        // The same document in another key order is no change at all.
        let d = diff(br#"{"b": 1, "a": 2}"#, br#"{"a":2,"b":1}"#);
        assert!(d.lines.is_empty() && d.added == 0 && d.removed == 0);
    }

    #[test]
    fn text_and_binary_fall_back_to_lines_and_hex() {
        let d = diff(b"one\ntwo\nthree", b"one\n2\nthree");
        assert_eq!(d.kind, Kind::Text);
        assert_eq!(changed(&d), [(Tag::Removed, "two"), (Tag::Added, "2")]);
        let d = diff(&[0, 1, 2], &[0, 1, 3]);
        assert_eq!(d.kind, Kind::Hex);
        assert_eq!((d.removed, d.added), (1, 1));
        assert!(
            d.lines
                .iter()
                .any(|(t, l)| *t == Tag::Added && l.contains("00 01 03"))
        );
    }

    #[test]
    fn far_apart_changes_are_separate_hunks() {
        let old: String = (0..30).map(|i| format!("{i}\n")).collect();
        let new: String = (0..30)
            .map(|i| match i {
                2 => "two\n".to_owned(),
                27 => "twenty-seven\n".to_owned(),
                _ => format!("{i}\n"),
            })
            .collect();
        let d = diff(old.as_bytes(), new.as_bytes());
        assert_eq!(d.lines.iter().filter(|(t, _)| *t == Tag::Hunk).count(), 1);
        assert_eq!((d.removed, d.added), (2, 2));
    }
}
