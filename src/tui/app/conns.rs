//! Several connections in one workbench: the embedded broker's and any profiles', each with
//! its own link, topic tree, message history and client trace.
//!
//! The active connection's [`Topics`], [`Messages`] and [`Link`] live in the `App` fields the
//! panes already use; the others are parked here and swapped in by [`Conns::activate`], so a
//! switch moves data and never loses it. Events of a parked connection still land in its own
//! history ([`Conns::on_parked_event`]), bounded like the active one's.

use std::sync::Arc;
use std::time::SystemTime;

use super::cmd::Cmd;
use super::link::{ConnectTo, Link, LinkOutcome, Target};
use super::messages::Messages;
pub use super::msg::ConnId;
use super::msg::{Effect, Limits};
use super::rate::unix_secs;
use super::topics::Topics;
use crate::tui::client_link::LinkEvent;
use crate::tui::decode::Decoders;
use crate::tui::trace::{TraceLog, TraceRow};

/// Why the embedded broker's connection cannot be opened.
pub const NO_EMBEDDED: &str = "no embedded broker in this session (started with -h, -L or \
    --no-broker; add --port to run one)";

/// Trace rows kept per connection.
pub const TRACE_ROWS: usize = 10_000;

/// The data of a connection that is not shown.
#[derive(Debug)]
struct Parked {
    topics: Topics,
    messages: Messages,
    link: Link,
}

/// One connection.
#[derive(Debug)]
struct Slot {
    id: ConnId,
    /// `None` for the active connection (its data is in the `App` fields).
    parked: Option<Parked>,
    trace: TraceLog,
    /// Whether its client trace is built (connections to another broker).
    traced: bool,
    decoders: Option<Arc<Decoders>>,
    /// Messages received while it was not shown.
    unseen: u64,
}

/// One row of the connections list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnRow {
    /// The connection's id.
    pub id: ConnId,
    /// Its name: `embedded`, the profile's name or the address.
    pub name: String,
    /// Where it connects.
    pub address: String,
    /// `connected`, `connecting` or why it is down.
    pub state: String,
    /// Messages in its history.
    pub messages: usize,
    /// Topics in its tree.
    pub topics: usize,
    /// Messages that arrived while it was not shown.
    pub unseen: u64,
    /// True for the shown one.
    pub active: bool,
}

/// What a key in the connections list asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOutcome {
    /// Keep the list open at this row.
    Stay(usize),
    /// Show this connection and close the list.
    Switch(ConnId),
    /// This connection was closed (never the shown one): stop its link.
    Close(ConnId),
    /// Close the list.
    Done,
}

/// Every connection of the workbench.
#[derive(Debug)]
pub struct Conns {
    slots: Vec<Slot>,
    active: ConnId,
    next_id: ConnId,
    limits: Limits,
    default_client_id: String,
}

/// The client id connection `conn` uses when its profile sets none: the workbench's own id
/// for the first connection and `<id>-<conn>` for the others, so two connections to one
/// broker never take each other over ([MQTT311-3.1.4-2], [MQTT5-3.1.4-3]).
#[must_use]
pub fn client_id_for(base: &str, conn: ConnId) -> String {
    if conn == 0 {
        base.to_owned()
    } else {
        format!("{base}-{conn}")
    }
}

/// The name a connection is listed under.
#[must_use]
pub fn name_of(link: &Link) -> String {
    match link.target() {
        Target::Embedded => "embedded".to_owned(),
        Target::Remote => link.address().to_owned(),
        Target::Profile(p) => p.clone(),
    }
}

fn state_text(link: &Link) -> String {
    match link.state() {
        super::link::ClientState::Connected => "connected".to_owned(),
        super::link::ClientState::Connecting => "connecting".to_owned(),
        super::link::ClientState::Disconnected(why) => format!("down: {why}"),
    }
}

impl Conns {
    /// One connection, id 0, active, whose data is in the `App` fields; `traced` when it
    /// goes to another broker.
    #[must_use]
    pub fn new(limits: Limits, default_client_id: String, traced: bool) -> Self {
        Self {
            slots: vec![Slot {
                id: 0,
                parked: None,
                trace: TraceLog::new(TRACE_ROWS),
                traced,
                decoders: None,
                unseen: 0,
            }],
            active: 0,
            next_id: 1,
            limits,
            default_client_id,
        }
    }

    /// The shown connection.
    #[must_use]
    pub fn active(&self) -> ConnId {
        self.active
    }

    /// How many connections there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Never true: there is always the active connection.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Position of the active connection in the list.
    #[must_use]
    pub fn active_index(&self) -> usize {
        self.index(self.active).unwrap_or(0)
    }

    fn index(&self, id: ConnId) -> Option<usize> {
        self.slots.iter().position(|s| s.id == id)
    }

