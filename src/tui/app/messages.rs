//! The messages sub-model: the received messages (a bounded ring), the view of the selected
//! topic, the selected message and how its payload is shown; the `/` payload search, which
//! narrows the view to the messages whose payload holds a match (tested once per message, as
//! it arrives, so a flood costs no rescan).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use super::cmd::Cmd;
use super::filter::{PayloadSearch, TopicFilter};
use super::rate::{Rate, unix_secs};
use crate::tui::client_link::IncomingMessage;
use crate::tui::history::{Ring, SeqView, Weigh};
use crate::tui::payload::{PayloadMode, render_fit as render_payload};
use crate::tui::text::{word_wrap, wrap};

/// A received message as the history keeps it.
#[derive(Debug, Clone)]
pub struct Message {
    /// Arrival time.
    pub time: SystemTime,
    /// Topic name.
    pub topic: Arc<str>,
    /// Payload.
    pub payload: Bytes,
    /// Delivered QoS.
    pub qos: u8,
    /// The RETAIN flag of the delivery: 1 only for a message from the broker's retained store.
    pub retain: bool,
    /// True when the sender published it with Retain but it was delivered live with RETAIN 0
    /// ([MQTT311-3.3.1-9], [MQTT5-3.3.1-12]); known from the embedded broker's log.
    pub sent_retained: bool,
    /// MQTT 5 properties.
    pub properties: Vec<(String, String)>,
    /// True when it repeats the message just before it (same topic and payload, within a
    /// second) while its topic matches more than one of the client's subscriptions: a
    /// broker may send one copy per matching subscription (MQTT311 §3.3.5, MQTT5 §3.3.4).
    pub copy: bool,
    /// Packet Identifier of the delivery (0 at QoS 0).
    pub pkid: u16,
    /// The embedded broker's number for this message's journey (0: not linked).
    pub journey: crate::broker::event::MessageNo,
}

impl Weigh for Message {
    fn weight(&self) -> usize {
        96 + self.topic.len()
            + self.payload.len()
            + self
                .properties
                .iter()
                .map(|(k, v)| k.len() + v.len() + 48)
                .sum::<usize>()
    }
}

/// The message history and what of it is shown.
#[derive(Debug)]
pub struct Messages {
    ring: Ring<Message>,
    cap: usize,
    max_bytes: usize,
    view: SeqView,
    view_topic: Option<String>,
    selected: Option<u64>,
    modes: HashMap<Arc<str>, PayloadMode>,
    payload_scroll: usize,
    shown: PayloadRows,
    retained_sends: HashMap<Arc<str>, usize>,
    rate: Rate,
    /// The connection's payload decoders per topic filter (conns: issue 14).
    decoders: Option<Arc<crate::tui::decode::Decoders>>,
    search: Option<PayloadSearch>,
    /// The topic tree's `/` filter: the list (also on "(all topics)") and the history export
    /// show only messages of the topics the tree shows.
    topic_filter: Option<TopicFilter>,
}

/// Why a message shows RETAIN 1.
pub const RETAINED_STORE: &str = "Retain: RETAIN 1, so the broker sent it from its retained \
    store (when the subscription was made).";

/// Why a message its sender retained shows RETAIN 0.
pub const RETAINED_LIVE: &str = "Retain: the sender set Retain and the broker keeps it as the \
    retained message, but a live delivery to an existing subscription carries RETAIN 0 \
    ([MQTT311-3.3.1-9]; in MQTT 5 unless Retain As Published is set, [MQTT5-3.3.1-12]).";

/// The selected payload decoded and wrapped for the payload pane (made before each frame,
/// kept while the message, view mode and width stay the same).
#[derive(Debug, Default)]
pub struct PayloadRows {
    /// Message sequence number, view mode and pane width it was made for.
    key: Option<(u64, PayloadMode, usize)>,
    /// The mode actually used (detected for `Auto`).
    pub used: PayloadMode,
    /// Screen rows: the payload, then the MQTT 5 properties one a row, labelled.
    pub rows: Vec<String>,
    /// Rows the pane shows at once.
    pub height: usize,
    /// The profile decoder that made the rows (`sparkplug`, `protobuf`, …), if one did.
    pub decoder: Option<&'static str>,
}

