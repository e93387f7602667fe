//! Debugging a device fleet (issue 14): the `/` filter of the topic tree and payload search of
//! the message list, the plot (`P`), the diff (`D`), the export (`x`) and the clearing of a
//! subtree's retained messages (`X`). The dialogs live in [`FleetModal`]; their state changes
//! go to the sub-models they concern ([`Topics`], [`Messages`], [`Notices`]) through
//! [`Parts`], and what needs I/O comes back as [`FleetEffect`]s.

use std::time::SystemTime;

use bytes::Bytes;
use ratatui_textarea::Input;

use super::cmd::{Cmd, FleetCmd, Pane};
use super::diff::{Diff, diff};
use super::export::{self, Format};
use super::filter::{PayloadSearch, TopicFilter};
use super::messages::Messages;
use super::notice::Notices;
use super::plot::{JsonPath, Source, numeric_leaves, plain_number};
use super::prompt::{Prompt, PromptOutcome};
use super::topics::{Topics, TreeOutcome};
use crate::tui::client_link::{OutgoingPublish, PublishProps};

/// A file the run loop is asked to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// Where.
    pub path: String,
    /// The exact bytes.
    pub data: Bytes,
    /// Replace an existing file (only after the user said yes).
    pub overwrite: bool,
    /// What it is, for the notice (`payload of 'a/b'`, `12 messages as CSV`).
    pub what: String,
}

/// What a fleet dialog asks the run loop for (`App` turns each into an `Effect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetEffect {
    /// Write a file.
    Export(ExportFile),
    /// Send a PUBLISH (an empty retained message).
    Publish(OutgoingPublish),
}

/// What became of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportResult {
    /// Written.
    Written(ExportFile),
    /// The file exists and `overwrite` was not set: ask.
    Exists(ExportFile),
    /// It could not be written.
    Failed {
        /// Where.
        path: String,
        /// The I/O error.
        why: String,
    },
}

/// What the export prompt writes.
#[derive(Debug, Clone)]
pub enum ExportWhat {
    /// One payload.
    Payload {
        /// Its topic.
        topic: String,
        /// Its bytes.
        payload: Bytes,
    },
    /// The kept history of a subtree (`None`: all topics).
    History(Option<String>),
}

/// A fleet dialog.
#[derive(Debug, Clone)]
pub enum FleetModal {
    /// The topic tree filter, applied while typing; Esc puts back the filter it replaced.
    TopicFilter(Prompt, Option<TopicFilter>),
    /// The payload search, applied while typing; Esc puts back the search it replaced.
    Search(Prompt, Option<PayloadSearch>),
    /// Choose the JSON path to plot.
    PickPath {
        /// The topic.
        topic: String,
        /// The numeric leaves of the current payload.
        leaves: Vec<(JsonPath, f64)>,
        /// The chosen row.
        cursor: usize,
    },
    /// The plot of [`Topics::plot`].
    Plot,
    /// The diff view.
    Diff(Box<DiffView>),
    /// The export path.
    Export(Prompt, ExportWhat),
    /// The export's file exists: replace it?
    Overwrite(ExportFile),
    /// Publish empty retained messages to these topics?
    ClearRetained {
        /// The subtree (`None`: every topic).
        root: Option<String>,
        /// The topics known to hold a retained message.
        topics: Vec<String>,
    },
}

/// Which key context a fleet dialog uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A one-line prompt.
    Prompt,
    /// A list to choose from.
    Choose,
    /// A scrolling view.
    Viewer,
    /// A yes/no question.
    Confirm,
}

impl FleetModal {
    /// The key context.
    #[must_use]
    pub fn kind(&self) -> Kind {
        match self {
            Self::TopicFilter(..) | Self::Search(..) | Self::Export(..) => Kind::Prompt,
            Self::PickPath { .. } => Kind::Choose,
            Self::Plot | Self::Diff(_) => Kind::Viewer,
            Self::Overwrite(_) | Self::ClearRetained { .. } => Kind::Confirm,
        }
    }

