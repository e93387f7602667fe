//! The profile dialogs: the picker, the editor and the list of saved profiles they show.
//!
//! `P` opens the picker: "embedded broker" and every saved profile. Enter connects the client
//! pane to the chosen one (asking for the password first when the profile says so); `n`, `e`,
//! `d` and `x` create, edit, duplicate and delete profiles. The dialogs only return what the
//! user chose ([`PickerOutcome`], [`EditorOutcome`]); the app turns that into effects, the run
//! loop writes `profiles.toml` and answers with the list now on disk.

use std::collections::BTreeMap;

use ratatui_textarea::TextArea;

use super::cmd::Cmd;
use super::link::{ConnectTo, Target};
use crate::client::{MqttVersion, Transport, Will};
use crate::profile::{PasswordSource, Profile, ProfileTls, Secret, Subscription as SavedSub};
use crate::protocol::QoS;

/// The editor's fields, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FormField {
    /// Profile name.
    Name,
    /// Note.
    Note,
    /// tcp / tls / ws / wss.
    Transport,
    /// Host.
    Host,
    /// Port (empty: the transport's default).
    Port,
    /// WebSocket path.
    WsPath,
    /// 3.1.1 / 5.
    Version,
    /// Client id.
    ClientId,
    /// User name.
    Username,
    /// Where the password comes from.
    PasswordFrom,
    /// The password, variable name or file, depending on `PasswordFrom`.
    Password,
    /// Keep alive.
    KeepAlive,
    /// Clean session.
    CleanSession,
    /// MQTT 5 session expiry.
    SessionExpiry,
    /// TLS CA file.
    CaFile,
    /// TLS client certificate.
    CertFile,
    /// TLS client key.
    KeyFile,
    /// Skip certificate checks.
    Insecure,
    /// TLS server name.
    Sni,
    /// TLS ALPN.
    Alpn,
    /// Will topic.
    WillTopic,
    /// Will payload.
    WillPayload,
    /// Will QoS.
    WillQos,
    /// Will retain.
    WillRetain,
    /// Subscriptions: `filter @qos, filter …`.
    Subscriptions,
}

impl FormField {
    /// Every field, top to bottom.
    pub const ORDER: [FormField; 25] = [
        Self::Name,
        Self::Note,
        Self::Transport,
        Self::Host,
        Self::Port,
        Self::WsPath,
        Self::Version,
        Self::ClientId,
        Self::Username,
        Self::PasswordFrom,
        Self::Password,
        Self::KeepAlive,
        Self::CleanSession,
        Self::SessionExpiry,
        Self::CaFile,
        Self::CertFile,
        Self::KeyFile,
        Self::Insecure,
        Self::Sni,
        Self::Alpn,
        Self::WillTopic,
        Self::WillPayload,
        Self::WillQos,
        Self::WillRetain,
        Self::Subscriptions,
    ];

    /// Position in [`FormField::ORDER`].
    #[must_use]
    pub fn index(self) -> usize {
        Self::ORDER.iter().position(|f| *f == self).unwrap_or(0)
    }

    fn step(self, forward: bool) -> Self {
        let n = Self::ORDER.len();
        let i = self.index();
        Self::ORDER[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }

    /// True for fields changed with Space or ←/→ rather than typed.
    #[must_use]
    pub fn is_toggle(self) -> bool {
        matches!(
            self,
            Self::Transport
                | Self::Version
                | Self::PasswordFrom
                | Self::CleanSession
                | Self::Insecure
                | Self::WillQos
                | Self::WillRetain
        )
    }

    /// The field's label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "Name",
            Self::Note => "Note",
            Self::Transport => "Transport",
            Self::Host => "Host",
            Self::Port => "Port",
            Self::WsPath => "WebSocket path",
            Self::Version => "MQTT version",
            Self::ClientId => "Client id",
            Self::Username => "Username",
            Self::PasswordFrom => "Password from",
            Self::Password => "Password",
            Self::KeepAlive => "Keep alive (s)",
            Self::CleanSession => "Clean session",
            Self::SessionExpiry => "Session expiry",
            Self::CaFile => "TLS CA file",
            Self::CertFile => "TLS cert file",
            Self::KeyFile => "TLS key file",
            Self::Insecure => "TLS insecure",
            Self::Sni => "TLS SNI",
            Self::Alpn => "TLS ALPN",
            Self::WillTopic => "Will topic",
            Self::WillPayload => "Will payload",
            Self::WillQos => "Will QoS",
            Self::WillRetain => "Will retain",
            Self::Subscriptions => "Subscriptions",
        }
    }

    /// A hint shown for the focused field.
    #[must_use]
    pub fn hint(self) -> &'static str {
        match self {
            Self::Name => "used by --profile NAME",
            Self::Port => "empty: 1883 tcp, 8883 tls, 80 ws, 443 wss",
            Self::Host => "empty: localhost",
            Self::PasswordFrom => "none, stored in the file (0600), env variable, file, or ask",
            Self::Password => "the password, the variable's name, or the file's path",
            Self::KeepAlive => "empty: 60; 5 to 65535",
            Self::SessionExpiry => "seconds, MQTT 5 only",
            Self::CaFile => "empty: the system's CA certificates",
            Self::Subscriptions => "comma-separated filters, QoS as @1: sensors/# @1, devices/+",
            Self::Transport | Self::Version | Self::CleanSession | Self::Insecure => {
                "Space or ←/→ changes"
            }
            Self::WillQos | Self::WillRetain => "Space or ←/→ changes",
            _ => "",
        }
    }
}

