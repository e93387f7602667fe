//! Issue 12, the learning views, as one dialog ([`Learn`]): the packet inspector on a log line
//! (`i` or Enter in the log), the broker state view (`B`, [`super::state_view`]), "Why didn't
//! I receive it?" (`W`, [`super::why_view`]) and the concept pages (Tab in `?`). Each view's
//! text is built here as plain lines (the widgets colour them), so scrolling knows its end.
//!
//! # The packet inspector
//!
//! The raw bytes come from the embedded broker's capture ring ([`crate::broker::capture`]),
//! matched to the log line as [`super::learn_io`] describes ([`CaptureRequest`]). Before they are shown, the bytes
//! are checked against the log line (flags, topic, payload length); when they are gone or do
//! not agree, the view says so and shows the fields the log line carries. What it shows of
//! the bytes is exactly [`crate::inspect::render`], as `mqtt-workbench decode` prints it.

use std::time::{Duration, SystemTime};

use super::cmd::{Cmd, LearnCmd};
use super::learn_io::place_from_newest;
pub use super::learn_io::{
    CaptureRequest, IdMatch, LearnRequest, LearnResult, POLL_EVERY, next_poll,
};
use super::log::BrokerLog;
use super::prompt::Prompt;
use super::state_view::StateView;
use super::why_note::why_text;
use super::why_view::WhyView;
use crate::broker::capture::{Captured, Way};
use crate::broker::event::Why;
use crate::broker::{BrokerEvent, LogEntry};
use crate::inspect::{self, WhyKey, render};
use crate::tui::trace::{Direction, TraceLog};

/// The learning dialog: one of the views.
#[derive(Debug, Clone)]
pub enum Learn {
    /// The packet inspector.
    Packet(Box<PacketView>),
    /// The broker state view.
    State(StateView),
    /// "Why didn't I receive it?".
    Why(Box<WhyView>),
    /// The concept pages.
    Concepts(ConceptView),
    /// Why a view cannot show anything here.
    Note(NoteView),
    /// A row of the client trace (a connection to another broker): its fields only.
    TraceRow(NoteView),
}

/// A view that only says why it has nothing to show.
#[derive(Debug, Clone)]
pub struct NoteView {
    /// The text.
    pub lines: Vec<String>,
    /// First line shown.
    pub scroll: usize,
}

impl NoteView {
    fn new(text: &str) -> Self {
        Self {
            lines: render::wrap(text, "", 76)
                .lines()
                .map(str::to_owned)
                .collect(),
            scroll: 0,
        }
    }
}

/// True for the keys that open a view from inside another (`i`, `B`, `W`, `?`).
fn is_opening(cmd: Cmd) -> bool {
    matches!(
        cmd,
        Cmd::Learn(LearnCmd::Inspect | LearnCmd::State | LearnCmd::Why | LearnCmd::Concepts)
    )
}

/// The packet inspector.
#[derive(Debug, Clone)]
pub struct PacketView {
    /// The log line as the log pane shows it.
    pub line: String,
    /// When the broker logged it.
    pub time: SystemTime,
    /// The capture lookup, when the line is about a packet.
    pub request: Option<CaptureRequest>,
    /// The bytes found, with what the inspector reads in them.
    pub found: Option<(Captured, inspect::Inspection)>,
    /// Why the bytes are not shown (gone, no capture, not a packet, not matching).
    pub missing: Option<String>,
    /// The text shown.
    pub lines: Vec<String>,
    /// First line shown.
    pub scroll: usize,
    event: BrokerEvent,
    /// The note the broker attached to this line on the message's journey (exact, where
    /// [`event_why`] can only guess from the line's wording).
    tag_why: Option<Why>,
}

impl PacketView {
    /// The inspector on the log entry `seq`; the request to send, if any.
    #[must_use]
    pub fn open(log: &BrokerLog, seq: u64, entry: &LogEntry) -> (Self, Option<CaptureRequest>) {
        let request = CaptureRequest::of(&entry.event).map(|mut r| {
            r.newer = place_from_newest(log, seq, &r);
            r
        });
        let mut v = Self {
            line: entry.event.to_string(),
            time: entry.time,
            request: request.clone(),
            found: None,
            missing: None,
            lines: Vec::new(),
            scroll: 0,
            event: entry.event.clone(),
            tag_why: entry.tag.why,
        };
        if request.is_none() {
            v.missing = Some(
                "This log line is not about one packet, so there are no bytes to show.".into(),
            );
        }
        v.lines = v.text();
        (v, request)
    }