impl Messages {
    /// An empty history of at most `cap` messages and `max_bytes` bytes.
    #[must_use]
    pub fn new(cap: usize, max_bytes: usize) -> Self {
        Self {
            ring: Ring::new(cap, max_bytes),
            cap,
            max_bytes,
            view: SeqView::new(cap),
            view_topic: None,
            selected: None,
            modes: HashMap::new(),
            payload_scroll: 0,
            shown: PayloadRows::default(),
            retained_sends: HashMap::new(),
            rate: Rate::default(),
            decoders: None,
            search: None,
            topic_filter: None,
        }
    }

    /// Sets the payload decoders (from the connection's profile); `Auto` uses them.
    pub fn set_decoders(&mut self, decoders: Option<Arc<crate::tui::decode::Decoders>>) {
        self.decoders = decoders;
        self.shown.key = None;
    }

    /// Forgets every message (after switching brokers); the view modes chosen per topic, the
    /// payload decoders and the payload search stay.
    pub fn clear(&mut self) {
        let modes = std::mem::take(&mut self.modes);
        let decoders = self.decoders.take();
        let search = self.search.take();
        let topic_filter = self.topic_filter.take();
        *self = Self::new(self.cap, self.max_bytes);
        self.modes = modes;
        self.decoders = decoders;
        self.search = search;
        self.topic_filter = topic_filter;
    }

    /// The topic tree's filter, if one is set.
    #[must_use]
    pub fn topic_filter(&self) -> Option<&TopicFilter> {
        self.topic_filter.as_ref()
    }

    /// Sets or removes the topic tree's filter: the list then shows only messages of the
    /// topics the tree shows.
    pub fn set_topic_filter(&mut self, filter: Option<TopicFilter>) {
        self.topic_filter = filter;
        self.set_view_topic(self.view_topic.clone());
    }

