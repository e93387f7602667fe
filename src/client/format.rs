//! mosquitto_sub's message output, byte for byte: plain payloads, `-v`, `-N`, and `-F` format
//! strings (`%t %p %q %r %m %l %x %X %I %j %J %U %C %D %E %F %P %R %S %A`, widths,
//! `@` strftime fields, `\` escapes), with `%j`/`%J` JSON printed as cJSON prints it.
//!
//! Known difference: MQTT 5 properties inside `%j`/`%J` follow a fixed order (content type,
//! response topic, correlation data, payload format, user properties, topic alias,
//! subscription identifier, message expiry); mosquitto_sub prints them in wire order.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local};

use super::IncomingMessage;

/// Why a `-F` format string was refused (mosquitto_sub's wording).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// `%`, a flag, width or precision at the very end.
    #[error("Incomplete format specifier.")]
    Incomplete,
    /// `%` followed by an unknown conversion.
    #[error("Invalid format specifier '{0}'.")]
    Specifier(char),
    /// A lone `\` at the end.
    #[error("Incomplete escape specifier.")]
    IncompleteEscape,
    /// `\` followed by an unknown escape.
    #[error("Invalid escape specifier '{0}'.")]
    Escape(char),
    /// A width or precision above [`MAX_FIELD_WIDTH`]: printing it would allocate without
    /// bound for every message (mosquitto_sub would try; this refuses at start-up instead).
    #[error("Field width or precision above {MAX_FIELD_WIDTH} in format specifier.")]
    Width,
}

