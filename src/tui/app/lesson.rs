//! The lesson sub-model: which lesson is open, where the learner is in it, and whether the
//! pane is shown. Broker events tick steps off whether the pane is shown or not, so a learner
//! can close it, work, and find the step done.

use super::cmd::LessonCmd;
use super::composer::Composer;
use super::layout::LayoutModel;
use super::notice::Notices;
use super::prompt::Prompt;
use crate::broker::{BrokerEvent, LogEntry};
use crate::lessons::shell::{self, Endpoint, PubSpec, Tool};
use crate::lessons::{self, Lesson, Progress};
use crate::tui::client_link::{IncomingMessage, OutgoingPublish};

/// The lessons and the learner's place in the current one.
#[derive(Debug, Clone)]
pub struct LessonModel {
    lessons: Vec<Lesson>,
    error: Option<String>,
    current: usize,
    progress: Option<Progress>,
    open: bool,
    host: String,
    port: u16,
    /// Whether this session runs the embedded broker, whose log ticks the steps.
    embedded: bool,
    screen: (u16, u16),
}

/// What the lesson pane says when there is no embedded broker to tick the steps.
pub const NO_CHECKS: &str = "No embedded broker in this session (started with -h, -L or \
    --no-broker): steps tick only from this workbench's own client (its SUBSCRIBE, the \
    PUBLISH it sends from the composer, the messages it receives); what mosquitto_sub or \
    mosquitto_pub do is not seen, so . skips such a step. Start mqtt-workbench without -h \
    (or add --port) to have every step checked. The commands below go to the broker the \
    client is connected to.";

/// A packet of the workbench's own client, which stands in for the broker's log when there
/// is no embedded broker.
#[derive(Debug, Clone, Copy)]
pub enum OwnPacket<'a> {
    /// The broker granted its SUBSCRIBE to `filter` (its SUBACK came).
    Subscribed {
        /// Topic filter.
        filter: &'a str,
        /// Granted QoS.
        qos: u8,
    },
    /// It sent a PUBLISH (the broker receives it).
    Sent {
        /// Topic name.
        topic: &'a str,
        /// QoS.
        qos: u8,
        /// Retain.
        retain: bool,
        /// Payload length.
        len: usize,
    },
    /// It received a PUBLISH (the broker sent it).
    Received {
        /// Topic name.
        topic: &'a str,
        /// QoS.
        qos: u8,
        /// RETAIN flag.
        retain: bool,
        /// Payload length.
        len: usize,
    },
}

impl<'a> OwnPacket<'a> {
    /// The PUBLISH the client sends for `p`.
    #[must_use]
    pub fn sent(p: &'a OutgoingPublish) -> Self {
        Self::Sent {
            topic: &p.topic,
            qos: p.qos,
            retain: p.retain,
            len: p.payload.len(),
        }
    }

    /// The PUBLISH `m` the client received.
    #[must_use]
    pub fn received(m: &'a IncomingMessage) -> Self {
        Self::Received {
            topic: &m.topic,
            qos: m.qos,
            retain: m.retain,
            len: m.payload.len(),
        }
    }
}