    /// The capture's answer.
    pub fn captured(&mut self, result: Result<Captured, String>) {
        match result {
            Ok(c) => {
                let i = inspect::inspect(&c.bytes, c.version);
                match agrees(&self.event, &c, &i) {
                    Ok(()) => self.found = Some((c, i)),
                    Err(why) => {
                        self.missing = Some(format!(
                            "the newest captured packet with this key does not agree with the \
                             log line ({why}), so it is not shown: its bytes are no longer kept"
                        ));
                    }
                }
            }
            Err(why) => self.missing = Some(why),
        }
        self.lines = self.text();
    }

    fn text(&self) -> Vec<String> {
        let mut out = vec![format!("Log line  {}", self.line.replace('\n', " / "))];
        match (&self.found, &self.missing) {
            (Some((c, i)), _) => {
                let way = match c.key.way {
                    Way::In => "received by the broker",
                    Way::Out => "sent by the broker",
                };
                out.push(format!(
                    "Bytes     {} of {} captured, {way}, capture #{}",
                    c.bytes.len(),
                    c.wire_len,
                    c.seq
                ));
                if c.is_cut() {
                    out.push(format!(
                        "          only the first {} bytes were kept: the rest of the packet \
                         is not shown, and the inspector reads it as cut short",
                        c.bytes.len()
                    ));
                }
                out.push(String::new());
                out.extend(render::render(i).lines().map(str::to_owned));
            }
            (None, Some(why)) => {
                out.push(String::new());
                out.extend(render::wrap(why, "", 76).lines().map(str::to_owned));
                // A section is drawn only with something in it: a start-up line carries
                // no fields, and the sentence above already says there is no packet.
                let fields = event_fields(&self.event);
                if !fields.is_empty() {
                    out.push(String::new());
                    out.push("Fields from the log line".into());
                    for (k, v) in fields {
                        out.push(format!("  {k:<24} {v}"));
                    }
                }
            }
            (None, None) => out.push("Looking for the captured bytes…".into()),
        }
        // The note the broker attached to this line says what happened here; without one,
        // the general notes the line's wording calls for, beyond those the bytes gave.
        if let Some(why) = self.tag_why {
            out.push(String::new());
            out.push("Why (the broker's note on this line)".into());
            out.extend(
                render::wrap_hanging(&format!("- {}", why_text(why)), "  ", "    ", 78)
                    .lines()
                    .map(str::to_owned),
            );
            return out;
        }
        let shown = self.found.as_ref().map_or(&[][..], |(_, i)| &i.why[..]);
        let extra: Vec<WhyKey> = event_why(&self.event)
            .into_iter()
            .filter(|k| !shown.contains(k))
            .collect();
        if !extra.is_empty() {
            out.push(String::new());
            out.push("Why (from the log line)".into());
            for k in extra {
                let n = k.note();
                let text = format!("- {}: {} {}", n.title, n.text, n.clauses.join(" "));
                out.extend(
                    render::wrap_hanging(&text, "  ", "    ", 78)
                        .lines()
                        .map(str::to_owned),
                );
            }
        }
        out
    }
}

/// The why notes ([`crate::inspect::why`]) a log line calls for on its own.
#[must_use]
pub fn event_why(event: &BrokerEvent) -> Vec<WhyKey> {
    use BrokerEvent as E;
    let mut out = Vec::new();
    match event {
        E::PublishReceived { flags, topic, .. } | E::PublishSent { flags, topic, .. } => {
            if topic.starts_with('$') {
                out.push(WhyKey::DollarTopics);
            }
            if flags.retain {
                out.push(WhyKey::RetainLiveVsSubscribe);
            }
        }
        E::DisconnectReceived(_) => out.push(WhyKey::WillDiscarded),
        E::MessagesDropped(_) => out.push(WhyKey::QueueFull),
        _ => {}
    }
    out
}

