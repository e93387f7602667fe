//! Why a topic filter does or does not match a topic, level by level (MQTT311 §4.7, MQTT5 §4.7,
//! shared subscriptions MQTT5 §4.8.2). The verdict on a filter's validity is the broker's own
//! ([`crate::protocol::topic::parse_filter`]); the level walk is written out here so that every
//! step can be shown, and a property test checks it against the broker's matcher.

use std::fmt;

use crate::protocol::topic::{self, FilterError};

/// One step of the level-by-level comparison. Levels count from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The topic starts with `$` and the filter's first level is a wildcard.
    DollarTopic {
        /// The filter's first level (`+` or `#`).
        wildcard: String,
    },
    /// Both levels are the same string.
    Equal {
        /// Level number.
        level: usize,
        /// The level text (may be empty).
        text: String,
    },
    /// `+` took one topic level.
    Plus {
        /// Level number.
        level: usize,
        /// The topic level it matched (may be empty).
        topic: String,
    },
    /// `#` took this level and every one after it.
    Hash {
        /// Level number.
        level: usize,
        /// The rest of the topic from this level.
        rest: String,
    },
    /// `#` after the topic's last level: it also matches the parent (`sport/#` matches `sport`).
    HashParent {
        /// Level number of the `#`.
        level: usize,
    },
    /// The levels differ.
    Differ {
        /// Level number.
        level: usize,
        /// The filter's level.
        filter: String,
        /// The topic's level.
        topic: String,
    },
    /// The topic has no more levels, the filter has.
    TopicEnds {
        /// Level number.
        level: usize,
        /// The filter's level that found nothing.
        filter: String,
    },
    /// The filter has no more levels, the topic has.
    FilterEnds {
        /// Level number.
        level: usize,
        /// The rest of the topic from this level.
        rest: String,
    },
}

fn q(s: &str) -> String {
    if s.is_empty() {
        "'' (empty level)".to_owned()
    } else {
        format!("'{}'", s.escape_debug())
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DollarTopic { wildcard } => write!(
                f,
                "the topic starts with '$' and the filter starts with '{wildcard}': a wildcard \
                 in the first level never matches a '$' topic [MQTT311-4.7.2-1] [MQTT5-4.7.2-1]"
            ),
            Self::Equal { level, text } => write!(f, "level {level}: {} = {}", q(text), q(text)),
            Self::Plus { level, topic } => {
                write!(f, "level {level}: '+' matches one level, {}", q(topic))
            }
            Self::Hash { level, rest } => write!(
                f,
                "level {level}: '#' matches this level and all after it, {}",
                q(rest)
            ),
            Self::HashParent { level } => write!(
                f,
                "level {level}: '#' also matches the parent level: the topic ends just before \
                 it (MQTT311 §4.7.1.2, MQTT5 §4.7.1.2)"
            ),
            Self::Differ {
                level,
                filter,
                topic,
            } => {
                write!(f, "level {level}: {} differs from {}", q(filter), q(topic))?;
                if filter.to_lowercase() == topic.to_lowercase() {
                    write!(
                        f,
                        " (only in case: matching is case-sensitive [MQTT311-4.7.3-4])"
                    )?;
                }
                Ok(())
            }
            Self::TopicEnds { level, filter } => write!(
                f,
                "level {level}: the topic has no level {level}, the filter still wants {}",
                q(filter)
            ),
            Self::FilterEnds { level, rest } => write!(
                f,
                "level {level}: the filter ends, the topic goes on with {} (only '#' matches \
                 more levels)",
                q(rest)
            ),
        }
    }
}

/// Why a filter or topic cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// What is wrong, in plain words.
    pub reason: String,
    /// Version-tagged clauses.
    pub clauses: Vec<&'static str>,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.reason, self.clauses.join(" "))
    }
}

/// The explanation for one filter against one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The filter as given.
    pub filter: String,
    /// The share group of `$share/<group>/<filter>`.
    pub share_group: Option<String>,
    /// The filter compared with the topic (without a `$share/<group>/` prefix).
    pub compared: String,
    /// `Ok(true)` match, `Ok(false)` no match, `Err` an invalid filter.
    pub verdict: Result<bool, Invalid>,
    /// The comparison, level by level (empty for an invalid filter).
    pub steps: Vec<Step>,
}

