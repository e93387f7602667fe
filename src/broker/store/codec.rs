//! The binary value format of the hot `deliveries` rows (format 2): one per message per
//! offline persistent session, so its encoding cost is paid on every QoS > 0 publish the
//! broker keeps. JSON with serde cost the writer thread about a tenth of its time and made
//! each row about 80 bytes longer; this layout is a plain sequence of fields.
//!
//! A row written by format 1 (JSON) starts with `{`; a format 2 row starts with [`TAG`], so
//! [`decode_delivery`] reads both and a format 1 file keeps opening.
//!
//! Layout after the tag (integers big-endian; `str` = `u32` length + UTF-8 bytes; `opt` = one
//! byte 0/1, then the value when 1):
//! `qos u8, retain u8, released u8, pkid opt u16, sub_ids u32 count + u32 each`, then the
//! message: `topic str, payload (0 + u32 length + the raw bytes, or 1 + str: base64 that did
//! not decode, kept as it is), qos u8, retain u8,
//! expires_at opt u64, payload_format opt u8, content_type opt str, response_topic opt str,
//! correlation_data opt str, user_properties u32 count + (str, str) each`.
//!
//! Serde formats such as postcard or bincode cannot be used on these structs as they are:
//! their `skip_serializing_if` attributes (kept for the readable JSON) break formats that do
//! not describe themselves.

use crate::broker::persist::{StoredDelivery, StoredMessage};

/// The first byte of a binary delivery row (never `{`, the first byte of a JSON one).
pub(crate) const TAG: u8 = 0x02;

/// The first byte of a chunk row: the deliveries of consecutive sequence numbers of one
/// session, kept in one group commit, stored under the first one's key (one redb insert for
/// the whole run instead of one per message). Layout after the tag: `u32 count`, then per
/// delivery `u32 length` + its single-row form (with its [`TAG`]).
pub(crate) const CHUNK_TAG: u8 = 0x03;

/// Appends the binary form of `d` to `out` (cleared first).
pub(crate) fn encode_delivery(d: &StoredDelivery, out: &mut Vec<u8>) {
    out.clear();
    append_delivery(d, out);
}

/// Encodes a chunk row of `ds` (in sequence order) into `out` (cleared first).
pub(crate) fn encode_chunk<'a>(
    ds: impl ExactSizeIterator<Item = &'a StoredDelivery>,
    out: &mut Vec<u8>,
) {
    out.clear();
    out.push(CHUNK_TAG);
    len(out, ds.len());
    for d in ds {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        append_delivery(d, out);
        let n = u32::try_from(out.len() - at - 4).unwrap_or(u32::MAX);
        out[at..at + 4].copy_from_slice(&n.to_be_bytes());
    }
}

/// Whether a `deliveries` row is a chunk.
pub(crate) fn is_chunk(bytes: &[u8]) -> bool {
    bytes.first() == Some(&CHUNK_TAG)
}

/// Reads a chunk row: its deliveries in sequence order.
pub(crate) fn decode_chunk(bytes: &[u8]) -> Result<Vec<StoredDelivery>, String> {
    if !is_chunk(bytes) {
        return Err("not a chunk".into());
    }
    let mut r = Reader { rest: &bytes[1..] };
    let n = r.count()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = r.count()?;
        out.push(decode_delivery(r.take(k)?)?);
    }
    if !r.rest.is_empty() {
        return Err(format!("{} bytes after the chunk", r.rest.len()));
    }
    Ok(out)
}

/// Reads any `deliveries` row: a single delivery (either format) or a chunk.
pub(crate) fn decode_row(bytes: &[u8]) -> Result<Vec<StoredDelivery>, String> {
    if is_chunk(bytes) {
        decode_chunk(bytes)
    } else {
        decode_delivery(bytes).map(|d| vec![d])
    }
}

fn append_delivery(d: &StoredDelivery, out: &mut Vec<u8>) {
    out.push(TAG);
    out.push(d.qos);
    out.push(u8::from(d.retain));
    out.push(u8::from(d.released));
    opt(out, d.pkid, |o, p| o.extend_from_slice(&p.to_be_bytes()));
    len(out, d.sub_ids.len());
    for id in &d.sub_ids {
        out.extend_from_slice(&id.to_be_bytes());
    }
    let m = &d.message;
    string(out, &m.topic);
    payload(out, &m.payload);
    out.push(m.qos);
    out.push(u8::from(m.retain));
    opt(out, m.expires_at, |o, v| {
        o.extend_from_slice(&v.to_be_bytes())
    });
    opt(out, m.payload_format, |o, v| o.push(v));
    opt(out, m.content_type.as_deref(), string);
    opt(out, m.response_topic.as_deref(), string);
    opt(out, m.correlation_data.as_deref(), string);
    len(out, m.user_properties.len());
    for (k, v) in &m.user_properties {
        string(out, k);
        string(out, v);
    }
}