/// Checks a `-F` format string as mosquitto_sub does before connecting.
///
/// # Errors
/// The first problem found.
pub fn check_format(format: &str) -> Result<(), FormatError> {
    // The digits of a width or precision, refused past the cap.
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0usize, |n, d| {
            let n = n * 10 + usize::from(d - b'0');
            (n <= MAX_FIELD_WIDTH).then_some(n)
        })
    };
    let s = format.as_bytes();
    let len = s.len();
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while i < len {
        match s[i] {
            b'%' => {
                if i == len - 1 {
                    return Err(FormatError::Incomplete);
                }
                if matches!(at(i + 1), b'0' | b'-') {
                    i += 1;
                    if i == len - 1 {
                        return Err(FormatError::Incomplete);
                    }
                }
                let width_at = i + 1;
                while at(i + 1).is_ascii_digit() {
                    i += 1;
                    if i == len - 1 {
                        return Err(FormatError::Incomplete);
                    }
                }
                number(&s[width_at..=i.max(width_at - 1)]).ok_or(FormatError::Width)?;
                if at(i + 1) == b'.' {
                    i += 1;
                    if i == len - 1 {
                        return Err(FormatError::Incomplete);
                    }
                    let precision_at = i + 1;
                    while at(i + 1).is_ascii_digit() {
                        i += 1;
                        if i == len - 1 {
                            return Err(FormatError::Incomplete);
                        }
                    }
                    number(&s[precision_at..=i.max(precision_at - 1)]).ok_or(FormatError::Width)?;
                }
                let c = at(i + 1);
                if !b"%ACDEFIlmPpqRSrtjJUxX".contains(&c) {
                    return Err(FormatError::Specifier(char::from(c)));
                }
                i += 1;
            }
            b'@' => {
                if i == len - 1 {
                    return Err(FormatError::Incomplete);
                }
                i += 1;
            }
            b'\\' => {
                if i == len - 1 {
                    return Err(FormatError::IncompleteEscape);
                }
                let c = at(i + 1);
                if !b"\\0aenrtv".contains(&c) {
                    return Err(FormatError::Escape(char::from(c)));
                }
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// How mosquitto_sub prints messages.
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    /// `-F`: a format string (already checked with [`check_format`]).
    pub format: Option<String>,
    /// `-v`: topic, a space, then the payload.
    pub verbose: bool,
    /// `-N` clears this: no newline after each message.
    pub eol: bool,
    /// `--pretty`: indented JSON for `%j`/`%J`.
    pub pretty: bool,
}

/// One message as mosquitto_sub prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Bytes for stdout.
    pub stdout: Vec<u8>,
    /// Error lines for stderr (for example `%J` on a payload that is not JSON).
    pub stderr: Vec<String>,
}

/// Renders one message the way mosquitto_sub 2.0 prints it.
#[must_use]
pub fn render(msg: &IncomingMessage, opts: &OutputOptions) -> Rendered {
    let mut out = Rendered::default();
    if let Some(format) = &opts.format {
        formatted(msg, format, opts, &mut out);
    } else if opts.verbose {
        if msg.payload.is_empty() {
            if opts.eol {
                out.stdout.extend_from_slice(msg.topic.as_bytes());
                out.stdout.extend_from_slice(b" (null)\n");
            }
        } else {
            out.stdout.extend_from_slice(msg.topic.as_bytes());
            out.stdout.push(b' ');
            out.stdout.extend_from_slice(&msg.payload);
            if opts.eol {
                out.stdout.push(b'\n');
            }
        }
    } else if !msg.payload.is_empty() {
        out.stdout.extend_from_slice(&msg.payload);
        if opts.eol {
            out.stdout.push(b'\n');
        }
    }
    out
}

/// The largest width or precision a `-F` format may give (64 KiB of padding per field).
pub const MAX_FIELD_WIDTH: usize = 65_536;

/// A `%` conversion's flags: `-` alignment, `0` padding, width and precision.
#[derive(Clone, Copy)]
struct Spec {
    left: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
}

fn local(t: SystemTime) -> DateTime<Local> {
    t.into()
}

fn strftime(t: SystemTime, fmt: &str) -> Option<String> {
    let mut s = String::new();
    write!(s, "{}", local(t).format(fmt)).ok()?;
    Some(s)
}

fn nanos(t: SystemTime) -> (u64, u32) {
    t.duration_since(UNIX_EPOCH)
        .map_or((0, 0), |d| (d.as_secs(), d.subsec_nanos()))
}

fn formatted(msg: &IncomingMessage, format: &str, opts: &OutputOptions, out: &mut Rendered) {
    let s = format.as_bytes();
    let len = s.len();
    let t = msg.received_at;
    let mut i = 0;
    while i < len {
        match s[i] {
            b'%' => {
                let mut spec = Spec {
                    left: false,
                    zero: false,
                    width: 0,
                    precision: None,
                };
                if i < len - 1 {
                    i += 1;
                    if s[i] == b'-' {
                        spec.left = true;
                        if i < len - 1 {
                            i += 1;
                        }
                    }
                    if s[i] == b'0' {
                        spec.zero = true;
                        if i < len - 1 {
                            i += 1;
                        }
                    }
                    while i < len - 1 && s[i].is_ascii_digit() {
                        // Capped as `check_format` refuses more: never an unbounded allocation.
                        spec.width = spec
                            .width
                            .saturating_mul(10)
                            .saturating_add(usize::from(s[i] - b'0'))
                            .min(MAX_FIELD_WIDTH);
                        i += 1;
                    }
                    if s[i] == b'.' && i < len - 1 {
                        i += 1;
                        let mut p = 0usize;
                        while i < len - 1 && s[i].is_ascii_digit() {
                            p = p
                                .saturating_mul(10)
                                .saturating_add(usize::from(s[i] - b'0'))
                                .min(MAX_FIELD_WIDTH);
                            i += 1;
                        }
                        spec.precision = Some(p);
                    }
                    percent(msg, s[i], spec, opts, out);
                }
            }
            b'@' => {
                if i < len - 1 {
                    i += 1;
                    match s[i] {
                        b'@' => out.stdout.push(b'@'),
                        b'N' => {
                            let (_, ns) = nanos(t);
                            out.stdout.extend_from_slice(format!("{ns:09}").as_bytes());
                        }
                        c => {
                            if let Some(text) = strftime(t, &format!("%{}", char::from(c))) {
                                out.stdout.extend_from_slice(text.as_bytes());
                            }
                        }
                    }
                }
            }
            b'\\' => {
                if i < len - 1 {
                    i += 1;
                    let c = match s[i] {
                        b'\\' => Some(b'\\'),
                        b'0' => Some(0),
                        b'a' => Some(7),
                        b'e' => Some(0x1b),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'v' => Some(0x0b),
                        _ => None,
                    };
                    out.stdout.extend(c);
                }
            }
            c => out.stdout.push(c),
        }
        i += 1;
    }
    if opts.eol {
        out.stdout.push(b'\n');
    }
}

/// printf's `%d` with mosquitto's flags.
fn print_int(out: &mut Vec<u8>, value: i64, spec: Spec) {
    let text = if spec.width == 0 {
        value.to_string()
    } else if spec.left {
        format!("{value:<w$}", w = spec.width)
    } else if spec.zero {
        format!("{value:0w$}", w = spec.width)
    } else {
        format!("{value:>w$}", w = spec.width)
    };
    out.extend_from_slice(text.as_bytes());
}

/// printf's `%s` with width and precision, counting bytes as C does.
fn print_str(out: &mut Vec<u8>, value: &[u8], spec: Spec) {
    let value = match spec.precision {
        Some(p) if p < value.len() => &value[..p],
        _ => value,
    };
    let pad = spec.width.saturating_sub(value.len());
    if !spec.left {
        out.extend(std::iter::repeat_n(b' ', pad));
    }
    out.extend_from_slice(value);
    if spec.left {
        out.extend(std::iter::repeat_n(b' ', pad));
    }
}

fn print_blank(out: &mut Vec<u8>, pad: u8, width: usize) {
    out.extend(std::iter::repeat_n(pad, width));
}

/// mosquitto's `write_payload`: raw or hex, truncated to the width, padded.
fn print_payload(out: &mut Vec<u8>, payload: &[u8], hex: Option<bool>, spec: Spec) {
    let mut n = payload.len();
    let padlen;
    if spec.width > 0 {
        n = n.min(spec.width);
        if hex.is_some() {
            n /= 2;
            padlen = spec.width.saturating_sub(n * 2);
        } else {
            padlen = spec.width - n;
        }
    } else {
        padlen = 0;
    }
    let pad = if spec.zero { b'0' } else { b' ' };
    if !spec.left {
        print_blank(out, pad, padlen);
    }
    let body = &payload[..n];
    match hex {
        None => out.extend_from_slice(body),
        Some(upper) => {
            for b in body {
                let h = if upper {
                    format!("{b:02X}")
                } else {
                    format!("{b:02x}")
                };
                out.extend_from_slice(h.as_bytes());
            }
        }
    }
    if spec.left {
        print_blank(out, b' ', padlen);
    }
}

fn percent(msg: &IncomingMessage, c: u8, spec: Spec, opts: &OutputOptions, out: &mut Rendered) {
    let p = &msg.properties;
    let pad = if spec.zero { b'0' } else { b' ' };
    let o = &mut out.stdout;
    match c {
        b'%' => o.push(b'%'),
        b'A' => match p.topic_alias {
            Some(v) => print_int(o, i64::from(v), spec),
            None => print_blank(o, pad, spec.width),
        },
        b'C' => match &p.content_type {
            Some(v) => print_str(o, v.as_bytes(), spec),
            None => print_blank(o, b' ', spec.width),
        },
        b'D' => {
            if let Some(d) = &p.correlation_data {
                o.extend_from_slice(d);
            }
        }
        b'E' => match p.message_expiry_interval {
            // mosquitto casts to int.
            #[allow(clippy::cast_possible_wrap)]
            Some(v) => print_int(o, i64::from(v as i32), spec),
            None => print_blank(o, pad, spec.width),
        },
        b'F' => match p.payload_format_indicator {
            Some(v) => print_int(o, i64::from(v), spec),
            None => print_blank(o, pad, spec.width),
        },
        b'I' => match strftime(msg.received_at, "%Y-%m-%dT%H:%M:%S%z") {
            Some(v) => print_str(o, v.as_bytes(), spec),
            None => print_blank(o, b' ', spec.width),
        },
        b'j' => o.extend_from_slice(&json_message(msg, true, opts.pretty).unwrap_or_default()),
        b'J' => match json_message(msg, false, opts.pretty) {
            Some(v) => o.extend_from_slice(&v),
            None => out.stderr.push(format!(
                "Error: Message payload is not valid JSON on topic {}.",
                msg.topic
            )),
        },
        b'l' => print_int(
            o,
            i64::try_from(msg.payload.len()).unwrap_or(i64::MAX),
            spec,
        ),
        b'm' => print_int(o, i64::from(msg.pkid), spec),
        b'P' => {
            for (n, (k, v)) in p.user_properties.iter().enumerate() {
                if n > 0 {
                    o.push(b' ');
                }
                o.extend_from_slice(k.as_bytes());
                o.push(b':');
                o.extend_from_slice(v.as_bytes());
            }
        }
        b'p' => print_payload(o, &msg.payload, None, spec),
        b'q' => o.push(b'0' + msg.qos as u8),
        b'R' => {
            if let Some(v) = &p.response_topic {
                print_str(o, v.as_bytes(), spec);
            }
        }
        b'r' => o.push(if msg.retain { b'1' } else { b'0' }),
        b'S' => match p.subscription_identifiers.first() {
            Some(v) => print_int(o, i64::from(*v), spec),
            None => print_blank(o, pad, spec.width),
        },
        b't' => print_str(o, msg.topic.as_bytes(), spec),
        b'U' => {
            let (s, ns) = nanos(msg.received_at);
            o.extend_from_slice(format!("{s}.{ns:09}").as_bytes());
        }
        b'x' => print_payload(o, &msg.payload, Some(false), spec),
        b'X' => print_payload(o, &msg.payload, Some(true), spec),
        _ => {}
    }
}

/// Bytes up to the first NUL, as a C string sees them.
fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(n) => &b[..n],
        None => b,
    }
}

