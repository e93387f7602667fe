//! The broker log sub-model: the log lines (a bounded ring), the client id filter, follow
//! mode, the line cursor (the selected line, which `i`/Enter inspect and `M` leads back from)
//! and the scroll position that keeps it in view, and the search.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use super::cmd::Cmd;
use crate::broker::event::MessageNo;
use crate::broker::{BrokerEvent, LogEntry};
use crate::tui::history::{Ring, SeqView, Weigh};

impl Weigh for LogEntry {
    fn weight(&self) -> usize {
        let extra = match &self.event {
            BrokerEvent::PublishReceived { topic, .. }
            | BrokerEvent::PublishSent { topic, .. }
            | BrokerEvent::PublishDenied { topic, .. }
            | BrokerEvent::NotDelivered { topic, .. }
            | BrokerEvent::WillPublished { topic, .. } => topic.len(),
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

/// The width of the time the log pane puts before a line (`HH:MM:SS.mmm`).
const STAMP: usize = 12;

/// The screen rows the log pane gives an entry in `width` columns: each line of the event
/// wrapped after the time (as `widgets::broker_log::entry_lines` draws them).
#[must_use]
pub fn entry_rows(entry: &LogEntry, width: usize) -> usize {
    entry
        .event
        .to_string()
        .split('\n')
        .map(|l| {
            let l = l.replace('\t', "    ");
            crate::tui::text::word_wrap(&l, width.saturating_sub(STAMP + 1).max(8)).len()
        })
        .sum()
}

/// The screen rows of a why note under a line in `width` columns (as
/// `widgets::broker_log::why_lines` draws it).
#[must_use]
pub fn note_rows(note: &str, width: usize) -> usize {
    crate::tui::text::word_wrap(note, width.saturating_sub(STAMP + 3).max(8)).len()
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
    view_anchor: Option<u64>,
    search: Option<String>,
    lagged: u64,
    hide_pings: bool,
    clients: BTreeSet<Arc<str>>,
    last_connect: Option<Arc<str>>,
    journey: Option<MessageNo>,
}

/// The most client ids the filter prompt lists.
const CLIENTS_KEPT: usize = 10_000;

/// The client a line is about: its own client id or, for the will lines that follow a
/// connection (`No will message specified.`, `Will message specified …`), the client of that
/// connection.
fn owner<'a>(e: &'a LogEntry, last_connect: Option<&'a str>) -> Option<&'a str> {
    match &e.event {
        BrokerEvent::NoWill | BrokerEvent::WillSpecified { .. } => last_connect,
        ev => ev.client(),
    }
}

fn is_ping(e: &LogEntry) -> bool {
    matches!(
        e.event,
        BrokerEvent::PingReqReceived(_) | BrokerEvent::PingRespSent(_)
    )
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
            view_anchor: None,
            search: None,
            lagged: 0,
            hide_pings: false,
            clients: BTreeSet::new(),
            last_connect: None,
            journey: None,
        }
    }

    /// True while PINGREQ/PINGRESP lines are hidden.
    #[must_use]
    pub fn hide_pings(&self) -> bool {
        self.hide_pings
    }

    /// The client ids seen connecting, in order.
    pub fn clients(&self) -> impl Iterator<Item = &str> {
        self.clients.iter().map(|c| &**c)
    }

    /// True when a line passes the client filter (a substring of the client id, will lines
    /// included) and the PING toggle.
    fn shows(&self, e: &LogEntry, last_connect: Option<&str>) -> bool {
        if self.hide_pings && is_ping(e) {
            return false;
        }
        if self.journey.is_some_and(|n| e.tag.msg != n) {
            return false;
        }
        self.filter
            .as_deref()
            .is_none_or(|f| owner(e, last_connect).is_some_and(|c| c.contains(f)))
    }

    /// Scrolls a pane `height` rows high so that the selected line is in view, given the
    /// rows each line takes (`rows`: wrapped lines and why notes take more than one). Moving
    /// the cursor up scrolls only when it reaches the top row, so every kept line, the oldest
    /// included, can be selected and shown at any pane height.
    pub fn prepare(&mut self, height: usize, rows: impl Fn(&LogEntry) -> usize) {
        if self.follow {
            self.view_anchor = None;
            return;
        }
        let cur = self.bottom();
        let mut vb = self.view_bottom().min(cur);
        let row_of = |i: usize| {
            self.seq_from_newest(i)
                .and_then(|s| self.ring.get(s))
                .map_or(1, |e| rows(e).max(1))
        };
        let mut used: usize = (vb..=cur).map(row_of).sum();
        while used > height.max(1) && vb < cur {
            used -= row_of(vb);
            vb += 1;
        }
        self.view_anchor = if vb == 0 {
            None
        } else {
            self.seq_from_newest(vb)
        };
    }

    /// Position from the newest of the bottom row shown: the selected line or a newer one.
    #[must_use]
    pub fn view_bottom(&self) -> usize {
        if self.follow {
            return 0;
        }
        let Some(seq) = self.view_anchor else {
            return 0;
        };
        let pos = match &self.view {
            Some(v) => v.position_from_newest(seq),
            None => usize::try_from(self.ring.end_seq().saturating_sub(1).saturating_sub(seq)).ok(),
        };
        pos.unwrap_or(0).min(self.bottom())
    }

    /// Rebuilds the shown lines after the filter or the PING toggle changed.
    fn rebuild(&mut self) {
        if self.filter.is_none() && !self.hide_pings && self.journey.is_none() {
            self.view = None;
            return;
        }
        let mut v = SeqView::new(self.cap);
        let mut last: Option<Arc<str>> = None;
        for (seq, e) in self.ring.iter() {
            if self.shows(e, last.as_deref()) {
                v.push(seq, 0);
            }
            if let BrokerEvent::ClientConnected { client, .. } = &e.event {
                last = Some(client.clone());
            }
        }
        self.view = Some(v);
    }

    /// Shows or hides the PINGREQ/PINGRESP lines.
    pub fn toggle_pings(&mut self) {
        self.hide_pings = !self.hide_pings;
        self.rebuild();
        self.follow = true;
    }

    /// The message whose journey alone is shown (`J`).
    #[must_use]
    pub fn journey(&self) -> Option<MessageNo> {
        self.journey
    }

    /// Shows only the lines of journey `no` (`None`: every line), following the newest.
    pub fn set_journey(&mut self, no: Option<MessageNo>) {
        self.journey = no;
        self.rebuild();
        self.follow = true;
    }

    /// The journey of the selected line, or of the nearest journey line above it (at most
    /// `rows` rows up): where `M` leads back to the message.
    #[must_use]
    pub fn journey_near_bottom(&self, rows: usize) -> Option<MessageNo> {
        let bottom = self.bottom();
        (bottom..bottom + rows.max(1))
            .filter_map(|i| self.seq_from_newest(i))
            .filter_map(|s| self.ring.get(s))
            .map(|e| e.tag.msg)
            .find(|&n| n != 0)
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
        let keep = self.shows(&entry, self.last_connect.as_deref());
        if let BrokerEvent::ClientConnected { client, .. } = &entry.event {
            self.last_connect = Some(client.clone());
            if self.clients.len() < CLIENTS_KEPT {
                self.clients.insert(client.clone());
            }
        }
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
        self.push(LogEntry::new(now, BrokerEvent::Lagged(n)));
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

    /// Position from the newest of the selected line (0 while following: the cursor stays on
    /// the newest line).
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
            Cmd::TogglePings => self.toggle_pings(),
            _ => {}
        }
    }