/// Where the editor takes the password from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PwFrom {
    /// No password.
    None,
    /// Stored in the file.
    Stored,
    /// An environment variable.
    Env,
    /// A file.
    File,
    /// Asked at connect time.
    Ask,
}

impl PwFrom {
    fn next(self, forward: bool) -> Self {
        const ALL: [PwFrom; 5] = [
            PwFrom::None,
            PwFrom::Stored,
            PwFrom::Env,
            PwFrom::File,
            PwFrom::Ask,
        ];
        let i = ALL.iter().position(|p| *p == self).unwrap_or(0);
        ALL[if forward { (i + 1) % 5 } else { (i + 4) % 5 }]
    }

    /// As shown in the editor.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Stored => "stored in profiles.toml",
            Self::Env => "environment variable",
            Self::File => "password file",
            Self::Ask => "ask when connecting",
        }
    }
}

fn line(text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![text.to_owned()]);
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t.set_cursor_line_style(ratatui::style::Style::default());
    t
}

/// The profile editor's state.
#[derive(Debug, Clone)]
pub struct ProfileForm {
    original: Option<String>,
    focus: FormField,
    texts: BTreeMap<FormField, TextArea<'static>>,
    transport: Transport,
    version: MqttVersion,
    pw_from: PwFrom,
    clean: bool,
    insecure: bool,
    will_qos: u8,
    will_retain: bool,
    error: Option<String>,
    /// The payload decoders of the profile: not edited here, kept as they are on save.
    decoders: Vec<crate::profile::DecoderSpec>,
}

