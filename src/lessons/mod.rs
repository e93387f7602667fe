//! Lessons: data files under `assets/lessons/` (format in `assets/lessons/README.md`), their
//! loader, and the checker that ticks a step off when the broker's events show it done, no
//! matter which client caused them: the workbench's own panes or a real `mosquitto_sub` /
//! `mosquitto_pub` in another terminal.
//!
//! * [`events`]: the check vocabulary, a kind name and comparable fields for every
//!   [`BrokerEvent`].
//! * [`shell`]: shell quoting and the equivalent `mosquitto_pub`/`mosquitto_sub` and
//!   `mqtt-workbench pub`/`sub` commands.
//! * [`faults`]: the raw-socket helper clients behind the fault menu.
//! * [`sentence`]: a check as the learner reads it, one plain sentence.

pub mod events;
pub mod faults;
pub mod sentence;
pub mod shell;

use serde::Deserialize;

use crate::broker::BrokerEvent;
use crate::protocol::topic::matches;

/// The lesson files built into the binary, in order: (file name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "01-hello.toml",
        include_str!("../../assets/lessons/01-hello.toml"),
    ),
    (
        "02-qos.toml",
        include_str!("../../assets/lessons/02-qos.toml"),
    ),
    (
        "03-retained.toml",
        include_str!("../../assets/lessons/03-retained.toml"),
    ),
    (
        "04-wills.toml",
        include_str!("../../assets/lessons/04-wills.toml"),
    ),
    (
        "05-sessions.toml",
        include_str!("../../assets/lessons/05-sessions.toml"),
    ),
    (
        "06-keepalive.toml",
        include_str!("../../assets/lessons/06-keepalive.toml"),
    ),
    (
        "07-wildcards.toml",
        include_str!("../../assets/lessons/07-wildcards.toml"),
    ),
    (
        "08-mqtt5.toml",
        include_str!("../../assets/lessons/08-mqtt5.toml"),
    ),
];

/// One lesson: a title, an introduction and its steps.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// Short title, shown in the pane's border.
    pub title: String,
    /// A few sentences shown above the steps.
    #[serde(default)]
    pub intro: String,
    /// The steps, in order.
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// One step: what to do, how (keys in the workbench, or a command in another terminal) and
/// what in the broker's events shows it done.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What to do, in one sentence.
    pub goal: String,
    /// Why it matters or what to look at, once done.
    #[serde(default)]
    pub explain: String,
    /// The equivalent commands, with `{host}` and `{port}` standing for the embedded broker.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Workbench keys that do it (each must be bound; a test checks).
    #[serde(default)]
    pub keys: Vec<String>,
    /// The pane to look at: `topics`, `messages`, `payload`, `log` or `lesson`.
    #[serde(default)]
    pub view: Option<String>,
    /// Every one of these must be seen while the step is the current one.
    pub check: Vec<Check>,
}

/// A predicate over one broker event: its kind and, optionally, fields it must have.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The event kind, one of [`events::KINDS`].
    pub event: String,
    /// The client id, exactly.
    pub client: Option<String>,
    /// The client id starts with this.
    pub client_prefix: Option<String>,
    /// An MQTT topic filter the event's topic must match (`a/+/c`, `a/#` or a plain topic).
    pub topic: Option<String>,
    /// A filter of the SUBSCRIBE or UNSUBSCRIBE, exactly.
    pub filter: Option<String>,
    /// QoS (of the PUBLISH, the will, or the SUBSCRIBE filter named by `filter`).
    pub qos: Option<u8>,
    /// RETAIN.
    pub retain: Option<bool>,
    /// Payload length.
    pub len: Option<usize>,
    /// Clean session / clean start.
    pub clean: Option<bool>,
    /// Protocol as the log prints it: 2 for 3.1.1, 5 for 5.0.
    pub protocol: Option<u8>,
    /// Keep alive at most this many seconds (and not 0).
    pub keep_alive_max: Option<u16>,
    /// Session present.
    pub session_present: Option<bool>,
    /// How many matching events are needed (default 1).
    pub count: Option<u32>,
}