/// Checks the captured bytes against what the log line says.
fn agrees(event: &BrokerEvent, c: &Captured, i: &inspect::Inspection) -> Result<(), String> {
    use BrokerEvent as E;
    let field = |name: &str| i.fields.iter().find(|f| f.name == name);
    match event {
        E::PublishReceived {
            flags, topic, len, ..
        }
        | E::PublishSent {
            flags, topic, len, ..
        }
        | E::PublishDenied {
            flags, topic, len, ..
        } => {
            let first = c.bytes.first().copied().unwrap_or(0);
            let (dup, qos, retain) = (first & 8 != 0, (first >> 1) & 3, first & 1 != 0);
            if (dup, qos, retain) != (flags.dup, flags.qos, flags.retain) {
                return Err(format!(
                    "flags d{} q{qos} r{}",
                    u8::from(dup),
                    u8::from(retain)
                ));
            }
            if let Some(t) = field("Topic Name")
                && t.span.len > 2
                && !t
                    .value
                    .starts_with(&format!("\"{}\" (", topic.escape_debug()))
            {
                return Err(format!("topic {}", t.value));
            }
            if !c.is_cut()
                && let Some(p) = field("Payload")
                && p.span.len != *len
            {
                return Err(format!("payload of {} bytes", p.span.len));
            }
            Ok(())
        }
        E::ClientConnected { client, .. } => match field("Client Identifier") {
            Some(f) if f.span.len > 2 && !f.value.contains(&**client) => {
                Err(format!("client id {}", f.value))
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The fields a log line carries, for when the bytes are gone.
fn event_fields(event: &BrokerEvent) -> Vec<(&'static str, String)> {
    use BrokerEvent as E;
    let mut out = Vec::new();
    if let Some(c) = event.client() {
        out.push(("Client", c.to_owned()));
    }
    match event {
        E::PublishReceived {
            flags, topic, len, ..
        }
        | E::PublishSent {
            flags, topic, len, ..
        }
        | E::PublishDenied {
            flags, topic, len, ..
        } => {
            out.push(("DUP", u8::from(flags.dup).to_string()));
            out.push(("QoS", flags.qos.to_string()));
            out.push(("RETAIN", u8::from(flags.retain).to_string()));
            if flags.qos > 0 {
                out.push(("Packet Identifier", flags.pkid.to_string()));
            }
            out.push(("Topic Name", format!("'{topic}'")));
            out.push(("Payload", format!("{len} bytes")));
        }
        E::PubAckSent { pkid, rc, .. } | E::PubAckReceived { pkid, rc, .. } => {
            out.push(("Packet Identifier", pkid.to_string()));
            out.push(("Reason Code", format!("0x{rc:02X}")));
        }
        E::PubRecSent { pkid, .. }
        | E::PubRecReceived { pkid, .. }
        | E::PubRelSent { pkid, .. }
        | E::PubRelReceived { pkid, .. }
        | E::PubCompSent { pkid, .. }
        | E::PubCompReceived { pkid, .. } => {
            out.push(("Packet Identifier", pkid.to_string()));
        }
        E::SubscribeReceived { filters, .. } => {
            for (f, q) in filters {
                out.push(("Topic Filter", format!("'{f}' QoS {q}")));
            }
        }
        E::ClientConnected {
            protocol,
            clean,
            keep_alive,
            username,
            ..
        } => {
            out.push(("Protocol", protocol.to_string()));
            out.push(("Clean Session / Start", u8::from(*clean).to_string()));
            out.push(("Keep Alive", format!("{keep_alive} s")));
            if let Some(u) = username {
                out.push(("User Name", format!("'{u}'")));
            }
        }
        E::ConnAckSent {
            session_present,
            code,
            ..
        } => {
            out.push(("Session Present", u8::from(*session_present).to_string()));
            out.push(("Return / Reason Code", code.to_string()));
        }
        _ => {}
    }
    out
}

/// The concept pages (`?`, then Tab): one page per concept, kept as text under
/// `assets/concepts/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConceptView {
    /// Which page.
    pub page: usize,
    /// First line shown.
    pub scroll: usize,
}

/// The concept pages: (file name, text). Each names the view and key that shows it.
pub const CONCEPTS: [(&str, &str); 7] = [
    (
        "topics.md",
        include_str!("../../../assets/concepts/topics.md"),
    ),
    ("qos.md", include_str!("../../../assets/concepts/qos.md")),
    (
        "retain.md",
        include_str!("../../../assets/concepts/retain.md"),
    ),
    ("will.md", include_str!("../../../assets/concepts/will.md")),
    (
        "sessions.md",
        include_str!("../../../assets/concepts/sessions.md"),
    ),
    (
        "keep-alive.md",
        include_str!("../../../assets/concepts/keep-alive.md"),
    ),
    (
        "mqtt5-properties.md",
        include_str!("../../../assets/concepts/mqtt5-properties.md"),
    ),
];

impl ConceptView {
    /// The page's title (its first line, without `# `).
    #[must_use]
    pub fn title(&self) -> &'static str {
        concept_text(self.page)
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches('#')
            .trim()
    }

    /// The page's lines after the title.
    #[must_use]
    pub fn lines(&self) -> Vec<&'static str> {
        concept_text(self.page).lines().skip(1).collect()
    }
}

fn concept_text(page: usize) -> &'static str {
    CONCEPTS.get(page).map_or("", |(_, t)| *t)
}

