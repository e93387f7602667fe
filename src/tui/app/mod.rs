//! The workbench's pure model, in The Elm Architecture: [`App`] is made of sub-models, each
//! owning its state and its update, and [`App::update`] is the only door through which the
//! model changes. Nothing here does I/O: side effects come back as [`Effect`]s and their
//! results return as [`Action`]s, so every behaviour is testable by feeding actions and looking
//! at the state (or at a rendered `TestBackend` screen).
//!
//! * [`layout`]: size, focus, zoom, split and where the panes go.
//! * [`topics`]: the topic tree. [`messages`]: the message history and the payload view.
//! * [`log`]: the broker log. [`broker`]: the embedded broker's live counters.
//! * [`link`]: the client pane's connection, subscriptions and publish history.
//! * Dialogs: [`composer`], [`prompt`], [`profiles`]; each returns an outcome that `App`
//!   turns into state changes and effects.
//!
//! Sub-models import only [`cmd`], [`rate`] and each other downwards, never this file.

mod access;
pub mod broker;
pub mod cmd;
pub mod composer;
mod connections;
pub mod conns;
pub mod fault;
pub mod inspector;
pub mod journey;
pub mod layout;
pub mod learn_io;
pub mod lesson;
pub mod link;
pub mod log;
pub mod messages;
pub mod msg;
pub mod notice;
pub mod own_broker;
pub mod profiles;
pub mod prompt;
pub mod rate;
pub mod state_view;
pub mod topics;
pub mod why_note;
pub mod why_view;
// Fleet debugging (issue 14).
pub mod diff;
pub mod export;
pub mod filter;
pub mod fleet;
pub mod plot;

use std::time::{SystemTime, UNIX_EPOCH};

use ratatui_textarea::Input;

pub use self::broker::BrokerStatus;
pub use self::cmd::{Cmd, FleetCmd, LearnCmd, LessonCmd, Pane};
pub use self::composer::{Composer, ComposerField, ComposerOutcome};
pub use self::layout::{Areas, LayoutModel};
pub use self::link::{ClientState, ConnectTo, Link, LinkOutcome, SubState, Subscription, Target};
pub use self::log::BrokerLog;
pub use self::messages::{Message, Messages};
pub use self::msg::{Action, Effect, EffectFailure, Limits, Modal, StartInfo};
pub use self::notice::{Notices, Pending};
pub use self::profiles::{EditorOutcome, PickerOutcome, ProfileForm, ProfileList};
pub use self::prompt::{Prompt, PromptOutcome};
pub use self::rate::Rate;
pub use self::topics::{TopicNode, Topics, TreeOutcome, TreeRow, node_ref};
use super::client_link::LinkEvent;
use crate::profile::Secret;
use crate::protocol::topic::{matches, parse_filter};

/// The whole workbench state: one sub-model per pane or concern, and the open dialog.
#[derive(Debug)]
pub struct App {
    layout: LayoutModel,
    topics: Topics,
    messages: Messages,
    log: BrokerLog,
    broker: BrokerStatus,
    link: Link,
    conns: conns::Conns,
    profiles: ProfileList,
    lesson: lesson::LessonModel,
    modal: Option<Modal>,
    notices: Notices,
    help_lines: usize,
    now: SystemTime,
    quit: bool,
    journey: journey::Journey,
}

