//! The cursor over one packet's bytes and the field table it fills: every read records its
//! span, every failure is a [`Stop`] naming the offset and the field. The readers follow
//! [`crate::protocol::reader`] check for check, so both give the same words for the same bytes.

use crate::inspect::why::WhyKey;
use crate::inspect::{Field, Section, Span};
use crate::protocol::reader::{read_varint, validate_utf8};
use crate::protocol::{DecodeError, ProtocolVersion};

/// How many payload bytes a preview shows before it says it was cut.
pub const PREVIEW_BYTES: usize = 64;

/// A parse failure: where, which field, what.
pub(super) struct Stop {
    pub(super) offset: usize,
    pub(super) field: String,
    pub(super) error: DecodeError,
}

pub(super) type R<T> = Result<T, Stop>;

/// The parse state: the packet's bytes, the read position and the end of the current scope
/// (the packet, or a property block), and what has been found so far.
pub(super) struct P<'a> {
    pub(super) b: &'a [u8],
    pub(super) pos: usize,
    pub(super) end: usize,
    pub(super) v: ProtocolVersion,
    pub(super) kind: u8,
    pub(super) section: Section,
    pub(super) fields: Vec<Field>,
    pub(super) why: Vec<WhyKey>,
    /// Set when a PUBLISH carries a Subscription Identifier: only a server sends that.
    pub(super) from_server: bool,
}

/// Fails the parse at `offset`, blaming `field`.
pub(super) fn stop<T>(offset: usize, field: &str, error: DecodeError) -> R<T> {
    Err(Stop {
        offset,
        field: field.to_owned(),
        error,
    })
}

/// Renders bytes for reading: UTF-8 text quoted with escapes, otherwise hex; cut after
/// [`PREVIEW_BYTES`] with a note saying so.
pub(super) fn preview(data: &[u8]) -> String {
    let shown = &data[..data.len().min(PREVIEW_BYTES)];
    let mut s = match std::str::from_utf8(shown) {
        Ok(t) => format!("\"{}\"", t.escape_debug()),
        // A cut may split a character: show what is valid and hex for the rest.
        Err(e) if data.len() > PREVIEW_BYTES && e.error_len().is_none() => {
            let (t, tail) = shown.split_at(e.valid_up_to());
            let t = std::str::from_utf8(t).unwrap_or_default();
            format!("\"{}\" + hex {}", t.escape_debug(), hex(tail))
        }
        Err(_) => format!("hex {}", hex(shown)),
    };
    if data.len() > shown.len() {
        s.push_str(&format!(
            " ... (cut: first {} of {} bytes shown)",
            shown.len(),
            data.len()
        ));
    }
    s
}

/// Lower-case hex bytes separated by spaces.
pub(crate) fn hex(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 3);
    for (i, b) in data.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// "1 byte" or "n bytes".
pub(super) fn bytes_word(n: usize) -> String {
    if n == 1 {
        "1 byte".to_owned()
    } else {
        format!("{n} bytes")
    }
}

/// A duration in seconds, with its unit.
pub(super) fn seconds(v: u32) -> String {
    format!("{v} s")
}

impl P<'_> {
    pub(super) fn field(&mut self, name: &str, value: String, offset: usize) {
        self.fields.push(Field {
            section: self.section,
            name: name.to_owned(),
            value,
            span: Span {
                offset,
                len: self.pos - offset,
            },
            bits: None,
        });
    }

    pub(super) fn bit(&mut self, name: &str, value: String, offset: usize, hi: u8, lo: u8) {
        self.fields.push(Field {
            section: self.section,
            name: name.to_owned(),
            value,
            span: Span { offset, len: 1 },
            bits: Some((hi, lo)),
        });
    }

    pub(super) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    pub(super) fn u8(&mut self, name: &str) -> R<u8> {
        if self.remaining() < 1 {
            return stop(
                self.pos,
                name,
                DecodeError::Malformed("packet ends inside a field"),
            );
        }
        let v = self.b[self.pos];
        self.pos += 1;
        Ok(v)
    }

    pub(super) fn slice(&mut self, name: &str, n: usize, msg: &'static str) -> R<&[u8]> {
        if self.remaining() < n {
            return stop(self.pos, name, DecodeError::Malformed(msg));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(super) fn u16(&mut self, name: &str) -> R<u16> {
        let s = self.slice(name, 2, "packet ends inside a field")?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }

    pub(super) fn u32(&mut self, name: &str) -> R<u32> {
        let s = self.slice(name, 4, "packet ends inside a field")?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    pub(super) fn varint(&mut self, name: &str) -> R<u32> {
        let at = self.pos;
        match read_varint(&self.b[self.pos..self.end]) {
            Ok(Some((v, n))) => {
                self.pos += n;
                Ok(v)
            }
            Ok(None) => stop(
                at,
                name,
                DecodeError::Malformed("packet ends inside a variable byte integer"),
            ),
            Err(e) => stop(at, name, e),
        }
    }

    /// A UTF-8 encoded string, read like `Reader::string`.
    pub(super) fn string(&mut self, name: &str) -> R<String> {
        let at = self.pos;
        let n = usize::from(self.u16(name)?);
        let s = self.slice(name, n, "packet ends inside a field")?;
        match validate_utf8(s) {
            Ok(t) => Ok(t.to_owned()),
            Err(e) => stop(at, name, e),
        }
    }

    /// Binary data, read like `Reader::binary`.
    pub(super) fn binary(&mut self, name: &str) -> R<Vec<u8>> {
        let n = usize::from(self.u16(name)?);
        Ok(self
            .slice(name, n, "length field larger than the packet")?
            .to_vec())
    }

    pub(super) fn finish(&self) -> R<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            stop(
                self.pos,
                "Remaining Length",
                DecodeError::Malformed("unexpected bytes after the end of the packet"),
            )
        }
    }

    pub(super) fn string_field(&mut self, name: &str) -> R<String> {
        let at = self.pos;
        let s = self.string(name)?;
        self.field(
            name,
            format!("\"{}\" ({})", s.escape_debug(), bytes_word(s.len())),
            at,
        );
        Ok(s)
    }

    pub(super) fn binary_field(&mut self, name: &str) -> R<Vec<u8>> {
        let at = self.pos;
        let d = self.binary(name)?;
        self.field(
            name,
            format!("{}, {}", bytes_word(d.len()), preview(&d)),
            at,
        );
        Ok(d)
    }

    pub(super) fn packet_id(&mut self) -> R<u16> {
        let at = self.pos;
        let id = self.u16("Packet Identifier")?;
        self.field("Packet Identifier", id.to_string(), at);
        if id == 0 {
            return stop(
                at,
                "Packet Identifier",
                DecodeError::Malformed("packet identifier 0"),
            );
        }
        Ok(id)
    }
}