/// What the app knows that a learning view needs when it opens.
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    /// The broker log.
    pub log: &'a BrokerLog,
    /// The selected topic, if any.
    pub topic: Option<&'a str>,
    /// The client pane's client id ("you").
    pub you: &'a str,
    /// True when an embedded broker runs (state and capture need it).
    pub embedded: bool,
    /// The client trace the log pane shows instead of the broker log (a connection to
    /// another broker): `i` inspects its rows.
    pub trace: Option<&'a TraceLog>,
    /// Where the client pane connects (`host:port` or a profile's URL).
    pub link_address: &'a str,
    /// The embedded broker's `host:port`, when one runs.
    pub broker_addr: Option<&'a str>,
}

impl<'a> Opening<'a> {
    /// What a view needs from the log, the selection, the client pane and the broker status.
    #[must_use]
    pub fn new(
        log: &'a BrokerLog,
        topic: Option<&'a str>,
        link: &'a super::link::Link,
        broker: &'a super::broker::BrokerStatus,
    ) -> Self {
        Self {
            log,
            topic,
            you: link.client_id(),
            embedded: broker.addr().is_some(),
            trace: None,
            link_address: link.address(),
            broker_addr: broker.addr(),
        }
    }

    /// The embedded broker's address when the client pane connects to it (also through a
    /// profile that names its host and port).
    #[must_use]
    pub fn own_broker(&self) -> Option<&'a str> {
        self.broker_addr
            .filter(|b| super::own_broker::is_own_broker(self.link_address, b))
    }

    /// The same, with the client trace the log pane shows (if it shows one).
    #[must_use]
    pub fn with_trace(self, trace: Option<&'a TraceLog>) -> Self {
        Self { trace, ..self }
    }
}