    /// The kept messages on `path` and below it (`None`: all) whose topic the tree's filter
    /// shows, oldest first: what the list shows without a payload search, and what an export
    /// of the subtree writes.
    pub fn shown_under<'a>(
        &'a self,
        path: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Message> + 'a {
        self.under(path).filter(move |m| {
            self.topic_filter
                .as_ref()
                .is_none_or(|f| f.matches(&m.topic))
        })
    }

    /// The payload search, if one is set.
    #[must_use]
    pub fn search(&self) -> Option<&PayloadSearch> {
        self.search.as_ref()
    }

    /// Sets or removes the payload search: the kept messages are searched once, new ones as
    /// they arrive.
    pub fn set_search(&mut self, search: Option<PayloadSearch>) {
        self.search = search;
        self.set_view_topic(self.view_topic.clone());
    }

    /// The sequence number of the message the payload pane shows.
    #[must_use]
    pub fn current_seq(&self) -> Option<u64> {
        self.selected.or_else(|| self.view.from_newest(0))
    }

    /// The newest kept message on the same topic before message `seq`.
    #[must_use]
    pub fn previous_on_topic(&self, seq: u64) -> Option<&Message> {
        let topic = &self.ring.get(seq)?.topic;
        (self.ring.first_seq()..seq)
            .rev()
            .filter_map(|s| self.ring.get(s))
            .find(|m| m.topic == *topic)
    }

    /// The kept messages on `path` and below it (`None`: all), oldest first.
    pub fn under<'a>(&'a self, path: Option<&'a str>) -> impl Iterator<Item = &'a Message> + 'a {
        self.ring
            .iter()
            .map(|(_, m)| m)
            .filter(move |m| path.is_none_or(|p| under(p, &m.topic)))
    }

    /// Every kept message.
    #[must_use]
    pub fn ring(&self) -> &Ring<Message> {
        &self.ring
    }

    /// The messages of the shown topic (sequence numbers).
    #[must_use]
    pub fn view(&self) -> &SeqView {
        &self.view
    }

    /// The shown topic and everything below it (`None`: all).
    #[must_use]
    pub fn view_topic(&self) -> Option<&str> {
        self.view_topic.as_deref()
    }

    /// The selected message (`None`: follow the newest).
    #[must_use]
    pub fn selected(&self) -> Option<u64> {
        self.selected
    }

    /// How the current message's payload is shown (chosen per topic; `Auto` until chosen).
    #[must_use]
    pub fn payload_mode(&self) -> PayloadMode {
        self.current()
            .and_then(|m| self.modes.get(&m.topic).copied())
            .unwrap_or_default()
    }

    /// How payloads of `topic` are shown.
    #[must_use]
    pub fn mode_of(&self, topic: &str) -> PayloadMode {
        self.modes.get(topic).copied().unwrap_or_default()
    }

    /// The current payload as the pane shows it (see [`Messages::prepare_payload`]).
    #[must_use]
    pub fn payload_rows(&self) -> &PayloadRows {
        &self.shown
    }

    /// Decodes and wraps the current payload for a pane `width` columns wide showing
    /// `height` rows, unless that is already done; then keeps the scroll inside the rows.
    pub fn prepare_payload(&mut self, width: usize, height: usize) {
        let seq = self.selected.or_else(|| self.view.from_newest(0));
        let mode = self.payload_mode();
        let key = seq.map(|s| (s, mode, width));
        if key != self.shown.key {
            let mut decoder = None;
            let (used, rows) = match seq.and_then(|s| self.ring.get(s)) {
                None => (PayloadMode::Auto, Vec::new()),
                Some(m) => {
                    let decoded = (mode == PayloadMode::Auto)
                        .then_some(self.decoders.as_ref())
                        .flatten()
                        .and_then(|d| d.render(&m.topic, &m.payload));
                    let (used, lines) = match decoded {
                        Some(lines) => {
                            decoder = self.decoders.as_ref().and_then(|d| d.name_for(&m.topic));
                            (PayloadMode::Auto, lines)
                        }
                        None => render_payload(&m.payload, mode, width),
                    };
                    let mut rows: Vec<String> = lines.iter().flat_map(|l| wrap(l, width)).collect();
                    if m.retain {
                        rows.push(String::new());
                        rows.extend(word_wrap(RETAINED_STORE, width));
                    } else if m.sent_retained {
                        rows.push(String::new());
                        rows.extend(word_wrap(RETAINED_LIVE, width));
                    }
                    if !m.properties.is_empty() {
                        rows.push(String::new());
                        rows.push(format!("MQTT 5 properties ({}):", m.properties.len()));
                        for (k, v) in &m.properties {
                            rows.extend(wrap(&format!("  {k}: {v}"), width));
                        }
                    }
                    (used, rows)
                }
            };
            self.shown = PayloadRows {
                key,
                used,
                rows,
                height,
                decoder,
            };
        }
        self.shown.height = height;
        self.payload_scroll = self.payload_scroll.min(self.max_scroll());
    }

    fn max_scroll(&self) -> usize {
        self.shown
            .rows
            .len()
            .saturating_sub(self.shown.height.max(1))
    }

    /// Payload scroll, in lines.
    #[must_use]
    pub fn payload_scroll(&self) -> usize {
        self.payload_scroll
    }

    /// Messages received per second.
    #[must_use]
    pub fn rate(&self) -> &Rate {
        &self.rate
    }

    /// Position (from newest) of the selected message in the view.
    #[must_use]
    pub fn position(&self) -> usize {
        self.selected
            .and_then(|s| self.view.position_from_newest(s))
            .unwrap_or(0)
    }

    /// The message the payload pane shows: the selected one or the newest in the view.
    #[must_use]
    pub fn current(&self) -> Option<&Message> {
        let seq = self.selected.or_else(|| self.view.from_newest(0))?;
        self.ring.get(seq)
    }

    /// Links the oldest of the recent unlinked messages on `topic` with packet id `pkid` to
    /// journey `no`; false if none waits.
    pub fn link_journey(&mut self, topic: &str, pkid: u16, no: u64) -> bool {
        let found = self
            .ring
            .iter()
            .rev()
            .take(64)
            .filter(|(_, m)| m.journey == 0 && m.pkid == pkid && &*m.topic == topic)
            .map(|(seq, _)| seq)
            .last();
        match found.and_then(|seq| self.ring.get_mut(seq)) {
            Some(m) => {
                m.journey = no;
                true
            }
            None => false,
        }
    }

    /// Selects the message of journey `no` (showing every topic if needed); false if it is
    /// not kept.
    pub fn select_journey(&mut self, no: u64) -> bool {
        let Some(seq) = self
            .ring
            .iter()
            .rev()
            .find(|(_, m)| m.journey == no)
            .map(|(seq, _)| seq)
        else {
            return false;
        };
        if self.view.position_from_newest(seq).is_none() {
            self.set_view_topic(None);
        }
        self.selected = Some(seq);
        self.payload_scroll = 0;
        true
    }

    fn view_matches(&self, topic: &str, payload: &[u8]) -> bool {
        self.view_topic.as_deref().is_none_or(|p| under(p, topic))
            && self.topic_filter.as_ref().is_none_or(|f| f.matches(topic))
            && self.search.as_ref().is_none_or(|s| s.matches(payload))
    }

    /// Shows `topic` and everything below it (`None`: every message).
    pub fn set_view_topic(&mut self, topic: Option<String>) {
        self.view_topic = topic;
        let mut view = SeqView::new(self.cap);
        for (seq, m) in self.ring.iter() {
            if self.view_matches(&m.topic, &m.payload) {
                view.push(seq, 0);
            }
        }
        self.view = view;
        self.selected = None;
        self.payload_scroll = 0;
    }

    /// Keeps a received message; returns its topic for the tree.
    pub fn push(&mut self, m: IncomingMessage) -> Arc<str> {
        self.rate.add(unix_secs(m.time), 1);
        let topic: Arc<str> = m.topic.into();
        let matches_view = self.view_matches(&topic, &m.payload);
        let sent_retained = !m.retain
            && self
                .retained_sends
                .remove(&topic)
                .is_some_and(|len| len == m.payload.len());
        let seq = self.ring.push(Message {
            time: m.time,
            topic: topic.clone(),
            payload: m.payload,
            qos: m.qos,
            retain: m.retain,
            sent_retained,
            properties: m.properties,
            copy: false,
            pkid: m.pkid,
            journey: 0,
        });
        let first = self.ring.first_seq();
        if matches_view {
            self.view.push(seq, first);
        } else {
            self.view.prune(first);
        }
        if self.selected.is_some_and(|s| s < first) {
            self.selected = None;
        }
        topic
    }

    /// The newest message arrived while its topic matches `subscriptions` of the client's
    /// subscriptions: with more than one, a repeat of the message before it (same topic and
    /// payload, within a second) is marked a copy. The data stays as it came.
    pub fn mark_copy(&mut self, subscriptions: usize) {
        if subscriptions < 2 {
            return;
        }
        let repeat = {
            let mut newest = self.ring.iter().rev();
            match (newest.next(), newest.next()) {
                (Some((seq, m)), Some((_, before))) => {
                    let close = m
                        .time
                        .duration_since(before.time)
                        .is_ok_and(|d| d < std::time::Duration::from_secs(1));
                    (close && m.topic == before.topic && m.payload == before.payload).then_some(seq)
                }
                _ => None,
            }
        };
        if let Some(m) = repeat.and_then(|seq| self.ring.get_mut(seq)) {
            m.copy = true;
        }
    }

    /// The embedded broker received a PUBLISH with Retain on `topic` with `len` payload bytes:
    /// marks its live delivery (RETAIN 0) as sent with Retain, whichever arrives first.
    pub fn note_retained_publish(&mut self, topic: &str, len: usize) {
        let recent = self
            .ring
            .iter()
            .rev()
            .take(64)
            .find(|(_, m)| &*m.topic == topic)
            .map(|(seq, m)| (seq, m.retain, m.sent_retained, m.payload.len()));
        if let Some((seq, false, false, l)) = recent
            && l == len
            && let Some(m) = self.ring.get_mut(seq)
        {
            m.sent_retained = true;
            self.shown.key = None;
            return;
        }
        if self.retained_sends.len() > 10_000 {
            self.retained_sends.clear();
        }
        self.retained_sends.insert(topic.into(), len);
    }

    /// Moves the selection in the message list; `page` rows a page.
    pub fn update_list(&mut self, cmd: Cmd, page: usize) {
        let n = self.view.len();
        if n == 0 {
            return;
        }
        let pos = self.position();
        let new = match cmd {
            Cmd::Up => pos.saturating_sub(1),
            Cmd::Down => (pos + 1).min(n - 1),
            Cmd::PageUp => pos.saturating_sub(page),
            Cmd::PageDown => (pos + page).min(n - 1),
            Cmd::Top => 0,
            Cmd::Bottom => n - 1,
            Cmd::FollowNewest => {
                self.follow_newest();
                return;
            }
            _ => return,
        };
        self.selected = if new == 0 && matches!(cmd, Cmd::Top) {
            None
        } else {
            self.view.from_newest(new)
        };
        self.payload_scroll = 0;
    }

    /// Back to following the newest message.
    pub fn follow_newest(&mut self) {
        self.selected = None;
        self.payload_scroll = 0;
    }

    /// Scrolls the payload (stopping at its last row) or changes how the current topic's
    /// payloads are shown; `page` rows a page.
    pub fn update_payload(&mut self, cmd: Cmd, page: usize) {
        let max = self.max_scroll();
        match cmd {
            Cmd::Up => self.payload_scroll = self.payload_scroll.saturating_sub(1),
            Cmd::Down => self.payload_scroll = (self.payload_scroll + 1).min(max),
            Cmd::PageUp => self.payload_scroll = self.payload_scroll.saturating_sub(page),
            Cmd::PageDown => self.payload_scroll = (self.payload_scroll + page).min(max),
            Cmd::Top => self.payload_scroll = 0,
            Cmd::Bottom => self.payload_scroll = max,
            Cmd::CyclePayloadMode => {
                if let Some(topic) = self.current().map(|m| m.topic.clone()) {
                    let next = self.mode_of(&topic).next();
                    self.modes.insert(topic, next);
                }
                self.payload_scroll = 0;
            }
            _ => {}
        }
    }

    /// A click on list row `i` (0 = the top row shown) in a list `height` rows high.
    pub fn click(&mut self, i: usize, height: usize) {
        let offset = self.position().saturating_sub(height.max(1) - 1);
        let i = offset + i;
        if i < self.view.len() {
            self.selected = if i == 0 {
                None
            } else {
                self.view.from_newest(i)
            };
            self.payload_scroll = 0;
        }
    }
}