impl LessonModel {
    /// The built-in lessons, closed, at lesson 1. `broker` is the embedded broker's
    /// `host:port`, used in the commands shown.
    #[must_use]
    pub fn new(broker: Option<&str>) -> Self {
        let (lessons, error) = match lessons::builtin() {
            Ok(l) => (l, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let (host, port) = broker
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(h, p)| Some((h.to_owned(), p.parse().ok()?)))
            .unwrap_or_else(|| ("localhost".to_owned(), 1883));
        let progress = lessons.first().map(Progress::new);
        Self {
            lessons,
            error,
            current: 0,
            progress,
            open: false,
            host,
            port,
            embedded: broker.is_some(),
            screen: (80, 24),
        }
    }

    /// True while the pane is shown.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Why the lessons could not be loaded.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The open lesson and its index.
    #[must_use]
    pub fn lesson(&self) -> Option<(usize, &Lesson)> {
        self.lessons.get(self.current).map(|l| (self.current, l))
    }

    /// How many lessons there are.
    #[must_use]
    pub fn count(&self) -> usize {
        self.lessons.len()
    }

    /// Where the learner is in the open lesson.
    #[must_use]
    pub fn progress(&self) -> Option<&Progress> {
        self.progress.as_ref()
    }

    /// A lesson command with `{host}` and `{port}` filled in.
    #[must_use]
    pub fn command(&self, raw: &str) -> String {
        lessons::fill(raw, &self.host, self.port)
    }

    /// A lesson command for the pane: aimed at the embedded broker when there is one (its
    /// log ticks the steps), otherwise at `address`, where the client is connected.
    #[must_use]
    pub fn command_at(&self, raw: &str, address: &str) -> String {
        if self.embedded {
            return self.command(raw);
        }
        let at = endpoint(address);
        lessons::fill(raw, &at.host, at.port)
    }

    /// Why steps cannot tick in this session (no embedded broker), if so.
    #[must_use]
    pub fn no_checks(&self) -> Option<&'static str> {
        (!self.embedded).then_some(NO_CHECKS)
    }

    /// The width the pane takes from a screen `width` columns wide (0 when closed).
    #[must_use]
    pub fn width(&self, width: u16) -> u16 {
        if !self.open || width < 60 {
            return 0;
        }
        (width * 2 / 5).clamp(30, 64)
    }

    /// The terminal is `w` x `h`: the panes get it minus the lesson pane's column.
    pub fn resize(&mut self, w: u16, h: u16, layout: &mut LayoutModel) {
        self.screen = (w, h);
        layout.resize(w - self.width(w), h);
    }

    /// Applies a lesson command and gives the panes the room the lesson pane leaves; returns
    /// a notice for the status bar.
    pub fn update(&mut self, cmd: LessonCmd, layout: &mut LayoutModel) -> Option<String> {
        let notice = self.apply(cmd);
        let (w, h) = self.screen;
        self.resize(w, h, layout);
        notice
    }

    fn apply(&mut self, cmd: LessonCmd) -> Option<String> {
        let n = self.lessons.len();
        match cmd {
            LessonCmd::Toggle => {
                self.open = !self.open;
                return self.error.clone();
            }
            LessonCmd::Next | LessonCmd::Prev if n > 0 => {
                self.current = if cmd == LessonCmd::Next {
                    (self.current + 1) % n
                } else {
                    (self.current + n - 1) % n
                };
                self.open = true;
                self.progress = self.lessons.get(self.current).map(Progress::new);
            }
            LessonCmd::Skip => {
                if let (Some(l), Some(p)) = (self.lessons.get(self.current), &mut self.progress) {
                    p.advance(l);
                    return Some("step skipped".into());
                }
            }
            LessonCmd::Next | LessonCmd::Prev => {}
        }
        None
    }

    /// Feeds a log entry to the checker, sets `notice` when it ticked a step off, and hands
    /// the entry back for the log.
    pub fn observe(&mut self, entry: LogEntry, notice: &mut Option<String>) -> LogEntry {
        if let Some(n) = self.on_event(&entry.event) {
            *notice = Some(n);
        }
        entry
    }

    /// Without the embedded broker, a packet of the workbench's own client (`client`) ticks
    /// steps as the broker's log line it implies would; with one, its log does that and this
    /// does nothing.
    pub fn on_own_packet(&mut self, client: &str, p: OwnPacket<'_>) -> Option<String> {
        use crate::broker::event::PublishFlags;
        if self.embedded {
            return None;
        }
        let client: std::sync::Arc<str> = client.into();
        let flags = |qos, retain| PublishFlags {
            dup: false,
            qos,
            retain,
            pkid: 0,
        };
        let e = match p {
            OwnPacket::Subscribed { filter, qos } => BrokerEvent::SubscribeReceived {
                client,
                filters: vec![(filter.to_owned(), qos)],
            },
            OwnPacket::Sent {
                topic,
                qos,
                retain,
                len,
            } => BrokerEvent::PublishReceived {
                client,
                flags: flags(qos, retain),
                topic: topic.into(),
                len,
            },
            OwnPacket::Received {
                topic,
                qos,
                retain,
                len,
            } => BrokerEvent::PublishSent {
                client,
                flags: flags(qos, retain),
                topic: topic.into(),
                len,
            },
        };
        self.on_event(&e)
    }

