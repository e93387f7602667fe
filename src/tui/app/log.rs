//! The broker log sub-model: the log lines (a bounded ring), the client id filter, follow
//! mode and the scroll anchor, and the search.

use std::time::SystemTime;

use super::cmd::Cmd;
use crate::broker::{BrokerEvent, LogEntry};
use crate::tui::history::{Ring, SeqView, Weigh};

impl Weigh for LogEntry {
    fn weight(&self) -> usize {
        let extra = match &self.event {
            BrokerEvent::PublishReceived { topic, .. }
            | BrokerEvent::PublishSent { topic, .. }
            | BrokerEvent::PublishDenied { topic, .. } => topic.len(),
            BrokerEvent::SubscribeReceived { filters, .. } => {
                filters.iter().map(|(f, _)| f.len() + 32).sum()
            }
            BrokerEvent::UnsubscribeReceived { filters, .. } => {
                filters.iter().map(|f| f.len() + 24).sum()
            }
            BrokerEvent::Notice(s) | BrokerEvent::Warning(s) | BrokerEvent::Error(s) => s.len(),
            BrokerEvent::WillSpecified { topic, .. } => topic.len(),
            BrokerEvent::DisconnectedBecause { reason, .. } => reason.len(),
            _ => 0,
        };
        std::mem::size_of::<LogEntry>() + extra
    }
}

/// Why a search step found nothing to move to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchMiss {
    /// No search text was entered yet.
    NoSearch,
    /// The text is in no line in that direction.
    NotFound(String),
}

impl std::fmt::Display for SearchMiss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSearch => f.write_str("no search: press / first"),
            Self::NotFound(needle) => write!(f, "'{needle}' not found"),
        }
    }
}

/// The broker's log as the log pane shows it.
#[derive(Debug)]
pub struct BrokerLog {
    ring: Ring<LogEntry>,
    cap: usize,
    view: Option<SeqView>,
    filter: Option<String>,
    follow: bool,
    anchor: u64,
    search: Option<String>,
    lagged: u64,
}

impl BrokerLog {
    /// An empty log of at most `cap` lines and `max_bytes` bytes.
    #[must_use]
    pub fn new(cap: usize, max_bytes: usize) -> Self {
        Self {
            ring: Ring::new(cap, max_bytes),
            cap,
            view: None,
            filter: None,
            follow: true,
            anchor: 0,
            search: None,
            lagged: 0,
        }
    }

    /// Every kept line.
    #[must_use]
    pub fn ring(&self) -> &Ring<LogEntry> {
        &self.ring
    }

    /// The client id filter.
    #[must_use]
    pub fn filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// True while the newest line is followed.
    #[must_use]
    pub fn follow(&self) -> bool {
        self.follow
    }