/// `%j` (payload as a string) or `%J` (payload parsed as JSON; `None` if it is not JSON).
fn json_message(msg: &IncomingMessage, escaped: bool, pretty: bool) -> Option<Vec<u8>> {
    let t = msg.received_at;
    let (_, ns) = nanos(t);
    let tst = format!(
        "{}.{:06}Z{}",
        strftime(t, "%Y-%m-%dT%H:%M:%S").unwrap_or_default(),
        ns / 1000,
        strftime(t, "%z").unwrap_or_default()
    );
    let mut root = vec![
        (b"tst".to_vec(), Json::Str(tst.into_bytes())),
        (b"topic".to_vec(), Json::Str(msg.topic.as_bytes().to_vec())),
        (b"qos".to_vec(), Json::Num(f64::from(msg.qos as u8))),
        (
            b"retain".to_vec(),
            Json::Num(f64::from(u8::from(msg.retain))),
        ),
        (b"payloadlen".to_vec(), Json::Num(msg.payload.len() as f64)),
    ];
    if msg.qos as u8 > 0 {
        root.push((b"mid".to_vec(), Json::Num(f64::from(msg.pkid))));
    }
    let p = &msg.properties;
    if !p.is_empty() {
        let mut props = Vec::new();
        let s = |v: &str| Json::Str(v.as_bytes().to_vec());
        if let Some(v) = &p.content_type {
            props.push((b"content-type".to_vec(), s(v)));
        }
        if let Some(v) = &p.response_topic {
            props.push((b"response-topic".to_vec(), s(v)));
        }
        if let Some(v) = &p.correlation_data {
            props.push((b"correlation-data".to_vec(), Json::Str(c_str(v).to_vec())));
        }
        if let Some(v) = p.payload_format_indicator {
            props.push((
                b"payload-format-indicator".to_vec(),
                Json::Num(f64::from(v)),
            ));
        }
        if !p.user_properties.is_empty() {
            let users = p
                .user_properties
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), s(v)))
                .collect();
            props.push((b"user-properties".to_vec(), Json::Obj(users)));
        }
        if let Some(v) = p.topic_alias {
            props.push((b"topic-alias".to_vec(), Json::Num(f64::from(v))));
        }
        for v in &p.subscription_identifiers {
            props.push((
                b"subscription-identifier".to_vec(),
                Json::Num(f64::from(*v)),
            ));
        }
        if let Some(v) = p.message_expiry_interval {
            props.push((b"message-expiry-interval".to_vec(), Json::Num(f64::from(v))));
        }
        root.push((b"properties".to_vec(), Json::Obj(props)));
    }
    let payload = if msg.payload.is_empty() {
        Json::Null
    } else if escaped {
        Json::Str(c_str(&msg.payload).to_vec())
    } else {
        parse_json(&msg.payload)?
    };
    root.push((b"payload".to_vec(), payload));
    let mut out = Vec::new();
    Json::Obj(root).print(&mut out, pretty, 0);
    Some(out)
}

