//! The workbench's pure model: [`App`], the [`Action`]s that change it and the [`Effect`]s it
//! asks the run loop to perform. Nothing here does I/O, so every behaviour is testable by
//! feeding actions and looking at the state (or at a rendered `TestBackend` screen).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ratatui::layout::Rect;
use ratatui_textarea::{Input, TextArea};

use super::client_link::{IncomingMessage, LinkEvent, OutgoingPublish, PublishProps};
use super::history::{Ring, SeqView, Weigh};
use super::layout::{Areas, layout};
use super::payload::PayloadMode;
use super::profiles::{ConnectTo, ProfileForm, Target};
use crate::broker::topic::{matches, parse_filter};
use crate::broker::{BrokerEvent, LogEntry};
use crate::profile::Profile;

/// The panes that can have the focus, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    /// The topic tree.
    Topics,
    /// The message list of the selected topic.
    Messages,
    /// The selected message's payload.
    Payload,
    /// The broker's verbose log.
    Log,
}

impl Pane {
    const ORDER: [Pane; 4] = [Pane::Topics, Pane::Messages, Pane::Payload, Pane::Log];

    fn index(self) -> usize {
        Self::ORDER.iter().position(|p| *p == self).unwrap_or(0)
    }

    /// The pane after this one in Tab order.
    #[must_use]
    pub fn next(self) -> Self {
        Self::ORDER[(self.index() + 1) % Self::ORDER.len()]
    }

    /// The pane before this one in Tab order.
    #[must_use]
    pub fn prev(self) -> Self {
        Self::ORDER[(self.index() + Self::ORDER.len() - 1) % Self::ORDER.len()]
    }
}

/// A command without data: what a key binding (see `keymap`) or a mouse gesture asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmd {
    /// Leave the workbench.
    Quit,
    /// Focus the next pane.
    FocusNext,
    /// Focus the previous pane.
    FocusPrev,
    /// Focus a given pane.
    Focus(Pane),
    /// Move up one row (or scroll up).
    Up,
    /// Move down one row.
    Down,
    /// Move up one page.
    PageUp,
    /// Move down one page.
    PageDown,
    /// Jump to the top (oldest log line, first topic, newest message).
    Top,
    /// Jump to the bottom; in the log this resumes follow mode.
    Bottom,
    /// Collapse the topic node (or go to its parent).
    Collapse,
    /// Expand the topic node.
    Expand,
    /// Toggle the topic node.
    Toggle,
    /// Next payload view mode.
    CyclePayloadMode,
    /// Message list: back to following the newest message.
    FollowNewest,
    /// Log: toggle follow mode.
    ToggleFollow,
    /// Show the key help.
    Help,
    /// Open the publish composer.
    Compose,
    /// Open the subscribe prompt.
    Subscribe,
    /// Open the unsubscribe list.
    Unsubscribe,
    /// Log: search prompt.
    Search,
    /// Log: jump to the next older match.
    SearchNext,
    /// Log: jump to the next newer match.
    SearchPrev,
    /// Log: client id filter prompt.
    FilterClient,
    /// Log: remove the client id filter.
    ClearFilter,
    /// Ask to clear the retained message of the selected topic.
    ClearRetained,
    /// Copy the selected topic.
    CopyTopic,
    /// Copy the selected payload.
    CopyPayload,
    /// Give the client panes more width (or height).
    GrowClient,
    /// Give the log more room.
    GrowLog,
    /// Zoom the focused pane to the whole screen, or back.
    Zoom,
    /// Dialogs: confirm.
    Submit,
    /// Dialogs: cancel / close.
    Cancel,
    /// Dialogs: next field.
    NextField,
    /// Dialogs: previous field.
    PrevField,
    /// Composer: older entry from the publish history.
    HistoryPrev,
    /// Composer: newer entry from the publish history.
    HistoryNext,
    /// Composer: change QoS / toggle retain when that field has the focus.
    ToggleField,
    /// Open the profile picker.
    Profiles,
    /// Picker: a new profile.
    NewProfile,
    /// Picker: edit the selected profile.
    EditProfile,
    /// Picker: copy the selected profile.
    DuplicateProfile,
    /// Picker: delete the selected profile.
    DeleteProfile,
    /// Reconnect the client pane now (skip the back-off wait).
    Reconnect,
    /// Editor: the previous choice of a choice field.
    ToggleFieldBack,
}

/// Everything that can change the model.
#[derive(Debug, Clone)]
pub enum Action {
    /// A bound key or gesture.
    Cmd(Cmd),
    /// A key typed into the open text field.
    Input(Input),
    /// Bracketed paste into the open text field.
    Paste(String),
    /// A left click at a screen cell.
    Click {
        /// Column.
        col: u16,
        /// Row.
        row: u16,
    },
    /// A mouse wheel step over a screen cell (`up` towards older / the top).
    Wheel {
        /// Column.
        col: u16,
        /// Row.
        row: u16,
        /// True for wheel up.
        up: bool,
    },
    /// The terminal now has this size.
    Resize(u16, u16),
    /// A broker log line.
    Broker(LogEntry),
    /// The log reader missed `n` lines.
    BrokerLagged(u64),
    /// An event from the client pane's connection.
    Client(LinkEvent),
    /// The clock advanced (rates age).
    Tick(SystemTime),
    /// The embedded broker's counters, once a second (exact even when the log lags).
    BrokerStats(crate::broker::sys::LiveStats),
    /// Profiles after a save or delete (the list now on disk), or why it failed.
    Profiles(Result<Vec<Profile>, String>),
    /// The run loop could not start the connection asked for (a password file missing, …).
    ConnectFailed(String),
}

/// What the run loop must do for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send SUBSCRIBE.
    Subscribe {
        /// Topic filter.
        filter: String,
        /// Requested QoS.
        qos: u8,
    },
    /// Send UNSUBSCRIBE.
    Unsubscribe(String),
    /// Send PUBLISH.
    Publish(OutgoingPublish),
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    /// Connect the client pane somewhere else.
    Connect(ConnectTo),
    /// Write a profile to `profiles.toml`, replacing `original` (or adding it).
    SaveProfile {
        /// The name it had when the editor opened (`None`: a new profile).
        original: Option<String>,
        /// The profile.
        profile: Box<Profile>,
    },
    /// Remove a profile from `profiles.toml`.
    DeleteProfile(String),
    /// Reconnect now.
    Reconnect,
}

/// Messages per second, counted in whole seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rate {
    sec: u64,
    cur: u32,
    prev: u32,
}

impl Rate {
    /// Counts `n` events in second `sec`.
    pub fn add(&mut self, sec: u64, n: u32) {
        if sec == self.sec {
            self.cur = self.cur.saturating_add(n);
        } else if sec == self.sec + 1 {
            self.prev = self.cur;
            self.cur = n;
            self.sec = sec;
        } else if sec > self.sec {
            self.prev = 0;
            self.cur = n;
            self.sec = sec;
        } else if sec + 1 == self.sec {
            self.prev = self.prev.saturating_add(n);
        }
    }