impl App {
    /// A fresh model.
    #[must_use]
    pub fn new(info: StartInfo, limits: Limits) -> Self {
        let lesson = lesson::LessonModel::new(info.broker_addr.as_deref());
        let traced = info.target != Target::Embedded;
        Self {
            conns: conns::Conns::new(limits, info.client_id.clone(), traced),
            layout: LayoutModel::default(),
            topics: Topics::new(limits.topics),
            messages: Messages::new(limits.messages, limits.message_bytes),
            log: BrokerLog::new(limits.log, limits.log_bytes),
            broker: BrokerStatus::new(info.broker_addr),
            link: Link::new(
                info.client_target,
                info.client_id,
                info.target,
                &info.subscriptions,
                limits.publish_history,
            )
            .with_login(info.login),
            profiles: ProfileList::new(info.profiles, info.profiles_error, info.profiles_file),
            lesson,
            modal: info.first_minute.then_some(Modal::FirstMinute),
            notices: Notices::new(info.notice),
            help_lines: info.help_lines,
            now: UNIX_EPOCH,
            quit: false,
            journey: journey::Journey::default(),
        }
    }

    /// Applies one action. Side effects are returned, never performed here.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Cmd(cmd) => {
                if cmd == Cmd::Quit {
                    self.quit = true;
                    self.modal = None;
                    return Vec::new();
                }
                if self.modal.is_some() {
                    return self.on_modal_cmd(cmd);
                }
                return self.on_cmd(cmd);
            }
            Action::Input(input) => self.on_input(input),
            Action::Paste(text) => self.on_paste(&text),
            Action::Click { col, row } => self.on_click(col, row),
            Action::Wheel { col, row, up } => {
                if self.modal.is_none()
                    && let Some(p) = self.layout.pane_at(col, row)
                {
                    let saved = self.focus();
                    self.layout.set_focus(p);
                    for _ in 0..3 {
                        self.navigate(if up { Cmd::Up } else { Cmd::Down });
                    }
                    self.layout.set_focus(saved);
                }
            }
            Action::Resize(w, h) => self.lesson.resize(w, h, &mut self.layout),
            Action::Broker(entry) => {
                if let crate::broker::BrokerEvent::PublishReceived {
                    flags, topic, len, ..
                } = &entry.event
                    && flags.retain
                    && !self.conns.note_retained(topic, *len)
                    && *self.link.target() == Target::Embedded
                {
                    // The sender set Retain: the broker now holds (or, empty, deleted) the
                    // retained message, although live deliveries carry RETAIN 0.
                    self.messages.note_retained_publish(topic, *len);
                    self.topics.set_retained(topic, *len > 0);
                }
                let mut ticked = None;
                (self.journey).observe(&entry, self.link.client_id(), &mut self.messages);
                let entry = self.lesson.observe(entry, &mut ticked);
                if let Some(text) = ticked {
                    self.notices.say(text);
                }
                self.log.push(entry);
            }
            Action::FaultDone(result, at) => {
                let mut said = None;
                let entry = fault::report(result, at, &mut said);
                if let Some(text) = said {
                    self.notices.say(text);
                }
                self.log.push(entry);
            }
            Action::BrokerLagged(n) => self.log.push_lagged(n, self.now),
            Action::Client(LinkEvent::Message(m)) => {
                let own = lesson::OwnPacket::received(&m);
                (self.lesson).own_packet(self.link.client_id(), own, &mut self.notices);
                let sec = rate::unix_secs(m.time);
                let empty = m.payload.is_empty();
                let retained = m.retain && !empty;
                let topic = self.messages.push(m);
                (self.messages).mark_copy(self.link.matching_subscriptions(&topic));
                self.journey.arrived(&mut self.messages);
                let sent_retained = self
                    .messages
                    .ring()
                    .iter()
                    .next_back()
                    .is_some_and(|(_, m)| m.sent_retained && !empty);
                self.topics.insert(&topic, sec, retained || sent_retained);
                if let Some((_, m)) = self.messages.ring().iter().next_back() {
                    self.topics.observe(&topic, m.time, &m.payload);
                }
            }
            Action::Client(ev) => return self.on_link_event(ev),
            Action::ConnEvent(id, LinkEvent::Trace(row)) => self.conns.push_trace(id, row),
            Action::ConnEvent(id, ev) if id == self.conns.active() => {
                return self.update(Action::Client(ev));
            }
            Action::ConnEvent(id, ev) => return self.conns.on_parked_event(id, ev, self.now),
            Action::Open(to) => return self.switch(to),
            Action::ConnDecoders(conn, decoders, errors) => {
                errors
                    .into_iter()
                    .for_each(|e| self.notices.error(self.now, e));
                self.conns.set_decoders(conn, decoders, &mut self.messages);
            }
            Action::Tick(now) => self.now = now,
            Action::Learn(r) => {
                if let Some(Modal::Learn(v)) = &mut self.modal {
                    return Vec::from_iter(v.result(r, &self.log).map(Effect::Learn));
                }
            }
            Action::BrokerStats(stats) => self.broker.sample(stats),
            Action::Profiles(result) => self.on_profiles(result),
            Action::NeedPassword { profile, why } => {
                self.notices.connection_settled();
                self.link.connect_failed(why.clone());
                self.ask_password(profile, format!("{why}; type the password to connect"));
            }
            Action::ConnectFailed(why) => {
                self.notices.connection_settled();
                self.notices.error(self.now, why.clone());
                self.link.connect_failed(why);
            }
            Action::EffectFailed(failure) => self.notices.error(self.now, failure.to_string()),
            Action::Frame => self.prepare(),
            Action::Exported(r) => {
                let m = fleet::on_exported(r, &mut self.notices, self.now);
                self.modal = m.map(|m| Modal::Fleet(Box::new(m)));
            }
        }
        Vec::new()
    }

    /// Brings the tree rows and the shown payload up to date and keeps the cursors and
    /// scrolling inside what there is.
    fn prepare(&mut self) {
        let h = self.layout.area_of(Pane::Topics).height.saturating_sub(2);
        self.topics.prepare(usize::from(h));
        let l = self.layout.area_of(Pane::Log);
        let (lw, why) = (
            usize::from(l.width.saturating_sub(2)),
            self.journey.why_notes(),
        );
        self.log
            .prepare(usize::from(l.height.saturating_sub(2)), |e| {
                let note = match e.tag.why {
                    Some(w) if why => log::note_rows(&why_note::why_text(w), lw),
                    _ => 0,
                };
                log::entry_rows(e, lw) + note
            });
        if let Some(trace) = self.conns.shown_trace_mut() {
            trace.prepare(usize::from(l.height.saturating_sub(2)), |r| {
                r.screen_rows(lw)
            });
        }
        let p = self.layout.area_of(Pane::Payload);
        self.messages.prepare_payload(
            usize::from(p.width.saturating_sub(2)).max(1),
            usize::from(p.height.saturating_sub(2)),
        );
    }

    // ----- the panes -------------------------------------------------------------------

    fn on_cmd(&mut self, cmd: Cmd) -> Vec<Effect> {
        match cmd {
            Cmd::FocusNext
            | Cmd::FocusPrev
            | Cmd::Focus(_)
            | Cmd::GrowClient
            | Cmd::GrowLog
            | Cmd::Zoom => self.layout.update(cmd),
            Cmd::Help => self.modal = Some(Modal::Help { scroll: 0 }),
            Cmd::Errors => self.modal = Some(Modal::Errors { first: 0 }),
            Cmd::Lesson(c) => {
                if let Some(text) = self.lesson.update(c, &mut self.layout) {
                    self.notices.say(text);
                }
            }
            Cmd::Faults if self.broker.addr().is_none() => self.notices.say(fault::NO_BROKER),
            Cmd::Faults => self.modal = Some(Modal::Faults),
            Cmd::Conns => {
                let cursor = self.conns.active_index();
                self.modal = Some(Modal::Conns { cursor });
            }
            Cmd::ConnNext | Cmd::ConnPrev => {
                self.show_conn(self.conns.neighbour(cmd == Cmd::ConnNext))
            }
            Cmd::Learn(_) => return self.learn(cmd, None),
            Cmd::Profiles => {
                let cursor = self.profiles.row_of(None, self.link.target());
                self.modal = Some(Modal::Profiles { cursor });
                // Review item 15: another process (`profile add`) may have changed the file.
                return vec![Effect::ReloadProfiles];
            }
            Cmd::Reconnect => {
                self.link.reconnecting();
                self.notices.say_until(
                    format!("reconnecting to {}", self.link.address()),
                    Pending::Connect,
                );
                return vec![Effect::Reconnect];
            }
            Cmd::Compose => {
                let topic = self.selected_topic().unwrap_or_default();
                self.modal = Some(Modal::Composer(Box::new(Composer::new(&topic))));
            }
            Cmd::Subscribe => self.modal = Some(Modal::Subscribe(Prompt::subscribe())),
            Cmd::Unsubscribe => {
                if self.link.subscriptions().is_empty() {
                    self.notices.say("no subscriptions");
                } else {
                    self.modal = Some(Modal::Unsubscribe { cursor: 0 });
                }
            }
            // A new search starts empty (`n`/`N` repeat the last one).
            Cmd::Search => self.modal = Some(Modal::Search(Prompt::new(""))),
            Cmd::FilterClient => {
                let cur = self.log.filter().unwrap_or_default();
                self.modal = Some(Modal::ClientFilter(Prompt::new(cur)));
            }
            Cmd::ClearFilter | Cmd::TogglePings => self.log.update(cmd, 1),
            Cmd::SearchNext | Cmd::SearchPrev => {
                if let Err(miss) = self.log.search_step(cmd == Cmd::SearchNext) {
                    self.notices.say(miss.to_string());
                }
            }
            Cmd::ClearRetained => {
                let t = self.messages.current().map(|m| m.topic.to_string());
                let m = fleet::ask_clear_retained(&mut self.fleet_parts(), t);
                // Review item 11: in the tree, nothing known; say why for another broker.
                if m.is_none()
                    && self.layout.focus() == Pane::Topics
                    && let Some(why) = self.link.retained_unknown(self.broker.addr())
                {
                    self.notices.say(why);
                }
                self.modal = m.map(|m| Modal::Fleet(Box::new(m)));
            }
            Cmd::Fleet(c) => {
                let m = fleet::on_cmd(c, &mut self.fleet_parts());
                self.modal = m.map(|m| Modal::Fleet(Box::new(m)));
            }
            Cmd::CopyTopic => {
                if let Some(t) = self.selected_topic() {
                    self.notices.say(format!("copied topic '{t}'"));
                    return vec![Effect::Copy(t)];
                }
            }
            Cmd::CopyPayload => {
                if let Some(m) = self.messages.current() {
                    let text = String::from_utf8_lossy(&m.payload).into_owned();
                    self.notices
                        .say(format!("copied payload ({} bytes)", m.payload.len()));
                    return vec![Effect::Copy(text)];
                }
            }
            Cmd::CyclePayloadMode => self.messages.update_payload(cmd, 1),
            Cmd::ToggleFollow => self.log.update(cmd, 1),
            Cmd::FollowNewest => self.messages.follow_newest(),
            Cmd::Journey(c) => {
                let (m, l, n) = (&mut self.messages, &mut self.log, &mut self.notices);
                self.modal = self.journey.update(c, m, l, &mut self.layout, n);
            }
            Cmd::Up
            | Cmd::Down
            | Cmd::PageUp
            | Cmd::PageDown
            | Cmd::Top
            | Cmd::Bottom
            | Cmd::Collapse
            | Cmd::Expand
            | Cmd::Toggle => self.navigate(cmd),
            Cmd::Quit
            | Cmd::Submit
            | Cmd::Cancel
            | Cmd::NextField
            | Cmd::PrevField
            | Cmd::HistoryPrev
            | Cmd::HistoryNext
            | Cmd::ToggleField
            | Cmd::NewProfile
            | Cmd::EditProfile
            | Cmd::DuplicateProfile
            | Cmd::DeleteProfile
            | Cmd::ToggleFieldBack
            | Cmd::Fault(_)
            | Cmd::CopyCommand(_)
            | Cmd::CloseConn => {}
        }
        Vec::new()
    }

    fn navigate(&mut self, cmd: Cmd) {
        let focus = self.focus();
        let page = self.layout.page(focus);
        match focus {
            Pane::Topics => {
                let outcome = self.topics.update(cmd, page);
                self.on_tree(outcome);
            }
            Pane::Messages => self.messages.update_list(cmd, page),
            Pane::Payload => self.messages.update_payload(cmd, page),
            Pane::Log => match self.conns.shown_trace_mut() {
                Some(trace) => {
                    use crate::tui::trace::Move;
                    let m = match cmd {
                        Cmd::Up => Some(Move::Older(1)),
                        Cmd::Down => Some(Move::Newer(1)),
                        Cmd::PageUp => Some(Move::Older(page.max(1))),
                        Cmd::PageDown => Some(Move::Newer(page.max(1))),
                        Cmd::Top => Some(Move::Oldest),
                        Cmd::Bottom | Cmd::ToggleFollow => Some(Move::Newest),
                        _ => None,
                    };
                    if let Some(m) = m {
                        trace.update(m);
                    }
                }
                None => self.log.update(cmd, page),
            },
        }
    }

    fn on_tree(&mut self, outcome: TreeOutcome) {
        if let TreeOutcome::Selected(topic) = outcome {
            self.messages.set_view_topic(topic);
        }
    }

    fn on_link_event(&mut self, ev: LinkEvent) -> Vec<Effect> {
        match &ev {
            LinkEvent::Connected => self.notices.connection_settled(),
            LinkEvent::Disconnected(why) => {
                self.notices.connection_settled();
                let what = format!("client {}: {why}", self.link.address());
                self.notices.record(self.now, what);
            }
            LinkEvent::SubAck {
                filter,
                result: Ok(q),
            } => {
                self.notices.suback(filter, Some(*q));
                let own = lesson::OwnPacket::Subscribed { filter, qos: *q };
                (self.lesson).own_packet(self.link.client_id(), own, &mut self.notices);
                // Review item 10: overlapping subscriptions may bring copies; say so once.
                if let Some(note) = self.link.take_overlap_note(filter, *q) {
                    self.notices.say(note);
                }
            }
            LinkEvent::Refused(why) => {
                self.notices.connection_settled();
                let profile = match self.link.target() {
                    Target::Profile(name) => self.profiles.list().iter().find(|p| p.name == *name),
                    _ => None,
                };
                match profile.cloned() {
                    Some(p) if self.modal.is_none() => self.ask_password(
                        Box::new(p),
                        format!(
                            "{why}. Not retried: type the password to try again, or Esc and \
                             P, e to edit the profile"
                        ),
                    ),
                    _ => self
                        .notices
                        .error(self.now, format!("{why}; not retried (r tries again)")),
                }
            }
            _ => {}
        }
        match self.link.on_event(ev, self.now) {
            LinkOutcome::Nothing => Vec::new(),
            LinkOutcome::Subscribe(filters) => filters
                .into_iter()
                .map(|(filter, qos)| Effect::Subscribe { filter, qos })
                .collect(),
            LinkOutcome::Refused { filter, why } => {
                self.notices.suback(&filter, None);
                self.notices
                    .error(self.now, format!("subscription '{filter}' refused: {why}"));
                Vec::new()
            }
        }
    }

    // ----- dialogs ---------------------------------------------------------------------

    fn on_modal_cmd(&mut self, cmd: Cmd) -> Vec<Effect> {
        let Some(modal) = self.modal.take() else {
            return Vec::new();
        };
        if let Modal::Learn(v) = modal {
            return self.learn(cmd, Some(v));
        }
        if let Modal::Fleet(f) = modal {
            let page = usize::from(self.layout.size().1.saturating_sub(8)).max(1);
            let (m, fx) = fleet::on_modal(*f, cmd, page, &mut self.fleet_parts());
            self.modal = m.map(|m| Modal::Fleet(Box::new(m)));
            return fx.into_iter().map(Effect::from).collect();
        }
        if let Cmd::CopyCommand(wb) = cmd {
            let (c, p) = match &modal {
                Modal::Composer(c) => (Some(&**c), None),
                Modal::Subscribe(p) => (None, Some(p)),
                _ => (None, None),
            };
            let at = self.link.command_endpoint();
            let (notice, text) = lesson::copy_command(c, p, &at, wb);
            self.modal = Some(modal);
            self.notices.say(notice);
            return text.map(Effect::Copy).into_iter().collect();
        }
        if cmd == Cmd::Cancel {
            // The editor and the delete question go back to the picker, on their profile.
            match &modal {
                Modal::ProfileEditor(f) => self.open_picker_at(f.original()),
                Modal::ConfirmDelete(name) => self.open_picker_at(Some(name)),
                _ => {}
            }
            return Vec::new();
        }
        match modal {
            Modal::Learn(_) => Vec::new(), // handled above
            // Any key closes the overlay (shown once); `L` also opens the lesson.
            Modal::FirstMinute => self.on_cmd(cmd),
            Modal::Faults => {
                let (id, addr) = (self.link.client_id(), self.broker.addr());
                let Some((request, entry, notice)) = fault::pick(cmd, id, addr, self.now) else {
                    self.modal = Some(Modal::Faults);
                    return Vec::new();
                };
                self.notices.say(notice);
                self.log.push(entry);
                vec![Effect::Fault(request)]
            }
            Modal::Help { scroll } => {
                let (w, h) = self.layout.size();
                let (cols, rows) = layout::help_grid(w, h);
                let max = self.help_lines.saturating_sub(cols * rows);
                let scroll = match scroll_by(cmd, scroll, rows.max(1), max) {
                    Some(s) => s,
                    None if matches!(cmd, Cmd::Learn(_)) => return self.learn(cmd, None),
                    None => return Vec::new(),
                };
                self.modal = Some(Modal::Help { scroll });
                Vec::new()
            }
            Modal::Sequence { no, scroll } => {
                self.modal = journey::Journey::scroll(cmd, no, scroll, &self.log);
                Vec::new()
            }
            Modal::Errors { first } => {
                let max = self.notices.errors().count().saturating_sub(1);
                if let Some(first) = scroll_by(cmd, first, 5, max) {
                    self.modal = Some(Modal::Errors { first });
                }
                Vec::new()
            }
            Modal::Profiles { cursor } => {
                let outcome = self.profiles.picker_update(cursor, cmd);
                self.on_picker(outcome)
            }
            Modal::ProfileEditor(mut form) => {
                let outcome = form.update(cmd);
                self.modal = Some(Modal::ProfileEditor(form));
                match outcome {
                    EditorOutcome::Stay => Vec::new(),
                    EditorOutcome::Save { original, profile } => {
                        vec![Effect::SaveProfile { original, profile }]
                    }
                }
            }
            Modal::Password {
                profile,
                mut prompt,
            } => match prompt.update(cmd) {
                PromptOutcome::Submit(password) => self.switch(ConnectTo::Profile {
                    profile,
                    password: Some(Secret::new(password)),
                }),
                PromptOutcome::Stay => {
                    self.modal = Some(Modal::Password { profile, prompt });
                    Vec::new()
                }
            },
            Modal::Conns { cursor } => {
                match self.conns.list_key(cursor, cmd) {
                    conns::ListOutcome::Stay(c) => self.modal = Some(Modal::Conns { cursor: c }),
                    conns::ListOutcome::Switch(id) => self.show_conn(id),
                    conns::ListOutcome::Done => {}
                    conns::ListOutcome::Close(id) => {
                        self.modal = Some(Modal::Conns { cursor });
                        return vec![Effect::CloseConn(id)];
                    }
                }
                Vec::new()
            }
            Modal::ConfirmDelete(name) => {
                if cmd == Cmd::Submit {
                    return vec![Effect::DeleteProfile(name)];
                }
                self.modal = Some(Modal::ConfirmDelete(name));
                Vec::new()
            }
            Modal::Fleet(_) => Vec::new(),
            Modal::Unsubscribe { cursor } => {
                let n = self.link.subscriptions().len();
                let cursor = match cmd {
                    Cmd::Up => cursor.saturating_sub(1),
                    Cmd::Down => (cursor + 1).min(n.saturating_sub(1)),
                    Cmd::Submit => {
                        if let Some(filter) = self.link.unsubscribe(cursor) {
                            self.notices.say(format!("unsubscribed from '{filter}'"));
                            return vec![Effect::Unsubscribe(filter)];
                        }
                        cursor
                    }
                    _ => cursor,
                };
                self.modal = Some(Modal::Unsubscribe { cursor });
                Vec::new()
            }
            Modal::Subscribe(mut p) => {
                if let PromptOutcome::Submit(filter) = p.update(cmd) {
                    match parse_filter(&filter) {
                        Err(e) => p.refuse(format!("invalid filter '{filter}': {e}")),
                        Ok(_) => {
                            let qos = p.qos();
                            self.link.subscribe(filter.clone(), qos);
                            self.notices.say_until(
                                format!("subscribing to '{filter}' (QoS {qos})"),
                                Pending::Subscribe(filter.clone()),
                            );
                            return vec![Effect::Subscribe { filter, qos }];
                        }
                    }
                }
                self.modal = Some(Modal::Subscribe(p));
                Vec::new()
            }
            Modal::Search(mut p) => {
                if let PromptOutcome::Submit(q) = p.update(cmd) {
                    if let Err(miss) = self.log.set_search(q) {
                        self.notices.say(miss.to_string());
                    }
                    return Vec::new();
                }
                self.modal = Some(Modal::Search(p));
                Vec::new()
            }
            Modal::ClientFilter(mut p) => {
                if let PromptOutcome::Submit(f) = p.update(cmd) {
                    let f = f.trim().to_owned();
                    self.log.set_filter((!f.is_empty()).then_some(f));
                    return Vec::new();
                }
                self.modal = Some(Modal::ClientFilter(p));
                Vec::new()
            }
            Modal::Composer(mut c) => {
                if let ComposerOutcome::Send(p) = c.update(cmd, self.link.history()) {
                    if self.link.is_connected() {
                        self.notices.say(format!(
                            "published {} bytes to '{}' (QoS {}{})",
                            p.payload.len(),
                            p.topic,
                            p.qos,
                            if p.retain { ", retained" } else { "" }
                        ));
                        self.link.published_one(&p);
                        let own = lesson::OwnPacket::sent(&p);
                        (self.lesson).own_packet(self.link.client_id(), own, &mut self.notices);
                        return vec![Effect::Publish(p)];
                    }
                    c.refuse("the client is not connected");
                }
                self.modal = Some(Modal::Composer(c));
                Vec::new()
            }
        }
    }

    /// Issue 12: opens a learning view, or gives the open one (`open`) a key.
    fn learn(&mut self, cmd: Cmd, open: Option<Box<inspector::Learn>>) -> Vec<Effect> {
        let topic = self.selected_topic();
        let at = inspector::Opening::new(&self.log, topic.as_deref(), &self.link, &self.broker)
            .with_trace(self.conns.shown_trace());
        let page = usize::from(self.layout.size().1.saturating_sub(6));
        let (v, ask) = inspector::Learn::key(open, cmd, at, page);
        self.modal = v.map(Modal::Learn);
        Vec::from_iter(ask.map(Effect::Learn))
    }

    /// The sub-models the fleet dialogs change.
    fn fleet_parts(&mut self) -> fleet::Parts<'_> {
        fleet::Parts {
            focus: self.layout.focus(),
            topics: &mut self.topics,
            messages: &mut self.messages,
            notices: &mut self.notices,
        }
    }

    /// Text typed (`Ok`) or pasted (`Err`) into the open fleet prompt.
    fn fleet_typed(&mut self, typed: Result<Input, &str>) {
        if let Some(Modal::Fleet(mut f)) = self.modal.take() {
            fleet::on_typed(&mut f, typed, &mut self.fleet_parts());
            self.modal = Some(Modal::Fleet(f));
        }
    }

    fn on_input(&mut self, input: Input) {
        match &mut self.modal {
            Some(Modal::Fleet(_)) => self.fleet_typed(Ok(input)),
            Some(Modal::Composer(c)) => c.input(input),
            Some(
                Modal::Subscribe(p)
                | Modal::Search(p)
                | Modal::ClientFilter(p)
                | Modal::Password { prompt: p, .. },
            ) => p.input(input),
            Some(Modal::ProfileEditor(f)) => f.input(input),
            Some(Modal::Learn(v)) => v.input(input),
            Some(Modal::Help { .. } | Modal::Errors { .. } | Modal::Sequence { .. }) => {
                self.modal = None;
            }
            _ => {}
        }
    }

    fn on_paste(&mut self, text: &str) {
        match &mut self.modal {
            Some(Modal::Fleet(_)) => self.fleet_typed(Err(text)),
            Some(Modal::Composer(c)) => c.paste(text),
            Some(
                Modal::Subscribe(p)
                | Modal::Search(p)
                | Modal::ClientFilter(p)
                | Modal::Password { prompt: p, .. },
            ) => p.paste(text),
            Some(Modal::ProfileEditor(f)) => f.paste(text),
            Some(Modal::Learn(v)) => v.paste(text),
            _ => {}
        }
    }

    // ----- mouse -----------------------------------------------------------------------

    fn on_click(&mut self, col: u16, row: u16) {
        if self.modal.is_some() {
            if matches!(self.modal, Some(Modal::Help { .. } | Modal::Errors { .. })) {
                self.modal = None;
            }
            return;
        }
        let Some(pane) = self.layout.pane_at(col, row) else {
            return;
        };
        self.layout.set_focus(pane);
        let area = self.layout.area_of(pane);
        match pane {
            Pane::Topics if row > area.y => {
                self.prepare();
                let outcome = self.topics.click(usize::from(row - area.y - 1));
                self.on_tree(outcome);
            }
            // Row 0 is the border, row 1 the header.
            Pane::Messages if row > area.y + 1 => {
                let h = usize::from(area.height.saturating_sub(3));
                self.messages.click(usize::from(row - area.y - 2), h);
            }
            _ => {}
        }
    }
}

/// True when a subscription filter of the client covers `topic` (for tests and the status).
#[must_use]
pub fn covered(subs: &[Subscription], topic: &str) -> bool {
    subs.iter().any(|s| matches(&s.filter, topic))
}

/// A scrolling command applied to a position in `0..=max` (`page` a page); `None` for any
/// other command (it closes a viewer).
fn scroll_by(cmd: Cmd, pos: usize, page: usize, max: usize) -> Option<usize> {
    let pos = pos.min(max);
    Some(match cmd {
        Cmd::Up => pos.saturating_sub(1),
        Cmd::Down => (pos + 1).min(max),
        Cmd::PageUp => pos.saturating_sub(page),
        Cmd::PageDown => (pos + page).min(max),
        Cmd::Top => 0,
        Cmd::Bottom => max,
        _ => return None,
    })
}