impl Explanation {
    /// True when the filter is valid and matches.
    #[must_use]
    pub fn matches(&self) -> bool {
        matches!(self.verdict, Ok(true))
    }
}

/// Checks that `topic` can be published to: at least one character, no wildcard, no U+0000,
/// at most 65,535 bytes.
pub fn check_topic(topic: &str) -> Result<(), Invalid> {
    let bad = |reason: &str, clauses: Vec<&'static str>| {
        Err(Invalid {
            reason: reason.to_owned(),
            clauses,
        })
    };
    if topic.is_empty() {
        return bad(
            "a topic name must not be empty",
            vec!["[MQTT311-4.7.3-1]", "[MQTT5-4.7.3-1]"],
        );
    }
    if topic.contains(['+', '#']) {
        return bad(
            "a topic name must not contain the wildcards '+' or '#'",
            vec!["[MQTT311-4.7.1-1]", "[MQTT5-4.7.0-1]"],
        );
    }
    if topic.contains('\0') {
        return bad(
            "a topic name must not contain U+0000",
            vec!["[MQTT311-4.7.3-2]", "[MQTT5-4.7.3-2]"],
        );
    }
    if topic.len() > 65_535 {
        return bad(
            "a topic name must not be longer than 65,535 bytes",
            vec!["[MQTT311-4.7.3-3]", "MQTT5 §1.5.4"],
        );
    }
    Ok(())
}

fn invalid_filter(filter: &str, e: FilterError) -> Invalid {
    let level = |pred: &dyn Fn(&str) -> bool| {
        filter
            .split('/')
            .position(pred)
            .map_or(String::new(), |i| format!(" (level {})", i + 1))
    };
    let (reason, clauses) = match e {
        FilterError::Empty => (
            "a topic filter must not be empty".to_owned(),
            vec!["[MQTT311-4.7.3-1]", "[MQTT5-4.7.3-1]"],
        ),
        FilterError::MisplacedHash => (
            format!(
                "'#' must be alone in its level and the last level{}",
                level(&|l| l.contains('#'))
            ),
            vec!["[MQTT311-4.7.1-2]", "[MQTT5-4.7.1-1]"],
        ),
        FilterError::MisplacedPlus => (
            format!(
                "'+' must fill a whole level{}",
                level(&|l| l.contains('+') && l != "+")
            ),
            vec!["[MQTT311-4.7.1-3]", "[MQTT5-4.7.1-2]"],
        ),
        FilterError::BadShare => (
            "a shared subscription is '$share/<group>/<filter>': a group name of at least one \
             character without '/', '+' or '#', then a filter"
                .to_owned(),
            vec!["[MQTT5-4.8.2-1]", "[MQTT5-4.8.2-2]"],
        ),
    };
    Invalid { reason, clauses }
}