/// The inspector on the selected row of the client trace: the fields the row carries, and
/// plainly that there are no bytes to show; `own` is the embedded broker's address when the
/// connection goes to it (a profile pointing at the workbench's own broker).
fn trace_view(trace: &TraceLog, own: Option<&str>) -> Learn {
    let Some(row) = trace.selected() else {
        return Learn::Note(NoteView::new(
            "The client trace is empty: there is no packet to inspect yet.",
        ));
    };
    if row.gap_since.is_some() {
        return Learn::Note(NoteView::new(
            "This line marks packets that were not traced while the connection was not \
             shown: there is no packet to inspect here.",
        ));
    }
    let mut lines = vec![
        row.line.clone(),
        String::new(),
        format!(
            "{} {} by client '{}'",
            row.packet,
            match row.direction {
                Some(Direction::Sent) => "sent",
                Some(Direction::Received) => "received",
                None => "seen",
            },
            row.client_id
        ),
    ];
    // A section is drawn only with something in it.
    if row.fields.is_empty() {
        lines.push("The line carries no packet fields.".into());
    } else {
        lines.push(String::new());
        lines.push("Fields from the trace line".into());
        for (k, v) in &row.fields {
            lines.push(format!("  {k:<22} {v}"));
        }
    }
    lines.push(String::new());
    let note = match own {
        // A profile pointing at the embedded broker: the broker saw these packets too.
        Some(addr) => format!(
            "Only the fields are shown here: this is the client's own trace. The connection \
             goes to the workbench's own broker ({addr}), which captured the packet's bytes: \
             the broker log (the embedded connection, {{ to switch) has its line, where i \
             shows them."
        ),
        None => "Only the fields are shown: this connection goes to another broker, and the \
                 raw bytes are captured only by the workbench's own broker, so its packets' \
                 bytes are not kept."
            .to_owned(),
    };
    lines.extend(render::wrap(&note, "", 76).lines().map(str::to_owned));
    Learn::TraceRow(NoteView { lines, scroll: 0 })
}

impl Learn {
    /// Opens the view a key asks for, with the request it sends first. A view that cannot
    /// work (no embedded broker, an empty log) opens and says why.
    #[must_use]
    pub fn open(cmd: LearnCmd, at: Opening<'_>) -> (Self, Option<LearnRequest>) {
        let note = |text: &str| (Self::Note(NoteView::new(text)), None);
        match cmd {
            LearnCmd::Inspect if at.trace.is_some() => (
                at.trace.map_or_else(
                    || Self::Note(NoteView::new("")),
                    |t| trace_view(t, at.own_broker()),
                ),
                None,
            ),
            LearnCmd::Inspect => {
                let Some(seq) = at.log.seq_from_newest(at.log.bottom()) else {
                    return note("The log is empty: there is no line to inspect yet.");
                };
                let Some(entry) = at.log.ring().get(seq) else {
                    return note("That log line is no longer kept.");
                };
                let (mut v, req) = PacketView::open(at.log, seq, entry);
                let mut ask = None;
                if let Some(r) = req {
                    if at.embedded {
                        ask = Some(LearnRequest::Capture(r));
                    } else {
                        v.captured(Err("no embedded broker in this session: raw bytes are \
                                        captured only by the workbench's own broker"
                            .into()));
                    }
                }
                (Self::Packet(Box::new(v)), ask)
            }
            LearnCmd::State | LearnCmd::Why if !at.embedded => note(
                "The broker state and \"why didn't I receive it?\" need the embedded broker: \
                 this session has none (started with -h, -L, --profile or --no-broker).",
            ),
            LearnCmd::State => {
                let v = StateView::new(at.you, next_poll());
                let req = v.request(Duration::ZERO);
                (Self::State(v), Some(req))
            }
            LearnCmd::Why => {
                let v = WhyView::new(at.you, at.topic, next_poll());
                let req = v.request(Duration::ZERO);
                (Self::Why(Box::new(v)), Some(req))
            }
            LearnCmd::Concepts | LearnCmd::Edit | LearnCmd::NextPage | LearnCmd::PrevPage => {
                (Self::Concepts(ConceptView { page: 0, scroll: 0 }), None)
            }
        }
    }

    /// A learning-view key: with no view open (`open` is `None`) it opens one; inside a view,
    /// `i`, `B`, `W` and `?` open another and every other key is the view's. Returns the view
    /// now open (`None`: closed) and the request to send.
    #[must_use]
    pub fn key(
        open: Option<Box<Self>>,
        cmd: Cmd,
        at: Opening<'_>,
        page: usize,
    ) -> (Option<Box<Self>>, Option<LearnRequest>) {
        let typing = open.as_ref().is_some_and(|v| v.typing());
        match (open, cmd) {
            (Some(v), cmd) if typing || !is_opening(cmd) => {
                let (v, ask) = v.update(cmd, page);
                (v.map(Box::new), ask)
            }
            (_, Cmd::Learn(c)) => {
                let (v, ask) = Self::open(c, at);
                (Some(Box::new(v)), ask)
            }
            (_, _) => (None, None),
        }
    }