fn subs_text(subs: &[SavedSub]) -> String {
    subs.iter()
        .map(|s| {
            if s.qos == QoS::AtMostOnce {
                s.filter.clone()
            } else {
                format!("{} @{}", s.filter, s.qos as u8)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `sensors/# @1, devices/+` into subscriptions.
///
/// # Errors
/// A bad QoS suffix.
pub fn parse_subs(text: &str) -> Result<Vec<SavedSub>, String> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (filter, qos) = match part.rsplit_once('@') {
            Some((f, q)) if q.trim().len() == 1 && !f.trim().is_empty() => {
                let q = q
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .and_then(|q| QoS::try_from(q).ok())
                    .ok_or_else(|| format!("'{part}': the QoS after @ must be 0, 1 or 2"))?;
                (f.trim(), q)
            }
            _ => (part, QoS::AtMostOnce),
        };
        out.push(SavedSub {
            filter: filter.to_owned(),
            qos,
        });
    }
    Ok(out)
}

impl ProfileForm {
    /// A form showing `p`; `original` is the name it is saved over (`None`: a new profile).
    #[must_use]
    pub fn new(p: &Profile, original: Option<String>) -> Self {
        let o = p.base_options().unwrap_or_default();
        let (pw_from, pw_text) = match p.password_source() {
            PasswordSource::None => (PwFrom::None, String::new()),
            PasswordSource::Stored(s) => (PwFrom::Stored, s.expose().to_owned()),
            PasswordSource::Env(v) => (PwFrom::Env, v),
            PasswordSource::File(f) => (PwFrom::File, f.display().to_string()),
            PasswordSource::Ask => (PwFrom::Ask, String::new()),
        };
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        let num = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        let host = if p.host.is_none() && p.url.is_none() {
            String::new()
        } else {
            o.host.clone()
        };
        let port = if p.port.is_none() && p.url.is_none() {
            String::new()
        } else {
            o.port.to_string()
        };
        let mut texts = BTreeMap::new();
        for (f, v) in [
            (FormField::Name, p.name.clone()),
            (FormField::Note, opt(&p.note)),
            (FormField::Host, host),
            (FormField::Port, port),
            (FormField::WsPath, o.ws_path.clone()),
            (FormField::ClientId, opt(&p.client_id)),
            (FormField::Username, opt(&p.username)),
            (FormField::Password, pw_text),
            (FormField::KeepAlive, num(p.keep_alive.map(u32::from))),
            (FormField::SessionExpiry, num(p.session_expiry)),
            (FormField::CaFile, opt(&p.tls.ca_file)),
            (FormField::CertFile, opt(&p.tls.cert_file)),
            (FormField::KeyFile, opt(&p.tls.key_file)),
            (FormField::Sni, opt(&p.tls.sni)),
            (FormField::Alpn, opt(&p.tls.alpn)),
            (
                FormField::WillTopic,
                p.will.as_ref().map(|w| w.topic.clone()).unwrap_or_default(),
            ),
            (
                FormField::WillPayload,
                p.will
                    .as_ref()
                    .map(|w| w.payload.clone())
                    .unwrap_or_default(),
            ),
            (FormField::Subscriptions, subs_text(&p.subscriptions)),
        ] {
            texts.insert(f, line(&v));
        }
        let mut form = Self {
            decoders: p.decoders.clone(),
            original,
            focus: FormField::Name,
            texts,
            transport: o.transport,
            version: o.version,
            pw_from,
            clean: o.clean_session,
            insecure: p.tls.insecure,
            will_qos: p.will.as_ref().map_or(0, |w| w.qos as u8),
            will_retain: p.will.as_ref().is_some_and(|w| w.retain),
            error: None,
        };
        form.mask_password();
        form
    }

    fn mask_password(&mut self) {
        if let Some(t) = self.texts.get_mut(&FormField::Password) {
            if self.pw_from == PwFrom::Stored {
                t.set_mask_char('*');
            } else {
                t.clear_mask_char();
            }
        }
    }

    /// The text of a text field ("" for toggles).
    #[must_use]
    pub fn text(&self, f: FormField) -> String {
        self.texts
            .get(&f)
            .map(|t| t.lines().join(""))
            .unwrap_or_default()
    }

    /// How a field's value is shown when it is not being edited.
    #[must_use]
    pub fn shown(&self, f: FormField) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
        match f {
            FormField::Transport => crate::profile::transport_text(self.transport).to_owned(),
            FormField::Version => crate::profile::version_text(self.version).to_owned(),
            FormField::PasswordFrom => self.pw_from.label().to_owned(),
            FormField::CleanSession => yes(self.clean),
            FormField::Insecure => yes(self.insecure),
            FormField::WillQos => self.will_qos.to_string(),
            FormField::WillRetain => yes(self.will_retain),
            FormField::Password if self.pw_from == PwFrom::Stored => {
                "*".repeat(self.text(f).chars().count())
            }
            _ => self.text(f),
        }
    }

    /// The focused text field, if the focused field is one.
    pub fn focused_text(&mut self) -> Option<&mut TextArea<'static>> {
        self.texts.get_mut(&self.focus)
    }

    /// Space or ←/→ on a toggle field.
    pub fn toggle(&mut self, forward: bool) {
        match self.focus {
            FormField::Transport => {
                const ALL: [Transport; 4] = [
                    Transport::Tcp,
                    Transport::Tls,
                    Transport::Ws,
                    Transport::Wss,
                ];
                let i = ALL.iter().position(|t| *t == self.transport).unwrap_or(0);
                self.transport = ALL[if forward { (i + 1) % 4 } else { (i + 3) % 4 }];
            }
            FormField::Version => {
                self.version = match self.version {
                    MqttVersion::V311 => MqttVersion::V5,
                    MqttVersion::V5 => MqttVersion::V311,
                };
            }
            FormField::PasswordFrom => {
                self.pw_from = self.pw_from.next(forward);
                self.mask_password();
            }
            FormField::CleanSession => self.clean = !self.clean,
            FormField::Insecure => self.insecure = !self.insecure,
            FormField::WillQos => {
                self.will_qos = if forward {
                    (self.will_qos + 1) % 3
                } else {
                    (self.will_qos + 2) % 3
                };
            }
            FormField::WillRetain => self.will_retain = !self.will_retain,
            _ => {}
        }
        self.error = None;
    }

    /// Moves the focus.
    pub fn step(&mut self, forward: bool) {
        self.focus = self.focus.step(forward);
    }

    /// Checks the fields and builds the profile, or says what is wrong.
    ///
    /// # Errors
    /// A field that does not parse, or a profile that does not validate.
    pub fn build(&self) -> Result<Profile, String> {
        let opt = |f: FormField| {
            let s = self.text(f).trim().to_owned();
            (!s.is_empty()).then_some(s)
        };
        let number = |f: FormField| -> Result<Option<u32>, String> {
            opt(f)
                .map(|s| {
                    s.parse::<u32>()
                        .map_err(|_| format!("{}: '{s}' is not a number", f.label()))
                })
                .transpose()
        };
        let mut p = Profile::named(&self.text(FormField::Name));
        p.note = opt(FormField::Note);
        p.host = opt(FormField::Host);
        p.transport = (self.transport != Transport::Tcp).then_some(self.transport);
        p.port = number(FormField::Port)?
            .map(|n| u16::try_from(n).map_err(|_| format!("port {n} is over 65535")))
            .transpose()?;
        p.ws_path = opt(FormField::WsPath)
            .filter(|w| matches!(self.transport, Transport::Ws | Transport::Wss) && w != "/mqtt");
        p.version = (self.version != MqttVersion::V311).then_some(self.version);
        p.client_id = opt(FormField::ClientId);
        p.username = opt(FormField::Username);
        let secret = self.text(FormField::Password);
        let needs = |what: &str| -> Result<String, String> {
            opt(FormField::Password).ok_or_else(|| format!("Password: give the {what}"))
        };
        p.set_password_source(match self.pw_from {
            PwFrom::None => PasswordSource::None,
            PwFrom::Stored => PasswordSource::Stored(Secret::new(secret)),
            PwFrom::Env => PasswordSource::Env(needs("environment variable's name")?),
            PwFrom::File => PasswordSource::File(needs("password file's path")?.into()),
            PwFrom::Ask => PasswordSource::Ask,
        });
        p.keep_alive = number(FormField::KeepAlive)?
            .map(|n| u16::try_from(n).map_err(|_| format!("keep alive {n} is over 65535")))
            .transpose()?;
        p.clean_session = (!self.clean).then_some(false);
        p.session_expiry = number(FormField::SessionExpiry)?;
        p.tls = ProfileTls {
            ca_file: opt(FormField::CaFile),
            cert_file: opt(FormField::CertFile),
            key_file: opt(FormField::KeyFile),
            insecure: self.insecure,
            sni: opt(FormField::Sni),
            alpn: opt(FormField::Alpn),
        };
        p.will = opt(FormField::WillTopic).map(|topic| Will {
            topic,
            payload: self.text(FormField::WillPayload),
            qos: QoS::try_from(self.will_qos).unwrap_or_default(),
            retain: self.will_retain,
        });
        p.subscriptions = parse_subs(&self.text(FormField::Subscriptions))?;
        p.decoders.clone_from(&self.decoders);
        p.validate().map_err(|e| e.problem)?;
        Ok(p)
    }
}

