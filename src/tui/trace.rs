//! The client's own packet trace as the log pane shows it for a connection to another broker
//! (there is no embedded broker log for it): one [`TraceRow`] per packet the client sent or
//! received, with the `mosquitto_sub -d` line of [`crate::client::trace`], the time it arrived
//! and the packet's fields read back from that line (for the packet inspector and journeys).
//! [`TraceLog`] keeps the newest rows, bounded like the other histories.

use std::collections::VecDeque;
use std::time::SystemTime;

/// A move of the trace's cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// That many rows toward the oldest.
    Older(usize),
    /// That many rows toward the newest.
    Newer(usize),
    /// To the oldest row kept.
    Oldest,
    /// Back to following the newest row.
    Newest,
}

/// The width of the time the log pane puts before a row (`HH:MM:SS.mmm`).
const STAMP: usize = 12;

/// Which way a traced packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The client sent it to the broker.
    Sent,
    /// The client received it from the broker.
    Received,
}

/// One packet of the client trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRow {
    /// When the row reached the workbench.
    pub time: SystemTime,
    /// The `-d` line, for example `Client wb sending SUBSCRIBE (Mid: 1, Topic: #, QoS: 0,
    /// Options: 0x00)`.
    pub line: String,
    /// The client id the line names.
    pub client_id: String,
    /// Sent or received (`None` for a line that names no packet).
    pub direction: Option<Direction>,
    /// The control packet type (`CONNECT`, `PUBLISH`, …), empty when the line names none.
    pub packet: String,
    /// The packet's fields, under their names in the specification (`Packet Identifier`,
    /// `Topic Name`, `QoS`, …), in the order of the line.
    pub fields: Vec<(String, String)>,
    /// For a gap marker (no packet): the time of the last row before the gap. The trace is
    /// built only while its connection is shown, so packets in between were not traced.
    pub gap_since: Option<SystemTime>,
}

impl TraceRow {
    /// Reads a trace line into a row stamped `time`.
    #[must_use]
    pub fn new(time: SystemTime, line: String) -> Self {
        let (client_id, direction, packet, fields) = parse(&line);
        Self {
            time,
            client_id,
            direction,
            packet,
            fields,
            line,
            gap_since: None,
        }
    }

    /// The marker of a gap from `since` to `until` (the first row after it): the trace was
    /// off while its connection was not shown.
    #[must_use]
    pub fn gap(since: SystemTime, until: SystemTime) -> Self {
        Self {
            time: until,
            line: "packets in between were not traced: this connection was not shown".into(),
            client_id: String::new(),
            direction: None,
            packet: String::new(),
            fields: Vec::new(),
            gap_since: Some(since),
        }
    }

    /// The screen rows the log pane gives this row in `width` columns: the time, then the
    /// line (a gap marker's text with its own time) wrapped under it.
    #[must_use]
    pub fn screen_rows(&self, width: usize) -> usize {
        let text = match self.gap_since {
            Some(_) => format!("··· since HH:MM:SS.mmm: {} ···", self.line),
            None => self.line.clone(),
        };
        crate::tui::text::word_wrap(&text, width.saturating_sub(STAMP + 1).max(8)).len()
    }