    /// The prompt's text field, when this is a prompt.
    pub fn prompt_mut(&mut self) -> Option<&mut Prompt> {
        match self {
            Self::TopicFilter(p, _) | Self::Search(p, _) | Self::Export(p, _) => Some(p),
            _ => None,
        }
    }
}

/// The diff of the current message against the previous one on its topic.
#[derive(Debug, Clone)]
pub struct DiffView {
    /// The topic.
    pub topic: String,
    /// When the previous message arrived.
    pub old_time: SystemTime,
    /// When the current one arrived.
    pub new_time: SystemTime,
    /// The diff.
    pub diff: Diff,
    /// First line shown.
    pub scroll: usize,
}

/// The sub-models a fleet command may change.
#[derive(Debug)]
pub struct Parts<'a> {
    /// The focused pane.
    pub focus: Pane,
    /// The topic tree.
    pub topics: &'a mut Topics,
    /// The message history.
    pub messages: &'a mut Messages,
    /// The status notices.
    pub notices: &'a mut Notices,
}

/// A fleet key outside dialogs.
pub fn on_cmd(cmd: FleetCmd, p: &mut Parts<'_>) -> Option<FleetModal> {
    match cmd {
        FleetCmd::Filter if p.focus == Pane::Topics => {
            let old = p.topics.filter().cloned();
            let typed = old.as_ref().map(typed_filter).unwrap_or_default();
            Some(FleetModal::TopicFilter(Prompt::new(&typed), old))
        }
        FleetCmd::Filter => {
            let old = p.messages.search().cloned();
            let typed = old.as_ref().map(typed_search).unwrap_or_default();
            Some(FleetModal::Search(Prompt::new(&typed), old))
        }
        FleetCmd::Plot => open_plot(p),
        FleetCmd::Diff => open_diff(p),
        FleetCmd::Export => {
            let (path, what) = if p.focus == Pane::Topics {
                let sub = p.topics.selected().map(str::to_owned);
                (
                    export::history_path(sub.as_deref()),
                    ExportWhat::History(sub),
                )
            } else {
                let Some(m) = p.messages.current() else {
                    p.notices.say("no message to export");
                    return None;
                };
                let topic = m.topic.to_string();
                let path = export::payload_path(&topic, &m.payload);
                let payload = m.payload.clone();
                (path, ExportWhat::Payload { topic, payload })
            };
            Some(FleetModal::Export(Prompt::new(&path), what))
        }
    }
}

/// `X`: in the tree, every retained topic of the selected subtree (all topics on the first
/// row); elsewhere the current message's topic.
pub fn ask_clear_retained(p: &mut Parts<'_>, message_topic: Option<String>) -> Option<FleetModal> {
    let (root, topics) = if p.focus == Pane::Topics {
        let root = p.topics.selected().map(str::to_owned);
        let topics = p.topics.retained_under(root.as_deref());
        (root, topics)
    } else {
        let Some(t) = message_topic else {
            p.notices.say("select a topic first");
            return None;
        };
        (Some(t.clone()), vec![t])
    };
    if topics.is_empty() {
        let under = root.as_deref().unwrap_or("any topic");
        p.notices
            .say(format!("no retained message known at or under '{under}'"));
        return None;
    }
    Some(FleetModal::ClearRetained { root, topics })
}

/// The text that gives back `f` in the filter prompt.
fn typed_filter(f: &TopicFilter) -> String {
    match f {
        TopicFilter::Regex(r) => format!("re:{}", r.as_str()),
        TopicFilter::Mqtt(s) if !s.split('/').any(|l| l == "+" || l == "#") => {
            format!("mqtt:{s}")
        }
        other => other.text().to_owned(),
    }
}

fn typed_search(s: &PayloadSearch) -> String {
    if s.mode() == "regex" {
        format!("re:{}", s.text())
    } else {
        s.text().to_owned()
    }
}