    /// The search text.
    #[must_use]
    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }

    /// Lines the log reader missed.
    #[must_use]
    pub fn lagged(&self) -> u64 {
        self.lagged
    }

    /// Keeps a log line.
    pub fn push(&mut self, entry: LogEntry) {
        let keep = self
            .filter
            .as_deref()
            .is_none_or(|f| entry.event.client() == Some(f));
        let seq = self.ring.push(entry);
        let first = self.ring.first_seq();
        if let Some(v) = &mut self.view {
            if keep {
                v.push(seq, first);
            } else {
                v.prune(first);
            }
        }
        if !self.follow && self.anchor < first {
            self.anchor = first;
        }
    }

    /// The reader missed `n` lines: count them and show a gap line.
    pub fn push_lagged(&mut self, n: u64, now: SystemTime) {
        self.lagged += n;
        self.push(LogEntry {
            time: now,
            event: BrokerEvent::Lagged(n),
        });
    }

    /// Number of rows (after the client filter).
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.view {
            Some(v) => v.len(),
            None => self.ring.len(),
        }
    }

    /// True when no row is shown.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sequence number of row `i` counted from the newest.
    #[must_use]
    pub fn seq_from_newest(&self, i: usize) -> Option<u64> {
        match &self.view {
            Some(v) => v.from_newest(i),
            None => {
                let n = self.ring.len();
                (i < n).then(|| self.ring.end_seq() - 1 - i as u64)
            }
        }
    }

    /// Position from the newest of the bottom row shown (0 while following).
    #[must_use]
    pub fn bottom(&self) -> usize {
        if self.follow {
            return 0;
        }
        match &self.view {
            Some(v) => v.position_from_newest(self.anchor).unwrap_or(0),
            None => self
                .ring
                .end_seq()
                .saturating_sub(1)
                .saturating_sub(self.anchor)
                .try_into()
                .unwrap_or(0),
        }
    }

    fn set_bottom(&mut self, pos: usize) {
        let n = self.len();
        if n == 0 {
            return;
        }
        let pos = pos.min(n - 1);
        if pos == 0 {
            self.follow = true;
        } else if let Some(seq) = self.seq_from_newest(pos) {
            self.follow = false;
            self.anchor = seq;
        }
    }

    /// Scrolls or toggles follow mode; `page` rows a page.
    pub fn update(&mut self, cmd: Cmd, page: usize) {
        let pos = self.bottom();
        match cmd {
            Cmd::Up => self.set_bottom(pos + 1),
            Cmd::Down => self.set_bottom(pos.saturating_sub(1)),
            Cmd::PageUp => self.set_bottom(pos + page),
            Cmd::PageDown => self.set_bottom(pos.saturating_sub(page)),
            Cmd::Top => self.set_bottom(self.len().saturating_sub(1)),
            Cmd::Bottom => self.follow = true,
            Cmd::ToggleFollow => {
                if self.follow {
                    self.follow = false;
                    self.anchor = self.seq_from_newest(0).unwrap_or(0);
                } else {
                    self.follow = true;
                }
            }
            Cmd::ClearFilter => self.set_filter(None),
            _ => {}
        }
    }

    /// Shows only the lines of client `filter` (`None`: all lines), following the newest.
    pub fn set_filter(&mut self, filter: Option<String>) {
        match filter {
            None => {
                self.filter = None;
                self.view = None;
            }
            Some(f) => {
                let mut v = SeqView::new(self.cap);
                for (seq, e) in self.ring.iter() {
                    if e.event.client() == Some(f.as_str()) {
                        v.push(seq, 0);
                    }
                }
                self.filter = Some(f);
                self.view = Some(v);
            }
        }
        self.follow = true;
    }

    /// Sets the search text and shows its newest match (an empty text ends the search).
    pub fn set_search(&mut self, text: String) -> Result<(), SearchMiss> {
        if text.is_empty() {
            self.search = None;
            return Ok(());
        }
        self.search = Some(text.clone());
        // Start from the newest line so the first match is the newest one.
        let res = if self.row_contains(self.bottom(), &text) {
            self.set_bottom(self.bottom());
            Ok(())
        } else {
            self.search_step(true)
        };
        if self.follow
            && let Some(s) = self.seq_from_newest(0)
        {
            self.follow = false;
            self.anchor = s;
        }
        res
    }

    /// Moves to the next match of the search, older (`older`) or newer.
    pub fn search_step(&mut self, older: bool) -> Result<(), SearchMiss> {
        let Some(needle) = self.search.clone() else {
            return Err(SearchMiss::NoSearch);
        };
        let n = self.len();
        let start = self.bottom();
        let found = if older {
            (start + 1..n).find(|&i| self.row_contains(i, &needle))
        } else {
            (0..start).rev().find(|&i| self.row_contains(i, &needle))
        };
        match found {
            Some(i) => {
                self.set_bottom(i);
                Ok(())
            }
            None => Err(SearchMiss::NotFound(needle)),
        }
    }

    fn row_contains(&self, i: usize, needle: &str) -> bool {
        self.seq_from_newest(i)
            .and_then(|s| self.ring.get(s))
            .is_some_and(|e| e.event.to_string().contains(needle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::UNIX_EPOCH;

    /// Lines `note 0`..`note 5` (notices, no client) with `SubAckSent` lines of client `c` after
    /// `n1` and `n3`.
    fn log() -> BrokerLog {
        let mut l = BrokerLog::new(100, 1 << 20);
        for i in 0..6 {
            l.push(LogEntry {
                time: UNIX_EPOCH,
                event: BrokerEvent::Notice(format!("note {i}")),
            });
            if i == 1 || i == 3 {
                l.push(LogEntry {
                    time: UNIX_EPOCH,
                    event: BrokerEvent::SubAckSent(Arc::from("c")),
                });
            }
        }
        l
    }

    #[test]
    fn scrolling_leaves_and_bottom_resumes_follow_mode() {
        // (commands, follow, bottom)
        let cases: &[(&[Cmd], bool, usize)] = &[
            (&[], true, 0),
            (&[Cmd::Up], false, 1),
            (&[Cmd::Up, Cmd::Down], true, 0),
            (&[Cmd::PageUp], false, 3),
            (&[Cmd::Top], false, 7),
            (&[Cmd::Top, Cmd::Bottom], true, 0),
            (&[Cmd::ToggleFollow], false, 0),
            (&[Cmd::ToggleFollow, Cmd::ToggleFollow], true, 0),
        ];
        for (cmds, follow, bottom) in cases {
            let mut l = log();
            for c in *cmds {
                l.update(*c, 3);
            }
            assert_eq!((l.follow(), l.bottom()), (*follow, *bottom), "{cmds:?}");
        }
    }

    #[test]
    fn the_client_filter_keeps_that_clients_lines_also_when_new_ones_come() {
        let mut l = log();
        l.set_filter(Some("c".into()));
        assert_eq!(l.len(), 2);
        l.push(LogEntry {
            time: UNIX_EPOCH,
            event: BrokerEvent::SubAckSent(Arc::from("c")),
        });
        l.push(LogEntry {
            time: UNIX_EPOCH,
            event: BrokerEvent::SubAckSent(Arc::from("other")),
        });
        assert_eq!(l.len(), 3);
        l.update(Cmd::ClearFilter, 3);
        assert_eq!((l.filter(), l.len()), (None, 10));
    }

    #[test]
    fn search_walks_matches_and_names_a_miss() {
        let mut l = log();
        assert_eq!(l.search_step(true), Err(SearchMiss::NoSearch));
        assert_eq!(l.set_search("note".into()), Ok(()));
        assert_eq!(l.bottom(), 0, "the newest line matches");
        assert_eq!(l.search_step(true), Ok(()));
        assert_eq!(l.bottom(), 1);
        assert_eq!(l.search_step(true), Ok(()));
        assert_eq!(l.bottom(), 3, "the client line in between is skipped");
        assert_eq!(l.search_step(false), Ok(()));
        assert_eq!(l.bottom(), 1);
        assert_eq!(
            l.set_search("zz".into()),
            Err(SearchMiss::NotFound("zz".into()))
        );
        assert_eq!(l.search(), Some("zz"));
        assert_eq!(l.set_search(String::new()), Ok(()));
        assert_eq!(l.search(), None);
    }
}
