//! Topic names and topic filters (MQTT311 §4.7, MQTT5 §4.7): validation, shared-subscription
//! parsing and matching, with the rule that wildcards never match a leading `$`
//! [MQTT311-4.7.2-1] [MQTT5-4.7.2-1].
//!
//! [`TopicName`] and [`TopicFilter`] are the validated newtypes the client, the CLIs and the
//! profiles use. The broker's hot path uses the free functions ([`parse_filter`], [`matches`])
//! on borrowed strings, which the newtypes are built on.

use std::fmt;

/// Why a topic filter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Zero-length filter [MQTT311-4.7.3-1] [MQTT5-4.7.3-1].
    #[error("a topic filter must not be empty")]
    Empty,
    /// `#` not alone in its level or not the last level [MQTT311-4.7.1-2] [MQTT5-4.7.1-1].
    #[error("'#' must be the last level and alone in it")]
    MisplacedHash,
    /// `+` not alone in its level [MQTT311-4.7.1-3] [MQTT5-4.7.1-2].
    #[error("'+' must fill a whole level")]
    MisplacedPlus,
    /// `$share/` without a valid group name or filter (MQTT5 §4.8.2).
    #[error(
        "a shared subscription needs '$share/<group>/<filter>' with a group name without '+', '#' or '/'"
    )]
    BadShare,
}

/// Checks a topic filter's syntax.
///
/// # Errors
/// An empty filter or a misplaced wildcard.
pub fn validate_filter(filter: &str) -> Result<(), FilterError> {
    if filter.is_empty() {
        return Err(FilterError::Empty);
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err(FilterError::MisplacedHash);
        }
        if level.contains('+') && level != "+" {
            return Err(FilterError::MisplacedPlus);
        }
    }
    Ok(())
}

/// A filter split into its optional share group and the filter proper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedFilter<'a> {
    /// The share group of `$share/<group>/<filter>`.
    pub share_group: Option<&'a str>,
    /// The filter that topics are matched against.
    pub filter: &'a str,
}

impl fmt::Display for ParsedFilter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.share_group {
            Some(g) => write!(f, "$share/{g}/{}", self.filter),
            None => f.write_str(self.filter),
        }
    }
}

/// Validates a subscription filter and splits off a `$share/<group>/` prefix.
///
/// # Errors
/// An invalid filter, or a `$share` prefix without a group name or filter.
pub fn parse_filter(filter: &str) -> Result<ParsedFilter<'_>, FilterError> {
    if let Some(rest) = filter.strip_prefix("$share/") {
        let (group, inner) = rest.split_once('/').ok_or(FilterError::BadShare)?;
        if group.is_empty() || group.contains(['+', '#']) || inner.is_empty() {
            return Err(FilterError::BadShare);
        }
        validate_filter(inner)?;
        return Ok(ParsedFilter {
            share_group: Some(group),
            filter: inner,
        });
    }
    if filter == "$share" {
        return Err(FilterError::BadShare);
    }
    validate_filter(filter)?;
    Ok(ParsedFilter {
        share_group: None,
        filter,
    })
}

/// True when a valid `filter` matches the topic name `topic` (MQTT311 §4.7, MQTT5 §4.7).
///
/// Levels are compared exactly (case-sensitive, empty levels count [MQTT311-4.7.3-4]); `+` matches
/// one level, `#` the rest including the parent (`sport/#` matches `sport`). A filter whose
/// first level is a wildcard never matches a topic starting with `$` [MQTT311-4.7.2-1]. This walks
/// both strings once, without recursion or allocation.
#[must_use]
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(tl)) if fl == tl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Why a topic name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicNameError {
    /// Zero-length name [MQTT311-4.7.3-1] [MQTT5-4.7.3-1].
    #[error("a topic name must not be empty")]
    Empty,
    /// `+` or `#` in a name [MQTT311-4.7.1-1] [MQTT5-4.7.0-1].
    #[error("a topic name must not contain '+' or '#'")]
    Wildcard,
    /// U+0000 in a name [MQTT311-4.7.3-2] [MQTT5-4.7.3-2].
    #[error("a topic name must not contain the null character")]
    Null,
}

/// A Topic Name: the topic of a PUBLISH or a will, never a wildcard.
///
/// Holding one proves it is non-empty and has no `+`, `#` or U+0000.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicName(String);

impl TopicName {
    /// Validates `name` as a Topic Name.
    ///
    /// # Errors
    /// An empty name, a wildcard, or a null character.
    pub fn new(name: impl Into<String>) -> Result<Self, TopicNameError> {
        let name = name.into();
        Self::validate(&name)?;
        Ok(Self(name))
    }