/// The payload as raw bytes (marker 0), a quarter shorter than its base64; a string that is
/// not canonical base64 (never written by the broker) is kept as it is (marker 1).
fn payload(out: &mut Vec<u8>, b64: &str) {
    use base64::Engine;
    let at = out.len();
    out.push(0);
    out.extend_from_slice(&[0; 4]);
    let start = out.len();
    match base64::engine::general_purpose::STANDARD.decode_vec(b64, out) {
        Ok(()) => {
            let n = u32::try_from(out.len() - start).unwrap_or(u32::MAX);
            out[at + 1..start].copy_from_slice(&n.to_be_bytes());
        }
        Err(_) => {
            out.truncate(at);
            out.push(1);
            string(out, b64);
        }
    }
}

fn len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

fn string(out: &mut Vec<u8>, s: &str) {
    len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn opt<T>(out: &mut Vec<u8>, v: Option<T>, put: impl FnOnce(&mut Vec<u8>, T)) {
    match v {
        Some(v) => {
            out.push(1);
            put(out, v);
        }
        None => out.push(0),
    }
}

/// Reads a delivery row of either format; `Err` says what is wrong with it.
pub(crate) fn decode_delivery(bytes: &[u8]) -> Result<StoredDelivery, String> {
    match bytes.first() {
        Some(&TAG) => {
            let mut r = Reader { rest: &bytes[1..] };
            let d = r.delivery()?;
            if r.rest.is_empty() {
                Ok(d)
            } else {
                Err(format!("{} bytes after the delivery", r.rest.len()))
            }
        }
        _ => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.rest.len() < n {
            return Err("the delivery is cut short".into());
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn bool(&mut self) -> Result<bool, String> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("flag byte {b}")),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn count(&mut self) -> Result<usize, String> {
        let n = usize::try_from(self.u32()?).map_err(|e| e.to_string())?;
        // Every element takes at least one byte: a larger count is damage, not a huge list.
        if n > self.rest.len() {
            return Err(format!("count {n} beyond the row"));
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.count()?;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|e| e.to_string())
    }

    fn opt<T>(
        &mut self,
        get: impl FnOnce(&mut Self) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        if self.bool()? {
            get(self).map(Some)
        } else {
            Ok(None)
        }
    }

    fn delivery(&mut self) -> Result<StoredDelivery, String> {
        let qos = self.u8()?;
        let retain = self.bool()?;
        let released = self.bool()?;
        let pkid = self.opt(|r| Ok(u16::from_be_bytes(r.array()?)))?;
        let n = self.count()?;
        let mut sub_ids = Vec::with_capacity(n);
        for _ in 0..n {
            sub_ids.push(self.u32()?);
        }
        let topic = self.string()?;
        let payload = match self.u8()? {
            0 => {
                let n = self.count()?;
                crate::broker::persist::encode_binary(self.take(n)?)
            }
            1 => self.string()?,
            b => return Err(format!("payload marker {b}")),
        };
        let m_qos = self.u8()?;
        let m_retain = self.bool()?;
        let expires_at = self.opt(|r| Ok(u64::from_be_bytes(r.array()?)))?;
        let payload_format = self.opt(Self::u8)?;
        let content_type = self.opt(Self::string)?;
        let response_topic = self.opt(Self::string)?;
        let correlation_data = self.opt(Self::string)?;
        let n = self.count()?;
        let mut user_properties = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.string()?;
            let v = self.string()?;
            user_properties.push((k, v));
        }
        Ok(StoredDelivery {
            message: StoredMessage {
                topic,
                payload,
                qos: m_qos,
                retain: m_retain,
                expires_at,
                payload_format,
                content_type,
                response_topic,
                correlation_data,
                user_properties,
            },
            qos,
            retain,
            sub_ids,
            pkid,
            released,
        })
    }
}
