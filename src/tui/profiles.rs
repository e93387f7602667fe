//! The profile picker and editor: the model side (pure, like [`super::app`]).
//!
//! `P` opens the picker: "embedded broker" and every saved profile. Enter connects the client
//! pane to the chosen one (asking for the password first when the profile says so); `n`, `e`,
//! `d` and `x` create, edit, duplicate and delete profiles. Saving and deleting are
//! [`Effect`]s; the run loop writes `profiles.toml` and answers with
//! [`Action::Profiles`](super::app::Action::Profiles).
//!
//! Switching brokers clears the topic tree and the message history (topics of two brokers
//! in one tree would mislead) and subscribes to the profile's subscriptions (`#` when it has
//! none).

use std::collections::BTreeMap;

use ratatui_textarea::TextArea;

use super::app::{App, ClientState, Cmd, Effect, Modal, Prompt, SubState, Subscription};
use crate::client::{MqttVersion, Qos, Transport};
use crate::profile::{
    PasswordSource, Profile, ProfileTls, ProfileWill, Secret, Subscription as SavedSub,
    options_address,
};

/// What the client pane is connected to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Target {
    /// The embedded broker.
    #[default]
    Embedded,
    /// A broker named on the command line (`-h`, `-p`, `-L`).
    Remote,
    /// A saved profile.
    Profile(String),
}

/// Where to connect the client pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectTo {
    /// The embedded broker.
    Embedded,
    /// A saved profile, with the password typed into the workbench if it asked for one.
    Profile {
        /// The profile.
        profile: Box<Profile>,
        /// The password entered at the prompt.
        password: Option<Secret>,
    },
}

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
    /// The name of the profile being edited; `None` for a new one.
    pub original: Option<String>,
    /// The focused field.
    pub focus: FormField,
    /// Text fields.
    pub texts: BTreeMap<FormField, TextArea<'static>>,
    /// Transport.
    pub transport: Transport,
    /// MQTT version.
    pub version: MqttVersion,
    /// Password source.
    pub pw_from: PwFrom,
    /// Clean session.
    pub clean: bool,
    /// TLS insecure.
    pub insecure: bool,
    /// Will QoS.
    pub will_qos: u8,
    /// Will retain.
    pub will_retain: bool,
    /// Why the last save was refused.
    pub error: Option<String>,
}