/// Explains whether `filter` matches `topic`. The topic should pass [`check_topic`] first.
#[must_use]
pub fn explain(topic: &str, filter: &str) -> Explanation {
    let mut ex = Explanation {
        filter: filter.to_owned(),
        share_group: None,
        compared: filter.to_owned(),
        verdict: Ok(false),
        steps: Vec::new(),
    };
    if filter.contains('\0') {
        ex.verdict = Err(Invalid {
            reason: "a topic filter must not contain U+0000".to_owned(),
            clauses: vec!["[MQTT311-4.7.3-2]", "[MQTT5-4.7.3-2]"],
        });
        return ex;
    }
    let parsed = match topic::parse_filter(filter) {
        Ok(p) => p,
        Err(e) => {
            ex.verdict = Err(invalid_filter(filter, e));
            return ex;
        }
    };
    ex.share_group = parsed.share_group.map(str::to_owned);
    ex.compared = parsed.filter.to_owned();
    let f: Vec<&str> = parsed.filter.split('/').collect();
    let t: Vec<&str> = topic.split('/').collect();
    if topic.starts_with('$') && (f[0] == "+" || f[0] == "#") {
        ex.steps.push(Step::DollarTopic {
            wildcard: f[0].to_owned(),
        });
        return ex;
    }
    let mut i = 0;
    let matched = loop {
        let level = i + 1;
        match (f.get(i).copied(), t.get(i).copied()) {
            (Some("#"), Some(_)) => {
                ex.steps.push(Step::Hash {
                    level,
                    rest: t[i..].join("/"),
                });
                break true;
            }
            (Some("#"), None) => {
                ex.steps.push(Step::HashParent { level });
                break true;
            }
            (Some("+"), Some(tl)) => ex.steps.push(Step::Plus {
                level,
                topic: tl.to_owned(),
            }),
            (Some(fl), Some(tl)) if fl == tl => ex.steps.push(Step::Equal {
                level,
                text: tl.to_owned(),
            }),
            (Some(fl), Some(tl)) => {
                ex.steps.push(Step::Differ {
                    level,
                    filter: fl.to_owned(),
                    topic: tl.to_owned(),
                });
                break false;
            }
            (Some(fl), None) => {
                ex.steps.push(Step::TopicEnds {
                    level,
                    filter: fl.to_owned(),
                });
                break false;
            }
            (None, Some(_)) => {
                ex.steps.push(Step::FilterEnds {
                    level,
                    rest: t[i..].join("/"),
                });
                break false;
            }
            (None, None) => break true,
        }
        i += 1;
    };
    ex.verdict = Ok(matched);
    ex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::router::subscriptions::Subscriptions;
    use crate::inspect::clause::is_known;
    use crate::protocol::SubscriptionOptions;

    #[test]
    fn levels_are_explained() {
        let e = explain("sport", "sport/#");
        assert!(e.matches());
        assert_eq!(e.steps.last(), Some(&Step::HashParent { level: 2 }));
        let e = explain("$SYS/uptime", "#");
        assert!(!e.matches());
        assert!(matches!(e.steps[0], Step::DollarTopic { .. }));
        let e = explain("a//c", "a/+/c");
        assert!(e.matches());
        assert_eq!(
            e.steps[1],
            Step::Plus {
                level: 2,
                topic: String::new()
            }
        );
        let e = explain("Sport", "sport");
        assert!(e.steps[0].to_string().contains("case-sensitive"));
        let e = explain("jobs/1", "$share/workers/jobs/+");
        assert!(e.matches());
        assert_eq!(e.share_group.as_deref(), Some("workers"));
        assert_eq!(e.compared, "jobs/+");
        let e = explain("a/b", "a/#/b");
        let Err(inv) = &e.verdict else {
            panic!("a/#/b is not a valid filter");
        };
        assert!(inv.reason.contains("level 2"), "{}", inv.reason);
    }

    #[test]
    fn invalid_inputs_cite_known_clauses() {
        for f in ["", "a/#/b", "a+", "$share/g", "$share//x", "a\0b"] {
            let Err(inv) = explain("a", f).verdict else {
                panic!("{f:?} accepted");
            };
            assert!(!inv.clauses.is_empty());
            assert!(inv.clauses.iter().all(|c| is_known(c)), "{inv}");
        }
        for t in ["", "a/+", "a/#", "a\0"] {
            let inv = check_topic(t)
                .err()
                .unwrap_or_else(|| panic!("{t:?} accepted"));
            assert!(inv.clauses.iter().all(|c| is_known(c)), "{inv}");
        }
    }

    proptest::proptest! {
        /// `match` agrees with the broker's own matcher (the reference function and the
        /// subscription tree the router delivers with), and with its filter validation.
        #[test]
        fn agrees_with_the_broker(
            topic in "[ab$/]{1,10}",
            filter in "(\\$share/[gab+]{0,2}/)?[ab+#$/]{0,8}",
        ) {
            proptest::prop_assume!(check_topic(&topic).is_ok());
            let e = explain(&topic, &filter);
            match topic::parse_filter(&filter) {
                Err(_) => proptest::prop_assert!(e.verdict.is_err()),
                Ok(p) => {
                    let reference = topic::matches(p.filter, &topic);
                    let mut subs = Subscriptions::default();
                    subs.insert(7, p.filter, SubscriptionOptions::default(), None);
                    let mut out = Vec::new();
                    subs.matches(&topic, &mut out);
                    proptest::prop_assert_eq!(e.verdict.as_ref().ok(), Some(&reference));
                    proptest::prop_assert_eq!(out.len() == 1, reference);
                    proptest::prop_assert_eq!(e.share_group.as_deref(), p.share_group);
                }
            }
        }
    }
}