    /// Shows only the lines of the clients whose id contains `filter`, their will lines
    /// included (`None`: all lines), following the newest.
    pub fn set_filter(&mut self, filter: Option<String>) {
        self.filter = filter;
        self.rebuild();
        self.follow = true;
    }

    /// Sets the search text and shows its newest match (an empty text ends the search).
    pub fn set_search(&mut self, text: String) -> Result<(), SearchMiss> {
        if text.is_empty() {
            self.search = None;
            return Ok(());
        }
        self.search = Some(text.clone());
        // Start from the newest line so the first match is the newest one, wherever the view
        // was scrolled to; a miss leaves the view where it was.
        let before = (self.follow, self.anchor);
        self.set_bottom(0);
        let res = if self.row_contains(0, &text) {
            Ok(())
        } else {
            self.search_step(true)
        };
        if res.is_err() {
            (self.follow, self.anchor) = before;
        }
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
            l.push(LogEntry::new(
                UNIX_EPOCH,
                BrokerEvent::Notice(format!("note {i}")),
            ));
            if i == 1 || i == 3 {
                l.push(LogEntry::new(
                    UNIX_EPOCH,
                    BrokerEvent::SubAckSent(Arc::from("c")),
                ));
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
        l.push(LogEntry::new(
            UNIX_EPOCH,
            BrokerEvent::SubAckSent(Arc::from("c")),
        ));
        l.push(LogEntry::new(
            UNIX_EPOCH,
            BrokerEvent::SubAckSent(Arc::from("other")),
        ));
        assert_eq!(l.len(), 3);
        l.update(Cmd::ClearFilter, 3);
        assert_eq!((l.filter(), l.len()), (None, 10));
    }

    fn entry(event: BrokerEvent) -> LogEntry {
        LogEntry::new(UNIX_EPOCH, event)
    }

    fn connected(client: &str) -> BrokerEvent {
        BrokerEvent::ClientConnected {
            peer: "127.0.0.1:1".parse().expect("addr"),
            client: Arc::from(client),
            protocol: 4,
            clean: true,
            keep_alive: 60,
            username: None,
        }
    }

    #[test]
    fn the_filter_matches_substrings_keeps_will_lines_and_lists_clients() {
        let mut l = BrokerLog::new(100, 1 << 20);
        l.push(entry(connected("sensor-17")));
        l.push(entry(BrokerEvent::NoWill));
        l.push(entry(connected("other")));
        l.push(entry(BrokerEvent::NoWill));
        l.push(entry(BrokerEvent::PingReqReceived(Arc::from("sensor-17"))));
        l.set_filter(Some("sensor".into()));
        // Connected, its will line and the PINGREQ; none of "other".
        assert_eq!(l.len(), 3);
        // New lines follow the same rules.
        l.push(entry(connected("sensor-18")));
        l.push(entry(BrokerEvent::NoWill));
        l.push(entry(connected("x")));
        l.push(entry(BrokerEvent::NoWill));
        assert_eq!(l.len(), 5);
        let clients: Vec<_> = l.clients().collect();
        assert_eq!(clients, ["other", "sensor-17", "sensor-18", "x"]);
        // The PING toggle hides PINGREQ/PINGRESP, with or without a filter.
        l.toggle_pings();
        assert_eq!(l.len(), 4);
        l.set_filter(None);
        assert_eq!(l.len(), 8);
        l.toggle_pings();
        assert_eq!(l.len(), 9);
    }

    #[test]
    fn the_cursor_reaches_the_oldest_line_and_the_view_follows_it() {
        // 8 one-row lines in a 4-row pane: Top selects the oldest line and shows it at the
        // top; moving down within the pane does not scroll.
        let mut l = log();
        l.update(Cmd::Top, 3);
        l.prepare(4, |_| 1);
        assert_eq!((l.bottom(), l.view_bottom()), (7, 4));
        l.update(Cmd::Up, 3);
        l.prepare(4, |_| 1);
        assert_eq!(
            (l.bottom(), l.view_bottom()),
            (7, 4),
            "no line above the oldest"
        );
        l.update(Cmd::Down, 3);
        l.prepare(4, |_| 1);
        assert_eq!((l.bottom(), l.view_bottom()), (6, 4), "the view stays");
        l.update(Cmd::Bottom, 3);
        l.prepare(4, |_| 1);
        assert_eq!((l.follow(), l.bottom(), l.view_bottom()), (true, 0, 0));
    }

    #[test]
    fn wrapped_lines_do_not_hide_the_oldest_lines() {
        // Every line takes 3 rows: a 4-row pane shows one whole line, and each of the 8 can
        // still be selected and is in view, down to the oldest one.
        let mut l = log();
        for pos in 1..8 {
            l.update(Cmd::Up, 3);
            l.prepare(4, |_| 3);
            assert_eq!((l.bottom(), l.view_bottom()), (pos, pos));
        }
        l.update(Cmd::PageUp, 3);
        l.prepare(4, |_| 3);
        assert_eq!(l.bottom(), 7);
        assert_eq!(l.seq_from_newest(l.bottom()), Some(l.ring().first_seq()));
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
        assert_eq!(l.bottom(), 1, "a miss leaves the view where it was");
        // A new search starts from the newest line, not from where the view is scrolled to:
        // from an older position, the newest match is still found.
        assert_eq!(l.set_search("note".into()), Ok(()));
        assert_eq!(l.search_step(true), Ok(()));
        assert_eq!(l.search_step(true), Ok(()));
        assert_eq!(l.bottom(), 3);
        assert_eq!(l.set_search("note".into()), Ok(()));
        assert_eq!(l.bottom(), 0, "found again at the newest line");
        assert_eq!(l.set_search(String::new()), Ok(()));
        assert_eq!(l.search(), None);
    }
}