impl Check {
    /// True when `e` satisfies every field of the check.
    #[must_use]
    pub fn matches(&self, e: &BrokerEvent) -> bool {
        let f = events::fields(e);
        if f.kind != self.event {
            return false;
        }
        let client = f.client.as_deref().unwrap_or_default();
        let opt = |want: Option<bool>, got: Option<bool>| want.is_none_or(|w| got == Some(w));
        let by_filter = match &self.filter {
            Some(want) => f
                .filters
                .iter()
                .find(|(flt, _)| flt == want)
                .map(|(_, q)| *q),
            None => None,
        };
        if self.filter.is_some() && by_filter.is_none() {
            return false;
        }
        let qos = by_filter.or(f.qos);
        self.client.as_ref().is_none_or(|c| c == client)
            && self
                .client_prefix
                .as_ref()
                .is_none_or(|p| client.starts_with(p.as_str()))
            && self
                .topic
                .as_ref()
                .is_none_or(|t| f.topic.as_deref().is_some_and(|top| matches(t, top)))
            && self.qos.is_none_or(|q| qos == Some(q))
            && opt(self.retain, f.retain)
            && self.len.is_none_or(|l| f.len == Some(l))
            && opt(self.clean, f.clean)
            && self.protocol.is_none_or(|p| f.protocol == Some(p))
            && self
                .keep_alive_max
                .is_none_or(|k| f.keep_alive.is_some_and(|got| got > 0 && got <= k))
            && opt(self.session_present, f.session_present)
    }

    fn needed(&self) -> u32 {
        self.count.unwrap_or(1).max(1)
    }
}

/// Reads one lesson file; errors name the file and the line.
pub fn parse(name: &str, text: &str) -> Result<Lesson, String> {
    let lesson: Lesson = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| {
            text[..s.start.min(text.len())].lines().count().max(1)
        });
        format!("{name}:{line}: {}", e.message())
    })?;
    if lesson.steps.is_empty() {
        return Err(format!("{name}: a lesson needs at least one [[step]]"));
    }
    for (i, step) in lesson.steps.iter().enumerate() {
        if step.check.is_empty() {
            return Err(format!("{name}: step {} has no check", i + 1));
        }
        for c in &step.check {
            if !events::KINDS.contains(&c.event.as_str()) {
                return Err(format!(
                    "{name}: step {}: unknown event kind '{}' (known: {})",
                    i + 1,
                    c.event,
                    events::KINDS.join(", ")
                ));
            }
        }
    }
    Ok(lesson)
}

/// The built-in lessons, in order.
pub fn builtin() -> Result<Vec<Lesson>, String> {
    BUILTIN.iter().map(|(n, t)| parse(n, t)).collect()
}

/// Where a learner is in one lesson, fed by broker events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    step: usize,
    seen: Vec<u32>,
    steps: usize,
}

impl Progress {
    /// At the first step of `lesson`.
    #[must_use]
    pub fn new(lesson: &Lesson) -> Self {
        Self {
            step: 0,
            seen: vec![0; lesson.steps.first().map_or(0, |s| s.check.len())],
            steps: lesson.steps.len(),
        }
    }

    /// The current step (equal to the number of steps once the lesson is done).
    #[must_use]
    pub fn step(&self) -> usize {
        self.step
    }

    /// True once every step has ticked.
    #[must_use]
    pub fn done(&self) -> bool {
        self.step >= self.steps
    }

    /// Which checks of the current step have been seen enough times.
    #[must_use]
    pub fn seen(&self, lesson: &Lesson) -> Vec<bool> {
        lesson.steps.get(self.step).map_or_else(Vec::new, |s| {
            s.check
                .iter()
                .zip(&self.seen)
                .map(|(c, n)| *n >= c.needed())
                .collect()
        })
    }

    /// Feeds one event; returns true when it completed the current step.
    pub fn on_event(&mut self, lesson: &Lesson, e: &BrokerEvent) -> bool {
        let Some(step) = lesson.steps.get(self.step) else {
            return false;
        };
        for (c, n) in step.check.iter().zip(self.seen.iter_mut()) {
            if *n < c.needed() && c.matches(e) {
                *n += 1;
            }
        }
        let complete = step
            .check
            .iter()
            .zip(&self.seen)
            .all(|(c, n)| *n >= c.needed());
        if complete {
            self.advance(lesson);
        }
        complete
    }

    /// Skips to the next step without its check (the learner asked).
    pub fn advance(&mut self, lesson: &Lesson) {
        self.step = (self.step + 1).min(self.steps);
        self.seen = vec![0; lesson.steps.get(self.step).map_or(0, |s| s.check.len())];
    }

    /// Back one step.
    pub fn back(&mut self, lesson: &Lesson) {
        self.step = self.step.saturating_sub(1);
        self.seen = vec![0; lesson.steps.get(self.step).map_or(0, |s| s.check.len())];
    }
}

/// Replaces `{host}` and `{port}` in a lesson command.
#[must_use]
pub fn fill(command: &str, host: &str, port: u16) -> String {
    command
        .replace("{host}", host)
        .replace("{port}", &port.to_string())
}

#[cfg(test)]
mod tests;
