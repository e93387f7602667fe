//! What goes into and out of the model: the [`Action`]s that change it, the [`Effect`]s it
//! asks the run loop for, the open dialog ([`Modal`]) and the start-up facts and limits.

use std::time::SystemTime;

use ratatui_textarea::Input;

use super::cmd::Cmd;
use super::composer::Composer;
use super::fleet::{ExportFile, ExportResult, FleetEffect, FleetModal};
use super::link::{ConnectTo, Target};
use super::profiles::ProfileForm;
use super::prompt::Prompt;
use crate::broker::LogEntry;
use crate::broker::sys::LiveStats;
use crate::profile::Profile;
use crate::tui::client_link::{LinkEvent, OutgoingPublish};

/// The id of one connection of the workbench (stable while it runs; see `conns`).
pub type ConnId = u32;

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
    BrokerStats(LiveStats),
    /// Profiles after a save or delete (the list now on disk), or why it failed.
    Profiles(Result<Vec<Profile>, String>),
    /// The run loop could not start the connection asked for.
    ConnectFailed(String),
    /// A profile's password could not be found (its `password_env` variable is unset, its
    /// `password_file` unreadable): ask for it, saying why.
    NeedPassword {
        /// The profile.
        profile: Box<Profile>,
        /// Why the password is missing.
        why: String,
    },
    /// An effect could not be carried out.
    EffectFailed(EffectFailure),
    /// A frame is about to be drawn: bring derived state (the tree rows, scrolling) up to
    /// date, so that drawing only reads.
    Frame,
    /// A fault's helper client finished: what it saw, or why it could not, and when it
    /// finished (the log line's time: the model's clock ticks only once a second).
    FaultDone(Result<String, String>, SystemTime),
    // Several connections (conns, issue 14).
    /// An event of connection `0` (the active one's go on like [`Action::Client`]).
    ConnEvent(ConnId, LinkEvent),
    /// Open (or show) a connection beside the others, as the picker does (`--profile`).
    Open(ConnectTo),
    /// The payload decoders of a connection's profile, and the entries that did not load
    /// (file and line where known).
    ConnDecoders(
        ConnId,
        std::sync::Arc<crate::tui::decode::Decoders>,
        Vec<String>,
    ),
    /// Issue 12: captured bytes or a broker state snapshot for a learning view.
    Learn(super::inspector::LearnResult),
    /// Fleet (issue 14): what became of an [`Effect::Export`].
    Exported(ExportResult),
}

/// Why the run loop could not carry out an effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EffectFailure {
    /// The clipboard escape sequence could not be written.
    Copy(String),
    /// The client connection refused the request (not connected, queue full, …).
    Link(String),
}

impl std::fmt::Display for EffectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Copy(e) => write!(f, "copy failed: {e}"),
            Self::Link(e) => f.write_str(e),
        }
    }
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
    /// Read `profiles.toml` again (the picker opens; another process may have changed it).
    ReloadProfiles,
    /// Reconnect now.
    Reconnect,
    /// Cause a fault against the embedded broker.
    Fault(super::fault::FaultRequest),
    // Several connections (conns, issue 14).
    /// Carry out the effect on connection `0`'s link instead of the active one's.
    OnConn(ConnId, Box<Effect>),
    /// Stop connection `0`'s link (the model forgot it).
    CloseConn(ConnId),
    /// Issue 12: look up captured bytes, or ask the embedded broker for its state.
    Learn(super::inspector::LearnRequest),
    /// Fleet (issue 14): write an exported payload or history to a file.
    Export(ExportFile),
}

impl From<FleetEffect> for Effect {
    fn from(e: FleetEffect) -> Self {
        match e {
            FleetEffect::Export(f) => Self::Export(f),
            FleetEffect::Publish(p) => Self::Publish(p),
        }
    }
}

/// A dialog on top of the panes; it takes all keys while open.
#[derive(Debug, Clone)]
pub enum Modal {
    /// The key help, scrolled down `scroll` lines.
    Help {
        /// First line shown.
        scroll: usize,
    },
    /// The recent errors in full, from the `first` one on.
    Errors {
        /// First error shown (0: the oldest kept).
        first: usize,
    },
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
    /// The fault menu: pick a fault to cause against the embedded broker.
    Faults,
    /// The first-minute overlay (first start only).
    FirstMinute,
    /// The connections list (conns, issue 14).
    Conns {
        /// Selected row.
        cursor: usize,
    },
    /// Issue 12: packet inspector, broker state, "why didn't I receive it?", concepts.
    Learn(Box<super::inspector::Learn>),
    // Message journeys (issue 12).
    /// The sequence view of journey `no`, scrolled down `scroll` arrows.
    Sequence {
        /// The broker's message number.
        no: crate::broker::event::MessageNo,
        /// First arrow shown.
        scroll: usize,
    },
    /// Fleet (issue 14): filter and search prompts, plot, diff, export, retained cleanup.
    Fleet(Box<FleetModal>),
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
    /// Lines in the key help (the help scrolls when they do not fit the screen).
    pub help_lines: usize,
    /// Show the first-minute overlay (first start only).
    pub first_minute: bool,
    /// The start connection's options as flags for the copied commands (task `polish`).
    pub login: crate::lessons::shell::Login,
}