    /// [`LessonModel::on_own_packet`], saying a ticked step in `notices`.
    pub fn own_packet(&mut self, client: &str, p: OwnPacket<'_>, notices: &mut Notices) {
        if let Some(n) = self.on_own_packet(client, p) {
            notices.say(n);
        }
    }

    /// Feeds a broker event; returns a notice when it ticked a step off.
    pub fn on_event(&mut self, e: &BrokerEvent) -> Option<String> {
        let l = self.lessons.get(self.current)?;
        let p = self.progress.as_mut()?;
        let step = p.step();
        if !p.on_event(l, e) {
            return None;
        }
        Some(if p.done() {
            format!("lesson complete: {}", l.title)
        } else {
            format!("step {} done", step + 1)
        })
    }
}

/// Where `address` points: `host:port` as the embedded and `-h` connections show it, or a
/// profile's `scheme://host:port[/path]` (the scheme and path are not mosquitto's `-h`),
/// with no login flags.
fn endpoint(address: &str) -> Endpoint {
    let p = super::own_broker::place(address);
    Endpoint {
        host: p.host,
        port: p.port,
        login: shell::Login::default(),
    }
}

/// The command that sends `p` to the broker at `at` with `tool`.
#[must_use]
pub fn pub_command(p: &OutgoingPublish, at: &Endpoint, tool: Tool) -> String {
    let spec = PubSpec {
        topic: p.topic.clone(),
        payload: String::from_utf8_lossy(&p.payload).into_owned(),
        qos: p.qos,
        retain: p.retain,
        content_type: p.props.content_type.clone(),
        expiry: p.props.message_expiry,
        response_topic: p.props.response_topic.clone(),
        correlation: p.props.correlation_data.clone(),
        user: p.props.user.clone(),
    };
    shell::pub_command(tool, at, &spec)
}

/// The command that subscribes to `filter` at `qos` on the broker at `at` with `tool`.
#[must_use]
pub fn sub_command(filter: &str, qos: u8, at: &Endpoint, tool: Tool) -> String {
    shell::sub_command(tool, at, filter, qos)
}

