//! Message journeys (issue 12): links the client pane's messages to the embedded broker's
//! message numbers, the `J` journey filter of the log, the way back from a log line to its
//! message, the sequence view's state and the why-notes toggle.
//!
//! The link: the embedded broker logs `Sending PUBLISH to <our client id>` with the message
//! number in the line's tag; the client pane receives a PUBLISH with the same topic and Packet
//! Identifier (0 at QoS 0, where arrival order decides). Whichever comes first waits for the
//! other: the log line in `pending`, the message as an unlinked row.

use std::collections::VecDeque;
use std::sync::Arc;

use super::cmd::{Cmd, JourneyCmd, Pane};
use super::layout::LayoutModel;
use super::log::BrokerLog;
use super::messages::Messages;
use super::msg::Modal;
use super::notice::Notices;
use crate::broker::event::MessageNo;
use crate::broker::{BrokerEvent, LogEntry};

/// Log lines for our client that wait for their message, at most this many.
const PENDING_KEPT: usize = 256;

/// The journey state of the workbench.
#[derive(Debug, Default)]
pub struct Journey {
    pending: VecDeque<(Arc<str>, u16, MessageNo)>,
    why_notes: bool,
}

/// What a journey key leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing more to do.
    Nothing,
    /// A status notice.
    Say(String),
    /// Open the sequence view of this journey.
    Sequence(MessageNo),
    /// Focus this pane.
    Focus(Pane),
}

impl Journey {
    /// True while why notes are shown under the log lines (`w`).
    #[must_use]
    pub fn why_notes(&self) -> bool {
        self.why_notes
    }

    /// A log line arrived: a `Sending PUBLISH to <own>` links its message (or waits for it).
    pub fn observe(&mut self, entry: &LogEntry, own: &str, messages: &mut Messages) {
        if let BrokerEvent::PublishSent {
            client,
            flags,
            topic,
            ..
        } = &entry.event
            && entry.tag.msg != 0
            && &**client == own
            && !messages.link_journey(topic, flags.pkid, entry.tag.msg)
        {
            if self.pending.len() == PENDING_KEPT {
                self.pending.pop_front();
            }
            self.pending
                .push_back((topic.clone(), flags.pkid, entry.tag.msg));
        }
    }

    /// A message arrived in the client pane: link it to the log line that waits for it.
    pub fn arrived(&mut self, messages: &mut Messages) {
        let Some((topic, pkid)) = messages
            .ring()
            .iter()
            .next_back()
            .map(|(_, m)| (m.topic.clone(), m.pkid))
        else {
            return;
        };
        if let Some(i) = self
            .pending
            .iter()
            .position(|(t, p, _)| *t == topic && *p == pkid)
            && let Some((t, p, no)) = self.pending.remove(i)
        {
            messages.link_journey(&t, p, no);
        }
    }

    /// A journey key: says what it did, moves the focus, or opens the sequence view (the
    /// modal returned).
    pub fn update(
        &mut self,
        cmd: JourneyCmd,
        messages: &mut Messages,
        log: &mut BrokerLog,
        layout: &mut LayoutModel,
        notices: &mut Notices,
    ) -> Option<Modal> {
        let focus = layout.focus();
        let rows = usize::from(layout.area_of(Pane::Log).height.saturating_sub(2));
        match self.outcome(cmd, focus, messages, log, rows) {
            Outcome::Say(text) => notices.say(text),
            Outcome::Sequence(no) => return Some(Modal::Sequence { no, scroll: 0 }),
            Outcome::Focus(p) => layout.set_focus(p),
            Outcome::Nothing => {}
        }
        None
    }

    /// What a journey key leads to. `log_rows` is the height of the log pane (where `M` and
    /// `J`/`S` in the log look for a journey line).
    pub fn outcome(
        &mut self,
        cmd: JourneyCmd,
        focus: Pane,
        messages: &mut Messages,
        log: &mut BrokerLog,
        log_rows: usize,
    ) -> Outcome {
        let current = messages.current().map_or(0, |m| m.journey);
        match cmd {
            JourneyCmd::WhyNotes => {
                self.why_notes = !self.why_notes;
                Outcome::Say(if self.why_notes {
                    "why notes shown under the log lines (w hides them)".into()
                } else {
                    "why notes hidden".into()
                })
            }
            JourneyCmd::Filter
                if log
                    .journey()
                    .is_some_and(|n| n == current || focus == Pane::Log) =>
            {
                log.set_journey(None);
                Outcome::Say("log: every line again".into())
            }
            JourneyCmd::Filter | JourneyCmd::Sequence if current == 0 && focus != Pane::Log => {
                Outcome::Say(NOT_LINKED.into())
            }
            JourneyCmd::Filter => {
                let no = if focus == Pane::Log {
                    log.journey_near_bottom(log_rows).unwrap_or(current)
                } else {
                    current
                };
                if no == 0 {
                    return Outcome::Say(NOT_LINKED.into());
                }
                log.set_journey(Some(no));
                Outcome::Say(format!(
                    "log: only the journey of message #{no} (J: every line)"
                ))
            }
            JourneyCmd::Sequence => {
                let no = if focus == Pane::Log {
                    log.journey_near_bottom(log_rows).unwrap_or(current)
                } else {
                    current
                };
                if no == 0 {
                    return Outcome::Say(NOT_LINKED.into());
                }
                Outcome::Sequence(no)
            }
            JourneyCmd::ToMessage => match log.journey_near_bottom(log_rows) {
                Some(no) if messages.select_journey(no) => Outcome::Focus(Pane::Messages),
                Some(no) => Outcome::Say(format!(
                    "message #{no} did not reach the client pane (or is no longer kept)"
                )),
                None => Outcome::Say("no journey line at the bottom of the log".into()),
            },
        }
    }

    /// The sequence view after a key: scrolled, or closed (`None`) by any other key.
    #[must_use]
    pub fn scroll(cmd: Cmd, no: MessageNo, scroll: usize, log: &BrokerLog) -> Option<Modal> {
        let max = arrows_of(log, no).saturating_sub(1);
        let scroll = scroll.min(max);
        let scroll = match cmd {
            Cmd::Up => scroll.saturating_sub(1),
            Cmd::Down => (scroll + 1).min(max),
            Cmd::PageUp => scroll.saturating_sub(10),
            Cmd::PageDown => (scroll + 10).min(max),
            Cmd::Top => 0,
            Cmd::Bottom => max,
            _ => return None,
        };
        Some(Modal::Sequence { no, scroll })
    }
}

const NOT_LINKED: &str = "this message has no journey: only messages the embedded broker \
    delivered to the client pane are linked to its log";

/// The number of kept log lines of journey `no`.
#[must_use]
pub fn arrows_of(log: &BrokerLog, no: MessageNo) -> usize {
    log.ring().iter().filter(|(_, e)| e.tag.msg == no).count()
}