/// A JSON value as cJSON holds it: strings are bytes, numbers are doubles, keys keep their
/// order and duplicates.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number (a double).
    Num(f64),
    /// A string (raw bytes, escapes decoded).
    Str(Vec<u8>),
    /// An array.
    Arr(Vec<Json>),
    /// An object, in document order.
    Obj(Vec<(Vec<u8>, Json)>),
}

/// cJSON's nesting limit.
const NESTING_LIMIT: usize = 1000;

/// Parses a whole document as cJSON does (`cJSON_ParseWithOpts(.., true)`), or `None`.
#[must_use]
pub fn parse_json(input: &[u8]) -> Option<Json> {
    let mut p = Parser { s: input, i: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    (p.i == input.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c <= 32 && c != 0) {
            self.i += 1;
        }
    }

    fn lit(&mut self, word: &[u8]) -> bool {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > NESTING_LIMIT {
            return None;
        }
        match self.peek()? {
            b'n' if self.lit(b"null") => Some(Json::Null),
            b'f' if self.lit(b"false") => Some(Json::Bool(false)),
            b't' if self.lit(b"true") => Some(Json::Bool(true)),
            b'"' => self.string().map(Json::Str),
            b'-' | b'0'..=b'9' => self.number(),
            b'[' => self.array(depth + 1),
            b'{' => self.object(depth + 1),
            _ => None,
        }
    }

    /// strtod on the run of number characters, as cJSON's `parse_number` does.
    fn number(&mut self) -> Option<Json> {
        let start = self.i;
        let mut j = start;
        let s = self.s;
        let digits = |j: &mut usize| {
            let from = *j;
            while s.get(*j).is_some_and(u8::is_ascii_digit) {
                *j += 1;
            }
            *j > from
        };
        if matches!(s.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        let int = digits(&mut j);
        let mut frac = false;
        if s.get(j) == Some(&b'.') {
            let mut k = j + 1;
            frac = digits(&mut k);
            if int || frac {
                j = k;
            }
        }
        if !int && !frac {
            return None;
        }
        if matches!(s.get(j), Some(b'e' | b'E')) {
            let mut k = j + 1;
            if matches!(s.get(k), Some(b'-' | b'+')) {
                k += 1;
            }
            if digits(&mut k) {
                j = k;
            }
        }
        let text = std::str::from_utf8(&s[start..j]).ok()?;
        let text = text.strip_suffix('.').unwrap_or(text);
        let v: f64 = text.parse().ok()?;
        self.i = j;
        Some(Json::Num(v))
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.i += 4;
        Some(v)
    }

    fn string(&mut self) -> Option<Vec<u8>> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'"' => return Some(out),
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'u' => {
                            let first = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&first) {
                                if !self.lit(b"\\u") {
                                    return None;
                                }
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return None;
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&first) {
                                return None;
                            } else {
                                first
                            };
                            let ch = char::from_u32(code)?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                }
                0 => return None,
                c => out.push(c),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<Json> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(Json::Arr(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth)?);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(Json::Arr(items));
                }
                _ => return None,
            }
        }
    }

    fn object(&mut self, depth: usize) -> Option<Json> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(Json::Obj(items));
        }
        loop {
            self.ws();
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.string()?;
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth)?;
            items.push((key, v));
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(Json::Obj(items));
                }
                _ => return None,
            }
        }
    }
}