    /// True while "Why didn't I receive it?" takes a typed topic.
    #[must_use]
    pub fn typing(&self) -> bool {
        matches!(self, Self::Why(w) if w.prompt().is_some())
    }

    /// The number of text lines, for scrolling.
    fn line_count(&self) -> usize {
        match self {
            Self::Note(v) | Self::TraceRow(v) => v.lines.len(),
            Self::Packet(v) => v.lines.len(),
            Self::State(v) => v.lines().len(),
            Self::Why(v) => v.lines().len(),
            Self::Concepts(c) => c.lines().len(),
        }
    }

    fn scroll_mut(&mut self) -> &mut usize {
        match self {
            Self::Note(v) | Self::TraceRow(v) => &mut v.scroll,
            Self::Packet(v) => &mut v.scroll,
            Self::State(v) => &mut v.scroll,
            Self::Why(v) => &mut v.scroll,
            Self::Concepts(c) => &mut c.scroll,
        }
    }

    /// First line shown.
    #[must_use]
    pub fn scroll(&self) -> usize {
        match self {
            Self::Note(v) | Self::TraceRow(v) => v.scroll,
            Self::Packet(v) => v.scroll,
            Self::State(v) => v.scroll,
            Self::Why(v) => v.scroll,
            Self::Concepts(c) => c.scroll,
        }
    }

    /// A key inside the dialog: `None` closes it.
    pub fn update(mut self, cmd: Cmd, page: usize) -> (Option<Self>, Option<LearnRequest>) {
        if let Self::Why(w) = &mut self
            && w.prompt().is_some()
        {
            let req = w.on_prompt(cmd);
            return (Some(self), req);
        }
        let page = page.max(1);
        let max = self.line_count().saturating_sub(1);
        let pos = *self.scroll_mut();
        let next = match cmd {
            Cmd::Up => pos.saturating_sub(1),
            Cmd::Down => (pos + 1).min(max),
            Cmd::PageUp => pos.saturating_sub(page),
            Cmd::PageDown => (pos + page).min(max),
            Cmd::Top => 0,
            Cmd::Bottom => max,
            Cmd::Learn(LearnCmd::Edit) => {
                if let Self::Why(w) = &mut self {
                    w.edit();
                }
                pos
            }
            Cmd::Learn(c @ (LearnCmd::NextPage | LearnCmd::PrevPage)) => {
                if let Self::Concepts(v) = &mut self {
                    let n = CONCEPTS.len();
                    v.page = if c == LearnCmd::NextPage {
                        (v.page + 1) % n
                    } else {
                        (v.page + n - 1) % n
                    };
                }
                0
            }
            _ => return (None, None),
        };
        *self.scroll_mut() = next;
        (Some(self), None)
    }

    /// A typed key (the why view's topic field).
    pub fn input(&mut self, input: ratatui_textarea::Input) {
        if let Self::Why(w) = self {
            w.input(input);
        }
    }

    /// Pasted text (the why view's topic field).
    pub fn paste(&mut self, text: &str) {
        if let Self::Why(w) = self {
            w.paste(text);
        }
    }

    /// An answer from the run loop; returns the next poll, if the view still wants one.
    pub fn result(&mut self, r: LearnResult, log: &BrokerLog) -> Option<LearnRequest> {
        match (self, r) {
            (Self::Packet(v), LearnResult::Captured(c)) => {
                v.captured(c);
                None
            }
            (Self::State(v), LearnResult::State(poll, s)) if poll == v.poll => {
                v.set_state(s.map(|b| *b), log);
                Some(v.request(POLL_EVERY))
            }
            (Self::Why(v), LearnResult::State(poll, s)) if poll == v.poll => {
                v.set_state(s.map(|b| *b));
                Some(v.request(POLL_EVERY))
            }
            _ => None,
        }
    }
}

/// The prompt of "Why didn't I receive it?", for the keymap.
#[must_use]
pub fn why_prompt(l: &Learn) -> Option<&Prompt> {
    match l {
        Learn::Why(w) => w.prompt(),
        _ => None,
    }
}
