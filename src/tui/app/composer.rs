//! The publish composer: topic, payload, QoS, retain and the MQTT 5 properties, with the
//! publish history one key away. Its update returns the PUBLISH to send; it never sends.

use bytes::Bytes;
use ratatui_textarea::{Input, Key, TextArea};

use super::cmd::Cmd;
use super::prompt::{edit, single_line, text_of};
use crate::tui::client_link::{OutgoingPublish, PublishProps};

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

/// The publish composer's state.
#[derive(Debug, Clone)]
pub struct Composer {
    focus: ComposerField,
    topic: TextArea<'static>,
    payload: TextArea<'static>,
    qos: u8,
    retain: bool,
    content_type: TextArea<'static>,
    expiry: TextArea<'static>,
    response_topic: TextArea<'static>,
    correlation: TextArea<'static>,
    user_props: TextArea<'static>,
    error: Option<String>,
    history_pos: Option<usize>,
    confirm_empty: bool,
}

/// What the composer did with a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposerOutcome {
    /// Still open.
    Stay,
    /// The fields make a valid PUBLISH: send it.
    Send(OutgoingPublish),
}

impl Composer {
    /// A composer on `topic` (the payload has the focus when a topic is given).
    #[must_use]
    pub fn new(topic: &str) -> Self {
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
            confirm_empty: false,
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

    /// The focused field.
    #[must_use]
    pub fn focus(&self) -> ComposerField {
        self.focus
    }

    /// QoS.
    #[must_use]
    pub fn qos(&self) -> u8 {
        self.qos
    }

    /// Retain.
    #[must_use]
    pub fn retain(&self) -> bool {
        self.retain
    }

    /// Why the last send was refused.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The text of a text field (`None` for QoS and Retain).
    #[must_use]
    pub fn text(&self, field: ComposerField) -> Option<&TextArea<'static>> {
        Some(match field {
            ComposerField::Topic => &self.topic,
            ComposerField::Payload => &self.payload,
            ComposerField::ContentType => &self.content_type,
            ComposerField::Expiry => &self.expiry,
            ComposerField::ResponseTopic => &self.response_topic,
            ComposerField::Correlation => &self.correlation,
            ComposerField::UserProps => &self.user_props,
            ComposerField::Qos | ComposerField::Retain => return None,
        })
    }

    /// The text field with the focus, if the focused field is a text field.
    fn focused_text(&mut self) -> Option<&mut TextArea<'static>> {
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

    /// Applies a bound command; `history` is the publish history, newest last.
    pub fn update(&mut self, cmd: Cmd, history: &[OutgoingPublish]) -> ComposerOutcome {
        match cmd {
            Cmd::NextField => self.focus = self.focus.step(true),
            Cmd::PrevField => self.focus = self.focus.step(false),
            Cmd::ToggleField => match self.focus {
                ComposerField::Qos | ComposerField::Retain if self.confirm_empty => {
                    self.confirm_empty = false;
                    self.error = None;
                    self.toggle();
                }
                ComposerField::Qos => self.qos = (self.qos + 1) % 3,
                ComposerField::Retain => self.retain = !self.retain,
                _ => {}
            },
            Cmd::Submit if self.is_multiline() => {
                // Enter: a newline in multi-line fields, the next field in one-line fields;
                // only C-s sends, so Enter after the topic cannot publish an empty payload.
                if let Some(t) = self.focused_text() {
                    t.insert_newline();
                }
            }
            Cmd::Submit => self.focus = self.focus.step(true),
            Cmd::Compose => return self.send(),
            Cmd::HistoryPrev | Cmd::HistoryNext => self.browse(cmd, history),
            _ => {}
        }
        ComposerOutcome::Stay
    }

    fn toggle(&mut self) {
        match self.focus {
            ComposerField::Qos => self.qos = (self.qos + 1) % 3,
            ComposerField::Retain => self.retain = !self.retain,
            _ => {}
        }
    }