/// The saved profiles, as last read from `profiles.toml`.
#[derive(Debug, Clone, Default)]
pub struct ProfileList {
    list: Vec<Profile>,
    error: Option<String>,
    file: String,
}

/// What the picker did with a command.
#[derive(Debug, Clone)]
pub enum PickerOutcome {
    /// Still open, on this row.
    Stay(usize),
    /// Still open, with a notice for the status bar.
    Refused(usize, String),
    /// Connect the client pane.
    Connect(ConnectTo),
    /// Ask for the password of this profile, then connect.
    AskPassword(Box<Profile>),
    /// Open the editor.
    Edit(Box<ProfileForm>),
    /// Ask before deleting the profile of this name.
    ConfirmDelete(String),
}

/// What the editor did with a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorOutcome {
    /// Still open.
    Stay,
    /// The form is valid: save it, replacing `original` (or adding it).
    Save {
        /// The name it had when the editor opened (`None`: a new profile).
        original: Option<String>,
        /// The profile.
        profile: Box<Profile>,
    },
}

impl ProfileList {
    /// The list read at start-up, why it could not be read, and where the file is.
    #[must_use]
    pub fn new(list: Vec<Profile>, error: Option<String>, file: String) -> Self {
        Self { list, error, file }
    }

    /// The profiles.
    #[must_use]
    pub fn list(&self) -> &[Profile] {
        &self.list
    }