/// True when `topic` is `path` or below it.
fn under(path: &str, topic: &str) -> bool {
    topic == path || (topic.starts_with(path) && topic[path.len()..].starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn msg(topic: &str) -> IncomingMessage {
        IncomingMessage {
            time: UNIX_EPOCH,
            topic: topic.into(),
            payload: Bytes::from_static(b"x"),
            qos: 0,
            retain: false,
            properties: Vec::new(),
            pkid: 0,
        }
    }

    #[test]
    fn the_view_holds_the_topic_and_its_subtree_only() {
        // (view topic, messages in the view)
        let cases: &[(Option<&str>, usize)] = &[
            (None, 5),
            (Some("home"), 3),
            (Some("home/a"), 2),
            (Some("homeless"), 1),
            (Some("nothing"), 0),
        ];
        for (topic, n) in cases {
            let mut m = Messages::new(100, 1 << 20);
            for t in ["home", "home/a", "homeless", "home/a", "other"] {
                m.push(msg(t));
            }
            m.set_view_topic(topic.map(str::to_owned));
            assert_eq!(m.view().len(), *n, "{topic:?}");
            m.push(msg("home/a/b"));
            let grew = topic.is_none_or(|t| "home/a/b".starts_with(t) && t != "homeless");
            assert_eq!(
                m.view().len(),
                n + usize::from(grew),
                "{topic:?} after one more"
            );
        }
    }

    #[test]
    fn list_commands_select_and_top_follows_again() {
        let cases: &[(&[Cmd], usize, bool)] = &[
            (&[], 0, false),
            (&[Cmd::Down], 1, true),
            (&[Cmd::Bottom], 3, true),
            (&[Cmd::Bottom, Cmd::Top], 0, false),
            (&[Cmd::PageDown, Cmd::Up], 1, true),
            (&[Cmd::Down, Cmd::FollowNewest], 0, false),
        ];
        for (cmds, pos, selected) in cases {
            let mut m = Messages::new(100, 1 << 20);
            for t in ["a", "b", "c", "d"] {
                m.push(msg(t));
            }
            for c in *cmds {
                m.update_list(*c, 2);
            }
            assert_eq!(
                (m.position(), m.selected().is_some()),
                (*pos, *selected),
                "{cmds:?}"
            );
        }
    }

    fn msg_with(topic: &str, payload: &'static [u8]) -> IncomingMessage {
        IncomingMessage {
            payload: Bytes::from_static(payload),
            ..msg(topic)
        }
    }

    #[test]
    fn the_view_mode_is_remembered_per_topic() {
        let mut m = Messages::new(100, 1 << 20);
        m.push(msg_with("a", b"[1]"));
        m.push(msg_with("b", b"[2]"));
        // The newest is on "b": choose the next mode (text) for it.
        m.update_payload(Cmd::CyclePayloadMode, 1);
        assert_eq!(m.mode_of("b"), PayloadMode::Text);
        assert_eq!(m.mode_of("a"), PayloadMode::Auto);
        m.update_list(Cmd::Down, 1);
        assert_eq!(m.current().map(|c| &*c.topic), Some("a"));
        assert_eq!(m.payload_mode(), PayloadMode::Auto);
        m.prepare_payload(40, 10);
        assert_eq!(m.payload_rows().used, PayloadMode::Json);
        m.update_list(Cmd::Top, 1);
        m.prepare_payload(40, 10);
        assert_eq!(m.payload_rows().used, PayloadMode::Text);
        // Switching brokers keeps the choice.
        m.clear();
        assert_eq!(m.mode_of("b"), PayloadMode::Text);
    }

    #[test]
    fn payload_scrolling_stops_at_the_last_row() {
        let mut m = Messages::new(100, 1 << 20);
        m.push(msg_with("t", b"1\n2\n3\n4\n5\n6\n7\n8\n9\n10"));
        m.prepare_payload(20, 4);
        // (commands, first row shown)
        let cases: &[(&[Cmd], usize)] = &[
            (&[Cmd::Bottom], 6),
            (&[Cmd::Bottom, Cmd::Down, Cmd::PageDown], 6),
            (&[Cmd::PageDown, Cmd::PageDown, Cmd::PageDown], 6),
            (&[Cmd::Down, Cmd::Down], 2),
            (&[Cmd::Bottom, Cmd::Top], 0),
            (&[Cmd::Bottom, Cmd::PageUp], 3),
            (&[Cmd::Up], 0),
        ];
        for (cmds, first) in cases {
            m.update_payload(Cmd::Top, 3);
            for c in *cmds {
                m.update_payload(*c, 3);
            }
            m.prepare_payload(20, 4);
            assert_eq!(m.payload_scroll(), *first, "{cmds:?}");
        }
    }
}