    fn send(&mut self) -> ComposerOutcome {
        match self.build() {
            Err(e) => {
                self.error = Some(e);
                ComposerOutcome::Stay
            }
            Ok(p) if p.payload.is_empty() && !self.confirm_empty => {
                // An empty payload is easy to send by mistake and, retained, deletes the
                // retained message ([MQTT311-3.3.1-10], [MQTT5-3.3.1-6]): ask first.
                self.confirm_empty = true;
                self.error = Some(if p.retain {
                    format!(
                        "the payload is empty and Retain is on: this DELETES the retained \
                         message on '{}'. C-s again to send, any edit to go back",
                        p.topic
                    )
                } else {
                    "the payload is empty: C-s again to send it anyway".to_owned()
                });
                ComposerOutcome::Stay
            }
            Ok(p) => {
                self.confirm_empty = false;
                ComposerOutcome::Send(p)
            }
        }
    }

    /// Shows why the PUBLISH was not sent.
    pub fn refuse(&mut self, why: &str) {
        self.error = Some(why.to_owned());
    }

    fn browse(&mut self, cmd: Cmd, history: &[OutgoingPublish]) {
        let n = history.len();
        if n == 0 {
            return;
        }
        let pos = match (self.history_pos, cmd) {
            (None, Cmd::HistoryPrev) => Some(0),
            (None, _) => None,
            (Some(p), Cmd::HistoryPrev) => Some((p + 1).min(n - 1)),
            (Some(0), _) => None,
            (Some(p), _) => Some(p - 1),
        };
        self.history_pos = pos;
        match pos {
            Some(p) => self.load(&history[n - 1 - p]),
            None => {
                let focus = self.focus;
                *self = Self::new("");
                self.focus = focus;
            }
        }
    }

    /// A typed key into the focused text field.
    pub fn input(&mut self, input: Input) {
        // A toggle takes the keys that name a value; any other is answered, never dropped.
        if let Key::Char(ch) = input.key
            && !input.ctrl
            && !input.alt
        {
            match (self.focus, ch) {
                (ComposerField::Qos, '0'..='2') => {
                    self.qos = u8::try_from(u32::from(ch) - u32::from('0')).unwrap_or(0);
                    self.error = None;
                    return;
                }
                (ComposerField::Retain, 'y' | 'n') => {
                    self.retain = ch == 'y';
                    self.error = None;
                    return;
                }
                (ComposerField::Qos, _) => {
                    self.error = Some(format!(
                        "'{ch}' is no QoS: type 0, 1 or 2, or Space to change it; Tab moves on"
                    ));
                    return;
                }
                (ComposerField::Retain, _) => {
                    self.error = Some(format!(
                        "'{ch}' does not set Retain: y or n, or Space to change it; Tab moves on"
                    ));
                    return;
                }
                _ => {}
            }
        }
        let multiline = self.is_multiline();
        if let Some(t) = self.focused_text() {
            if !multiline && input.key == Key::Enter {
                return;
            }
            edit(t, input);
            self.error = None;
            self.confirm_empty = false;
        }
    }