    fn slot_mut(&mut self, id: ConnId) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.id == id)
    }

    /// The client trace of the active connection when the log pane shows it instead of the
    /// embedded broker's log (a connection to another broker).
    #[must_use]
    pub fn shown_trace(&self) -> Option<&TraceLog> {
        self.slots
            .iter()
            .find(|s| s.id == self.active && s.traced)
            .map(|s| &s.trace)
    }

    /// The shown client trace, to move its cursor.
    pub fn shown_trace_mut(&mut self) -> Option<&mut TraceLog> {
        let active = self.active;
        self.slots
            .iter_mut()
            .find(|s| s.id == active && s.traced)
            .map(|s| &mut s.trace)
    }

    /// The decoders of the active connection (from its profile).
    #[must_use]
    pub fn decoders(&self) -> Option<&Arc<Decoders>> {
        self.slots
            .iter()
            .find(|s| s.id == self.active)
            .and_then(|s| s.decoders.as_ref())
    }

    /// Whether connection `id` builds a client trace.
    #[must_use]
    pub fn traced(&self, id: ConnId) -> bool {
        self.slots.iter().any(|s| s.id == id && s.traced)
    }

    /// The list rows; the active one's counts come from the shown data.
    #[must_use]
    pub fn rows(&self, topics: &Topics, messages: &Messages, link: &Link) -> Vec<ConnRow> {
        self.slots
            .iter()
            .map(|s| {
                let (t, m, l) = match &s.parked {
                    Some(p) => (&p.topics, &p.messages, &p.link),
                    None => (topics, messages, link),
                };
                ConnRow {
                    id: s.id,
                    name: name_of(l),
                    address: l.address().to_owned(),
                    state: state_text(l),
                    messages: m.ring().len(),
                    topics: t.count(),
                    unseen: s.unseen,
                    active: s.id == self.active,
                }
            })
            .collect()
    }

    /// The connection already pointed at `to`, if any.
    #[must_use]
    pub fn find(&self, to: &ConnectTo, shown: &Link) -> Option<ConnId> {
        self.slots.iter().find_map(|s| {
            let link = s.parked.as_ref().map_or(shown, |p| &p.link);
            let same = match (to, link.target()) {
                (ConnectTo::Embedded, Target::Embedded) => true,
                (ConnectTo::Profile { profile, .. }, Target::Profile(n)) => profile.name == *n,
                _ => false,
            };
            same.then_some(s.id)
        })
    }

    /// Shows connection `id`: the shown data is parked and `id`'s moves into the fields.
    /// Returns false (and changes nothing) for an unknown id.
    pub fn activate(
        &mut self,
        id: ConnId,
        topics: &mut Topics,
        messages: &mut Messages,
        link: &mut Link,
    ) -> bool {
        if id == self.active {
            return true;
        }
        let Some(to) = self.index(id) else {
            return false;
        };
        let Some(mut incoming) = self.slots[to].parked.take() else {
            return false;
        };
        std::mem::swap(topics, &mut incoming.topics);
        std::mem::swap(messages, &mut incoming.messages);
        std::mem::swap(link, &mut incoming.link);
        let old = self.active;
        if let Some(s) = self.slot_mut(old) {
            s.parked = Some(incoming);
            s.trace.hide();
        }
        self.slots[to].trace.show();
        self.slots[to].unseen = 0;
        self.active = id;
        messages.set_decoders(self.slots[to].decoders.clone());
        true
    }

    /// Shows connection `id` like [`Conns::activate`]; returns the notice that says which
    /// it is, or `None` for an unknown id.
    pub fn show(
        &mut self,
        id: ConnId,
        topics: &mut Topics,
        messages: &mut Messages,
        link: &mut Link,
    ) -> Option<String> {
        self.activate(id, topics, messages, link).then(|| {
            let (i, n) = (self.active_index() + 1, self.slots.len());
            format!("connection {i}/{n}: {}", name_of(link))
        })
    }

    /// Why `profile` must not open a new connection: its explicit client id is the one a
    /// connection of this workbench already uses at the same address, and the broker would
    /// close one for the other, again and again ([MQTT311-3.1.4-2], [MQTT5-3.1.4-3]).
    #[must_use]
    pub fn client_id_clash(
        &self,
        profile: &crate::profile::Profile,
        shown: &Link,
    ) -> Option<String> {
        let id = profile.client_id.as_deref()?;
        let address = profile.base_options().map_or_else(
            |_| profile.address(),
            |o| crate::profile::options_address(&o),
        );
        self.slots.iter().find_map(|s| {
            let link = s.parked.as_ref().map_or(shown, |p| &p.link);
            (link.client_id() == id && link.address() == address).then(|| {
                format!(
                    "not connecting '{}': connection '{}' already uses client id '{id}' at \
                     {address}; the broker would close one for the other \
                     ([MQTT311-3.1.4-2]); give the profile another client id",
                    profile.name,
                    name_of(link)
                )
            })
        })
    }

    /// Opens a new connection with empty data and shows it; the caller points its link.
    /// Returns its id.
    pub fn open(
        &mut self,
        traced: bool,
        topics: &mut Topics,
        messages: &mut Messages,
        link: &mut Link,
    ) -> ConnId {
        let id = self.next_id;
        self.next_id += 1;
        let l = self.limits;
        self.slots.push(Slot {
            id,
            parked: Some(Parked {
                topics: Topics::new(l.topics),
                messages: Messages::new(l.messages, l.message_bytes),
                link: Link::new(
                    String::new(),
                    client_id_for(&self.default_client_id, id),
                    Target::Remote,
                    &[],
                    l.publish_history,
                ),
            }),
            trace: TraceLog::new(TRACE_ROWS),
            traced,
            decoders: None,
            unseen: 0,
        });
        self.activate(id, topics, messages, link);
        id
    }

    /// Forgets a parked connection (the caller stops its link). The shown one stays.
    pub fn close(&mut self, id: ConnId) -> bool {
        if id == self.active {
            return false;
        }
        let before = self.slots.len();
        self.slots.retain(|s| s.id != id);
        before != self.slots.len()
    }

    /// The id of the connection `step` places after (or before) the shown one, cycling.
    #[must_use]
    pub fn neighbour(&self, forward: bool) -> ConnId {
        let n = self.slots.len();
        let i = self.active_index();
        let j = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.slots[j].id
    }

    /// Sets whether connection `id` builds a client trace (on a new target).
    pub fn set_traced(&mut self, id: ConnId, traced: bool) {
        if let Some(s) = self.slot_mut(id) {
            s.traced = traced;
        }
    }

    /// Keeps a trace row of connection `id`.
    pub fn push_trace(&mut self, id: ConnId, row: TraceRow) {
        if let Some(s) = self.slot_mut(id) {
            s.trace.push(row);
        }
    }

    /// Sets the payload decoders of connection `id`.
    pub fn set_decoders(&mut self, id: ConnId, decoders: Arc<Decoders>, shown: &mut Messages) {
        let active = self.active;
        if let Some(s) = self.slot_mut(id) {
            s.decoders = Some(decoders.clone());
            match &mut s.parked {
                Some(p) => p.messages.set_decoders(Some(decoders)),
                None if id == active => shown.set_decoders(Some(decoders)),
                None => {}
            }
        }
    }

    /// The embedded broker's log says a sender published `topic` with Retain (`len` bytes):
    /// when the embedded broker's connection is parked, its tree and history note it and
    /// this returns true; otherwise the shown data is the caller's to note.
    pub fn note_retained(&mut self, topic: &str, len: usize) -> bool {
        let parked = self.slots.iter_mut().filter_map(|s| s.parked.as_mut());
        for p in parked {
            if *p.link.target() == Target::Embedded {
                p.messages.note_retained_publish(topic, len);
                p.topics.set_retained(topic, len > 0);
                return true;
            }
        }
        false
    }

    /// An event of a parked connection: its messages go to its own history, its link state
    /// changes, and what it asks for comes back addressed to it.
    pub fn on_parked_event(&mut self, id: ConnId, ev: LinkEvent, now: SystemTime) -> Vec<Effect> {
        let Some(slot) = self.slot_mut(id) else {
            return Vec::new();
        };
        if let LinkEvent::Trace(row) = ev {
            slot.trace.push(row);
            return Vec::new();
        }
        let Some(p) = &mut slot.parked else {
            return Vec::new();
        };
        if let LinkEvent::Message(m) = ev {
            let sec = unix_secs(m.time);
            let retained = m.retain && !m.payload.is_empty();
            let topic = p.messages.push(m);
            (p.messages).mark_copy(p.link.matching_subscriptions(&topic));
            p.topics.insert(&topic, sec, retained);
            slot.unseen += 1;
            return Vec::new();
        }
        match p.link.on_event(ev, now) {
            LinkOutcome::Subscribe(filters) => filters
                .into_iter()
                .map(|(filter, qos)| {
                    Effect::OnConn(id, Box::new(Effect::Subscribe { filter, qos }))
                })
                .collect(),
            LinkOutcome::Nothing | LinkOutcome::Refused { .. } => Vec::new(),
        }
    }
}

impl Conns {
    /// A key in the connections list open at `cursor`: moves, picks a connection to show,
    /// or closes the selected one (never the shown one) and says which to stop.
    pub fn list_key(&mut self, cursor: usize, cmd: Cmd) -> ListOutcome {
        let n = self.slots.len();
        let cursor = cursor.min(n.saturating_sub(1));
        let at = |i: usize| self.slots.get(i).map(|s| s.id);
        match cmd {
            Cmd::Up => ListOutcome::Stay(cursor.saturating_sub(1)),
            Cmd::Down => ListOutcome::Stay((cursor + 1).min(n.saturating_sub(1))),
            Cmd::Top => ListOutcome::Stay(0),
            Cmd::Bottom => ListOutcome::Stay(n.saturating_sub(1)),
            Cmd::Submit => at(cursor).map_or(ListOutcome::Done, ListOutcome::Switch),
            Cmd::CloseConn => match at(cursor) {
                Some(id) if self.close(id) => ListOutcome::Close(id),
                _ => ListOutcome::Stay(cursor),
            },
            Cmd::Cancel | Cmd::Conns => ListOutcome::Done,
            _ => ListOutcome::Stay(cursor),
        }
    }
}
