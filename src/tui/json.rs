//! A JSON pretty-printer that shows the document exactly as it was sent.
//!
//! It works on the token stream, never on a parsed map: object keys keep their order,
//! duplicate keys stay, numbers keep their text (`1.10`, a 30-digit integer) and strings keep
//! their escapes. Only whitespace between tokens changes. It checks the grammar of RFC 8259
//! as it goes and names the line and column of the first error. Nesting is tracked on an
//! explicit stack, so a deeply nested document cannot overflow the call stack.

/// Why a payload is not one JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// 1-based line of the offending byte.
    pub line: usize,
    /// 1-based column (in characters) of the offending byte.
    pub column: usize,
    /// What was expected or found.
    pub what: &'static str,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.what, self.line, self.column
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Object,
    Array,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (the document, an array element after a comma, a member value).
    Value,
    /// The first array element or `]`.
    ValueOrClose,
    /// The first member name or `}`.
    KeyOrClose,
    /// A member name (after a comma).
    Key,
    /// `:` after a member name.
    Colon,
    /// `,` or the closing bracket of the innermost container (or the end of the document).
    CommaOrClose,
}

const INDENT: &str = "  ";

/// Indentation stops growing at this depth so that a deeply nested document costs memory in
/// proportion to its size; deeper lines show their depth in front instead.
const MAX_INDENT: usize = 32;

fn indent(depth: usize) -> String {
    if depth <= MAX_INDENT {
        INDENT.repeat(depth)
    } else {
        format!("{}·{depth}· ", INDENT.repeat(MAX_INDENT))
    }
}

struct Printer<'a> {
    src: &'a str,
    pos: usize,
    lines: Vec<String>,
    cur: String,
    stack: Vec<(Open, usize)>,
}