fn open_plot(p: &mut Parts<'_>) -> Option<FleetModal> {
    let Some(m) = p.messages.current() else {
        p.notices.say("no message to plot");
        return None;
    };
    let topic = m.topic.to_string();
    if plain_number(&m.payload).is_some() {
        plot(p, &topic, Source::Plain);
        return Some(FleetModal::Plot);
    }
    let leaves = numeric_leaves(&m.payload);
    match leaves.len() {
        0 => {
            p.notices.say(format!(
                "no number in this payload of '{topic}' (a plain number or JSON numbers plot)"
            ));
            None
        }
        1 => {
            let path = leaves.into_iter().next().map(|l| l.0).unwrap_or_default();
            plot(p, &topic, Source::Json(path));
            Some(FleetModal::Plot)
        }
        _ => {
            // Start on the path plotted last for this topic, if it is still there.
            let cursor = p
                .topics
                .plot()
                .filter(|pl| pl.topic == topic)
                .and_then(|pl| {
                    leaves
                        .iter()
                        .position(|l| Source::Json(l.0.clone()) == pl.source)
                })
                .unwrap_or(0);
            Some(FleetModal::PickPath {
                topic,
                leaves,
                cursor,
            })
        }
    }
}

fn plot(p: &mut Parts<'_>, topic: &str, source: Source) {
    let history = p
        .messages
        .under(Some(topic))
        .filter(|m| &*m.topic == topic)
        .map(|m| (m.time, &m.payload[..]));
    p.topics.open_plot(topic, source, history);
}

fn open_diff(p: &mut Parts<'_>) -> Option<FleetModal> {
    let Some(seq) = p.messages.current_seq() else {
        p.notices.say("no message to compare");
        return None;
    };
    let new = p.messages.ring().get(seq)?;
    let Some(old) = p.messages.previous_on_topic(seq) else {
        p.notices.say(format!(
            "no earlier message on '{}' is kept to compare with",
            new.topic
        ));
        return None;
    };
    let view = DiffView {
        topic: new.topic.to_string(),
        old_time: old.time,
        new_time: new.time,
        diff: diff(&old.payload, &new.payload),
        scroll: 0,
    };
    if view.diff.lines.is_empty() {
        p.notices.say(format!(
            "the payload is the same as the previous one on '{}'",
            view.topic
        ));
    }
    Some(FleetModal::Diff(Box::new(view)))
}