    /// Events in the last complete second before `now`.
    #[must_use]
    pub fn per_sec(&self, now: u64) -> u32 {
        if now == self.sec {
            self.prev
        } else if now == self.sec + 1 {
            self.cur
        } else {
            0
        }
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

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

impl Weigh for LogEntry {
    fn weight(&self) -> usize {
        let extra = match &self.event {
            BrokerEvent::PublishReceived { topic, .. }
            | BrokerEvent::PublishSent { topic, .. }
            | BrokerEvent::PublishDenied { topic, .. } => topic.len(),
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

/// Per-topic statistics.
#[derive(Debug, Clone, Default)]
pub struct TopicStats {
    /// Messages received on this exact topic.
    pub count: u64,
    /// Arrival rate.
    pub rate: Rate,
    /// True when the last message was retained (and not empty).
    pub retained: bool,
}

/// A node of the topic tree: one topic level.
#[derive(Debug, Clone, Default)]
pub struct TopicNode {
    /// Child levels by name.
    pub children: BTreeMap<String, TopicNode>,
    /// Statistics when a message was received on exactly this topic.
    pub stats: Option<TopicStats>,
    /// Messages in this node and all below it.
    pub subtree_count: u64,
    /// Subtree arrival rate.
    pub subtree_rate: Rate,
    /// Shown expanded.
    pub expanded: bool,
}

/// One visible row of the topic tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    /// Full topic of the node; `None` for the "all topics" row.
    pub path: Option<String>,
    /// The node's own level name.
    pub name: String,
    /// Indentation depth.
    pub depth: usize,
    /// True when the node has children.
    pub has_children: bool,
    /// True when expanded.
    pub expanded: bool,
}

/// A subscription of the client pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Topic filter.
    pub filter: String,
    /// Requested QoS.
    pub qos: u8,
    /// What the broker answered.
    pub state: SubState,
}

/// The broker's answer to a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubState {
    /// Not acknowledged yet.
    Pending,
    /// Granted with this QoS.
    Granted(u8),
    /// Refused, with the reason.
    Refused(String),
}

/// The client pane's connection state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientState {
    /// Connecting (first attempt or reconnecting).
    Connecting,
    /// Connected.
    Connected,
    /// The last attempt failed; retrying.
    Disconnected(String),
}

/// The composer's fields, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComposerField {
    /// Topic name.
    Topic,
    /// QoS 0/1/2.
    Qos,
    /// Retain flag.
    Retain,
    /// The payload (multi-line).
    Payload,
    /// MQTT 5 Content Type.
    ContentType,
    /// MQTT 5 Message Expiry Interval.
    Expiry,
    /// MQTT 5 Response Topic.
    ResponseTopic,
    /// MQTT 5 Correlation Data.
    Correlation,
    /// MQTT 5 User Properties, one `name=value` a line.
    UserProps,
}

impl ComposerField {
    const ORDER: [ComposerField; 9] = [
        Self::Topic,
        Self::Payload,
        Self::Qos,
        Self::Retain,
        Self::ContentType,
        Self::Expiry,
        Self::ResponseTopic,
        Self::Correlation,
        Self::UserProps,
    ];

    fn step(self, forward: bool) -> Self {
        let n = Self::ORDER.len();
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }

    /// The field's label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Topic => "Topic",
            Self::Qos => "QoS",
            Self::Retain => "Retain",
            Self::Payload => "Payload",
            Self::ContentType => "Content type",
            Self::Expiry => "Expiry (s)",
            Self::ResponseTopic => "Response topic",
            Self::Correlation => "Correlation",
            Self::UserProps => "User props",
        }
    }
}

fn single_line(text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![text.to_owned()]);
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}

fn text_of(t: &TextArea<'_>) -> String {
    t.lines().join("\n")
}

/// The publish composer's state.
#[derive(Debug, Clone)]
pub struct Composer {
    /// The focused field.
    pub focus: ComposerField,
    /// Topic name.
    pub topic: TextArea<'static>,
    /// Payload.
    pub payload: TextArea<'static>,
    /// QoS.
    pub qos: u8,
    /// Retain.
    pub retain: bool,
    /// Content Type.
    pub content_type: TextArea<'static>,
    /// Message Expiry Interval.
    pub expiry: TextArea<'static>,
    /// Response Topic.
    pub response_topic: TextArea<'static>,
    /// Correlation Data.
    pub correlation: TextArea<'static>,
    /// User Properties.
    pub user_props: TextArea<'static>,
    /// Why the last send was refused.
    pub error: Option<String>,
    /// Position in the publish history while browsing it (0 = newest).
    pub history_pos: Option<usize>,
}

impl Composer {
    fn new(topic: &str) -> Self {
        let mut payload = TextArea::default();
        payload.set_cursor_line_style(ratatui::style::Style::default());
        let mut user_props = TextArea::default();
        user_props.set_cursor_line_style(ratatui::style::Style::default());
        Self {
            focus: if topic.is_empty() {
                ComposerField::Topic
            } else {
                ComposerField::Payload
            },
            topic: single_line(topic),
            payload,
            qos: 0,
            retain: false,
            content_type: single_line(""),
            expiry: single_line(""),
            response_topic: single_line(""),
            correlation: single_line(""),
            user_props,
            error: None,
            history_pos: None,
        }
    }

    fn load(&mut self, p: &OutgoingPublish) {
        let focus = self.focus;
        let pos = self.history_pos;
        *self = Self::new(&p.topic);
        self.focus = focus;
        self.history_pos = pos;
        self.payload = TextArea::new(
            String::from_utf8_lossy(&p.payload)
                .split('\n')
                .map(str::to_owned)
                .collect(),
        );
        self.payload
            .set_cursor_line_style(ratatui::style::Style::default());
        self.qos = p.qos;
        self.retain = p.retain;
        self.content_type = single_line(p.props.content_type.as_deref().unwrap_or(""));
        self.expiry = single_line(
            &p.props
                .message_expiry
                .map(|e| e.to_string())
                .unwrap_or_default(),
        );
        self.response_topic = single_line(p.props.response_topic.as_deref().unwrap_or(""));
        self.correlation = single_line(p.props.correlation_data.as_deref().unwrap_or(""));
        self.user_props = TextArea::new(
            p.props
                .user
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        );
        self.user_props
            .set_cursor_line_style(ratatui::style::Style::default());
    }