    /// Checks a Topic Name without taking it.
    ///
    /// # Errors
    /// An empty name, a wildcard, or a null character.
    pub fn validate(name: &str) -> Result<(), TopicNameError> {
        if name.is_empty() {
            Err(TopicNameError::Empty)
        } else if name.contains(['+', '#']) {
            Err(TopicNameError::Wildcard)
        } else if name.contains('\0') {
            Err(TopicNameError::Null)
        } else {
            Ok(())
        }
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TopicName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A Topic Filter of a subscription, possibly shared (`$share/<group>/<filter>`, MQTT5 §4.8.2).
///
/// Holding one proves its wildcards are well placed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicFilter(String);

impl TopicFilter {
    /// Validates `filter` as a Topic Filter, accepting a `$share/<group>/` prefix.
    ///
    /// # Errors
    /// See [`parse_filter`].
    pub fn new(filter: impl Into<String>) -> Result<Self, FilterError> {
        let filter = filter.into();
        parse_filter(&filter)?;
        Ok(Self(filter))
    }

    /// The filter as written, including any `$share/<group>/` prefix.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The share group and the filter proper.
    #[must_use]
    pub fn parsed(&self) -> ParsedFilter<'_> {
        // Validated in `new`; an unshared reading is the safe fallback and never taken.
        parse_filter(&self.0).unwrap_or(ParsedFilter {
            share_group: None,
            filter: &self.0,
        })
    }

    /// True when this filter matches `topic`; for a shared filter, the filter after the group
    /// is matched.
    #[must_use]
    pub fn matches(&self, topic: &TopicName) -> bool {
        matches(self.parsed().filter, topic.as_str())
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TopicFilter {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_matching_table() {
        let cases = [
            ("sport/tennis/player1", "sport/#", true),
            ("sport", "sport/#", true), // MQTT311 §4.7.1.2
            ("sport/tennis", "sport/+", true),
            ("sport", "sport/+", false),
            ("sport/", "sport/+", true),
            ("/finance", "+/+", true), // MQTT311 §4.7.1.3
            ("/finance", "/+", true),
            ("/finance", "+", false),
            ("$SYS/broker/uptime", "#", false), // [MQTT311-4.7.2-1]
            ("$SYS/broker/uptime", "+/broker/uptime", false),
            ("$SYS/broker/uptime", "$SYS/#", true),
            ("a/b", "a/b", true),
            ("a/b", "A/b", false), // [MQTT311-4.7.3-4] case-sensitive
            ("a", "a/b", false),
            ("a/b/c", "a/+/c", true),
            ("a//c", "a/+/c", true),
        ];
        for (topic, filter, expected) in cases {
            assert_eq!(matches(filter, topic), expected, "{filter} vs {topic}");
        }
    }

    #[test]
    fn filter_syntax() {
        for ok in ["#", "+", "a/#", "+/+", "/+", "a/+/b", "$SYS/#", "a//b"] {
            assert_eq!(validate_filter(ok), Ok(()), "{ok}");
        }
        assert_eq!(validate_filter(""), Err(FilterError::Empty));
        assert_eq!(validate_filter("a/#/b"), Err(FilterError::MisplacedHash));
        assert_eq!(validate_filter("a#"), Err(FilterError::MisplacedHash));
        assert_eq!(validate_filter("a/b+"), Err(FilterError::MisplacedPlus));
        assert_eq!(validate_filter("+a"), Err(FilterError::MisplacedPlus));
    }

    #[test]
    fn shared_filters() {
        let p = parse_filter("$share/g1/jobs/#").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.share_group, Some("g1"));
        assert_eq!(p.filter, "jobs/#");
        assert_eq!(parse_filter("$share/g1"), Err(FilterError::BadShare));
        assert_eq!(parse_filter("$share//a"), Err(FilterError::BadShare));
        assert_eq!(parse_filter("$share/g+/a"), Err(FilterError::BadShare));
    }

    fn name(s: &str) -> TopicName {
        TopicName::new(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn filter(s: &str) -> TopicFilter {
        TopicFilter::new(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn topic_names() {
        assert_eq!(name("a/b").as_str(), "a/b");
        assert_eq!(name("/").to_string(), "/");
        assert_eq!(name("$SYS/x").into_string(), "$SYS/x");
        assert_eq!(TopicName::new(""), Err(TopicNameError::Empty));
        assert_eq!(TopicName::new("a/+"), Err(TopicNameError::Wildcard));
        assert_eq!(TopicName::new("a/#"), Err(TopicNameError::Wildcard));
        assert_eq!(TopicName::new("a\0b"), Err(TopicNameError::Null));
    }

    #[test]
    fn topic_filters_match_through_the_newtypes() {
        assert!(filter("sport/#").matches(&name("sport")));
        assert!(!filter("#").matches(&name("$SYS/broker/uptime"))); // [MQTT311-4.7.2-1]
        assert!(filter("$share/g/a/+").matches(&name("a/b")));
        assert_eq!(filter("$share/g/a/+").parsed().share_group, Some("g"));
        assert!(!filter("$share/g/a/+").matches(&name("$share/g/a/b")));
        assert_eq!(TopicFilter::new("a/#/b"), Err(FilterError::MisplacedHash));
        assert_eq!(TopicFilter::new("$share/g"), Err(FilterError::BadShare));
        assert_eq!(TopicFilter::new(""), Err(FilterError::Empty));
    }

    proptest::proptest! {
        #[test]
        fn matcher_agrees_with_a_naive_reference(
            topic in "[ab$/]{0,8}", filter in "[ab+#/]{1,8}"
        ) {
            proptest::prop_assume!(validate_filter(&filter).is_ok() && !topic.is_empty());
            let t: Vec<&str> = topic.split('/').collect();
            let fl: Vec<&str> = filter.split('/').collect();
            let mut expected = true;
            let mut i = 0;
            loop {
                if i < fl.len() && fl[i] == "#" { break; }
                if i == fl.len() || i == t.len() { expected = i == fl.len() && i == t.len(); break; }
                if fl[i] != "+" && fl[i] != t[i] { expected = false; break; }
                i += 1;
            }
            if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
                expected = false;
            }
            proptest::prop_assert_eq!(matches(&filter, &topic), expected);
        }
    }
}