/// A command while a fleet dialog is open: the dialog to keep open (if any) and the effects.
pub fn on_modal(
    modal: FleetModal,
    cmd: Cmd,
    page: usize,
    p: &mut Parts<'_>,
) -> (Option<FleetModal>, Vec<FleetEffect>) {
    if cmd == Cmd::Cancel {
        match modal {
            FleetModal::TopicFilter(_, old) => {
                set_topic_filter(p, old);
                settle_selection(p);
            }
            FleetModal::Search(_, old) => p.messages.set_search(old),
            _ => {}
        }
        return (None, Vec::new());
    }
    match modal {
        FleetModal::TopicFilter(mut prompt, old) => {
            if let PromptOutcome::Submit(text) = prompt.update(cmd) {
                match TopicFilter::parse(&text) {
                    Ok(f) => {
                        set_topic_filter(p, f);
                        settle_selection(p);
                        let said = match p.topics.filter() {
                            Some(f) => format!(
                                "{} filter '{}': {} of {} topics",
                                f.mode(),
                                f.text(),
                                p.topics.matched(),
                                p.topics.count()
                            ),
                            None => "topic filter removed".to_owned(),
                        };
                        p.notices.say(said);
                        return (None, Vec::new());
                    }
                    Err(e) => prompt.refuse(e),
                }
            }
            (Some(FleetModal::TopicFilter(prompt, old)), Vec::new())
        }
        FleetModal::Search(mut prompt, old) => {
            if let PromptOutcome::Submit(text) = prompt.update(cmd) {
                match PayloadSearch::parse(&text) {
                    Ok(s) => {
                        let on = s.is_some();
                        p.messages.set_search(s);
                        p.notices.say(if on {
                            format!("{} messages hold a match", p.messages.view().len())
                        } else {
                            "payload search removed".to_owned()
                        });
                        return (None, Vec::new());
                    }
                    Err(e) => prompt.refuse(e),
                }
            }
            (Some(FleetModal::Search(prompt, old)), Vec::new())
        }
        FleetModal::PickPath {
            topic,
            leaves,
            cursor,
        } => {
            let last = leaves.len().saturating_sub(1);
            let cursor = match cmd {
                Cmd::Up => cursor.saturating_sub(1),
                Cmd::Down => (cursor + 1).min(last),
                Cmd::PageUp => cursor.saturating_sub(page),
                Cmd::PageDown => (cursor + page).min(last),
                Cmd::Top => 0,
                Cmd::Bottom => last,
                Cmd::Submit => {
                    if let Some((path, _)) = leaves.get(cursor) {
                        plot(p, &topic, Source::Json(path.clone()));
                        return (Some(FleetModal::Plot), Vec::new());
                    }
                    cursor
                }
                _ => cursor,
            };
            let m = FleetModal::PickPath {
                topic,
                leaves,
                cursor,
            };
            (Some(m), Vec::new())
        }
        FleetModal::Plot => (Some(FleetModal::Plot), Vec::new()),
        FleetModal::Diff(mut v) => {
            let max = v.diff.lines.len().saturating_sub(1);
            v.scroll = match cmd {
                Cmd::Up => v.scroll.saturating_sub(1),
                Cmd::Down => (v.scroll + 1).min(max),
                Cmd::PageUp => v.scroll.saturating_sub(page),
                Cmd::PageDown => (v.scroll + page).min(max),
                Cmd::Top => 0,
                Cmd::Bottom => max,
                _ => v.scroll,
            };
            (Some(FleetModal::Diff(v)), Vec::new())
        }
        FleetModal::Export(mut prompt, what) => {
            if let PromptOutcome::Submit(path) = prompt.update(cmd) {
                let path = path.trim().to_owned();
                if path.is_empty() {
                    prompt.refuse("type a file name".to_owned());
                } else {
                    let file = build_export(path, &what, p.messages);
                    return (None, vec![FleetEffect::Export(file)]);
                }
            }
            (Some(FleetModal::Export(prompt, what)), Vec::new())
        }
        FleetModal::Overwrite(mut file) => {
            if cmd == Cmd::Submit {
                file.overwrite = true;
                return (None, vec![FleetEffect::Export(file)]);
            }
            (Some(FleetModal::Overwrite(file)), Vec::new())
        }
        FleetModal::ClearRetained { root, topics } => {
            if cmd != Cmd::Submit {
                return (Some(FleetModal::ClearRetained { root, topics }), Vec::new());
            }
            let under = root.as_deref().unwrap_or("all topics");
            p.notices.say(format!(
                "clearing {} retained message{} under '{under}'",
                topics.len(),
                if topics.len() == 1 { "" } else { "s" }
            ));
            let effects = topics
                .into_iter()
                .map(|topic| {
                    p.topics.clear_retained(&topic);
                    FleetEffect::Publish(OutgoingPublish {
                        topic,
                        payload: Bytes::new(),
                        qos: 1,
                        retain: true,
                        props: PublishProps::default(),
                    })
                })
                .collect();
            (None, effects)
        }
    }
}