/// C's `%1.<precision>g`.
fn c_format_g(d: f64, precision: usize) -> String {
    let p = precision.max(1);
    let sci = format!("{:.*e}", p - 1, d);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => return sci,
    };
    let p_i = i32::try_from(p).unwrap_or(i32::MAX);
    let strip = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if exp < -4 || exp >= p_i {
        let m = strip(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.unsigned_abs())
    } else {
        let decimals = usize::try_from(p_i - 1 - exp).unwrap_or(0);
        strip(format!("{d:.decimals$}"))
    }
}

/// cJSON's `print_number`.
fn print_number(d: f64) -> String {
    if d.is_nan() || d.is_infinite() {
        return "null".into();
    }
    // cJSON's valueint: saturated, truncated.
    #[allow(clippy::cast_possible_truncation)]
    let as_int = if d >= f64::from(i32::MAX) {
        i32::MAX
    } else if d <= f64::from(i32::MIN) {
        i32::MIN
    } else {
        d as i32
    };
    // cJSON (as shipped with mosquitto 2.0) prints negative zero as "-0".
    #[allow(clippy::float_cmp)]
    if d == f64::from(as_int) && !(d == 0.0 && d.is_sign_negative()) {
        return as_int.to_string();
    }
    let short = c_format_g(d, 15);
    if short.parse::<f64>().ok() == Some(d) {
        short
    } else {
        c_format_g(d, 17)
    }
}

