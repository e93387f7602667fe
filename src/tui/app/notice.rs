//! The notice sub-model: the status bar's latest notice, which notices wait for an answer
//! (and are replaced when it comes, so the bar never shows a stale `subscribing…`), and the
//! recent errors in full for the error list.

use std::collections::VecDeque;
use std::time::SystemTime;

/// The most errors the list keeps.
const ERRORS_KEPT: usize = 50;

/// What a notice waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// The SUBACK for this filter.
    Subscribe(String),
    /// The end of a connection attempt (connected or failed).
    Connect,
}

/// The status bar's notice and the error list.
#[derive(Debug, Default)]
pub struct Notices {
    text: Option<String>,
    pending: Option<Pending>,
    errors: VecDeque<(SystemTime, String)>,
}

impl Notices {
    /// Notices starting with `text` (if any).
    #[must_use]
    pub fn new(text: Option<String>) -> Self {
        Self {
            text,
            ..Self::default()
        }
    }

    /// The notice to show.
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// What the notice waits for.
    #[must_use]
    pub fn pending(&self) -> Option<&Pending> {
        self.pending.as_ref()
    }

    /// Recent errors, oldest first, each in full.
    pub fn errors(&self) -> impl DoubleEndedIterator<Item = &(SystemTime, String)> {
        self.errors.iter()
    }

    /// Shows `text` until the next notice.
    pub fn say(&mut self, text: impl Into<String>) {
        self.text = Some(text.into());
        self.pending = None;
    }

    /// Shows `text` until `pending` is answered (or another notice comes).
    pub fn say_until(&mut self, text: impl Into<String>, pending: Pending) {
        self.text = Some(text.into());
        self.pending = Some(pending);
    }

    /// Shows an error and keeps it in full in the error list.
    pub fn error(&mut self, now: SystemTime, text: impl Into<String>) {
        let text = text.into();
        self.record(now, text.clone());
        self.say(text);
    }

    /// Keeps an error in full in the error list (something else shows it briefly).
    pub fn record(&mut self, now: SystemTime, text: String) {
        if self.errors.back().is_none_or(|(_, last)| *last != text) {
            if self.errors.len() == ERRORS_KEPT {
                self.errors.pop_front();
            }
            self.errors.push_back((now, text));
        }
    }

    /// A connection attempt ended: a notice that waited for it has said its piece (the
    /// status bar shows the connection state itself).
    pub fn connection_settled(&mut self) {
        if self.pending == Some(Pending::Connect) {
            self.text = None;
            self.pending = None;
        }
    }

    /// The SUBACK for `filter` came: a notice waiting for it now says how it went.
    pub fn suback(&mut self, filter: &str, granted: Option<u8>) {
        if self.pending.as_ref() == Some(&Pending::Subscribe(filter.to_owned())) {
            self.pending = None;
            if let Some(q) = granted {
                self.text = Some(format!("subscribed to '{filter}' (QoS {q} granted)"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn waiting_notices_are_replaced_by_their_answer_only() {
        let mut n = Notices::default();
        n.say_until(
            "subscribing to 'a/#' (QoS 1)",
            Pending::Subscribe("a/#".into()),
        );
        n.suback("other", Some(0));
        assert_eq!(n.text(), Some("subscribing to 'a/#' (QoS 1)"));
        n.suback("a/#", Some(1));
        assert_eq!(n.text(), Some("subscribed to 'a/#' (QoS 1 granted)"));
        assert_eq!(n.pending(), None);
        n.say_until("reconnecting to x", Pending::Connect);
        n.connection_settled();
        assert_eq!(n.text(), None);
        n.say("plain");
        n.connection_settled();
        assert_eq!(n.text(), Some("plain"));
    }

    #[test]
    fn errors_are_kept_in_full_and_bounded() {
        let mut n = Notices::default();
        let long = "x".repeat(500);
        n.error(UNIX_EPOCH, long.clone());
        n.error(UNIX_EPOCH, long.clone());
        assert_eq!(n.errors().count(), 1, "a repeat is kept once");
        for i in 0..100 {
            n.error(UNIX_EPOCH, format!("e{i}"));
        }
        assert_eq!(n.errors().count(), ERRORS_KEPT);
        assert_eq!(n.errors().next_back().map(|e| e.1.as_str()), Some("e99"));
        assert_eq!(n.text(), Some("e99"));
    }
}