    /// Pasted text into the focused text field (one line in one-line fields).
    pub fn paste(&mut self, text: &str) {
        let multiline = self.is_multiline();
        if let Some(t) = self.focused_text() {
            if multiline {
                t.insert_str(text);
            } else {
                t.insert_str(text.replace(['\r', '\n'], " "));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(topic: &str) -> OutgoingPublish {
        OutgoingPublish {
            topic: topic.into(),
            payload: Bytes::from_static(b"p"),
            qos: 1,
            retain: true,
            props: PublishProps::default(),
        }
    }

    #[test]
    fn build_names_what_is_wrong() {
        // (topic, expiry, user props, error part or "" for success)
        let cases = [
            ("", "", "", "must not be empty"),
            ("a/+", "", "", "wildcards"),
            ("a/#", "", "", "wildcards"),
            ("a", "soon", "", "not a number"),
            ("a", "", "novalue", "name=value"),
            ("a", "60", "k=v", ""),
        ];
        for (topic, expiry, user, want) in cases {
            let mut c = Composer::new(topic);
            c.expiry = single_line(expiry);
            c.user_props = single_line(user);
            match c.build() {
                Ok(p) => {
                    assert_eq!(want, "", "{topic:?} {expiry:?} {user:?}");
                    assert_eq!(p.props.message_expiry, Some(60));
                    assert_eq!(p.props.user, [("k".to_owned(), "v".to_owned())]);
                }
                Err(e) => assert!(!want.is_empty() && e.contains(want), "{e} vs {want}"),
            }
        }
    }

    #[test]
    fn history_keys_walk_older_and_back_to_empty() {
        let history = [publish("old"), publish("new")];
        // (commands, topic shown)
        let cases: &[(&[Cmd], &str)] = &[
            (&[Cmd::HistoryPrev], "new"),
            (&[Cmd::HistoryPrev, Cmd::HistoryPrev], "old"),
            (
                &[Cmd::HistoryPrev, Cmd::HistoryPrev, Cmd::HistoryPrev],
                "old",
            ),
            (
                &[Cmd::HistoryPrev, Cmd::HistoryPrev, Cmd::HistoryNext],
                "new",
            ),
            (&[Cmd::HistoryPrev, Cmd::HistoryNext], ""),
            (&[Cmd::HistoryNext], ""),
        ];
        for (cmds, topic) in cases {
            let mut c = Composer::new("draft");
            for cmd in *cmds {
                assert_eq!(c.update(*cmd, &history), ComposerOutcome::Stay);
            }
            assert_eq!(text_of(&c.topic), *topic, "{cmds:?}");
        }
    }

    #[test]
    fn enter_moves_on_from_one_line_fields_and_breaks_lines_in_the_payload() {
        let mut c = Composer::new("");
        assert_eq!(c.focus, ComposerField::Topic);
        c.input(Input {
            key: Key::Char('t'),
            ..Input::default()
        });
        // Enter in the topic: on to the payload, nothing sent.
        assert_eq!(c.update(Cmd::Submit, &[]), ComposerOutcome::Stay);
        assert_eq!(c.focus, ComposerField::Payload);
        assert_eq!(c.update(Cmd::Submit, &[]), ComposerOutcome::Stay);
        assert_eq!(c.payload.lines().len(), 2);
        // Every one-line field moves on with Enter.
        for _ in 0..3 {
            c.update(Cmd::NextField, &[]);
        }
        assert_eq!(c.focus, ComposerField::ContentType);
        c.update(Cmd::Submit, &[]);
        assert_eq!(c.focus, ComposerField::Expiry);
        let ComposerOutcome::Send(p) = c.update(Cmd::Compose, &[]) else {
            panic!("C-s sends")
        };
        assert_eq!((p.topic.as_str(), &p.payload[..]), ("t", &b"\n"[..]));
    }

    #[test]
    fn an_empty_payload_is_sent_only_after_asking() {
        // (retain, the question names deleting the retained message)
        for retain in [false, true] {
            let mut c = Composer::new("t");
            c.retain = retain;
            assert_eq!(c.update(Cmd::Compose, &[]), ComposerOutcome::Stay);
            let q = c.error().unwrap_or_default().to_owned();
            assert!(q.contains("C-s again"), "{q}");
            assert_eq!(
                q.contains("DELETES the retained message on 't'"),
                retain,
                "{q}"
            );
            // An edit withdraws the question.
            c.input(Input {
                key: Key::Char('u'),
                ctrl: true,
                ..Input::default()
            });
            assert_eq!(c.error(), None);
            assert_eq!(c.update(Cmd::Compose, &[]), ComposerOutcome::Stay);
            let ComposerOutcome::Send(p) = c.update(Cmd::Compose, &[]) else {
                panic!("the second C-s sends")
            };
            assert!(p.payload.is_empty());
            assert_eq!(p.retain, retain);
        }
    }

    #[test]
    fn line_editing_keys_work_in_one_line_fields() {
        let key = |c: char, ctrl: bool| Input {
            key: Key::Char(c),
            ctrl,
            ..Input::default()
        };
        // (keys after "abc def", topic left)
        let cases: &[(&[Input], &str)] = &[
            (&[key('u', true)], ""),
            (&[key('w', true)], "abc "),
            (&[key('a', true), key('k', true)], ""),
            (&[key('a', true), key('x', false)], "xabc def"),
            (
                &[key('a', true), key('e', true), key('x', false)],
                "abc defx",
            ),
            (&[key('u', true), key('z', true)], "abc def"),
        ];
        for (keys, want) in cases {
            let mut c = Composer::new("");
            for ch in "abc def".chars() {
                c.input(key(ch, false));
            }
            for k in *keys {
                c.input(k.clone());
            }
            assert_eq!(text_of(&c.topic), *want, "{keys:?}");
        }
    }
}