    /// The text field with the focus, if the focused field is a text field.
    pub fn focused_text(&mut self) -> Option<&mut TextArea<'static>> {
        Some(match self.focus {
            ComposerField::Topic => &mut self.topic,
            ComposerField::Payload => &mut self.payload,
            ComposerField::ContentType => &mut self.content_type,
            ComposerField::Expiry => &mut self.expiry,
            ComposerField::ResponseTopic => &mut self.response_topic,
            ComposerField::Correlation => &mut self.correlation,
            ComposerField::UserProps => &mut self.user_props,
            ComposerField::Qos | ComposerField::Retain => return None,
        })
    }

    fn is_multiline(&self) -> bool {
        matches!(
            self.focus,
            ComposerField::Payload | ComposerField::UserProps
        )
    }

    /// Checks the fields and builds the PUBLISH, or explains what is wrong.
    pub fn build(&self) -> Result<OutgoingPublish, String> {
        let topic = text_of(&self.topic);
        if topic.is_empty() {
            return Err("the topic must not be empty".into());
        }
        if topic.contains(['+', '#']) {
            return Err("a topic name must not contain the wildcards '+' or '#'".into());
        }
        if topic.len() > 65_535 {
            return Err("a topic name is at most 65535 bytes".into());
        }
        let opt = |t: &TextArea<'_>| {
            let s = text_of(t);
            (!s.trim().is_empty()).then(|| s.trim().to_owned())
        };
        let message_expiry = match opt(&self.expiry) {
            Some(s) => Some(
                s.parse::<u32>()
                    .map_err(|_| format!("expiry '{s}' is not a number of seconds"))?,
            ),
            None => None,
        };
        let mut user = Vec::new();
        for line in self.user_props.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("user property '{line}' needs the form name=value"))?;
            user.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        Ok(OutgoingPublish {
            topic,
            payload: Bytes::from(text_of(&self.payload).into_bytes()),
            qos: self.qos,
            retain: self.retain,
            props: PublishProps {
                content_type: opt(&self.content_type),
                message_expiry,
                response_topic: opt(&self.response_topic),
                correlation_data: opt(&self.correlation),
                user,
            },
        })
    }
}

/// A one-line text prompt.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// The text.
    pub text: TextArea<'static>,
    /// QoS (subscribe prompt only).
    pub qos: u8,
    /// Why the last submit was refused.
    pub error: Option<String>,
}

impl Prompt {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: single_line(text),
            qos: 0,
            error: None,
        }
    }

    /// The entered text.
    #[must_use]
    pub fn value(&self) -> String {
        text_of(&self.text)
    }
}

/// A dialog on top of the panes; it takes all keys while open.
#[derive(Debug, Clone)]
pub enum Modal {
    /// The key help.
    Help,
    /// The publish composer.
    Composer(Box<Composer>),
    /// Subscribe: a filter and a QoS.
    Subscribe(Prompt),
    /// Unsubscribe: pick one of the subscriptions.
    Unsubscribe {
        /// Selected subscription.
        cursor: usize,
    },
    /// Log search text.
    Search(Prompt),
    /// Log client id filter.
    ClientFilter(Prompt),
    /// Confirm clearing the retained message on a topic.
    ConfirmClear(String),
    /// The profile picker; row 0 is the embedded broker.
    Profiles {
        /// Selected row.
        cursor: usize,
    },
    /// The profile editor.
    ProfileEditor(Box<ProfileForm>),
    /// The password of a profile that asks for it.
    Password {
        /// The profile.
        profile: Box<Profile>,
        /// The (masked) text field.
        prompt: Prompt,
    },
    /// Confirm deleting a profile.
    ConfirmDelete(String),
}

/// How much history the model keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Messages kept, at most.
    pub messages: usize,
    /// Message bytes kept, at most.
    pub message_bytes: usize,
    /// Log entries kept, at most.
    pub log: usize,
    /// Log bytes kept, at most.
    pub log_bytes: usize,
    /// Distinct topics tracked in the tree, at most.
    pub topics: usize,
    /// Publish history entries.
    pub publish_history: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            messages: 50_000,
            message_bytes: 64 * 1024 * 1024,
            log: 50_000,
            log_bytes: 16 * 1024 * 1024,
            topics: 20_000,
            publish_history: 100,
        }
    }
}

/// Facts the run loop knows at start-up.
#[derive(Debug, Clone, Default)]
pub struct StartInfo {
    /// The embedded broker's address, if it runs.
    pub broker_addr: Option<String>,
    /// Where the client pane connects (`host:port`).
    pub client_target: String,
    /// The client pane's client id.
    pub client_id: String,
    /// The filters subscribed at start (default `#`).
    pub subscriptions: Vec<(String, u8)>,
    /// A notice for the status bar (e.g. the port fallback).
    pub notice: Option<String>,
    /// What the client pane connects to first.
    pub target: Target,
    /// The saved profiles.
    pub profiles: Vec<Profile>,
    /// Why `profiles.toml` could not be read (the picker shows it; editing is off).
    pub profiles_error: Option<String>,
    /// Where `profiles.toml` is (shown in the picker).
    pub profiles_file: String,
}

/// The whole workbench state.
#[derive(Debug)]
pub struct App {
    /// Caps on history.
    pub limits: Limits,
    /// Terminal size.
    pub size: (u16, u16),
    /// Focused pane.
    pub focus: Pane,
    /// Open dialog.
    pub modal: Option<Modal>,
    /// Focused pane fills the screen.
    pub zoom: bool,
    /// Percentage of the body given to the client panes (vs. the log).
    pub split: u16,
    /// The clock, for rates.
    pub now: SystemTime,
    /// Quit requested.
    pub quit: bool,
    /// Latest notice for the status bar.
    pub notice: Option<String>,

    /// Embedded broker address.
    pub broker_addr: Option<String>,
    /// Client ids connected to the broker (from its log).
    pub connected_clients: HashSet<Arc<str>>,
    /// PUBLISH received by the broker.
    pub broker_in: Rate,
    /// PUBLISH sent by the broker.
    pub broker_out: Rate,
    /// The broker's own counters (embedded broker only): exact, unlike the log.
    pub broker_stats: Option<crate::broker::sys::LiveStats>,
    /// PUBLISH in and out during the last second, from `broker_stats`.
    pub broker_rates: Option<(u64, u64)>,

    /// Client pane target.
    pub client_target: String,
    /// Client pane id.
    pub client_id: String,
    /// Client pane connection state.
    pub client_state: ClientState,
    /// Client pane subscriptions.
    pub subscriptions: Vec<Subscription>,
    /// What the client pane is connected to.
    pub target: Target,
    /// The client id used when a profile names none.
    pub default_client_id: String,
    /// After a failure: the attempt count and when the next attempt starts.
    pub retry: Option<(u32, SystemTime)>,
    /// Saved profiles, as last read from `profiles.toml`.
    pub profiles: Vec<Profile>,
    /// Why `profiles.toml` could not be read.
    pub profiles_error: Option<String>,
    /// Where `profiles.toml` is.
    pub profiles_file: String,
    /// Messages received by the client pane.
    pub client_in: Rate,
    /// Messages published from the composer.
    pub published: u64,
    /// Publish history, newest last.
    pub publish_history: Vec<OutgoingPublish>,

    /// Received messages.
    pub messages: Ring<Message>,
    /// Topic tree root (its children are the first levels).
    pub tree: TopicNode,
    /// Distinct topics in the tree.
    pub topic_count: usize,
    /// Messages whose topic was not added to the tree because of the topic cap.
    pub topics_over_cap: u64,
    /// Visible tree rows (rebuilt lazily, see [`App::prepare`]).
    pub tree_rows: Vec<TreeRow>,
    tree_dirty: bool,
    /// Selected tree row.
    pub tree_cursor: usize,
    /// First visible tree row.
    pub tree_offset: usize,
    /// The messages of the selected topic (sequence numbers).
    pub view: SeqView,
    /// The selected topic (None = all).
    pub view_topic: Option<String>,
    /// Selected message (None = follow the newest).
    pub msg_selected: Option<u64>,
    /// Payload display mode.
    pub payload_mode: PayloadMode,
    /// Payload scroll (lines).
    pub payload_scroll: usize,