    /// Why `profiles.toml` could not be read.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Where `profiles.toml` is.
    #[must_use]
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The list as now on disk (after a save or delete).
    pub fn replace(&mut self, list: Vec<Profile>) {
        self.list = list;
        self.error = None;
    }

    /// Rows of the picker: the embedded broker, then the profiles.
    #[must_use]
    pub fn picker_len(&self) -> usize {
        self.list.len() + 1
    }

    /// The picker row of the profile called `name` (the row of `target` if there is none).
    #[must_use]
    pub fn row_of(&self, name: Option<&str>, target: &Target) -> usize {
        let target_row = || match target {
            Target::Profile(name) => self.position(name).map_or(0, |i| i + 1),
            _ => 0,
        };
        name.and_then(|n| self.position(n))
            .map_or_else(target_row, |i| i + 1)
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|p| p.name == name)
    }

    /// Handles a command while the picker is open on row `cursor`.
    #[must_use]
    pub fn picker_update(&self, cursor: usize, cmd: Cmd) -> PickerOutcome {
        let n = self.picker_len();
        let chosen = cursor
            .checked_sub(1)
            .and_then(|i| self.list.get(i))
            .cloned();
        match cmd {
            Cmd::Up => PickerOutcome::Stay(cursor.saturating_sub(1)),
            Cmd::Down => PickerOutcome::Stay((cursor + 1).min(n - 1)),
            Cmd::Top => PickerOutcome::Stay(0),
            Cmd::Bottom => PickerOutcome::Stay(n - 1),
            Cmd::Submit => match chosen {
                None => PickerOutcome::Connect(ConnectTo::Embedded),
                Some(p) if p.ask_password => PickerOutcome::AskPassword(Box::new(p)),
                Some(p) => PickerOutcome::Connect(ConnectTo::Profile {
                    profile: Box::new(p),
                    password: None,
                }),
            },
            Cmd::NewProfile | Cmd::EditProfile | Cmd::DuplicateProfile | Cmd::DeleteProfile
                if self.error.is_some() =>
            {
                let e = self.error.as_deref().unwrap_or_default();
                PickerOutcome::Refused(cursor, format!("fix profiles.toml first: {e}"))
            }
            Cmd::NewProfile => {
                let mut form = ProfileForm::new(&Profile::named(""), None);
                form.focus = FormField::Name;
                PickerOutcome::Edit(Box::new(form))
            }
            Cmd::EditProfile | Cmd::DuplicateProfile | Cmd::DeleteProfile => match chosen {
                None => PickerOutcome::Refused(
                    cursor,
                    "the embedded broker is not a saved profile".into(),
                ),
                Some(p) => match cmd {
                    Cmd::EditProfile => {
                        let original = Some(p.name.clone());
                        PickerOutcome::Edit(Box::new(ProfileForm::new(&p, original)))
                    }
                    Cmd::DuplicateProfile => {
                        let mut copy = p.clone();
                        copy.name = self.free_name(&p.name);
                        PickerOutcome::Edit(Box::new(ProfileForm::new(&copy, None)))
                    }
                    _ => PickerOutcome::ConfirmDelete(p.name),
                },
            },
            _ => PickerOutcome::Stay(cursor),
        }
    }

    /// `name copy`, `name copy 2`, … whichever is free.
    fn free_name(&self, name: &str) -> String {
        let taken = |n: &str| self.position(n).is_some();
        let mut candidate = format!("{name} copy");
        let mut i = 2;
        while taken(&candidate) {
            candidate = format!("{name} copy {i}");
            i += 1;
        }
        candidate
    }
}

impl ProfileForm {
    /// The name of the profile being edited; `None` for a new one.
    #[must_use]
    pub fn original(&self) -> Option<&str> {
        self.original.as_deref()
    }

    /// The focused field.
    #[must_use]
    pub fn focus(&self) -> FormField {
        self.focus
    }