    /// The value of field `name`, if the packet has it.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

type Parsed = (String, Option<Direction>, String, Vec<(String, String)>);

/// Splits `Client <id> sending|received <TYPE> (<args>)`.
fn parse(line: &str) -> Parsed {
    let Some(rest) = line.strip_prefix("Client ") else {
        return (String::new(), None, String::new(), Vec::new());
    };
    let found = [
        (" sending ", Direction::Sent),
        (" received ", Direction::Received),
    ]
    .into_iter()
    .filter_map(|(w, d)| rest.find(w).map(|i| (i, w.len(), d)))
    .min_by_key(|(i, _, _)| *i);
    let Some((i, len, direction)) = found else {
        return (String::new(), None, String::new(), Vec::new());
    };
    let id = rest[..i].to_owned();
    let after = &rest[i + len..];
    let (packet, args) = match after.split_once(' ') {
        Some((p, a)) => (p, a.trim()),
        None => (after, ""),
    };
    let args = args
        .strip_prefix('(')
        .and_then(|a| a.strip_suffix(')'))
        .unwrap_or(args);
    let fields = match packet {
        "PUBLISH" => publish_fields(args),
        "CONNACK" => vec![("Return Code".to_owned(), args.to_owned())],
        "DISCONNECT" if !args.is_empty() => vec![("Reason Code".to_owned(), args.to_owned())],
        _ => list_fields(args),
    };
    (id, Some(direction), packet.to_owned(), fields)
}

/// `d0, q1, r0, m1, 'topic', ... (4 bytes)`.
fn publish_fields(args: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (flags, rest) = args.split_once('\'').unwrap_or((args, ""));
    for f in flags.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let (name, v) = match f.split_at_checked(1) {
            Some(("d", v)) => ("DUP", v),
            Some(("q", v)) => ("QoS", v),
            Some(("r", v)) => ("RETAIN", v),
            Some(("m", v)) => ("Packet Identifier", v),
            _ => continue,
        };
        out.push((name.to_owned(), v.to_owned()));
    }
    // A QoS 0 PUBLISH has no Packet Identifier on the wire [MQTT311-2.3.1-5]; mosquitto's
    // `m0` is its placeholder, and a view never shows what was not sent.
    if out.iter().any(|(k, v)| k == "QoS" && v == "0") {
        out.retain(|(k, _)| k != "Packet Identifier");
    }
    if let Some((topic, tail)) = rest.rsplit_once("', ... (") {
        out.push(("Topic Name".to_owned(), topic.to_owned()));
        let bytes = tail.trim_end_matches(')').trim_end_matches(" bytes");
        out.push(("Payload length".to_owned(), bytes.to_owned()));
    }
    out
}

/// `Mid: 1, Topic: a/b, QoS: 2, Options: 0x00`, `Mid: 1, RC:0` or `m1, rc0`.
fn list_fields(args: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in args.split(", ").map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = match part.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None if part.starts_with("rc") => ("RC", &part[2..]),
            None if part.starts_with('m') => ("Mid", &part[1..]),
            None => continue,
        };
        let name = match k {
            "Mid" => "Packet Identifier",
            "Topic" => "Topic Filter",
            "RC" => "Reason Code",
            "Options" => "Subscription Options",
            other => other,
        };
        out.push((name.to_owned(), v.to_owned()));
    }
    out
}

/// The newest trace rows of one connection, at most `cap`.
#[derive(Debug, Clone)]
pub struct TraceLog {
    rows: VecDeque<TraceRow>,
    cap: usize,
    dropped: u64,
    hidden: bool,
    gap_pending: bool,
    /// The selected row by number (`None`: the newest, followed).
    cursor: Option<u64>,
    /// The bottom row shown by number (`None`: the newest).
    view: Option<u64>,
}

impl TraceLog {
    /// An empty trace of at most `cap` rows.
    #[must_use]
    pub fn new(cap: usize) -> Self {
        Self {
            rows: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
            hidden: false,
            gap_pending: false,
            cursor: None,
            view: None,
        }
    }

    /// The number of the row `pos` rows up from the newest.
    fn seq_at(&self, pos: usize) -> Option<u64> {
        let n = self.rows.len();
        (pos < n).then(|| self.dropped + (n - 1 - pos) as u64)
    }

    /// How far up from the newest row number `seq` is (a forgotten row: the oldest kept).
    fn pos_of(&self, seq: u64) -> usize {
        let n = self.rows.len();
        let idx = usize::try_from(seq.saturating_sub(self.dropped)).unwrap_or(usize::MAX);
        n.saturating_sub(1)
            .saturating_sub(idx.min(n.saturating_sub(1)))
    }

    /// The row `pos` rows up from the newest.
    #[must_use]
    pub fn from_newest(&self, pos: usize) -> Option<&TraceRow> {
        let n = self.rows.len();
        if pos >= n {
            return None;
        }
        self.rows.get(n - 1 - pos)
    }

