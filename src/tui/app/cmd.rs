//! The focusable panes and the data-free commands that keys and gestures ask for.

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
    /// Every pane, in Tab order.
    pub const ORDER: [Pane; 4] = [Pane::Topics, Pane::Messages, Pane::Payload, Pane::Log];

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
    /// Show the recent errors in full.
    Errors,
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
    /// Log: hide or show the PINGREQ/PINGRESP lines.
    TogglePings,
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
    /// Lessons: show the pane, change lesson, skip a step.
    Lesson(LessonCmd),
    /// Open the fault menu.
    Faults,
    /// Fault menu: cause the fault at this position.
    Fault(u8),
    /// Composer and subscribe dialog: copy the equivalent command (`true`: the
    /// `mqtt-workbench` one, `false`: mosquitto's).
    CopyCommand(bool),
    // Several connections (conns, issue 14).
    /// Open the connections list (or close it).
    Conns,
    /// Show the next connection.
    ConnNext,
    /// Show the previous connection.
    ConnPrev,
    /// Connections list: close the selected connection.
    CloseConn,
    /// Issue 12, the learning views: packet inspector, broker state, "why didn't I receive
    /// it?", concept pages.
    Learn(LearnCmd),
    // Message journeys (issue 12).
    /// A message-journey key.
    Journey(JourneyCmd),
    /// Fleet debugging (issue 14): filter and search, plot, diff, export.
    Fleet(FleetCmd),
}

/// What a learning-view key asks for (issue 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LearnCmd {
    /// Open the packet inspector on the log line at the bottom of the log pane.
    Inspect,
    /// Open the broker state view.
    State,
    /// Open "Why didn't I receive it?" for the selected topic.
    Why,
    /// Open the concept pages.
    Concepts,
    /// "Why didn't I receive it?": type another topic.
    Edit,
    /// Concept pages: the next page.
    NextPage,
    /// Concept pages: the previous page.
    PrevPage,
}

/// What a message-journey key asks for (issue 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JourneyCmd {
    /// `J`: show only the current message's journey in the log, or everything again.
    Filter,
    /// `M` in the log: select the message of the journey line at the bottom of the log.
    ToMessage,
    /// `S`: the sequence view of the current message's journey.
    Sequence,
    /// `w`: why notes under the log lines that have one.
    WhyNotes,
}

/// What a fleet key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FleetCmd {
    /// `/` in the topic tree (filter) or the message list and payload (payload search).
    Filter,
    /// `P`: plot the current message's topic.
    Plot,
    /// `D`: the current message against the previous one on its topic.
    Diff,
    /// `x`: export the payload (message list, payload) or the subtree's history (tree).
    Export,
}

/// What a lesson key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LessonCmd {
    /// Show or hide the lesson pane.
    Toggle,
    /// The next lesson.
    Next,
    /// The previous lesson.
    Prev,
    /// Skip the current step without its check.
    Skip,
}
