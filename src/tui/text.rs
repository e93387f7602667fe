//! Measuring and cutting text from the network for a terminal cell grid.
//!
//! Everything works by grapheme cluster (`unicode-segmentation`) and display width
//! (`unicode-width`): a ZWJ emoji sequence, a letter with combining marks or a wide CJK
//! character is one unit that is kept or cut whole, never split. Control characters (and the
//! bidirectional controls that reorder a terminal row) are shown escaped, so text from the
//! network cannot move the cursor, wrap a row or reorder the screen.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// The mark that shows text was cut.
pub const ELLIPSIS: &str = "…";

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with control characters escaped: `\n`, `\r`, `\t` and `\u{..}` for the rest
/// (including the bidirectional embedding, override and isolate controls).
#[must_use]
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The display width of one grapheme cluster as the grid holds it (at least 1 for anything
/// printable, so a lone combining mark still takes a cell).
fn cluster_width(g: &str) -> usize {
    g.width().max(1)
}

/// The display width of `s` (after escaping control characters).
#[must_use]
pub fn width(s: &str) -> usize {
    escape_controls(s).graphemes(true).map(cluster_width).sum()
}

fn width_of(s: &str) -> usize {
    width(s)
}

/// Cuts `s` to at most `max` columns, keeping whole grapheme clusters; control characters are
/// escaped first. A cut end shows `…`: text on screen never loses its end silently.
#[must_use]
pub fn fit(s: &str, max: usize) -> String {
    fit_ellipsis(s, max)
}

/// The longest start of `s` (controls escaped) that takes at most `max` columns, whole
/// grapheme clusters only. Nothing marks the cut: only for building marked cuts.
#[must_use]
pub fn head(s: &str, max: usize) -> String {
    let s = escape_controls(s);
    let mut out = String::new();
    let mut w = 0;
    for g in s.graphemes(true) {
        let gw = cluster_width(g);
        if w + gw > max {
            break;
        }
        w += gw;
        out.push_str(g);
    }
    out
}

/// Cuts `s` to at most `max` columns; a cut end shows `…`.
#[must_use]
pub fn fit_ellipsis(s: &str, max: usize) -> String {
    if width(s) <= max {
        return escape_controls(s).into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = head(s, max - 1);
    out.push_str(ELLIPSIS);
    out
}

/// Cuts `s` from the left to at most `max` columns so that its end stays visible; a cut
/// start shows `…`.
#[must_use]
pub fn fit_left(s: &str, max: usize) -> String {
    let s = escape_controls(s);
    let total: usize = s.graphemes(true).map(cluster_width).sum();
    if total <= max {
        return s.into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut kept: Vec<&str> = Vec::new();
    let mut w = 0;
    for g in s.graphemes(true).rev() {
        let gw = cluster_width(g);
        if w + gw > max - 1 {
            break;
        }
        w += gw;
        kept.push(g);
    }
    let mut out = String::from(ELLIPSIS);
    out.extend(kept.into_iter().rev());
    out
}

/// Splits `s` into rows of at most `width` columns (at least one row), never inside a
/// grapheme cluster; control characters are escaped first.
#[must_use]
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let s = escape_controls(s);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut w = 0;
    for g in s.graphemes(true) {
        let gw = cluster_width(g);
        if w + gw > width && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            w = 0;
        }
        w += gw;
        cur.push_str(g);
    }
    out.push(cur);
    out
}

/// Splits `s` into lines of at most `width` columns, breaking after spaces where possible and
/// inside words only when a word is longer than a line.
#[must_use]
pub fn word_wrap(s: &str, width: usize) -> Vec<String> {
    let s = &*escape_controls(s);
    let w = width_of;
    let width = width.max(1);
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in s.split_inclusive(' ') {
        if w(&cur) + w(word.trim_end()) > width && !cur.is_empty() {
            out.push(std::mem::take(&mut cur).trim_end().to_owned());
        }
        if w(word.trim_end()) > width {
            let mut pieces = wrap(word, width);
            let last = pieces.pop().unwrap_or_default();
            out.extend(pieces);
            cur = last;
        } else {
            cur.push_str(word);
        }
    }
    out.push(cur.trim_end().to_owned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILY: &str = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}";

    #[test]
    fn clusters_are_kept_whole_and_measured_once() {
        // (text, columns)
        let cases: &[(&str, usize)] = &[
            ("abc", 3),
            (FAMILY, 2),
            ("e\u{301}", 1),
            ("東京", 4),
            ("a\u{1b}[2J", 10),
            ("\u{202e}x", 9),
        ];
        for (s, w) in cases {
            assert_eq!(width(s), *w, "{s:?}");
            // Every cut is at most the room and never splits a cluster.
            for room in 0..=*w + 1 {
                assert!(width(&fit(s, room)) <= room, "{s:?} in {room}");
                let f = head(s, room);
                assert!(width(&f) <= room, "{s:?} in {room}: {f:?}");
                let escaped = escape_controls(s);
                assert!(escaped.starts_with(&f), "{s:?} in {room}: {f:?}");
                let clusters: Vec<&str> = escaped.graphemes(true).collect();
                let kept: Vec<&str> = f.graphemes(true).collect();
                assert_eq!(&clusters[..kept.len()], kept.as_slice());
            }
        }
        assert_eq!(head(&format!("ab{FAMILY}"), 3), "ab");
        assert_eq!(head(&format!("ab{FAMILY}"), 4), format!("ab{FAMILY}"));
        assert_eq!(head("東京", 3), "東");
        // Cut text says so: the mark takes the last column.
        assert_eq!(fit(&format!("ab{FAMILY}"), 3), "ab…");
        assert_eq!(fit(&format!("ab{FAMILY}"), 4), format!("ab{FAMILY}"));
        assert_eq!(fit("東京", 3), "東…");
        assert_eq!(fit("東京", 2), "…");
    }

    #[test]
    fn controls_are_escaped_not_passed_to_the_terminal() {
        assert_eq!(escape_controls("a\nb\tc\u{7}"), "a\\nb\\tc\\u{7}");
        assert_eq!(escape_controls("\u{1b}[31m"), "\\u{1b}[31m");
        assert!(matches!(escape_controls("plain 東京"), Cow::Borrowed(_)));
        assert!(!fit("x\u{9b}y", 20).chars().any(char::is_control));
    }

    #[test]
    fn cutting_from_the_left_keeps_the_end() {
        assert_eq!(fit_left("a/b/c/leaf", 20), "a/b/c/leaf");
        assert_eq!(fit_left("a/b/c/leaf", 6), "…/leaf");
        assert_eq!(fit_left(&format!("x/{FAMILY}"), 3), format!("…{FAMILY}"));
        assert_eq!(fit_left("東京/東京", 4), "…京");
        assert_eq!(fit_ellipsis("abcdef", 4), "abc…");
        assert_eq!(fit_ellipsis("abc", 4), "abc");
    }

    #[test]
    fn word_wrapping_escapes_controls_and_breaks_at_spaces() {
        assert_eq!(word_wrap("ab cd\u{202e}ef", 14), ["ab", "cd\\u{202e}ef"]);
        assert_eq!(word_wrap("one two three", 8), ["one two", "three"]);
    }

    #[test]
    fn wrapping_never_splits_a_cluster() {
        let s = format!("a{FAMILY}東e\u{301}");
        assert_eq!(wrap(&s, 2), ["a", FAMILY, "東", "e\u{301}"]);
        assert_eq!(wrap("", 5), [""]);
        for w in 1..8 {
            let rows = wrap(&s, w);
            assert_eq!(rows.concat(), s);
            assert!(rows.iter().all(|r| width(r) <= w.max(2)), "{w}: {rows:?}");
        }
    }
}