fn subs_text(subs: &[SavedSub]) -> String {
    subs.iter()
        .map(|s| {
            if s.qos == Qos::AtMostOnce {
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
                    .and_then(|q| Qos::try_from(q).ok())
                    .ok_or_else(|| format!("'{part}': the QoS after @ must be 0, 1 or 2"))?;
                (f.trim(), q)
            }
            _ => (part, Qos::AtMostOnce),
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
        p.will = opt(FormField::WillTopic).map(|topic| ProfileWill {
            topic,
            payload: self.text(FormField::WillPayload),
            qos: Qos::try_from(self.will_qos).unwrap_or_default(),
            retain: self.will_retain,
        });
        p.subscriptions = parse_subs(&self.text(FormField::Subscriptions))?;
        p.validate().map_err(|e| e.problem)?;
        Ok(p)
    }
}

impl App {
    /// Rows of the picker: the embedded broker, then the profiles.
    #[must_use]
    pub fn picker_len(&self) -> usize {
        self.profiles.len() + 1
    }

    /// The picker row of the current target.
    fn picker_row_of_target(&self) -> usize {
        match &self.target {
            Target::Profile(name) => self
                .profiles
                .iter()
                .position(|p| &p.name == name)
                .map_or(0, |i| i + 1),
            _ => 0,
        }
    }

    /// Opens the picker on the current target.
    pub(crate) fn open_picker(&mut self) {
        self.modal = Some(Modal::Profiles {
            cursor: self.picker_row_of_target(),
        });
    }

    /// Opens the picker on the profile called `name` (the current target if there is none).
    pub(crate) fn open_picker_at(&mut self, name: Option<&str>) {
        let cursor = name
            .and_then(|n| self.profiles.iter().position(|p| p.name == n))
            .map_or_else(|| self.picker_row_of_target(), |i| i + 1);
        self.modal = Some(Modal::Profiles { cursor });
    }

    /// Handles a command while the picker is open.
    pub(crate) fn on_picker_cmd(&mut self, cursor: usize, cmd: Cmd) -> Vec<Effect> {
        let n = self.picker_len();
        let chosen = cursor
            .checked_sub(1)
            .and_then(|i| self.profiles.get(i))
            .cloned();
        let stay = |app: &mut App, cursor: usize| app.modal = Some(Modal::Profiles { cursor });
        match cmd {
            Cmd::Up => stay(self, cursor.saturating_sub(1)),
            Cmd::Down => stay(self, (cursor + 1).min(n - 1)),
            Cmd::Top => stay(self, 0),
            Cmd::Bottom => stay(self, n - 1),
            Cmd::Submit => match chosen {
                None => return self.switch(ConnectTo::Embedded),
                Some(p) if p.ask_password => {
                    let mut prompt = Prompt::new("");
                    prompt.text.set_mask_char('*');
                    self.modal = Some(Modal::Password {
                        profile: Box::new(p),
                        prompt,
                    });
                }
                Some(p) => {
                    return self.switch(ConnectTo::Profile {
                        profile: Box::new(p),
                        password: None,
                    });
                }
            },
            Cmd::NewProfile | Cmd::EditProfile | Cmd::DuplicateProfile | Cmd::DeleteProfile
                if self.profiles_error.is_some() =>
            {
                self.notice = self
                    .profiles_error
                    .as_ref()
                    .map(|e| format!("fix profiles.toml first: {e}"));
                stay(self, cursor);
            }
            Cmd::NewProfile => {
                let mut form = ProfileForm::new(&Profile::named(""), None);
                form.focus = FormField::Name;
                self.modal = Some(Modal::ProfileEditor(Box::new(form)));
            }
            Cmd::EditProfile | Cmd::DuplicateProfile | Cmd::DeleteProfile => match chosen {
                None => {
                    self.notice = Some("the embedded broker is not a saved profile".into());
                    stay(self, cursor);
                }
                Some(p) => match cmd {
                    Cmd::EditProfile => {
                        self.modal = Some(Modal::ProfileEditor(Box::new(ProfileForm::new(
                            &p,
                            Some(p.name.clone()),
                        ))));
                    }
                    Cmd::DuplicateProfile => {
                        let mut copy = p.clone();
                        copy.name = self.free_name(&p.name);
                        self.modal = Some(Modal::ProfileEditor(Box::new(ProfileForm::new(
                            &copy, None,
                        ))));
                    }
                    _ => self.modal = Some(Modal::ConfirmDelete(p.name)),
                },
            },
            _ => stay(self, cursor),
        }
        Vec::new()
    }

    /// `name copy`, `name copy 2`, … whichever is free.
    fn free_name(&self, name: &str) -> String {
        let taken = |n: &str| self.profiles.iter().any(|p| p.name == n);
        let mut candidate = format!("{name} copy");
        let mut i = 2;
        while taken(&candidate) {
            candidate = format!("{name} copy {i}");
            i += 1;
        }
        candidate
    }

    /// Handles a command while the editor is open.
    pub(crate) fn on_editor_cmd(&mut self, mut form: Box<ProfileForm>, cmd: Cmd) -> Vec<Effect> {
        match cmd {
            Cmd::NextField | Cmd::Down => form.step(true),
            Cmd::PrevField | Cmd::Up => form.step(false),
            Cmd::ToggleField => form.toggle(true),
            Cmd::ToggleFieldBack => form.toggle(false),
            Cmd::Submit | Cmd::Compose => match form.build() {
                Err(e) => form.error = Some(e),
                Ok(p) => {
                    let original = form.original.clone();
                    form.error = None;
                    self.modal = Some(Modal::ProfileEditor(form));
                    return vec![Effect::SaveProfile {
                        original,
                        profile: Box::new(p),
                    }];
                }
            },
            _ => {}
        }
        self.modal = Some(Modal::ProfileEditor(form));
        Vec::new()
    }

    /// Handles the password prompt.
    pub(crate) fn on_password_cmd(
        &mut self,
        profile: Box<Profile>,
        prompt: Prompt,
        cmd: Cmd,
    ) -> Vec<Effect> {
        if cmd == Cmd::Submit {
            let password = Some(Secret::new(prompt.value()));
            return self.switch(ConnectTo::Profile { profile, password });
        }
        self.modal = Some(Modal::Password { profile, prompt });
        Vec::new()
    }

    /// Handles the delete question.
    pub(crate) fn on_confirm_delete(&mut self, name: String, cmd: Cmd) -> Vec<Effect> {
        if cmd == Cmd::Submit {
            return vec![Effect::DeleteProfile(name)];
        }
        self.modal = Some(Modal::ConfirmDelete(name));
        Vec::new()
    }

    /// Points the client pane at `to`: a fresh topic tree, the target's subscriptions, and
    /// the effect that makes the connection.
    pub(crate) fn switch(&mut self, to: ConnectTo) -> Vec<Effect> {
        self.modal = None;
        match &to {
            ConnectTo::Embedded => {
                let Some(addr) = self.broker_addr.clone() else {
                    self.notice = Some(
                        "no embedded broker in this session (started with -h, -L, --profile or \
                         --no-broker; add --port to run one)"
                            .into(),
                    );
                    return Vec::new();
                };
                self.target = Target::Embedded;
                self.client_target = addr;
                self.client_id.clone_from(&self.default_client_id);
                self.set_subscriptions(vec![("#".into(), 0)]);
                self.notice = Some("connecting to the embedded broker".into());
            }
            ConnectTo::Profile { profile, .. } => {
                self.target = Target::Profile(profile.name.clone());
                self.client_target = profile
                    .base_options()
                    .map_or_else(|_| profile.address(), |o| options_address(&o));
                self.client_id = profile
                    .client_id
                    .clone()
                    .unwrap_or_else(|| self.default_client_id.clone());
                self.set_subscriptions(
                    profile
                        .subscriptions_or_all()
                        .into_iter()
                        .map(|(f, q)| (f, q as u8))
                        .collect(),
                );
                self.notice = Some(format!(
                    "connecting to profile '{}' ({})",
                    profile.name, self.client_target
                ));
            }
        }
        self.client_state = ClientState::Connecting;
        self.retry = None;
        self.reset_client_view();
        vec![Effect::Connect(to)]
    }

    fn set_subscriptions(&mut self, subs: Vec<(String, u8)>) {
        self.subscriptions = subs
            .into_iter()
            .map(|(filter, qos)| Subscription {
                filter,
                qos,
                state: SubState::Pending,
            })
            .collect();
    }

    /// The result of saving or deleting profiles: the list as now on disk, or why not.
    pub(crate) fn on_profiles(&mut self, result: Result<Vec<Profile>, String>) {
        match result {
            Ok(list) => {
                let saved = match self.modal.take() {
                    Some(Modal::ProfileEditor(f)) => f.build().ok().map(|p| p.name),
                    other => {
                        self.modal = other;
                        None
                    }
                };
                self.profiles = list;
                self.profiles_error = None;
                if let Some(name) = saved {
                    self.notice = Some(format!("saved profile '{name}'"));
                    let cursor = self
                        .profiles
                        .iter()
                        .position(|p| p.name == name)
                        .map_or(0, |i| i + 1);
                    self.modal = Some(Modal::Profiles { cursor });
                } else if self.modal.is_none() {
                    self.open_picker();
                }
            }
            Err(e) => match &mut self.modal {
                Some(Modal::ProfileEditor(f)) => f.error = Some(e),
                _ => self.notice = Some(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
