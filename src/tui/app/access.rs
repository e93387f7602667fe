//! [`App`]'s read-only accessors, the borrows the views and the run loop draw from. Part of
//! `App` itself (a second `impl` block kept apart to hold app/mod.rs under its size cap), not
//! a sub-model: no sub-model imports it.

use std::time::SystemTime;

use super::broker::BrokerStatus;
use super::cmd::Pane;
use super::conns::Conns;
use super::journey::Journey;
use super::layout::{Areas, LayoutModel};
use super::lesson::LessonModel;
use super::link::Link;
use super::log::BrokerLog;
use super::messages::Messages;
use super::msg::Modal;
use super::notice::Notices;
use super::profiles::ProfileList;
use super::topics::Topics;

impl super::App {
    /// Size, focus, zoom and split.
    #[must_use]
    pub fn layout(&self) -> &LayoutModel {
        &self.layout
    }

    /// The focused pane.
    #[must_use]
    pub fn focus(&self) -> Pane {
        self.layout.focus()
    }

    /// The screen areas for the current size and layout settings.
    #[must_use]
    pub fn areas(&self) -> Areas {
        self.layout.areas()
    }

    /// The topic tree.
    #[must_use]
    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// The message history.
    #[must_use]
    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    /// Message journeys (issue 12).
    #[must_use]
    pub fn journey(&self) -> &Journey {
        &self.journey
    }

    /// The broker log.
    #[must_use]
    pub fn log(&self) -> &BrokerLog {
        &self.log
    }

    /// The embedded broker's address and counters.
    #[must_use]
    pub fn broker(&self) -> &BrokerStatus {
        &self.broker
    }

    /// The client pane's connection.
    #[must_use]
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Every connection (the active one's tree, history and link are the panes').
    #[must_use]
    pub fn conns(&self) -> &Conns {
        &self.conns
    }

    /// The saved profiles.
    #[must_use]
    pub fn profiles(&self) -> &ProfileList {
        &self.profiles
    }

    /// The lessons and the learner's place.
    #[must_use]
    pub fn lesson(&self) -> &LessonModel {
        &self.lesson
    }

    /// The open dialog.
    #[must_use]
    pub fn modal(&self) -> Option<&Modal> {
        self.modal.as_ref()
    }

    /// The notices and the recent errors in full.
    #[must_use]
    pub fn notices(&self) -> &Notices {
        &self.notices
    }

    /// The latest notice for the status bar.
    #[must_use]
    pub fn notice(&self) -> Option<&str> {
        self.notices.text()
    }

    /// The clock, for rates and the retry countdown.
    #[must_use]
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// True once the user (or a signal) asked to leave.
    #[must_use]
    pub fn quit(&self) -> bool {
        self.quit
    }

    /// The topic of the selected tree row or, on the "all" row, of the current message.
    #[must_use]
    pub fn selected_topic(&self) -> Option<String> {
        if (self.focus() == Pane::Topics || self.messages.selected().is_none())
            && let Some(t) = self.messages.view_topic()
        {
            return Some(t.to_owned());
        }
        self.messages.current().map(|m| m.topic.to_string())
    }
}