fn build_export(path: String, what: &ExportWhat, messages: &Messages) -> ExportFile {
    match what {
        ExportWhat::Payload { topic, payload } => ExportFile {
            path,
            data: payload.clone(),
            overwrite: false,
            what: format!("the payload of '{topic}' ({} bytes)", payload.len()),
        },
        ExportWhat::History(sub) => {
            let format = Format::of(&path);
            let data = export::history(messages.shown_under(sub.as_deref()), format);
            let name = if format == Format::Csv {
                "CSV"
            } else {
                "JSON lines"
            };
            ExportFile {
                path,
                data: Bytes::from(data),
                overwrite: false,
                what: format!("{} as {name}", history_summary(messages, sub.as_deref())),
            }
        }
    }
}

/// A key typed (`Ok`) or text pasted (`Err`) into a fleet prompt; the filter and the search
/// apply at once.
pub fn on_typed(modal: &mut FleetModal, typed: Result<Input, &str>, p: &mut Parts<'_>) {
    if let Some(prompt) = modal.prompt_mut() {
        match typed {
            Ok(input) => prompt.input(input),
            Err(text) => prompt.paste(text),
        }
    }
    live(modal, p);
}

/// Sets the tree's filter, and the message list's with it (it shows only the tree's topics).
fn set_topic_filter(p: &mut Parts<'_>, f: Option<TopicFilter>) {
    if p.topics.filter().map(TopicFilter::text) == f.as_ref().map(TopicFilter::text)
        && p.topics.filter().map(TopicFilter::mode) == f.as_ref().map(TopicFilter::mode)
    {
        return;
    }
    p.messages.set_topic_filter(f.clone());
    p.topics.set_filter(f);
}

/// Once a filter is settled, the tree's selection moves onto its rows when it lost its own,
/// and the message list follows it.
fn settle_selection(p: &mut Parts<'_>) {
    if let TreeOutcome::Selected(topic) = p.topics.settle_selection() {
        p.messages.set_view_topic(topic);
    }
}

/// What an export of the history under `sub` says it writes: "N messages of 'plant'", and
/// when the tree's filter leaves some out, "N messages of M topics matching FILTER under
/// 'plant'".
#[must_use]
pub fn history_summary(messages: &Messages, sub: Option<&str>) -> String {
    let n = messages.shown_under(sub).count();
    let under = sub.unwrap_or("all topics");
    let narrowed = messages
        .topic_filter()
        .filter(|_| n < messages.under(sub).count());
    let messages_word = if n == 1 { "message" } else { "messages" };
    match narrowed {
        None => format!("{n} {messages_word} of '{under}'"),
        Some(f) => {
            let topics: std::collections::HashSet<&str> =
                messages.shown_under(sub).map(|m| &*m.topic).collect();
            let word = if topics.len() == 1 { "topic" } else { "topics" };
            format!(
                "{n} {messages_word} of {} {word} matching {} '{}' under '{under}'",
                topics.len(),
                f.mode(),
                f.text()
            )
        }
    }
}

/// Applies the filter or search being typed when it is valid (an invalid one leaves the last
/// valid one in place until Enter says what is wrong).
fn live(modal: &FleetModal, p: &mut Parts<'_>) {
    match modal {
        FleetModal::TopicFilter(prompt, _) => {
            if let Ok(f) = TopicFilter::parse(&prompt.value()) {
                set_topic_filter(p, f);
            }
        }
        FleetModal::Search(prompt, _) => {
            if let Ok(s) = PayloadSearch::parse(&prompt.value()) {
                p.messages.set_search(s);
            }
        }
        _ => {}
    }
}

/// The run loop's report on an export: a notice, or the overwrite question.
pub fn on_exported(r: ExportResult, notices: &mut Notices, now: SystemTime) -> Option<FleetModal> {
    match r {
        ExportResult::Written(f) => {
            // The path before what was written: the end of a long notice is what gets cut.
            notices.say(format!("exported to {}: {}", f.path, f.what));
            None
        }
        ExportResult::Exists(f) => Some(FleetModal::Overwrite(f)),
        ExportResult::Failed { path, why } => {
            notices.error(now, format!("export to {path} failed: {why}"));
            None
        }
    }
}
