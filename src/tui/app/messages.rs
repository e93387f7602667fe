//! The messages sub-model: the received messages (a bounded ring), the view of the selected
//! topic, the selected message and how its payload is shown.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use super::cmd::Cmd;
use super::rate::{Rate, unix_secs};
use crate::tui::client_link::IncomingMessage;
use crate::tui::history::{Ring, SeqView, Weigh};
use crate::tui::payload::PayloadMode;

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
    /// Retain flag.
    pub retain: bool,
    /// MQTT 5 properties.
    pub properties: Vec<(String, String)>,
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
    payload_mode: PayloadMode,
    payload_scroll: usize,
    rate: Rate,
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
            payload_mode: PayloadMode::Auto,
            payload_scroll: 0,
            rate: Rate::default(),
        }
    }

    /// Forgets every message (after switching brokers); the payload mode stays.
    pub fn clear(&mut self) {
        let mode = self.payload_mode;
        *self = Self::new(self.cap, self.max_bytes);
        self.payload_mode = mode;
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

    /// How the payload is shown.
    #[must_use]
    pub fn payload_mode(&self) -> PayloadMode {
        self.payload_mode
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

    fn view_matches(&self, topic: &str) -> bool {
        match &self.view_topic {
            None => true,
            Some(p) => {
                topic == p || (topic.starts_with(p.as_str()) && topic[p.len()..].starts_with('/'))
            }
        }
    }

    /// Shows `topic` and everything below it (`None`: every message).
    pub fn set_view_topic(&mut self, topic: Option<String>) {
        self.view_topic = topic;
        let mut view = SeqView::new(self.cap);
        for (seq, m) in self.ring.iter() {
            if self.view_matches(&m.topic) {
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
        let matches_view = self.view_matches(&topic);
        let seq = self.ring.push(Message {
            time: m.time,
            topic: topic.clone(),
            payload: m.payload,
            qos: m.qos,
            retain: m.retain,
            properties: m.properties,
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

    /// Scrolls the payload or changes how it is shown; `page` rows a page.
    pub fn update_payload(&mut self, cmd: Cmd, page: usize) {
        match cmd {
            Cmd::Up => self.payload_scroll = self.payload_scroll.saturating_sub(1),
            Cmd::Down => self.payload_scroll += 1,
            Cmd::PageUp => self.payload_scroll = self.payload_scroll.saturating_sub(page),
            Cmd::PageDown => self.payload_scroll += page,
            Cmd::Top => self.payload_scroll = 0,
            Cmd::CyclePayloadMode => {
                self.payload_mode = self.payload_mode.next();
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
}
