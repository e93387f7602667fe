//! Bounds-checked reads from one packet's bytes. Every read checks the remaining length first,
//! so a lying length field can never read past the packet or allocate more than was received.

use bytes::Bytes;

use super::DecodeError;

/// A cursor over the body of one packet (the bytes after the fixed header).
#[derive(Debug)]
pub struct Reader {
    buf: Bytes,
    pos: usize,
}

impl Reader {
    /// Wraps one packet's body.
    #[must_use]
    pub fn new(buf: Bytes) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not yet read.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails unless every byte was consumed: trailing bytes make a packet malformed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(DecodeError::Malformed(
                "unexpected bytes after the end of the packet",
            ))
        }
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(DecodeError::Malformed("packet ends inside a field"))?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads a big-endian two byte integer.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        let s = self.take_slice(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }

    /// Reads a big-endian four byte integer.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let s = self.take_slice(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// Reads a variable byte integer (MQTT 5 §1.5.5): at most four bytes, minimally encoded
    /// [MQTT5-1.5.5-1].
    pub fn varint(&mut self) -> Result<u32, DecodeError> {
        let (value, used) = read_varint(&self.buf[self.pos..])?.ok_or(DecodeError::Malformed(
            "packet ends inside a variable byte integer",
        ))?;
        self.pos += used;
        Ok(value)
    }

    fn take_slice(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Malformed("packet ends inside a field"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Takes `n` bytes as a shared slice of the packet, without copying.
    pub fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Malformed(
                "length field larger than the packet",
            ));
        }
        let b = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(b)
    }

    /// Takes the rest of the packet (a PUBLISH payload).
    pub fn rest(&mut self) -> Bytes {
        let b = self.buf.slice(self.pos..);
        self.pos = self.buf.len();
        b
    }

    /// Reads two-byte-length-prefixed binary data.
    pub fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }

    /// Reads a UTF-8 encoded string and validates it (MQTT §1.5.3 / §1.5.4).
    pub fn string(&mut self) -> Result<String, DecodeError> {
        let n = usize::from(self.u16()?);
        let s = self.take_slice(n)?;
        Ok(validate_utf8(s)?.to_owned())
    }
}

/// Parses a variable byte integer at the start of `buf`. `Ok(None)` means more bytes are needed.
pub fn read_varint(buf: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value: u32 = 0;
    for (i, &b) in buf.iter().enumerate() {
        if i == 4 {
            return Err(DecodeError::Malformed(
                "variable byte integer longer than four bytes",
            ));
        }
        value |= u32::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            // [MQTT5-1.5.5-1]: the minimal number of bytes. A last byte of 0 after others is padding.
            if i > 0 && b == 0 {
                return Err(DecodeError::Malformed(
                    "variable byte integer is not minimally encoded",
                ));
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 4 {
        return Err(DecodeError::Malformed(
            "variable byte integer longer than four bytes",
        ));
    }
    Ok(None)
}

/// Checks the MQTT rules for UTF-8 encoded strings and returns the text.
///
/// Ill-formed UTF-8 and surrogates are refused [MQTT311-1.5.3-1] [MQTT5-1.5.4-1], and so is U+0000 [MQTT311-1.5.3-2] [MQTT5-1.5.4-2].
/// Like mosquitto, the server also refuses the control characters U+0001..U+001F and
/// U+007F..U+009F and the Unicode non-characters, which the specification says a sender
/// SHOULD NOT use and a receiver MAY treat as malformed (§1.5.3). U+FEFF is kept as it is
/// [MQTT311-1.5.3-3] [MQTT5-1.5.4-3].
pub fn validate_utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    let s = std::str::from_utf8(bytes)
        .map_err(|_| DecodeError::Malformed("ill-formed UTF-8 string"))?;
    // Fast path: printable ASCII, the common case for topics and client ids.
    if bytes.iter().all(|&b| (0x20..0x7F).contains(&b)) {
        return Ok(s);
    }
    for c in s.chars() {
        let cp = u32::from(c);
        if cp == 0 {
            return Err(DecodeError::Malformed("string contains U+0000"));
        }
        if cp < 0x20 || (0x7F..=0x9F).contains(&cp) {
            return Err(DecodeError::Malformed(
                "string contains a control character",
            ));
        }
        if (0xFDD0..=0xFDEF).contains(&cp) || cp & 0xFFFE == 0xFFFE {
            return Err(DecodeError::Malformed(
                "string contains a Unicode non-character",
            ));
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_limits() {
        assert_eq!(read_varint(&[0x00]).ok().flatten(), Some((0, 1)));
        assert_eq!(read_varint(&[0x7F]).ok().flatten(), Some((127, 1)));
        assert_eq!(read_varint(&[0x80, 0x01]).ok().flatten(), Some((128, 2)));
        assert_eq!(
            read_varint(&[0xFF, 0xFF, 0xFF, 0x7F]).ok().flatten(),
            Some((268_435_455, 4))
        );
        // §2.2.3: a fifth byte is malformed.
        assert!(read_varint(&[0xFF, 0xFF, 0xFF, 0xFF, 0x01]).is_err());
        // [MQTT5-1.5.5-1]: 0x80 0x00 is a non-minimal zero.
        assert!(read_varint(&[0x80, 0x00]).is_err());
        assert_eq!(read_varint(&[0x80]).ok(), Some(None));
    }

    #[test]
    fn utf8_rules() {
        assert!(validate_utf8(b"sport/tennis").is_ok());
        assert!(validate_utf8("\u{FEFF}bom".as_bytes()).is_ok()); // [MQTT311-1.5.3-3] [MQTT5-1.5.4-3]
        assert!(validate_utf8(&[0x74, 0x6F, 0xED, 0xA0, 0x80]).is_err()); // surrogate
        assert!(validate_utf8(b"to\0p").is_err()); // [MQTT311-1.5.3-2] [MQTT5-1.5.4-2]
        assert!(validate_utf8(b"a\x01b").is_err());
        assert!(validate_utf8(&[0x61, 0xC2, 0x9F]).is_err());
        assert!(validate_utf8("\u{FFFF}".as_bytes()).is_err());
        assert!(validate_utf8("caf\u{e9}/\u{1F600}".as_bytes()).is_ok());
    }
}