    /// Broker log.
    pub log: Ring<LogEntry>,
    /// Log rows for the client filter.
    pub log_view: Option<SeqView>,
    /// Client id filter.
    pub log_filter: Option<String>,
    /// Follow the newest line.
    pub log_follow: bool,
    /// Newest visible line while not following.
    pub log_anchor: u64,
    /// Search text.
    pub log_search: Option<String>,
    /// Lines the log reader missed.
    pub log_lagged: u64,
}

impl App {
    /// A fresh model.
    #[must_use]
    pub fn new(info: StartInfo, limits: Limits) -> Self {
        let subscriptions = info
            .subscriptions
            .iter()
            .map(|(f, q)| Subscription {
                filter: f.clone(),
                qos: *q,
                state: SubState::Pending,
            })
            .collect();
        Self {
            limits,
            size: (80, 24),
            focus: Pane::Topics,
            modal: None,
            zoom: false,
            split: 50,
            now: UNIX_EPOCH,
            quit: false,
            notice: info.notice,
            broker_addr: info.broker_addr,
            connected_clients: HashSet::new(),
            broker_in: Rate::default(),
            broker_out: Rate::default(),
            broker_stats: None,
            broker_rates: None,
            client_target: info.client_target,
            default_client_id: info.client_id.clone(),
            client_id: info.client_id,
            client_state: ClientState::Connecting,
            subscriptions,
            target: info.target,
            retry: None,
            profiles: info.profiles,
            profiles_error: info.profiles_error,
            profiles_file: info.profiles_file,
            client_in: Rate::default(),
            published: 0,
            publish_history: Vec::new(),
            messages: Ring::new(limits.messages, limits.message_bytes),
            tree: TopicNode {
                expanded: true,
                ..TopicNode::default()
            },
            topic_count: 0,
            topics_over_cap: 0,
            tree_rows: vec![all_row()],
            tree_dirty: true,
            tree_cursor: 0,
            tree_offset: 0,
            view: SeqView::new(limits.messages),
            view_topic: None,
            msg_selected: None,
            payload_mode: PayloadMode::Auto,
            payload_scroll: 0,
            log: Ring::new(limits.log, limits.log_bytes),
            log_view: None,
            log_filter: None,
            log_follow: true,
            log_anchor: 0,
            log_search: None,
            log_lagged: 0,
        }
    }

    /// The screen areas for the current size and layout settings.
    #[must_use]
    pub fn areas(&self) -> Areas {
        layout(Rect::new(0, 0, self.size.0, self.size.1), self)
    }

    /// Brings derived state up to date before rendering (the tree rows). Cheap when nothing
    /// changed.
    pub fn prepare(&mut self) {
        if self.tree_dirty {
            self.rebuild_tree_rows();
        }
        let h = usize::from(self.areas().topics.height.saturating_sub(2)).max(1);
        if self.tree_cursor < self.tree_offset {
            self.tree_offset = self.tree_cursor;
        } else if self.tree_cursor >= self.tree_offset + h {
            self.tree_offset = self.tree_cursor + 1 - h;
        }
    }