fn print_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c if c < 32 => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

impl Json {
    /// Prints like `cJSON_PrintUnformatted` (or `cJSON_Print` when `pretty`).
    pub fn print(&self, out: &mut Vec<u8>, pretty: bool, depth: usize) {
        match self {
            Self::Null => out.extend_from_slice(b"null"),
            Self::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Self::Num(d) => out.extend_from_slice(print_number(*d).as_bytes()),
            Self::Str(s) => print_string(out, s),
            Self::Arr(items) => {
                // cJSON counts arrays in the indentation depth too.
                let depth = depth + 1;
                out.push(b'[');
                for (n, v) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                        if pretty {
                            out.push(b' ');
                        }
                    }
                    v.print(out, pretty, depth);
                }
                out.push(b']');
            }
            Self::Obj(items) => {
                let depth = depth + 1;
                out.push(b'{');
                if pretty {
                    out.push(b'\n');
                }
                for (n, (k, v)) in items.iter().enumerate() {
                    if pretty {
                        out.extend(std::iter::repeat_n(b'\t', depth));
                    }
                    print_string(out, k);
                    out.push(b':');
                    if pretty {
                        out.push(b'\t');
                    }
                    v.print(out, pretty, depth);
                    if n + 1 < items.len() {
                        out.push(b',');
                    }
                    if pretty {
                        out.push(b'\n');
                    }
                }
                if pretty {
                    out.extend(std::iter::repeat_n(b'\t', depth - 1));
                }
                out.push(b'}');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{MessageProperties, QoS};
    use bytes::Bytes;

    fn msg(topic: &str, payload: &[u8]) -> IncomingMessage {
        IncomingMessage {
            topic: topic.into(),
            payload: Bytes::copy_from_slice(payload),
            qos: QoS::AtMostOnce,
            retain: false,
            dup: false,
            pkid: 0,
            properties: MessageProperties::default(),
            received_at: SystemTime::now(),
        }
    }

    fn fmt(m: &IncomingMessage, f: &str) -> String {
        let o = OutputOptions {
            format: Some(f.into()),
            eol: true,
            ..OutputOptions::default()
        };
        String::from_utf8_lossy(&render(m, &o).stdout).into_owned()
    }

    #[test]
    fn widths_match_mosquitto_sub_2_0_11() {
        // Outputs captured from mosquitto_sub 2.0.11 for the same format and payloads.
        let m = msg("f/d", b"notjson");
        assert_eq!(
            fmt(&m, "%5t|%-5l|%05l|%.2t|%10p|%-10x.|%%|@@|\\t"),
            "  f/d|7    |00007|f/|   notjson|6e6f74    .|%|@|\t\n"
        );
        let e = msg("f/c", b"");
        assert_eq!(fmt(&e, "%10p|%-10x."), "          |          .\n");
    }

    #[test]
    fn check_format_errors_like_mosquitto() {
        assert_eq!(check_format("%z"), Err(FormatError::Specifier('z')));
        assert_eq!(check_format("%N"), Err(FormatError::Specifier('N')));
        assert_eq!(check_format("abc%"), Err(FormatError::Incomplete));
        assert_eq!(check_format("%-5"), Err(FormatError::Incomplete));
        assert_eq!(check_format("\\q"), Err(FormatError::Escape('q')));
        assert_eq!(check_format("@"), Err(FormatError::Incomplete));
        assert!(check_format("%t %p %q %r %m %l %x %X %I %j %J %U @Y @N \\n").is_ok());
        // Widths and precisions are bounded (a fuzz finding: `%1111111111111111111111111p`
        // allocated without bound for every message).
        assert!(check_format("%65536p %-65536t %.65536p %08.65536p").is_ok());
        assert_eq!(check_format("%65537p"), Err(FormatError::Width));
        assert_eq!(check_format("%.65537p"), Err(FormatError::Width));
        assert_eq!(
            check_format("%1111111111111111111111111p"),
            Err(FormatError::Width)
        );
    }

    #[test]
    fn a_huge_width_that_skipped_the_check_is_capped_when_printing() {
        let msg = msg("t", b"x");
        let opts = OutputOptions {
            format: Some("%3333333333333p".into()),
            ..OutputOptions::default()
        };
        let out = render(&msg, &opts);
        assert_eq!(out.stdout.len(), MAX_FIELD_WIDTH);
    }

    #[test]
    fn cjson_pretty_printing() {
        let v = parse_json(br#"{"a":[1,2,{"b":null}],"c":"x","e":{}}"#).unwrap();
        let mut out = Vec::new();
        v.print(&mut out, true, 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n\t\"a\":\t[1, 2, {\n\t\t\t\"b\":\tnull\n\t\t}],\n\t\"c\":\t\"x\",\n\t\"e\":\t{\n\t}\n}"
        );
    }

    #[test]
    fn cjson_numbers() {
        assert_eq!(print_number(21.5), "21.5");
        assert_eq!(print_number(5.0), "5");
        assert_eq!(print_number(-0.0), "-0");
        assert_eq!(print_number(1e10), "10000000000");
        assert_eq!(print_number(0.1), "0.1");
        assert_eq!(print_number(1.5e300), "1.5e+300");
        assert_eq!(print_number(1e-7), "1e-07");
        assert_eq!(
            print_number(12_345_678_901_234_567_890.0),
            "1.2345678901234567e+19"
        );
    }

    #[test]
    fn json_parse_rejects_what_cjson_rejects() {
        assert!(parse_json(b"notjson").is_none());
        assert!(parse_json(b"{\"a\":1,}").is_none());
        assert!(parse_json(b"1 2").is_none());
        assert!(parse_json(b"\"\\ud800\"").is_none());
        assert_eq!(parse_json(b" 5 "), Some(Json::Num(5.0)));
        assert_eq!(
            parse_json(br#""\u00e9""#),
            Some(Json::Str("é".as_bytes().to_vec()))
        );
    }

    #[test]
    fn verbose_and_plain_output() {
        let o = OutputOptions {
            verbose: true,
            eol: true,
            ..OutputOptions::default()
        };
        assert_eq!(render(&msg("a", b"x y"), &o).stdout, b"a x y\n");
        assert_eq!(render(&msg("a", b""), &o).stdout, b"a (null)\n");
        let plain = OutputOptions {
            eol: true,
            ..OutputOptions::default()
        };
        assert!(render(&msg("a", b""), &plain).stdout.is_empty());
    }

    #[test]
    fn escaped_json_payload() {
        let m = msg("g/b", b"\x01\x02a\"\xc3\xa9\t");
        let out = fmt(&m, "%j");
        assert!(
            out.ends_with(",\"payload\":\"\\u0001\\u0002a\\\"é\\t\"}\n"),
            "{out}"
        );
        let bad = render(
            &msg("t", b"nope"),
            &OutputOptions {
                format: Some("%J|".into()),
                eol: true,
                ..OutputOptions::default()
            },
        );
        assert_eq!(bad.stdout, b"|\n");
        assert_eq!(
            bad.stderr,
            vec!["Error: Message payload is not valid JSON on topic t.".to_string()]
        );
    }
}