impl Printer<'_> {
    fn error(&self, what: &'static str) -> JsonError {
        let before = &self.src[..self.pos.min(self.src.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        JsonError { line, column, what }
    }

    fn skip_ws(&mut self) {
        let b = self.src.as_bytes();
        while self.pos < b.len() && matches!(b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    /// Starts a new line for an element at the current depth.
    fn new_item(&mut self) {
        self.lines.push(std::mem::take(&mut self.cur));
        self.cur = indent(self.stack.len());
        if let Some(top) = self.stack.last_mut() {
            top.1 += 1;
        }
    }

    fn close(&mut self, bracket: char) {
        let (_, n) = self.stack.pop().unwrap_or((Open::Array, 0));
        if n > 0 {
            self.lines.push(std::mem::take(&mut self.cur));
            self.cur = indent(self.stack.len());
        }
        self.cur.push(bracket);
    }

    fn after_value(&self) -> Expect {
        Expect::CommaOrClose
    }

    /// Scans a string token starting at `"`; returns its raw text, escapes untouched.
    fn string(&mut self) -> Result<&str, JsonError> {
        let b = self.src.as_bytes();
        let start = self.pos;
        self.pos += 1;
        loop {
            match b.get(self.pos) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(&self.src[start..self.pos]);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match b.get(self.pos) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1;
                        }
                        Some(b'u') => {
                            let hex = b.get(self.pos + 1..self.pos + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.error("bad \\u escape"));
                            }
                            self.pos += 5;
                        }
                        _ => return Err(self.error("bad escape")),
                    }
                }
                Some(c) if *c < 0x20 => {
                    return Err(self.error("control character in string"));
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Scans a number token; returns its text exactly.
    fn number(&mut self) -> Result<&str, JsonError> {
        let b = self.src.as_bytes();
        let start = self.pos;
        let digits = |p: &mut usize| {
            let s = *p;
            while b.get(*p).is_some_and(u8::is_ascii_digit) {
                *p += 1;
            }
            *p - s
        };
        let mut p = self.pos;
        if b.get(p) == Some(&b'-') {
            p += 1;
        }
        match b.get(p) {
            Some(b'0') => p += 1,
            Some(b'1'..=b'9') => {
                digits(&mut p);
            }
            _ => {
                self.pos = p;
                return Err(self.error("expected a digit"));
            }
        }
        if b.get(p) == Some(&b'.') {
            p += 1;
            if digits(&mut p) == 0 {
                self.pos = p;
                return Err(self.error("expected a digit after '.'"));
            }
        }
        if matches!(b.get(p), Some(b'e' | b'E')) {
            p += 1;
            if matches!(b.get(p), Some(b'+' | b'-')) {
                p += 1;
            }
            if digits(&mut p) == 0 {
                self.pos = p;
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        self.pos = p;
        Ok(&self.src[start..p])
    }

    fn literal(&mut self) -> Result<&'static str, JsonError> {
        let rest = &self.src[self.pos..];
        for lit in ["true", "false", "null"] {
            if rest.starts_with(lit) {
                self.pos += lit.len();
                return Ok(lit);
            }
        }
        Err(self.error("expected a value"))
    }

    fn value(&mut self) -> Result<Expect, JsonError> {
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.cur.push('{');
                self.stack.push((Open::Object, 0));
                Ok(Expect::KeyOrClose)
            }
            Some(b'[') => {
                self.pos += 1;
                self.cur.push('[');
                self.stack.push((Open::Array, 0));
                Ok(Expect::ValueOrClose)
            }
            Some(b'"') => {
                let s = self.string()?.to_owned();
                self.cur.push_str(&s);
                Ok(self.after_value())
            }
            Some(b'-' | b'0'..=b'9') => {
                let s = self.number()?.to_owned();
                self.cur.push_str(&s);
                Ok(self.after_value())
            }
            Some(_) => {
                let s = self.literal()?;
                self.cur.push_str(s);
                Ok(self.after_value())
            }
            None => Err(self.error("unexpected end, expected a value")),
        }
    }

    fn run(mut self) -> Result<Vec<String>, JsonError> {
        let mut expect = Expect::Value;
        loop {
            self.skip_ws();
            let c = self.peek();
            expect = match expect {
                Expect::Value => {
                    if self.stack.last().is_some_and(|t| t.0 == Open::Array) {
                        self.new_item();
                    }
                    self.value()?
                }
                Expect::ValueOrClose => {
                    if c == Some(b']') {
                        self.pos += 1;
                        self.close(']');
                        Expect::CommaOrClose
                    } else {
                        self.new_item();
                        self.value()?
                    }
                }
                Expect::KeyOrClose | Expect::Key => {
                    if expect == Expect::KeyOrClose && c == Some(b'}') {
                        self.pos += 1;
                        self.close('}');
                        Expect::CommaOrClose
                    } else if c == Some(b'"') {
                        self.new_item();
                        let k = self.string()?.to_owned();
                        self.cur.push_str(&k);
                        Expect::Colon
                    } else {
                        return Err(self.error("expected a member name in double quotes"));
                    }
                }
                Expect::Colon => {
                    if c != Some(b':') {
                        return Err(self.error("expected ':'"));
                    }
                    self.pos += 1;
                    self.cur.push_str(": ");
                    Expect::Value
                }
                Expect::CommaOrClose => match (self.stack.last().map(|t| t.0), c) {
                    (None, None) => {
                        self.lines.push(self.cur);
                        return Ok(self.lines);
                    }
                    (None, Some(_)) => return Err(self.error("trailing characters")),
                    (Some(open), Some(b',')) => {
                        self.pos += 1;
                        self.cur.push(',');
                        if open == Open::Object {
                            Expect::Key
                        } else {
                            Expect::Value
                        }
                    }
                    (Some(Open::Object), Some(b'}')) => {
                        self.pos += 1;
                        self.close('}');
                        Expect::CommaOrClose
                    }
                    (Some(Open::Array), Some(b']')) => {
                        self.pos += 1;
                        self.close(']');
                        Expect::CommaOrClose
                    }
                    (Some(_), None) => return Err(self.error("unexpected end of the document")),
                    (Some(Open::Object), Some(_)) => return Err(self.error("expected ',' or '}'")),
                    (Some(Open::Array), Some(_)) => return Err(self.error("expected ',' or ']'")),
                },
            };
        }
    }
}

/// Pretty-prints one JSON document (two spaces a level), keeping every token's text.
///
/// # Errors
/// The first grammar error, with its line and column in `src`.
pub fn pretty(src: &str) -> Result<Vec<String>, JsonError> {
    Printer {
        src,
        pos: 0,
        lines: Vec::new(),
        cur: String::new(),
        stack: Vec::new(),
    }
    .run()
}

/// True when `src` is one JSON document.
#[must_use]
pub fn is_json(src: &str) -> bool {
    pretty(src).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_duplicates_number_text_and_escapes() {
        let src =
            r#"{"z":1.10,"a":123456789012345678901234567890,"z":"x\u00e9\n\/","e":1E+2,"n":-0.0}"#;
        let lines = pretty(src).expect("valid");
        assert_eq!(
            lines,
            [
                "{",
                r#"  "z": 1.10,"#,
                r#"  "a": 123456789012345678901234567890,"#,
                r#"  "z": "x\u00e9\n\/","#,
                r#"  "e": 1E+2,"#,
                r#"  "n": -0.0"#,
                "}",
            ]
        );
    }

    #[test]
    fn nests_and_keeps_empty_containers_on_one_line() {
        let lines = pretty(" [ {}, [], {\"a\": [true, null]} ] ").expect("valid");
        assert_eq!(
            lines,
            [
                "[",
                "  {},",
                "  [],",
                "  {",
                r#"    "a": ["#,
                "      true,",
                "      null",
                "    ]",
                "  }",
                "]",
            ]
        );
        assert_eq!(pretty("42").expect("scalar"), ["42"]);
        assert_eq!(pretty("\"s\"").expect("scalar"), ["\"s\""]);
    }

    #[test]
    fn rejects_what_is_not_one_document_with_the_place() {
        // (input, what, line, column)
        let cases: &[(&str, &str, usize, usize)] = &[
            (
                "{\"a\":1,}",
                "expected a member name in double quotes",
                1,
                8,
            ),
            ("[1,2", "unexpected end of the document", 1, 5),
            ("{\"a\" 1}", "expected ':'", 1, 6),
            ("[01]", "expected ',' or ']'", 1, 3),
            ("[1.]", "expected a digit after '.'", 1, 4),
            ("{}\n x", "trailing characters", 2, 2),
            ("\"a\tb\"", "control character in string", 1, 3),
            ("[\"\\x\"]", "bad escape", 1, 4),
            ("[tru]", "expected a value", 1, 2),
            ("", "unexpected end, expected a value", 1, 1),
            ("[1 2]", "expected ',' or ']'", 1, 4),
            ("{\"a\":1]", "expected ',' or '}'", 1, 7),
        ];
        for (src, what, line, column) in cases {
            let e = pretty(src).expect_err(src);
            assert_eq!(
                (e.what, e.line, e.column),
                (*what, *line, *column),
                "{src:?}"
            );
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let depth = 100_000;
        let src = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let lines = pretty(&src).expect("valid");
        assert_eq!(lines.len(), 2 * depth - 1);
        // Indentation stops growing; the depth is written out instead.
        assert_eq!(lines[40], format!("{}·40· [", "  ".repeat(MAX_INDENT)));
        assert!(lines.iter().all(|l| l.len() < 100));
    }
}