    /// Applies one action. Side effects are returned, never performed here.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Cmd(cmd) => {
                if self.modal.is_some() {
                    self.on_modal_cmd(cmd)
                } else {
                    self.on_cmd(cmd)
                }
            }
            Action::Input(input) => {
                self.on_input(input);
                Vec::new()
            }
            Action::Paste(text) => {
                self.on_paste(&text);
                Vec::new()
            }
            Action::Click { col, row } => {
                self.on_click(col, row);
                Vec::new()
            }
            Action::Wheel { col, row, up } => {
                if self.modal.is_none()
                    && let Some(p) = self.pane_at(col, row)
                {
                    let saved = self.focus;
                    self.focus = p;
                    for _ in 0..3 {
                        self.on_cmd(if up { Cmd::Up } else { Cmd::Down });
                    }
                    self.focus = saved;
                }
                Vec::new()
            }
            Action::Resize(w, h) => {
                self.size = (w, h);
                Vec::new()
            }
            Action::Broker(entry) => {
                self.on_broker(entry);
                Vec::new()
            }
            Action::BrokerLagged(n) => {
                self.log_lagged += n;
                self.on_broker(LogEntry {
                    time: self.now,
                    event: BrokerEvent::Lagged(n),
                });
                Vec::new()
            }
            Action::Client(ev) => self.on_client(ev),
            Action::Tick(now) => {
                self.now = now;
                Vec::new()
            }
            Action::BrokerStats(stats) => {
                if let Some(prev) = self.broker_stats {
                    self.broker_rates = Some((
                        stats.publish_received.saturating_sub(prev.publish_received),
                        stats.publish_sent.saturating_sub(prev.publish_sent),
                    ));
                }
                self.broker_stats = Some(stats);
                Vec::new()
            }
            Action::Profiles(result) => {
                self.on_profiles(result);
                Vec::new()
            }
            Action::ConnectFailed(why) => {
                self.client_state = ClientState::Disconnected(why);
                self.retry = None;
                Vec::new()
            }
        }
    }

    // ----- the panes -------------------------------------------------------------------

    fn on_cmd(&mut self, cmd: Cmd) -> Vec<Effect> {
        match cmd {
            Cmd::Quit => self.quit = true,
            Cmd::FocusNext => self.focus = self.focus.next(),
            Cmd::FocusPrev => self.focus = self.focus.prev(),
            Cmd::Focus(p) => self.focus = p,
            Cmd::Help => self.modal = Some(Modal::Help),
            Cmd::Profiles => self.open_picker(),
            Cmd::Reconnect => {
                self.client_state = ClientState::Connecting;
                self.retry = None;
                self.notice = Some(format!("reconnecting to {}", self.client_target));
                return vec![Effect::Reconnect];
            }
            Cmd::Compose => {
                let topic = self.selected_topic().unwrap_or_default();
                self.modal = Some(Modal::Composer(Box::new(Composer::new(&topic))));
            }
            Cmd::Subscribe => self.modal = Some(Modal::Subscribe(Prompt::new(""))),
            Cmd::Unsubscribe => {
                if self.subscriptions.is_empty() {
                    self.notice = Some("no subscriptions".into());
                } else {
                    self.modal = Some(Modal::Unsubscribe { cursor: 0 });
                }
            }
            Cmd::Search => {
                let cur = self.log_search.clone().unwrap_or_default();
                self.modal = Some(Modal::Search(Prompt::new(&cur)));
            }
            Cmd::FilterClient => {
                let cur = self.log_filter.clone().unwrap_or_default();
                self.modal = Some(Modal::ClientFilter(Prompt::new(&cur)));
            }
            Cmd::ClearFilter => self.set_log_filter(None),
            Cmd::SearchNext => self.search_step(true),
            Cmd::SearchPrev => self.search_step(false),
            Cmd::ClearRetained => match self.selected_topic() {
                Some(t) => self.modal = Some(Modal::ConfirmClear(t)),
                None => self.notice = Some("select a topic first".into()),
            },
            Cmd::CopyTopic => {
                if let Some(t) = self.selected_topic() {
                    self.notice = Some(format!("copied topic '{t}'"));
                    return vec![Effect::Copy(t)];
                }
            }
            Cmd::CopyPayload => {
                if let Some(m) = self.current_message() {
                    let text = String::from_utf8_lossy(&m.payload).into_owned();
                    self.notice = Some(format!("copied payload ({} bytes)", m.payload.len()));
                    return vec![Effect::Copy(text)];
                }
            }
            Cmd::GrowClient => self.split = (self.split + 5).min(85),
            Cmd::GrowLog => self.split = self.split.saturating_sub(5).max(15),
            Cmd::Zoom => self.zoom = !self.zoom,
            Cmd::CyclePayloadMode => {
                self.payload_mode = self.payload_mode.next();
                self.payload_scroll = 0;
            }
            Cmd::ToggleFollow => {
                if self.log_follow {
                    self.log_follow = false;
                    self.log_anchor = self.log_newest_seq().unwrap_or(0);
                } else {
                    self.log_follow = true;
                }
            }
            Cmd::FollowNewest => {
                self.msg_selected = None;
                self.payload_scroll = 0;
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
            Cmd::Submit
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
            | Cmd::ToggleFieldBack => {}
        }
        Vec::new()
    }

    fn page(&self, pane: Pane) -> usize {
        let a = self.areas();
        let r = match pane {
            Pane::Topics => a.topics,
            Pane::Messages => a.messages,
            Pane::Payload => a.payload,
            Pane::Log => a.log,
        };
        usize::from(r.height.saturating_sub(3)).max(1)
    }

    fn navigate(&mut self, cmd: Cmd) {
        let page = self.page(self.focus);
        match self.focus {
            Pane::Topics => self.navigate_tree(cmd, page),
            Pane::Messages => self.navigate_messages(cmd, page),
            Pane::Payload => match cmd {
                Cmd::Up => self.payload_scroll = self.payload_scroll.saturating_sub(1),
                Cmd::Down => self.payload_scroll += 1,
                Cmd::PageUp => self.payload_scroll = self.payload_scroll.saturating_sub(page),
                Cmd::PageDown => self.payload_scroll += page,
                Cmd::Top => self.payload_scroll = 0,
                _ => {}
            },
            Pane::Log => self.navigate_log(cmd, page),
        }
    }

    // ----- topic tree ------------------------------------------------------------------

    fn navigate_tree(&mut self, cmd: Cmd, page: usize) {
        if self.tree_dirty {
            self.rebuild_tree_rows();
        }
        let last = self.tree_rows.len().saturating_sub(1);
        let before = self.tree_cursor;
        match cmd {
            Cmd::Up => self.tree_cursor = self.tree_cursor.saturating_sub(1),
            Cmd::Down => self.tree_cursor = (self.tree_cursor + 1).min(last),
            Cmd::PageUp => self.tree_cursor = self.tree_cursor.saturating_sub(page),
            Cmd::PageDown => self.tree_cursor = (self.tree_cursor + page).min(last),
            Cmd::Top => self.tree_cursor = 0,
            Cmd::Bottom => self.tree_cursor = last,
            Cmd::Expand | Cmd::Collapse | Cmd::Toggle => {
                let Some(row) = self.tree_rows.get(self.tree_cursor).cloned() else {
                    return;
                };
                let Some(path) = row.path else { return };
                if cmd == Cmd::Collapse && (!row.has_children || !row.expanded) {
                    // Go to the parent row.
                    if let Some(i) = (0..self.tree_cursor)
                        .rev()
                        .find(|&i| self.tree_rows[i].depth < row.depth)
                    {
                        self.tree_cursor = i;
                    }
                } else if row.has_children
                    && let Some(node) = node_mut(&mut self.tree, &path)
                {
                    node.expanded = match cmd {
                        Cmd::Expand => true,
                        Cmd::Collapse => false,
                        _ => !node.expanded,
                    };
                    self.rebuild_tree_rows();
                }
            }
            _ => {}
        }
        if self.tree_cursor != before {
            self.select_tree_row();
        }
    }

    fn select_tree_row(&mut self) {
        let path = self
            .tree_rows
            .get(self.tree_cursor)
            .and_then(|r| r.path.clone());
        if path != self.view_topic {
            self.view_topic = path;
            self.rebuild_view();
        }
    }

    fn rebuild_tree_rows(&mut self) {
        let mut rows = vec![all_row()];
        let mut prefix = String::new();
        flatten(&self.tree, &mut prefix, 0, &mut rows);
        self.tree_rows = rows;
        self.tree_dirty = false;
        // Keep the cursor on the selected topic.
        self.tree_cursor = self
            .tree_rows
            .iter()
            .position(|r| r.path == self.view_topic)
            .unwrap_or_else(|| self.tree_cursor.min(self.tree_rows.len().saturating_sub(1)));
    }

    /// The topic of the selected tree row or, on the "all" row, of the current message.
    #[must_use]
    pub fn selected_topic(&self) -> Option<String> {
        if (self.focus == Pane::Topics || self.msg_selected.is_none())
            && let Some(t) = &self.view_topic
        {
            return Some(t.clone());
        }
        self.current_message().map(|m| m.topic.to_string())
    }

    fn insert_topic(&mut self, topic: &str, sec: u64, retained: bool) {
        let is_new = node_ref(&self.tree, topic).is_none_or(|n| n.stats.is_none());
        if is_new && self.topic_count >= self.limits.topics {
            self.topics_over_cap += 1;
            return;
        }
        let mut node = &mut self.tree;
        node.subtree_count += 1;
        node.subtree_rate.add(sec, 1);
        for level in topic.split('/') {
            if !node.children.contains_key(level) {
                self.tree_dirty = true;
                node.children.insert(
                    level.to_owned(),
                    TopicNode {
                        expanded: true,
                        ..TopicNode::default()
                    },
                );
            }
            let Some(next) = node.children.get_mut(level) else {
                return;
            };
            node = next;
            node.subtree_count += 1;
            node.subtree_rate.add(sec, 1);
        }
        let stats = node.stats.get_or_insert_with(TopicStats::default);
        stats.count += 1;
        stats.rate.add(sec, 1);
        stats.retained = retained;
        if is_new {
            self.topic_count += 1;
            self.tree_dirty = true;
        }
    }

    // ----- messages --------------------------------------------------------------------

    fn view_matches(&self, topic: &str) -> bool {
        match &self.view_topic {
            None => true,
            Some(p) => {
                topic == p || (topic.starts_with(p.as_str()) && topic[p.len()..].starts_with('/'))
            }
        }
    }

    fn rebuild_view(&mut self) {
        let mut view = SeqView::new(self.limits.messages);
        for (seq, m) in self.messages.iter() {
            if self.view_matches(&m.topic) {
                view.push(seq, 0);
            }
        }
        self.view = view;
        self.msg_selected = None;
        self.payload_scroll = 0;
    }

    fn on_message(&mut self, m: IncomingMessage) {
        let sec = unix_secs(m.time);
        self.client_in.add(sec, 1);
        let retained = m.retain && !m.payload.is_empty();
        let topic: Arc<str> = m.topic.into();
        self.insert_topic(&topic, sec, retained);
        let matches_view = self.view_matches(&topic);
        let seq = self.messages.push(Message {
            time: m.time,
            topic,
            payload: m.payload,
            qos: m.qos,
            retain: m.retain,
            properties: m.properties,
        });
        let first = self.messages.first_seq();
        if matches_view {
            self.view.push(seq, first);
        } else {
            self.view.prune(first);
        }
        if self.msg_selected.is_some_and(|s| s < first) {
            self.msg_selected = None;
        }
    }

    /// Position (from newest) of the selected message in the view.
    #[must_use]
    pub fn msg_position(&self) -> usize {
        self.msg_selected
            .and_then(|s| self.view.position_from_newest(s))
            .unwrap_or(0)
    }

    /// The message the payload pane shows: the selected one or the newest in the view.
    #[must_use]
    pub fn current_message(&self) -> Option<&Message> {
        let seq = self.msg_selected.or_else(|| self.view.from_newest(0))?;
        self.messages.get(seq)
    }

    fn navigate_messages(&mut self, cmd: Cmd, page: usize) {
        let n = self.view.len();
        if n == 0 {
            return;
        }
        let pos = self.msg_position();
        let new = match cmd {
            Cmd::Up => pos.saturating_sub(1),
            Cmd::Down => (pos + 1).min(n - 1),
            Cmd::PageUp => pos.saturating_sub(page),
            Cmd::PageDown => (pos + page).min(n - 1),
            Cmd::Top => 0,
            Cmd::Bottom => n - 1,
            _ => return,
        };
        self.msg_selected = if new == 0 && matches!(cmd, Cmd::Top) {
            None
        } else {
            self.view.from_newest(new)
        };
        self.payload_scroll = 0;
    }

    // ----- broker log ------------------------------------------------------------------

    fn on_broker(&mut self, entry: LogEntry) {
        let sec = unix_secs(entry.time);
        match &entry.event {
            BrokerEvent::PublishReceived { .. } => self.broker_in.add(sec, 1),
            BrokerEvent::PublishSent { .. } => self.broker_out.add(sec, 1),
            BrokerEvent::ClientConnected { client, .. } => {
                self.connected_clients.insert(client.clone());
            }
            BrokerEvent::Disconnected(c)
            | BrokerEvent::ConnectionClosed(c)
            | BrokerEvent::KeepAliveTimeout(c)
            | BrokerEvent::MalformedPacket(c)
            | BrokerEvent::ProtocolError(c)
            | BrokerEvent::OversizePacket(c)
            | BrokerEvent::NotAuthorised(c)
            | BrokerEvent::DisconnectedBecause { client: c, .. } => {
                self.connected_clients.remove(c);
            }
            _ => {}
        }
        let keep = self
            .log_filter
            .as_deref()
            .is_none_or(|f| entry.event.client() == Some(f));
        let seq = self.log.push(entry);
        let first = self.log.first_seq();
        if let Some(v) = &mut self.log_view {
            if keep {
                v.push(seq, first);
            } else {
                v.prune(first);
            }
        }
        if !self.log_follow && self.log_anchor < first {
            self.log_anchor = first;
        }
    }

    /// Number of log rows (after the client filter).
    #[must_use]
    pub fn log_len(&self) -> usize {
        match &self.log_view {
            Some(v) => v.len(),
            None => self.log.len(),
        }
    }

    /// The sequence number of log row `i` counted from the newest.
    #[must_use]
    pub fn log_seq_from_newest(&self, i: usize) -> Option<u64> {
        match &self.log_view {
            Some(v) => v.from_newest(i),
            None => {
                let n = self.log.len();
                (i < n).then(|| self.log.end_seq() - 1 - i as u64)
            }
        }
    }

    fn log_newest_seq(&self) -> Option<u64> {
        self.log_seq_from_newest(0)
    }

    /// Position from the newest of the bottom row shown (0 while following).
    #[must_use]
    pub fn log_bottom(&self) -> usize {
        if self.log_follow {
            return 0;
        }
        match &self.log_view {
            Some(v) => v.position_from_newest(self.log_anchor).unwrap_or(0),
            None => self
                .log
                .end_seq()
                .saturating_sub(1)
                .saturating_sub(self.log_anchor)
                .try_into()
                .unwrap_or(0),
        }
    }

    fn set_log_bottom(&mut self, pos: usize) {
        let n = self.log_len();
        if n == 0 {
            return;
        }
        let pos = pos.min(n - 1);
        if pos == 0 {
            self.log_follow = true;
        } else if let Some(seq) = self.log_seq_from_newest(pos) {
            self.log_follow = false;
            self.log_anchor = seq;
        }
    }

    fn navigate_log(&mut self, cmd: Cmd, page: usize) {
        let pos = self.log_bottom();
        match cmd {
            Cmd::Up => self.set_log_bottom(pos + 1),
            Cmd::Down => self.set_log_bottom(pos.saturating_sub(1)),
            Cmd::PageUp => self.set_log_bottom(pos + page),
            Cmd::PageDown => self.set_log_bottom(pos.saturating_sub(page)),
            Cmd::Top => self.set_log_bottom(self.log_len().saturating_sub(1)),
            Cmd::Bottom => self.log_follow = true,
            _ => {}
        }
    }

    fn set_log_filter(&mut self, filter: Option<String>) {
        match filter {
            None => {
                self.log_filter = None;
                self.log_view = None;
            }
            Some(f) => {
                let mut v = SeqView::new(self.limits.log);
                for (seq, e) in self.log.iter() {
                    if e.event.client() == Some(f.as_str()) {
                        v.push(seq, 0);
                    }
                }
                self.log_filter = Some(f);
                self.log_view = Some(v);
            }
        }
        self.log_follow = true;
    }

    /// Moves the log to the next match of the search, older (`older`) or newer.
    fn search_step(&mut self, older: bool) {
        let Some(needle) = self.log_search.clone() else {
            self.notice = Some("no search: press / first".into());
            return;
        };
        let n = self.log_len();
        let start = self.log_bottom();
        let found = if older {
            (start + 1..n).find(|&i| self.log_row_contains(i, &needle))
        } else {
            (0..start)
                .rev()
                .find(|&i| self.log_row_contains(i, &needle))
        };
        match found {
            Some(i) => self.set_log_bottom(i),
            None => self.notice = Some(format!("'{needle}' not found")),
        }
    }

    fn log_row_contains(&self, i: usize, needle: &str) -> bool {
        self.log_seq_from_newest(i)
            .and_then(|s| self.log.get(s))
            .is_some_and(|e| e.event.to_string().contains(needle))
    }

    // ----- client events ---------------------------------------------------------------

    fn on_client(&mut self, ev: LinkEvent) -> Vec<Effect> {
        match ev {
            LinkEvent::Message(m) => {
                self.on_message(m);
                Vec::new()
            }
            LinkEvent::Connected => {
                self.client_state = ClientState::Connected;
                self.retry = None;
                // Clean start: (re-)subscribe everything.
                self.subscriptions
                    .iter_mut()
                    .map(|s| {
                        s.state = SubState::Pending;
                        Effect::Subscribe {
                            filter: s.filter.clone(),
                            qos: s.qos,
                        }
                    })
                    .collect()
            }
            LinkEvent::Disconnected(why) => {
                self.client_state = ClientState::Disconnected(why);
                Vec::new()
            }
            LinkEvent::Retrying { attempt, delay } => {
                self.retry = Some((attempt, self.now + delay));
                Vec::new()
            }
            LinkEvent::SubAck { filter, result } => {
                if let Some(s) = self.subscriptions.iter_mut().find(|s| s.filter == filter) {
                    s.state = match &result {
                        Ok(q) => SubState::Granted(*q),
                        Err(e) => SubState::Refused(e.clone()),
                    };
                }
                if let Err(e) = result {
                    self.notice = Some(format!("subscription '{filter}' refused: {e}"));
                }
                Vec::new()
            }
            LinkEvent::UnsubAck => Vec::new(),
        }
    }

    // ----- dialogs ---------------------------------------------------------------------

    fn on_modal_cmd(&mut self, cmd: Cmd) -> Vec<Effect> {
        let Some(modal) = self.modal.take() else {
            return Vec::new();
        };
        if cmd == Cmd::Quit {
            self.quit = true;
            return Vec::new();
        }
        if cmd == Cmd::Cancel {
            // The editor and the delete question go back to the picker, on their profile.
            match &modal {
                Modal::ProfileEditor(f) => self.open_picker_at(f.original.as_deref()),
                Modal::ConfirmDelete(name) => self.open_picker_at(Some(name)),
                _ => {}
            }
            return Vec::new();
        }
        match modal {
            Modal::Profiles { cursor } => self.on_picker_cmd(cursor, cmd),
            Modal::ProfileEditor(form) => self.on_editor_cmd(form, cmd),
            Modal::Password { profile, prompt } => self.on_password_cmd(profile, prompt, cmd),
            Modal::ConfirmDelete(name) => self.on_confirm_delete(name, cmd),
            Modal::Help => {
                // Any other bound key closes the help too.
                Vec::new()
            }
            Modal::ConfirmClear(topic) => {
                if cmd == Cmd::Submit {
                    self.notice = Some(format!("cleared the retained message on '{topic}'"));
                    if let Some(n) = node_mut(&mut self.tree, &topic)
                        && let Some(s) = &mut n.stats
                    {
                        s.retained = false;
                    }
                    return vec![Effect::Publish(OutgoingPublish {
                        topic,
                        payload: Bytes::new(),
                        qos: 1,
                        retain: true,
                        props: PublishProps::default(),
                    })];
                }
                self.modal = Some(Modal::ConfirmClear(topic));
                Vec::new()
            }
            Modal::Unsubscribe { cursor } => {
                let n = self.subscriptions.len();
                match cmd {
                    Cmd::Up => {
                        self.modal = Some(Modal::Unsubscribe {
                            cursor: cursor.saturating_sub(1),
                        })
                    }
                    Cmd::Down => {
                        self.modal = Some(Modal::Unsubscribe {
                            cursor: (cursor + 1).min(n.saturating_sub(1)),
                        })
                    }
                    Cmd::Submit if cursor < n => {
                        let s = self.subscriptions.remove(cursor);
                        self.notice = Some(format!("unsubscribed from '{}'", s.filter));
                        return vec![Effect::Unsubscribe(s.filter)];
                    }
                    _ => self.modal = Some(Modal::Unsubscribe { cursor }),
                }
                Vec::new()
            }
            Modal::Subscribe(mut p) => {
                match cmd {
                    Cmd::Submit => {
                        let filter = p.value();
                        match parse_filter(&filter) {
                            Err(e) => {
                                p.error = Some(format!("invalid filter '{filter}': {e}"));
                            }
                            Ok(_) => {
                                self.subscriptions.retain(|s| s.filter != filter);
                                self.subscriptions.push(Subscription {
                                    filter: filter.clone(),
                                    qos: p.qos,
                                    state: SubState::Pending,
                                });
                                self.notice =
                                    Some(format!("subscribing to '{filter}' (QoS {})", p.qos));
                                return vec![Effect::Subscribe { filter, qos: p.qos }];
                            }
                        }
                    }
                    Cmd::NextField | Cmd::ToggleField => p.qos = (p.qos + 1) % 3,
                    Cmd::PrevField => p.qos = (p.qos + 2) % 3,
                    _ => {}
                }
                self.modal = Some(Modal::Subscribe(p));
                Vec::new()
            }
            Modal::Search(p) => {
                if cmd == Cmd::Submit {
                    let q = p.value();
                    if q.is_empty() {
                        self.log_search = None;
                    } else {
                        self.log_search = Some(q);
                        // Start from the newest line so the first match is the newest one.
                        if self.log_row_contains(self.log_bottom(), &p.value()) {
                            self.set_log_bottom(self.log_bottom());
                        } else {
                            self.search_step(true);
                        }
                        if self.log_follow
                            && let Some(s) = self.log_newest_seq()
                        {
                            self.log_follow = false;
                            self.log_anchor = s;
                        }
                    }
                    return Vec::new();
                }
                self.modal = Some(Modal::Search(p));
                Vec::new()
            }
            Modal::ClientFilter(p) => {
                if cmd == Cmd::Submit {
                    let f = p.value().trim().to_owned();
                    self.set_log_filter((!f.is_empty()).then_some(f));
                    return Vec::new();
                }
                self.modal = Some(Modal::ClientFilter(p));
                Vec::new()
            }
            Modal::Composer(mut c) => {
                let effects = self.on_composer_cmd(&mut c, cmd);
                if effects.is_empty() {
                    self.modal = Some(Modal::Composer(c));
                }
                effects
            }
        }
    }

    fn on_composer_cmd(&mut self, c: &mut Composer, cmd: Cmd) -> Vec<Effect> {
        match cmd {
            Cmd::NextField => c.focus = c.focus.step(true),
            Cmd::PrevField => c.focus = c.focus.step(false),
            Cmd::ToggleField => match c.focus {
                ComposerField::Qos => c.qos = (c.qos + 1) % 3,
                ComposerField::Retain => c.retain = !c.retain,
                _ => {}
            },
            Cmd::Submit => {
                // Enter: a newline in multi-line fields, the next field in one-line fields.
                if c.is_multiline() {
                    if let Some(t) = c.focused_text() {
                        t.insert_newline();
                    }
                } else {
                    return self.send_composer(c);
                }
            }
            Cmd::Compose => return self.send_composer(c),
            Cmd::HistoryPrev | Cmd::HistoryNext => {
                let n = self.publish_history.len();
                if n == 0 {
                    return Vec::new();
                }
                let pos = match (c.history_pos, cmd) {
                    (None, Cmd::HistoryPrev) => Some(0),
                    (None, _) => None,
                    (Some(p), Cmd::HistoryPrev) => Some((p + 1).min(n - 1)),
                    (Some(0), _) => None,
                    (Some(p), _) => Some(p - 1),
                };
                c.history_pos = pos;
                match pos {
                    Some(p) => {
                        let entry = self.publish_history[n - 1 - p].clone();
                        c.load(&entry);
                    }
                    None => {
                        let focus = c.focus;
                        *c = Composer::new("");
                        c.focus = focus;
                    }
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn send_composer(&mut self, c: &mut Composer) -> Vec<Effect> {
        match c.build() {
            Err(e) => {
                c.error = Some(e);
                Vec::new()
            }
            Ok(p) => {
                if self.client_state != ClientState::Connected {
                    c.error = Some("the client is not connected".into());
                    return Vec::new();
                }
                self.published += 1;
                self.notice = Some(format!(
                    "published {} bytes to '{}' (QoS {}{})",
                    p.payload.len(),
                    p.topic,
                    p.qos,
                    if p.retain { ", retained" } else { "" }
                ));
                if self.publish_history.last() != Some(&p) {
                    self.publish_history.push(p.clone());
                    if self.publish_history.len() > self.limits.publish_history {
                        self.publish_history.remove(0);
                    }
                }
                vec![Effect::Publish(p)]
            }
        }
    }

    fn on_input(&mut self, input: Input) {
        match &mut self.modal {
            Some(Modal::Composer(c)) => {
                let multiline = c.is_multiline();
                if let Some(t) = c.focused_text() {
                    if !multiline && input.key == ratatui_textarea::Key::Enter {
                        return;
                    }
                    t.input(input);
                    c.error = None;
                }
            }
            Some(
                Modal::Subscribe(p)
                | Modal::Search(p)
                | Modal::ClientFilter(p)
                | Modal::Password { prompt: p, .. },
            ) if input.key != ratatui_textarea::Key::Enter => {
                p.text.input(input);
                p.error = None;
            }
            Some(Modal::ProfileEditor(f)) if input.key != ratatui_textarea::Key::Enter => {
                if let Some(t) = f.focused_text() {
                    t.input(input);
                    f.error = None;
                }
            }
            Some(Modal::Help) => self.modal = None,
            _ => {}
        }
    }

    fn on_paste(&mut self, text: &str) {
        match &mut self.modal {
            Some(Modal::Composer(c)) => {
                let multiline = c.is_multiline();
                if let Some(t) = c.focused_text() {
                    if multiline {
                        t.insert_str(text);
                    } else {
                        t.insert_str(text.replace(['\r', '\n'], " "));
                    }
                }
            }
            Some(
                Modal::Subscribe(p)
                | Modal::Search(p)
                | Modal::ClientFilter(p)
                | Modal::Password { prompt: p, .. },
            ) => {
                p.text.insert_str(text.replace(['\r', '\n'], " "));
            }
            Some(Modal::ProfileEditor(f)) => {
                if let Some(t) = f.focused_text() {
                    t.insert_str(text.replace(['\r', '\n'], " "));
                }
            }
            _ => {}
        }
    }

    /// Forgets the topics and messages of the previous broker (after switching).
    pub(crate) fn reset_client_view(&mut self) {
        self.messages = Ring::new(self.limits.messages, self.limits.message_bytes);
        self.tree = TopicNode {
            expanded: true,
            ..TopicNode::default()
        };
        self.topic_count = 0;
        self.topics_over_cap = 0;
        self.tree_rows = vec![all_row()];
        self.tree_dirty = true;
        self.tree_cursor = 0;
        self.tree_offset = 0;
        self.view = SeqView::new(self.limits.messages);
        self.view_topic = None;
        self.msg_selected = None;
        self.payload_scroll = 0;
        self.client_in = Rate::default();
    }

    // ----- mouse -----------------------------------------------------------------------

    fn pane_at(&self, col: u16, row: u16) -> Option<Pane> {
        let a = self.areas();
        let pos = ratatui::layout::Position::new(col, row);
        [
            (a.topics, Pane::Topics),
            (a.messages, Pane::Messages),
            (a.payload, Pane::Payload),
            (a.log, Pane::Log),
        ]
        .into_iter()
        .find(|(r, _)| r.contains(pos))
        .map(|(_, p)| p)
    }

    fn on_click(&mut self, col: u16, row: u16) {
        if self.modal.is_some() {
            if matches!(self.modal, Some(Modal::Help)) {
                self.modal = None;
            }
            return;
        }
        let Some(pane) = self.pane_at(col, row) else {
            return;
        };
        self.focus = pane;
        let a = self.areas();
        match pane {
            Pane::Topics => {
                if row > a.topics.y {
                    self.prepare();
                    let i = self.tree_offset + usize::from(row - a.topics.y - 1);
                    if i < self.tree_rows.len() {
                        if i == self.tree_cursor {
                            self.navigate_tree(Cmd::Toggle, 1);
                        } else {
                            self.tree_cursor = i;
                            self.select_tree_row();
                        }
                    }
                }
            }
            Pane::Messages => {
                // Row 0 is the border, row 1 the header.
                if row > a.messages.y + 1 {
                    let h = usize::from(a.messages.height.saturating_sub(3)).max(1);
                    let offset = self.msg_position().saturating_sub(h - 1);
                    let i = offset + usize::from(row - a.messages.y - 2);
                    if i < self.view.len() {
                        self.msg_selected = if i == 0 {
                            None
                        } else {
                            self.view.from_newest(i)
                        };
                        self.payload_scroll = 0;
                    }
                }
            }
            Pane::Payload | Pane::Log => {}
        }
    }
}

fn all_row() -> TreeRow {
    TreeRow {
        path: None,
        name: "(all topics)".into(),
        depth: 0,
        has_children: false,
        expanded: true,
    }
}

fn flatten(node: &TopicNode, prefix: &mut String, depth: usize, rows: &mut Vec<TreeRow>) {
    for (name, child) in &node.children {
        let len = prefix.len();
        if depth > 0 {
            prefix.push('/');
        }
        prefix.push_str(name);
        rows.push(TreeRow {
            path: Some(prefix.clone()),
            name: name.clone(),
            depth,
            has_children: !child.children.is_empty(),
            expanded: child.expanded,
        });
        if child.expanded {
            flatten(child, prefix, depth + 1, rows);
        }
        prefix.truncate(len);
    }
}

/// The tree node of a full topic path.
#[must_use]
pub fn node_ref<'a>(root: &'a TopicNode, path: &str) -> Option<&'a TopicNode> {
    let mut node = root;
    for level in path.split('/') {
        node = node.children.get(level)?;
    }
    Some(node)
}

fn node_mut<'a>(root: &'a mut TopicNode, path: &str) -> Option<&'a mut TopicNode> {
    let mut node = root;
    for level in path.split('/') {
        node = node.children.get_mut(level)?;
    }
    Some(node)
}

/// True when a subscription filter of the client covers `topic` (for tests and the status).
#[must_use]
pub fn covered(subs: &[Subscription], topic: &str) -> bool {
    subs.iter().any(|s| matches(&s.filter, topic))
}