    /// How far up from the newest the selected row is (0 while following the newest).
    #[must_use]
    pub fn cursor(&self) -> usize {
        self.cursor.map_or(0, |s| self.pos_of(s))
    }

    /// True while the newest row is followed.
    #[must_use]
    pub fn follow(&self) -> bool {
        self.cursor.is_none()
    }

    /// The selected row (`i` inspects it).
    #[must_use]
    pub fn selected(&self) -> Option<&TraceRow> {
        self.from_newest(self.cursor())
    }

    /// How far up from the newest the bottom row shown is.
    #[must_use]
    pub fn view_bottom(&self) -> usize {
        self.view.map_or(0, |s| self.pos_of(s)).min(self.cursor())
    }

    fn select(&mut self, pos: usize) {
        let pos = pos.min(self.rows.len().saturating_sub(1));
        self.cursor = if pos == 0 { None } else { self.seq_at(pos) };
    }

    /// Moves the cursor like the broker log's: a row or a page older or newer, the oldest
    /// row, or back to following the newest.
    pub fn update(&mut self, m: Move) {
        let pos = self.cursor();
        match m {
            Move::Older(n) => self.select(pos + n),
            Move::Newer(n) => self.select(pos.saturating_sub(n)),
            Move::Oldest => self.select(usize::MAX),
            Move::Newest => self.cursor = None,
        }
    }

    /// Scrolls a pane `height` rows high so that the selected row is in view, given the
    /// screen rows each trace row takes.
    pub fn prepare(&mut self, height: usize, rows: impl Fn(&TraceRow) -> usize) {
        if self.cursor.is_none() {
            self.view = None;
            return;
        }
        let cur = self.cursor();
        let mut vb = self.view_bottom();
        let row_of = |i: usize| self.from_newest(i).map_or(1, |r| rows(r).max(1));
        let mut used: usize = (vb..=cur).map(row_of).sum();
        while used > height.max(1) && vb < cur {
            used -= row_of(vb);
            vb += 1;
        }
        self.view = if vb == 0 { None } else { self.seq_at(vb) };
    }

    /// The connection is no longer shown: its trace stops being built.
    pub fn hide(&mut self) {
        self.hidden = true;
    }

    /// The connection is shown again: the next row is preceded by a gap marker (when there
    /// were rows before), as packets may have gone by untraced.
    pub fn show(&mut self) {
        if std::mem::take(&mut self.hidden) {
            self.gap_pending = !self.rows.is_empty();
        }
    }

    /// Keeps a row, forgetting the oldest when full.
    pub fn push(&mut self, row: TraceRow) {
        if std::mem::take(&mut self.gap_pending)
            && let Some(last) = self.rows.back().map(|r| r.time)
        {
            self.keep(TraceRow::gap(last, row.time));
        }
        self.keep(row);
    }

    fn keep(&mut self, row: TraceRow) {
        if self.rows.len() == self.cap {
            self.rows.pop_front();
            self.dropped += 1;
        }
        self.rows.push_back(row);
    }

    /// The kept rows, oldest first.
    pub fn rows(&self) -> impl DoubleEndedIterator<Item = &TraceRow> + ExactSizeIterator {
        self.rows.iter()
    }

    /// Rows kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows forgotten to stay within the cap.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::trace as t;
    use std::time::UNIX_EPOCH;

    fn row(line: String) -> TraceRow {
        TraceRow::new(UNIX_EPOCH, line)
    }

