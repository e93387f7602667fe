//! What the `/` prompts of the topic tree and the message list understand: a topic filter (an
//! MQTT filter, a substring or a regex) and a payload search (a substring or a regex).
//!
//! The mode is chosen by the text itself, so one prompt serves all of them:
//! * `re:PATTERN` is a regular expression (the `regex` crate's syntax);
//! * text with a `+` or `#` level, or `mqtt:FILTER`, is an MQTT topic filter, matched by the
//!   broker's own matcher ([`crate::protocol::topic::matches`], so `$SYS` topics follow
//!   [MQTT311-4.7.2-1] as they do for a subscription);
//! * anything else is a plain substring (case-sensitive, as topics are).

use regex::Regex;
use regex::bytes::Regex as BytesRegex;

use crate::protocol::topic::{matches, parse_filter};

/// A filter over topic names.
#[derive(Debug, Clone)]
pub enum TopicFilter {
    /// An MQTT topic filter with `+` and `#` wildcards.
    Mqtt(String),
    /// Topics containing this text.
    Substring(String),
    /// Topics a regular expression finds a match in.
    Regex(Regex),
}

impl TopicFilter {
    /// Reads the prompt's text; `None` for an empty text (no filter), an error naming what is
    /// wrong with an invalid MQTT filter or regex.
    ///
    /// # Errors
    /// An invalid MQTT filter (e.g. `a/#/b`) or regular expression.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if let Some(re) = text.strip_prefix("re:") {
            // `re:` alone (a pattern not typed yet) is no filter, not one matching everything.
            if re.is_empty() {
                return Ok(None);
            }
            return Regex::new(re)
                .map(|r| Some(Self::Regex(r)))
                .map_err(|e| regex_error(re, &e));
        }
        if text == "mqtt:" {
            return Ok(None);
        }
        let mqtt = text.strip_prefix("mqtt:");
        let wild = text.split('/').any(|l| l == "+" || l == "#");
        if let Some(f) = mqtt.or(wild.then_some(text)) {
            return match parse_filter(f) {
                Ok(_) => Ok(Some(Self::Mqtt(f.to_owned()))),
                Err(e) => Err(format!("invalid MQTT filter '{f}': {e}")),
            };
        }
        Ok(Some(Self::Substring(text.to_owned())))
    }

    /// True when `topic` passes the filter.
    #[must_use]
    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Self::Mqtt(f) => matches(f, topic),
            Self::Substring(s) => topic.contains(s.as_str()),
            Self::Regex(r) => r.is_match(topic),
        }
    }

    /// The mode's name for titles: `mqtt`, `text` or `regex`.
    #[must_use]
    pub fn mode(&self) -> &'static str {
        match self {
            Self::Mqtt(_) => "mqtt",
            Self::Substring(_) => "text",
            Self::Regex(_) => "regex",
        }
    }

    /// The text as typed (without the `re:` / `mqtt:` prefix).
    #[must_use]
    pub fn text(&self) -> &str {
        match self {
            Self::Mqtt(s) | Self::Substring(s) => s,
            Self::Regex(r) => r.as_str(),
        }
    }
}

/// A search over payload bytes: a substring or (`re:`) a regular expression, run on the raw
/// bytes so that binary payloads are searched too.
#[derive(Debug, Clone)]
pub struct PayloadSearch {
    re: BytesRegex,
    regex: bool,
    text: String,
}

impl PayloadSearch {
    /// Reads the prompt's text; `None` for an empty text (no search).
    ///
    /// # Errors
    /// An invalid regular expression.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let (pattern, regex) = match trimmed.strip_prefix("re:") {
            Some("") => return Ok(None),
            Some(p) => (p.to_owned(), true),
            None => (regex::escape(text), false),
        };
        // Without Unicode mode `.` matches any byte and `\xff` the byte 0xFF, so binary
        // payloads can be searched too.
        let re = regex::bytes::RegexBuilder::new(&pattern)
            .unicode(false)
            .build()
            .map_err(|e| regex_error(&pattern, &e))?;
        Ok(Some(Self {
            re,
            regex,
            text: if regex { pattern } else { text.to_owned() },
        }))
    }

    /// True when the payload holds a match.
    #[must_use]
    pub fn matches(&self, payload: &[u8]) -> bool {
        self.re.is_match(payload)
    }

    /// `text` or `regex`.
    #[must_use]
    pub fn mode(&self) -> &'static str {
        if self.regex { "regex" } else { "text" }
    }

    /// The searched text or pattern.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// A regex error on one line for a prompt: the pattern and the parser's last line (the
/// `regex` crate's message spans several lines, with a caret under the place).
fn regex_error(pattern: &str, e: &regex::Error) -> String {
    let full = e.to_string();
    let why = full
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let why = why.strip_prefix("error: ").unwrap_or(why);
    format!("invalid regex '{pattern}': {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_chooses_the_mode_and_each_mode_matches_its_way() {
        // (typed, mode, topic, matches)
        let cases: &[(&str, &str, &str, bool)] = &[
            ("plant/+/temp", "mqtt", "plant/7/temp", true),
            ("plant/+/temp", "mqtt", "plant/7/temp/x", false),
            ("plant/#", "mqtt", "plant", true),
            ("#", "mqtt", "$SYS/broker/uptime", false),
            ("mqtt:plant/7/temp", "mqtt", "plant/7/temp", true),
            ("mqtt:plant/7", "mqtt", "plant/7/temp", false),
            ("temp", "text", "plant/7/temp", true),
            ("Temp", "text", "plant/7/temp", false),
            ("re:^plant/[0-9]+/t", "regex", "plant/42/temp", true),
            ("re:^plant/[0-9]+/t", "regex", "plant/x/temp", false),
        ];
        for (typed, mode, topic, hit) in cases {
            let f = TopicFilter::parse(typed).ok().flatten();
            let f = f.unwrap_or_else(|| panic!("{typed} parses"));
            assert_eq!(
                (f.mode(), f.matches(topic)),
                (*mode, *hit),
                "{typed} {topic}"
            );
        }
        assert!(TopicFilter::parse("  ").is_ok_and(|f| f.is_none()));
        let bad = TopicFilter::parse("a/#/b").err().unwrap_or_default();
        assert!(bad.starts_with("invalid MQTT filter 'a/#/b'"), "{bad}");
        let bad = TopicFilter::parse("re:([").err().unwrap_or_default();
        assert_eq!(bad, "invalid regex '([': unclosed character class");
        assert!(TopicFilter::parse("re:").is_ok_and(|f| f.is_none()));
        assert!(TopicFilter::parse("mqtt:").is_ok_and(|f| f.is_none()));
    }

    #[test]
    fn payload_search_finds_text_literally_and_bytes_by_regex() {
        let s = PayloadSearch::parse("a.b").ok().flatten();
        let s = s.unwrap_or_else(|| panic!("parses"));
        assert!(s.matches(b"xa.by") && !s.matches(b"axb"));
        assert_eq!(s.mode(), "text");
        let r = PayloadSearch::parse(r"re:\x00\xff").ok().flatten();
        let r = r.unwrap_or_else(|| panic!("parses"));
        assert!(r.matches(&[1, 0, 0xff, 2]) && !r.matches(b"text"));
        assert_eq!(r.mode(), "regex");
        assert!(PayloadSearch::parse("re:[").is_err());
    }
}
