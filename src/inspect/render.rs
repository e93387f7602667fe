//! Plain-text rendering of an [`Inspection`]: the field table, the byte map (a labelled hex
//! dump), the note, the why notes and the verdict. `mqtt-workbench decode` prints this.

use std::fmt::Write as _;

use super::{Inspection, Section, packet_name, version_name};

/// Bytes per line of the byte map.
pub const MAP_WIDTH: usize = 16;

/// Lines of the byte map one field may take before the rest is summarised.
pub const MAP_LINES_PER_FIELD: usize = 4;

/// Wraps `text` at `width` columns, each line starting with `indent`.
#[must_use]
pub fn wrap(text: &str, indent: &str, width: usize) -> String {
    wrap_hanging(text, indent, indent, width)
}

/// Wraps `text` at `width` columns: the first line starts with `first`, the others with `rest`.
#[must_use]
pub fn wrap_hanging(text: &str, first: &str, rest: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    let mut indent = first;
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
            indent = rest;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
    out
}

fn span_text(offset: usize, len: usize) -> String {
    match len {
        0 => format!("[{offset}, empty]"),
        1 => format!("[{offset}]"),
        _ => format!("[{offset}-{}]", offset + len - 1),
    }
}

fn bits_text(hi: u8, lo: u8) -> String {
    if hi == lo {
        format!("bit {hi}")
    } else {
        format!("bits {hi}-{lo}")
    }
}

/// The first line: packet, version, direction, size, verdict.
#[must_use]
pub fn headline(i: &Inspection) -> String {
    format!(
        "{}, {}, {}, {} bytes: {}",
        packet_name(i.packet_type, i.version),
        version_name(i.version),
        i.direction.describe(),
        i.bytes.len(),
        if i.is_well_formed() {
            "well-formed"
        } else {
            "MALFORMED"
        }
    )
}

/// The field table: sections, then one row per field with its bytes and value; flags are
/// listed bit by bit under their byte.
#[must_use]
pub fn field_table(i: &Inspection) -> String {
    let mut out = String::new();
    let mut section: Option<Section> = None;
    for f in &i.fields {
        if section != Some(f.section) {
            let _ = writeln!(out, "{}", f.section.title());
            section = Some(f.section);
        }
        match f.bits {
            Some((hi, lo)) => {
                let _ = writeln!(
                    out,
                    "  {:<9}   {:<9} {:<21} {}",
                    "",
                    bits_text(hi, lo),
                    f.name,
                    f.value
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  {:<9} {:<33} {}",
                    span_text(f.span.offset, f.span.len),
                    f.name,
                    f.value
                );
            }
        }
    }
    out
}

/// The byte map: the packet as a hex dump, one block per field, labelled. Long fields show
/// their first [`MAP_LINES_PER_FIELD`] lines and say how many bytes were left out.
#[must_use]
pub fn byte_map(i: &Inspection) -> String {
    let mut out = String::new();
    for f in i.byte_map() {
        let end = f.span.end().min(i.bytes.len());
        let start = f.span.offset.min(end);
        let data = &i.bytes[start..end];
        if data.is_empty() {
            let _ = writeln!(
                out,
                "  {:04x}  {:<47}  {}",
                f.span.offset, "(no bytes)", f.name
            );
            continue;
        }
        for (n, chunk) in data.chunks(MAP_WIDTH).enumerate() {
            if n == MAP_LINES_PER_FIELD {
                let left = data.len() - n * MAP_WIDTH;
                let _ = writeln!(
                    out,
                    "  {:04x}  ... {left} more bytes of {} (cut)",
                    start + n * MAP_WIDTH,
                    f.name
                );
                break;
            }
            let label = if n == 0 { f.name.as_str() } else { "" };
            let _ = writeln!(
                out,
                "  {:04x}  {:<47}  {label}",
                start + n * MAP_WIDTH,
                super::parse::hex(chunk)
            );
        }
    }
    // Trailing spaces of unlabelled lines are not part of the map.
    out.lines()
        .map(str::trim_end)
        .fold(String::new(), |mut s, l| {
            s.push_str(l);
            s.push('\n');
            s
        })
}

/// The note, the why notes and, for malformed bytes, the error with its place and clause.
#[must_use]
pub fn notes(i: &Inspection) -> String {
    let mut out = String::new();
    if let Some(f) = &i.fault {
        let _ = writeln!(out, "Malformed");
        let _ = writeln!(out, "  error:  {}", f.error);
        match f.offset {
            Some(o) => {
                let _ = writeln!(out, "  where:  byte {o}, {}", f.field);
            }
            None => {
                let _ = writeln!(out, "  where:  {}", f.field);
            }
        }
        let _ = writeln!(out, "  clause: {}", f.clause);
        let by = if f.from_broker_decoder {
            "the broker's decoder refuses this packet and closes the connection"
        } else {
            "the receiver treats this packet as malformed and closes the connection"
        };
        let _ = writeln!(out, "  {by}");
        out.push('\n');
    }
    let _ = writeln!(out, "Note");
    out.push_str(&wrap(&i.note.text, "  ", 78));
    let _ = writeln!(out, "  {}", i.note.clauses.join(" "));
    if !i.why.is_empty() {
        let _ = writeln!(out, "Why");
        for key in &i.why {
            let n = key.note();
            out.push_str(&wrap_hanging(
                &format!("- {}: {} {}", n.title, n.text, n.clauses.join(" ")),
                "  ",
                "    ",
                78,
            ));
        }
    }
    out
}

/// Everything: headline, field table, byte map, notes.
#[must_use]
pub fn render(i: &Inspection) -> String {
    let mut out = headline(i);
    out.push('\n');
    out.push('\n');
    out.push_str(&field_table(i));
    out.push_str("\nByte map\n");
    out.push_str(&byte_map(i));
    out.push('\n');
    out.push_str(&notes(i));
    out
}