/// The text `C-y` (mosquitto's tools) or `M-y` (`workbench`: `mqtt-workbench`) copies from
/// the composer or the subscribe prompt, or why there is none yet.
/// Returns the notice and the text to copy.
pub fn copy_command(
    composer: Option<&Composer>,
    subscribe: Option<&Prompt>,
    at: &Endpoint,
    workbench: bool,
) -> (String, Option<String>) {
    let tool = if workbench {
        Tool::Workbench
    } else {
        Tool::Mosquitto
    };
    let text = match (composer, subscribe) {
        (Some(c), _) => c.build().map(|p| pub_command(&p, at, tool)),
        (None, Some(p)) => Ok(sub_command(&p.value(), p.qos(), at, tool)),
        (None, None) => Err("nothing to copy here".into()),
    };
    // What the flags cannot carry is said, never copied (the password above all), and said
    // first: a long command is cut at the end of the status line.
    let copied = match at.login.note() {
        Some(note) => format!("copied ({note})"),
        None => "copied".to_owned(),
    };
    match text {
        Ok(t) => (format!("{copied}: {t}"), Some(t)),
        Err(e) => (e, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    impl LessonModel {
        fn update_alone(&mut self, cmd: LessonCmd) -> Option<String> {
            self.update(cmd, &mut LayoutModel::default())
        }
    }

    #[test]
    fn opening_the_pane_narrows_the_panes() {
        let mut m = LessonModel::new(None);
        let mut layout = LayoutModel::default();
        m.resize(160, 48, &mut layout);
        assert_eq!(layout.size(), (160, 48));
        m.update(LessonCmd::Toggle, &mut layout);
        assert_eq!(layout.size(), (96, 48));
        m.update(LessonCmd::Toggle, &mut layout);
        assert_eq!(layout.size(), (160, 48));
    }

    #[test]
    fn events_tick_lesson_1_and_next_moves_on() {
        let mut m = LessonModel::new(Some("127.0.0.1:1884"));
        assert!(!m.is_open());
        m.update_alone(LessonCmd::Toggle);
        assert!(m.is_open());
        let (_, l) = m.lesson().expect("lesson 1");
        assert_eq!(
            m.command(&l.steps[0].commands[0]),
            "mosquitto_sub -h 127.0.0.1 -p 1884 -t mqtt -v"
        );
        let sub = BrokerEvent::SubscribeReceived {
            client: Arc::from("s"),
            filters: vec![("mqtt".into(), 0)],
        };
        assert_eq!(m.on_event(&sub).as_deref(), Some("step 1 done"));
        assert_eq!(m.progress().map(Progress::step), Some(1));
        m.update_alone(LessonCmd::Skip);
        m.update_alone(LessonCmd::Skip);
        assert!(m.progress().is_some_and(Progress::done));
        m.update_alone(LessonCmd::Next);
        assert_eq!(m.lesson().map(|(i, _)| i), Some(1));
        assert_eq!(m.progress().map(Progress::step), Some(0));
        m.update_alone(LessonCmd::Prev);
        m.update_alone(LessonCmd::Prev);
        assert_eq!(m.lesson().map(|(i, _)| i), Some(m.count() - 1));
    }

    /// Review item 3: a profile connection's address carries a scheme, which is no host
    /// for mosquitto's `-h`.
    #[test]
    fn copied_commands_use_the_host_and_port_of_a_profile_address() {
        let e = |a: &str| {
            let e = endpoint(a);
            (e.host, e.port)
        };
        assert_eq!(e("mqtt://127.0.0.1:24884"), ("127.0.0.1".into(), 24884));
        assert_eq!(e("mqtts://broker.lab:8884"), ("broker.lab".into(), 8884));
        assert_eq!(
            e("wss://mqtt.example.com:443/mqtt"),
            ("mqtt.example.com".into(), 443)
        );
        assert_eq!(e("mqtt://[::1]:1884"), ("::1".into(), 1884));
        assert_eq!(e("127.0.0.1:1884"), ("127.0.0.1".into(), 1884));
        assert_eq!(e("mqtts://broker.lab"), ("broker.lab".into(), 8883));
        assert_eq!(
            sub_command(
                "a/#",
                0,
                &endpoint("mqtt://127.0.0.1:24884"),
                Tool::Mosquitto
            ),
            "mosquitto_sub -h 127.0.0.1 -p 24884 -t 'a/#' -v"
        );
    }

    /// Review item 6: without the embedded broker nothing can tick; the pane says so and
    /// the commands go to the broker the client is connected to.
    #[test]
    fn without_the_embedded_broker_commands_follow_the_client() {
        let m = LessonModel::new(None);
        let (_, l) = m.lesson().expect("lesson 1");
        let raw = &l.steps[0].commands[0];
        assert_eq!(
            m.command_at(raw, "127.0.0.1:24884"),
            "mosquitto_sub -h 127.0.0.1 -p 24884 -t mqtt -v"
        );
        assert_eq!(
            m.command_at(raw, "mqtt://10.0.0.5:1885"),
            "mosquitto_sub -h 10.0.0.5 -p 1885 -t mqtt -v"
        );
        assert!(m.no_checks().is_some_and(|n| n.contains("own client")));
        let m = LessonModel::new(Some("127.0.0.1:1884"));
        assert_eq!(
            m.command_at(raw, "mqtt://10.0.0.5:1885"),
            "mosquitto_sub -h 127.0.0.1 -p 1884 -t mqtt -v"
        );
        assert_eq!(m.no_checks(), None);
    }

    #[test]
    fn the_pane_takes_width_only_when_open() {
        let mut m = LessonModel::new(None);
        assert_eq!(m.width(160), 0);
        m.update_alone(LessonCmd::Toggle);
        assert_eq!(m.width(160), 64);
        assert_eq!(m.width(80), 32);
        assert_eq!(m.width(50), 0);
    }
}