    /// The text field of `field`, if it is one.
    #[must_use]
    pub fn text_area(&self, field: FormField) -> Option<&TextArea<'static>> {
        self.texts.get(&field)
    }

    /// Why the last save was refused.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Shows why the profile was not saved; the editor stays open.
    pub fn refuse(&mut self, why: String) {
        self.error = Some(why);
    }

    /// Handles a command while the editor is open.
    pub fn update(&mut self, cmd: Cmd) -> EditorOutcome {
        match cmd {
            Cmd::NextField | Cmd::Down => self.step(true),
            Cmd::PrevField | Cmd::Up => self.step(false),
            Cmd::ToggleField => self.toggle(true),
            Cmd::ToggleFieldBack => self.toggle(false),
            Cmd::Submit | Cmd::Compose => match self.build() {
                Err(e) => self.error = Some(e),
                Ok(p) => {
                    self.error = None;
                    return EditorOutcome::Save {
                        original: self.original.clone(),
                        profile: Box::new(p),
                    };
                }
            },
            _ => {}
        }
        EditorOutcome::Stay
    }

    /// A typed key into the focused text field.
    pub fn input(&mut self, input: ratatui_textarea::Input) {
        if input.key == ratatui_textarea::Key::Enter {
            return;
        }
        if let Some(t) = self.focused_text() {
            super::prompt::edit(t, input);
            self.error = None;
        }
    }

    /// Pasted text into the focused text field, on one line.
    pub fn paste(&mut self, text: &str) {
        if let Some(t) = self.focused_text() {
            t.insert_str(text.replace(['\r', '\n'], " "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picker_commands_give_outcomes() {
        let mut asks = Profile::named("cloud");
        asks.ask_password = true;
        let list = ProfileList::new(vec![Profile::named("lab"), asks], None, String::new());
        let broken = ProfileList::new(Vec::new(), Some("line 3: bad".into()), String::new());
        let embedded = PickerOutcome::Connect(ConnectTo::Embedded);
        let lab = PickerOutcome::Connect(ConnectTo::Profile {
            profile: Box::new(Profile::named("lab")),
            password: None,
        });
        // (list, cursor, command, outcome)
        let cases = [
            (&list, 0, Cmd::Up, PickerOutcome::Stay(0)),
            (&list, 0, Cmd::Down, PickerOutcome::Stay(1)),
            (&list, 2, Cmd::Down, PickerOutcome::Stay(2)),
            (&list, 1, Cmd::Top, PickerOutcome::Stay(0)),
            (&list, 0, Cmd::Bottom, PickerOutcome::Stay(2)),
            (&list, 0, Cmd::Submit, embedded),
            (&list, 1, Cmd::Submit, lab),
            (
                &list,
                1,
                Cmd::DeleteProfile,
                PickerOutcome::ConfirmDelete("lab".into()),
            ),
            (
                &list,
                0,
                Cmd::EditProfile,
                PickerOutcome::Refused(0, "the embedded broker is not a saved profile".into()),
            ),
            (
                &broken,
                0,
                Cmd::NewProfile,
                PickerOutcome::Refused(0, "fix profiles.toml first: line 3: bad".into()),
            ),
        ];
        for (l, cursor, cmd, want) in cases {
            let got = l.picker_update(cursor, cmd);
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{cursor} {cmd:?}");
        }
        assert!(matches!(
            list.picker_update(2, Cmd::Submit),
            PickerOutcome::AskPassword(p) if p.name == "cloud"
        ));
        let PickerOutcome::Edit(form) = list.picker_update(1, Cmd::DuplicateProfile) else {
            panic!("duplicate opens the editor");
        };
        assert_eq!(
            (form.text(FormField::Name), form.original),
            ("lab copy".into(), None)
        );
    }

    #[test]
    fn form_round_trips_a_profile() {
        let mut p = Profile::named("lab");
        p.host = Some("broker.lab".into());
        p.transport = Some(Transport::Tls);
        p.version = Some(MqttVersion::V5);
        p.username = Some("alice".into());
        p.password_env = Some("LAB_PW".into());
        p.session_expiry = Some(60);
        p.tls.ca_file = Some("ca.pem".into());
        p.subscriptions = parse_subs("sensors/# @1, devices/+").unwrap();
        let form = ProfileForm::new(&p, Some("lab".into()));
        assert_eq!(form.build().unwrap(), p);
        assert_eq!(
            form.text(FormField::Subscriptions),
            "sensors/# @1, devices/+"
        );
    }

    #[test]
    fn stored_password_is_masked_and_bad_fields_are_named() {
        let mut p = Profile::named("lab");
        p.username = Some("alice".into());
        p.password = Some(Secret::new("hunter2"));
        let mut form = ProfileForm::new(&p, None);
        assert_eq!(form.shown(FormField::Password), "*******");
        form.texts.insert(FormField::Port, line("99999"));
        assert_eq!(form.build().unwrap_err(), "port 99999 is over 65535");
        form.texts.insert(FormField::Port, line("x"));
        assert_eq!(form.build().unwrap_err(), "Port: 'x' is not a number");
        assert!(parse_subs("a @7").is_err());
    }
}
