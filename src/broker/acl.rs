//! Topic access control from a mosquitto `acl_file`.
//!
//! ```text
//! topic read $SYS/#            # before any `user` line: anonymous clients
//! user alice
//! topic readwrite home/#       # alice
//! topic deny home/secret
//! pattern write devices/%c/#   # every client, %c = client id, %u = user name
//! ```
//!
//! As in mosquitto: with an ACL file everything not granted is denied; `deny` lines win over
//! grants; `read` is checked when a message is delivered (subscribing is always granted), `write`
//! when a client publishes (and for its will). Stricter than mosquitto (CVE-2017-7650): a
//! `pattern` never applies to a client whose id or user name contains `+`, `#` or `/`, since the
//! substitution could then reach other clients' topics.

use std::collections::HashMap;
use std::path::Path;

use crate::protocol::topic;

/// What a rule allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Receive messages.
    Read,
    /// Publish messages.
    Write,
    /// Both.
    ReadWrite,
    /// Neither, overriding grants.
    Deny,
}

impl Access {
    fn grants(self, wanted: Access) -> bool {
        matches!(
            (self, wanted),
            (Access::ReadWrite, _) | (Access::Read, Access::Read) | (Access::Write, Access::Write)
        )
    }
}

#[derive(Debug, Clone)]
struct Rule {
    access: Access,
    filter: String,
}

/// The parsed ACL file.
#[derive(Debug, Clone, Default)]
pub struct Acl {
    anonymous: Vec<Rule>,
    users: HashMap<String, Vec<Rule>>,
    patterns: Vec<Rule>,
}

/// An ACL file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AclError {
    /// Not readable.
    #[error("cannot read acl_file '{path}'")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is wrong.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: std::path::PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

fn parse_rule(rest: &str) -> Result<Rule, String> {
    let rest = rest.trim();
    let (access, filter) = match rest.split_once(char::is_whitespace) {
        Some(("read", f)) => (Access::Read, f),
        Some(("write", f)) => (Access::Write, f),
        Some(("readwrite", f)) => (Access::ReadWrite, f),
        Some(("deny", f)) => (Access::Deny, f),
        // The access word is optional (default readwrite) when the topic has no space.
        _ => (Access::ReadWrite, rest),
    };
    let filter = filter.trim();
    if filter.is_empty() {
        return Err("a topic rule needs a topic filter".into());
    }
    topic::validate_filter(filter).map_err(|e| format!("invalid topic filter '{filter}': {e}"))?;
    Ok(Rule {
        access,
        filter: filter.to_owned(),
    })
}

impl Acl {
    /// Reads an ACL file.
    pub fn load(path: &Path) -> Result<Self, AclError> {
        let text = std::fs::read_to_string(path).map_err(|source| AclError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|(line, message)| AclError::Line {
            path: path.to_owned(),
            line,
            message,
        })
    }

    /// Parses ACL text; an error carries the 1-based line.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut acl = Self::default();
        let mut user: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            match word {
                "user" => {
                    let name = rest.trim();
                    if name.is_empty() {
                        return Err((i + 1, "'user' needs a user name".into()));
                    }
                    user = Some(name.to_owned());
                }
                "topic" => {
                    let rule = parse_rule(rest).map_err(|m| (i + 1, m))?;
                    match &user {
                        Some(u) => acl.users.entry(u.clone()).or_default().push(rule),
                        None => acl.anonymous.push(rule),
                    }
                }
                "pattern" => acl.patterns.push(parse_rule(rest).map_err(|m| (i + 1, m))?),
                other => return Err((i + 1, format!("unknown ACL keyword '{other}'"))),
            }
        }
        Ok(acl)
    }

    /// True when a client (`username`, `client_id`) may `wanted` the topic `topic_name`.
    #[must_use]
    pub fn allows(
        &self,
        username: Option<&str>,
        client_id: &str,
        topic_name: &str,
        wanted: Access,
    ) -> bool {
        let own: &[Rule] = match username {
            Some(u) => self.users.get(u).map_or(&[], Vec::as_slice),
            None => &self.anonymous,
        };
        let unsafe_value = |v: &str| v.contains(['+', '#', '/']);
        let patterns = self.patterns.iter().filter_map(|r| {
            if unsafe_value(client_id)
                || (r.filter.contains("%u") && username.is_none_or(unsafe_value))
            {
                return None;
            }
            let f = r
                .filter
                .replace("%c", client_id)
                .replace("%u", username.unwrap_or_default());
            Some((r.access, f))
        });
        let rules: Vec<(Access, std::borrow::Cow<'_, str>)> = own
            .iter()
            .map(|r| (r.access, std::borrow::Cow::Borrowed(r.filter.as_str())))
            .chain(patterns.map(|(a, f)| (a, std::borrow::Cow::Owned(f))))
            .collect();
        let matching = |r: &&(Access, std::borrow::Cow<'_, str>)| topic::matches(&r.1, topic_name);
        if rules.iter().filter(matching).any(|r| r.0 == Access::Deny) {
            return false;
        }
        rules.iter().filter(matching).any(|r| r.0.grants(wanted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
topic read $SYS/#
topic read public/#
user bob
topic read home/#
user alice
topic readwrite home/#
topic deny home/secret
pattern write devices/%c/#
pattern readwrite users/%u/#
";

    #[test]
    fn grants_and_denials_like_mosquitto() {
        let acl = Acl::parse(FILE).expect("parse");
        assert!(acl.allows(None, "anon", "public/x", Access::Read));
        assert!(!acl.allows(None, "anon", "public/x", Access::Write));
        assert!(acl.allows(Some("bob"), "b1", "home/lamp", Access::Read));
        assert!(!acl.allows(Some("bob"), "b1", "home/lamp", Access::Write));
        assert!(acl.allows(Some("alice"), "a1", "home/lamp", Access::Write));
        assert!(
            !acl.allows(Some("alice"), "a1", "home/secret", Access::Read),
            "deny wins"
        );
        assert!(acl.allows(Some("bob"), "dev7", "devices/dev7/temp", Access::Write));
        assert!(!acl.allows(Some("bob"), "dev7", "devices/dev8/temp", Access::Write));
        assert!(acl.allows(Some("alice"), "x", "users/alice/inbox", Access::Read));
        // CVE-2017-7650: substituted values with wildcards or '/' never match.
        assert!(!acl.allows(Some("bob"), "dev7/#", "devices/dev7/#/x", Access::Write));
        assert!(!acl.allows(Some("a/b"), "x", "users/a/b/inbox", Access::Read));
        // No rule: denied.
        assert!(!acl.allows(Some("carol"), "c", "home/lamp", Access::Read));
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(
            Acl::parse("user alice\ntopic read a/#/b\n")
                .err()
                .map(|e| e.0),
            Some(2)
        );
        assert_eq!(Acl::parse("topik read a\n").err().map(|e| e.0), Some(1));
    }
}