    #[test]
    fn every_trace_line_reads_back_into_its_fields() {
        let r = row(t::sending_publish("wb 1", false, 1, true, 7, "a, b/c", 4));
        assert_eq!(
            (r.client_id.as_str(), r.direction, r.packet.as_str()),
            ("wb 1", Some(Direction::Sent), "PUBLISH")
        );
        let want: Vec<(String, String)> = [
            ("DUP", "0"),
            ("QoS", "1"),
            ("RETAIN", "1"),
            ("Packet Identifier", "7"),
            ("Topic Name", "a, b/c"),
            ("Payload length", "4"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(r.fields, want);

        // QoS 0: no Packet Identifier on the wire, none in the fields.
        let r = row(t::received_publish("wb", false, 0, false, 0, "a/b", 2));
        assert_eq!(r.field("QoS"), Some("0"));
        assert_eq!(r.field("Packet Identifier"), None);
        assert_eq!(r.field("Topic Name"), Some("a/b"));

        let r = row(t::sending_subscribe("wb", 3, "plant/+/temp", 2, 0));
        assert_eq!(r.field("Packet Identifier"), Some("3"));
        assert_eq!(r.field("Topic Filter"), Some("plant/+/temp"));
        assert_eq!(r.field("QoS"), Some("2"));
        assert_eq!(r.field("Subscription Options"), Some("0x00"));

        let r = row(t::received_connack("wb", 5));
        assert_eq!(
            (r.direction, r.packet.as_str()),
            (Some(Direction::Received), "CONNACK")
        );
        assert_eq!(r.field("Return Code"), Some("5"));

        let r = row(t::received_puback("wb", 9, 16));
        assert_eq!(r.field("Packet Identifier"), Some("9"));
        assert_eq!(r.field("Reason Code"), Some("16"));
        let r = row(t::sending_puback("wb", 12, 0));
        assert_eq!(r.field("Packet Identifier"), Some("12"));
        assert_eq!(r.field("Reason Code"), Some("0"));

        let r = row(t::received_suback("wb"));
        assert_eq!((r.packet.as_str(), r.fields.len()), ("SUBACK", 0));
        let r = row(t::sending_connect("wb"));
        assert_eq!(
            (r.direction, r.packet.as_str()),
            (Some(Direction::Sent), "CONNECT")
        );
        let r = row(t::received_disconnect("wb", 142));
        assert_eq!(r.field("Reason Code"), Some("142"));
        let r = row("not a trace line".to_owned());
        assert_eq!((r.direction, r.packet.as_str()), (None, ""));
    }

    #[test]
    fn the_log_keeps_the_newest_rows() {
        let mut log = TraceLog::new(2);
        for i in 0..5u16 {
            log.push(row(t::sending_pubrel("wb", i)));
        }
        let ids: Vec<_> = log
            .rows()
            .filter_map(|r| r.field("Packet Identifier"))
            .collect();
        assert_eq!(ids, ["3", "4"]);
        assert_eq!(log.dropped(), 3);
    }

    #[test]
    fn a_trace_hidden_and_shown_again_marks_the_gap_once() {
        let at = |ms| UNIX_EPOCH + std::time::Duration::from_millis(ms);
        let mut log = TraceLog::new(10);
        log.push(TraceRow::new(at(100), t::sending_pingreq("wb")));
        log.hide();
        // A row already on its way while hidden is kept without a marker.
        log.push(TraceRow::new(at(200), t::received_pingresp("wb")));
        log.show();
        log.push(TraceRow::new(at(5_000), t::sending_pingreq("wb")));
        log.push(TraceRow::new(at(5_100), t::received_pingresp("wb")));
        let gaps: Vec<_> = log
            .rows()
            .filter_map(|r| r.gap_since.map(|s| (s, r.time)))
            .collect();
        assert_eq!(gaps, [(at(200), at(5_000))]);
        assert_eq!(log.len(), 5);
        // The cursor: g selects the oldest row, and it stays selected as rows come.
        log.update(Move::Oldest);
        assert_eq!(log.cursor(), 4);
        log.prepare(2, |_| 1);
        assert_eq!(log.view_bottom(), 3);
        log.push(TraceRow::new(at(5_200), t::sending_pingreq("wb")));
        assert_eq!(log.selected().map(|r| r.time), Some(at(100)));
        log.update(Move::Newer(1));
        assert_eq!(log.selected().map(|r| r.time), Some(at(200)));
        log.update(Move::Newest);
        assert!(log.follow());
        // Shown again without ever being hidden: no marker.
        log.show();
        log.push(TraceRow::new(at(6_000), t::sending_pingreq("wb")));
        assert_eq!(log.rows().filter(|r| r.gap_since.is_some()).count(), 1);
    }
}
