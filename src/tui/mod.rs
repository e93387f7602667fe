//! The workbench: the embedded broker, a client pane and the broker's verbose log in one
//! terminal.
//!
//! # Layout
//!
//! * [`app`]: the pure model, in The Elm Architecture: [`app::App`] is made of sub-models
//!   (layout, topics, messages, log, broker status, client link, profiles) and dialogs
//!   (composer, prompts, profile picker and editor), each in its own file with its own update;
//!   [`app::Action`] in, [`app::Effect`] out.
//! * [`keymap`]: keys as data, mapped to actions; drives the footer and the help.
//! * [`widgets`]: rendering from `&App` (never mutates it).
//! * [`history`]: ring buffers capped in entries and bytes.
//! * [`payload`]: payload detection and rendering.
//! * [`client_link`]: the client pane's MQTT connection (rumqttc).
//! * [`terminal`]: the terminal guard and its single restore path.
//!
//! [`run`] binds the broker (`start_embedded_broker`) before the terminal changes mode
//! (start-up errors print on a normal screen), then loops over terminal input, broker log
//! lines, client events and a frame tick. Every input becomes an [`app::Action`] for
//! [`app::App::update`], the only door to the model; `perform` carries out the effects and
//! hands their results back as actions, which the loop feeds to `update`. It draws at most 30
//! times a second, and only when something changed.

pub mod app;
pub mod client_link;
pub mod history;
pub mod json;
pub mod keymap;
pub mod payload;
pub mod terminal;
pub mod text;
pub mod widgets;

#[cfg(test)]
mod tests;

use crate::error_chain;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use crossterm::event::EventStream;
use futures::StreamExt;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::mpsc;

use self::app::{Action, App, ConnectTo, Effect, EffectFailure, Limits, StartInfo, Target};
use self::client_link::{LinkEvent, LinkHandle};
use crate::broker::{self, BrokerConfig, BrokerEvent, BrokerHandle, EventBus, LogEntry};
use crate::client::{ConnectOptions, MqttVersion};
use crate::profile::{Profile, ProfileStore, secret};

/// The broker port the workbench tries first.
pub const DEFAULT_PORT: u16 = 1883;

/// What the command line asks of the workbench.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Embedded broker port (`--port`); busy ports fall back to a free one.
    pub port: Option<u16>,
    /// Broker configuration file (`-c`).
    pub config_file: Option<PathBuf>,
    /// Client only (`--no-broker`).
    pub no_broker: bool,
    /// Client: broker host (`-h`).
    pub host: Option<String>,
    /// Client: broker port (`-p`).
    pub client_port: Option<u16>,
    /// Client: `mqtt://[user[:password]@]host[:port][/topic]` (`-L`).
    pub url: Option<String>,
    /// Client: a saved profile to open on (`--profile`).
    pub profile: Option<String>,
    /// Directory of `profiles.toml` (`--config-dir`).
    pub config_dir: Option<PathBuf>,
}

/// A parsed `-L` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttUrl {
    /// Host.
    pub host: String,
    /// Port (1883 when absent).
    pub port: u16,
    /// User name and password.
    pub credentials: Option<(String, String)>,
    /// The topic filter of the path, if any.
    pub topic: Option<String>,
}

/// Parses `mqtt://[user[:password]@]host[:port][/topic]` like mosquitto_sub's `-L`.
pub fn parse_url(url: &str) -> Result<MqttUrl, String> {
    let rest = url
        .strip_prefix("mqtt://")
        .ok_or_else(|| format!("unsupported URL '{url}': only mqtt:// is supported"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let credentials = userinfo.map(|u| match u.split_once(':') {
        Some((a, b)) => (a.to_owned(), b.to_owned()),
        None => (u.to_owned(), String::new()),
    });
    let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
        // [v6]:port
        let (h, p) = h
            .split_once(']')
            .ok_or_else(|| format!("bad host in URL '{url}'"))?;
        (h.to_owned(), p.strip_prefix(':').unwrap_or(""))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p),
            None => (hostport.to_owned(), ""),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in URL '{url}'"));
    }
    let port = if port.is_empty() {
        DEFAULT_PORT
    } else {
        port.parse()
            .map_err(|_| format!("bad port '{port}' in URL '{url}'"))?
    };
    Ok(MqttUrl {
        host,
        port,
        credentials,
        topic: (!path.is_empty()).then(|| path.to_owned()),
    })
}

/// The running embedded broker and its log.
struct Embedded {
    handle: BrokerHandle,
    addr: SocketAddr,
}

/// Binds and starts the embedded broker. A busy port (default or `--port`) falls back to a
/// free port with a notice, as long as the config does not name its own listeners.
fn start_embedded_broker(
    opts: &Options,
    events: &EventBus,
) -> Result<(Embedded, Option<String>), String> {
    let (cfg, notes) = match &opts.config_file {
        Some(path) => BrokerConfig::from_file(path).map_err(|e| error_chain(&e))?,
        None => (BrokerConfig::default(), Vec::new()),
    };
    events.emit(BrokerEvent::Starting);
    events.emit(BrokerEvent::Config(
        opts.config_file.as_ref().map(|p| p.display().to_string()),
    ));
    for n in notes {
        events.emit(BrokerEvent::Notice(n));
    }
    let port = opts.port.unwrap_or(DEFAULT_PORT);
    let mut notice = None;
    let listeners = match broker::bind(&cfg, port, events) {
        Ok(l) => l,
        Err(e) if e.is_addr_in_use() && cfg.listeners.is_empty() => {
            let l = broker::bind(&cfg, 0, events).map_err(|e| error_chain(&e))?;
            let new_port = l.first().map_or(0, |l| l.local_addr.port());
            let text = format!("port {port} is busy; the broker listens on port {new_port}");
            events.emit(BrokerEvent::Warning(format!(
                "Port {port} is in use; listening on port {new_port} instead."
            )));
            notice = Some(text);
            l
        }
        Err(e) => return Err(error_chain(&e)),
    };
    let handle = broker::start(cfg, listeners, events.clone()).map_err(|e| error_chain(&e))?;
    let addr = handle
        .local_addrs
        .iter()
        .copied()
        .find(SocketAddr::is_ipv4)
        .or_else(|| handle.addr())
        .ok_or_else(|| "the broker has no listener".to_owned())?;
    Ok((Embedded { handle, addr }, notice))
}

/// The profile named by `--profile`, with its options (password included) and the
/// command line's `-h`/`-p`/`-L` over them.
fn start_profile(
    opts: &Options,
    url: Option<&MqttUrl>,
    store: Result<&ProfileStore, &String>,
) -> Result<Option<(Profile, ConnectOptions)>, String> {
    let Some(name) = &opts.profile else {
        return Ok(None);
    };
    let store = store.map_err(Clone::clone)?;
    let profile = store.require(name).map_err(|e| error_chain(&e))?.clone();
    let mut o = profile.base_options().map_err(|e| e.to_string())?;
    if let Some(h) = &opts.host {
        o.host.clone_from(h);
    }
    if let Some(p) = opts.client_port {
        o.port = p;
    }
    let url_credentials = url.and_then(|u| u.credentials.clone());
    if let Some(u) = url {
        o.host.clone_from(&u.host);
        o.port = u.port;
    }
    match url_credentials {
        Some((user, pw)) => {
            o.username = Some(user);
            o.password = Some(pw);
        }
        None => {
            let user = profile.username.clone().unwrap_or_default();
            o.password = secret::resolve(&profile.name, &user, &profile.password_source())
                .map_err(|e| error_chain(&e))?;
        }
    }
    Ok(Some((profile, o)))
}

/// Runs the workbench until the user quits, a signal arrives or the terminal fails.
pub async fn run(opts: Options) -> ExitCode {
    let url = match opts.url.as_deref().map(parse_url).transpose() {
        Ok(u) => u,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Profiles are read (and a password asked for) before the terminal changes mode.
    let dir = crate::profile::config_dir(opts.config_dir.as_deref());
    let profiles_file = dir.as_ref().map_or_else(
        |_| "(no configuration directory)".to_owned(),
        |d| {
            d.join(crate::profile::store::FILE_NAME)
                .display()
                .to_string()
        },
    );
    let store = dir
        .map_err(|e| error_chain(&e))
        .and_then(|d| ProfileStore::load(&d).map_err(|e| error_chain(&e)));
    let start = match start_profile(&opts, url.as_ref(), store.as_ref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let remote =
        opts.host.is_some() || opts.client_port.is_some() || url.is_some() || start.is_some();
    let want_broker = !opts.no_broker && (!remote || opts.port.is_some());

    let events = EventBus::new(1 << 16);
    let log_rx = events.subscribe();
    let (embedded, notice) = if want_broker {
        match start_embedded_broker(&opts, &events) {
            Ok((e, n)) => (Some(e), n),
            Err(e) => {
                eprintln!("Error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        (None, None)
    };

    let client_id = format!("mqtt-workbench-{}", std::process::id());
    let (target, link_opts, subscriptions) = match start {
        Some((profile, mut o)) => {
            if o.client_id.is_none() {
                o.client_id = Some(client_id.clone());
            }
            let subs = match url.as_ref().and_then(|u| u.topic.clone()) {
                Some(t) => vec![(t, 0)],
                None => profile
                    .subscriptions_or_all()
                    .into_iter()
                    .map(|(f, q)| (f, q as u8))
                    .collect(),
            };
            (Target::Profile(profile.name), o, subs)
        }
        None => {
            let (host, port, credentials) = match (&url, &embedded) {
                (Some(u), _) => (u.host.clone(), u.port, u.credentials.clone()),
                (None, Some(e)) if !remote => (e.addr.ip().to_string(), e.addr.port(), None),
                _ => (
                    opts.host.clone().unwrap_or_else(|| "localhost".into()),
                    opts.client_port.unwrap_or(DEFAULT_PORT),
                    None,
                ),
            };
            let filter = url
                .as_ref()
                .and_then(|u| u.topic.clone())
                .unwrap_or_else(|| "#".into());
            let (username, password) =
                credentials.map_or((None, None), |(u, p)| (Some(u), Some(p)));
            let o = ConnectOptions {
                host,
                port,
                version: MqttVersion::V5,
                client_id: Some(client_id.clone()),
                username,
                password,
                ..ConnectOptions::default()
            };
            let target = if remote {
                Target::Remote
            } else {
                Target::Embedded
            };
            (target, o, vec![(filter, 0)])
        }
    };
    let client_target = match &target {
        Target::Profile(_) => crate::profile::options_address(&link_opts),
        _ => format!("{}:{}", link_opts.host, link_opts.port),
    };
    let (profiles, profiles_error) = match &store {
        Ok(s) => (s.profiles().to_vec(), None),
        Err(e) => (Vec::new(), Some(e.clone())),
    };
    let info = StartInfo {
        broker_addr: embedded.as_ref().map(|e| e.addr.to_string()),
        client_target,
        client_id: client_id.clone(),
        subscriptions,
        notice,
        target,
        profiles,
        profiles_error,
        profiles_file,
        help_lines: widgets::help::help_lines().len(),
    };
    let env = Env {
        config_dir: opts.config_dir.clone(),
        embedded: embedded.as_ref().map(|e| e.addr),
        client_id,
        broker_stats: embedded.as_ref().map(|e| e.handle.stats_handle()),
    };

    let code = match terminal::enter() {
        Ok(mut guard) => {
            let (link, link_rx) = client_link::connect(link_opts);
            let mut client = Client {
                link: Some(link),
                rx: Some(link_rx),
            };
            let mut app = App::new(info, Limits::default());
            let res = event_loop(&mut guard, &mut app, &mut client, &env, log_rx).await;
            terminal::restore();
            drop(guard);
            if let Some(link) = client.link.take() {
                // A polite DISCONNECT, but never a wait: the shell is already back.
                let _ = tokio::time::timeout(Duration::from_millis(300), link.disconnect()).await;
            }
            match res {
                Ok(()) if !terminal::panicked() => ExitCode::SUCCESS,
                Ok(()) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("Error: the terminal failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("Error: cannot set up the terminal: {e}");
            ExitCode::FAILURE
        }
    };
    if let Some(e) = embedded {
        e.handle.shutdown().await;
    }
    code
}

/// The client pane's current connection (none after a switch that could not start).
struct Client {
    link: Option<LinkHandle>,
    rx: Option<mpsc::Receiver<LinkEvent>>,
}

impl Client {
    /// The next event, or never when there is no connection.
    async fn recv(&mut self) -> Option<LinkEvent> {
        match &mut self.rx {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    }

    /// Replaces the connection; the old one disconnects in the background.
    fn replace(&mut self, next: Option<(LinkHandle, mpsc::Receiver<LinkEvent>)>) {
        if let Some(old) = self.link.take() {
            tokio::spawn(old.disconnect());
        }
        self.rx = None;
        if let Some((link, rx)) = next {
            self.link = Some(link);
            self.rx = Some(rx);
        }
    }
}

/// What the run loop needs to perform effects.
struct Env {
    config_dir: Option<PathBuf>,
    embedded: Option<SocketAddr>,
    client_id: String,
    /// The embedded broker's live counters (clients, messages), read once a second.
    broker_stats: Option<std::sync::Arc<crate::broker::sys::Stats>>,
}

/// How many queued log lines or client events one wake-up takes before the loop looks at
/// other sources again.
const BATCH: usize = 4096;

/// Signals that end the workbench gracefully.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                term: signal(SignalKind::terminate()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves when SIGTERM, SIGHUP or SIGINT arrives.
    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            let term = async {
                match &mut self.term {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            let hup = async {
                match &mut self.hup {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = term => {}
                () = hup => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn log_action(res: Result<LogEntry, RecvError>) -> Option<Action> {
    match res {
        Ok(e) => Some(Action::Broker(e)),
        Err(RecvError::Lagged(n)) => Some(Action::BrokerLagged(n)),
        Err(RecvError::Closed) => None,
    }
}

async fn event_loop(
    guard: &mut terminal::TerminalGuard,
    app: &mut App,
    client: &mut Client,
    env: &Env,
    mut log_rx: tokio::sync::broadcast::Receiver<LogEntry>,
) -> std::io::Result<()> {
    let size = guard.terminal.size()?;
    let mut effects = app.update(Action::Resize(size.width, size.height));
    effects.extend(app.update(Action::Tick(SystemTime::now())));
    // Test hook for the terminal-restore guarantee (tests/integration/tui_tmux.rs): a panic in
    // a background task, as a bug in the client or broker would cause.
    if std::env::var_os("MQTT_WORKBENCH_TEST_PANIC").is_some() {
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            panic!("test panic requested by MQTT_WORKBENCH_TEST_PANIC");
        });
    }
    let mut input = EventStream::new();
    let mut frame = tokio::time::interval(Duration::from_millis(33));
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut signals = Signals::new();
    let mut log_open = true;
    let mut dirty = true;
    loop {
        tokio::select! {
            // Keys, mouse, resize and paste from the terminal.
            ev = input.next() => match ev {
                Some(Ok(ev)) => {
                    if let Some(a) = keymap::action_for(app, &ev) {
                        effects.extend(app.update(a));
                        dirty = true;
                    }
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            // Broker log lines, taken in batches so a flood costs one redraw per frame.
            res = log_rx.recv(), if log_open => {
                match log_action(res) {
                    Some(a) => effects.extend(app.update(a)),
                    None => log_open = false,
                }
                for _ in 0..BATCH {
                    let a = match log_rx.try_recv() {
                        Ok(e) => Action::Broker(e),
                        Err(TryRecvError::Lagged(n)) => Action::BrokerLagged(n),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Closed) => { log_open = false; break; }
                    };
                    effects.extend(app.update(a));
                }
                dirty = true;
            }
            // The client pane's connection: messages, (re)connects, SUBACKs.
            ev = client.recv() => {
                match ev {
                    Some(ev) => effects.extend(app.update(Action::Client(ev))),
                    None => client.rx = None,
                }
                if let Some(rx) = &mut client.rx {
                    for _ in 0..BATCH {
                        match rx.try_recv() {
                            Ok(ev) => effects.extend(app.update(Action::Client(ev))),
                            Err(_) => break,
                        }
                    }
                }
                dirty = true;
            }
            // Draw when something changed, at most ~30 times a second.
            _ = frame.tick() => {
                if terminal::panicked() {
                    return Ok(());
                }
                if dirty {
                    effects.extend(app.update(Action::Frame));
                    guard.terminal.draw(|f| widgets::draw(f, app))?;
                    dirty = false;
                }
            }
            // Rates age once a second.
            _ = second.tick() => {
                effects.extend(app.update(Action::Tick(SystemTime::now())));
                if let Some(stats) = &env.broker_stats {
                    effects.extend(app.update(Action::BrokerStats(stats.snapshot())));
                }
                dirty = true;
            }
            // SIGTERM / SIGHUP / SIGINT: leave like `q`.
            () = signals.recv() => effects.extend(app.update(Action::Cmd(app::Cmd::Quit))),
        }
        // Effects run in order; each result goes back through `update`, and whatever that
        // asks for runs next.
        let mut queue: std::collections::VecDeque<Effect> = effects.drain(..).collect();
        while let Some(e) = queue.pop_front() {
            if let Some(result) = perform(e, client, env, guard) {
                queue.extend(app.update(result));
                dirty = true;
            }
        }
        if app.quit() {
            return Ok(());
        }
    }
}

/// Carries out one effect. The model is never touched here: what happened comes back as an
/// action for the loop to feed to [`App::update`].
fn perform(
    effect: Effect,
    client: &mut Client,
    env: &Env,
    guard: &mut terminal::TerminalGuard,
) -> Option<Action> {
    let link = client.link.as_ref();
    let no_link = || Err(client_link::LinkError::not_connected());
    let res = match effect {
        Effect::Subscribe { filter, qos } => {
            link.map_or_else(no_link, |l| l.subscribe(&filter, qos))
        }
        Effect::Unsubscribe(filter) => link.map_or_else(no_link, |l| l.unsubscribe(&filter)),
        Effect::Publish(p) => link.map_or_else(no_link, |l| l.publish(&p)),
        Effect::Reconnect => link.map_or_else(no_link, LinkHandle::reconnect_now),
        Effect::Copy(text) => {
            return terminal::copy_osc52(guard.terminal.backend_mut(), &text)
                .err()
                .map(|e| Action::EffectFailed(EffectFailure::Copy(e.to_string())));
        }
        Effect::Connect(to) => {
            let asked = match &to {
                ConnectTo::Profile {
                    profile,
                    password: None,
                } => Some(profile.clone()),
                _ => None,
            };
            return match connect_options(to, env) {
                Ok(o) => {
                    client.replace(Some(client_link::connect(o)));
                    None
                }
                Err(ConnectError::Password(why)) => {
                    client.replace(None);
                    // An unset password_env or unreadable password_file: ask instead.
                    Some(match asked {
                        Some(profile) => Action::NeedPassword { profile, why },
                        None => Action::ConnectFailed(why),
                    })
                }
                Err(ConnectError::Other(e)) => {
                    client.replace(None);
                    Some(Action::ConnectFailed(e))
                }
            };
        }
        Effect::SaveProfile { original, profile } => {
            let r = with_store(env, |store| {
                // A new profile must not replace one of the same name.
                let replaces = match original {
                    Some(old) => old,
                    None if store.get(&profile.name).is_some() => {
                        return Err(format!("a profile named '{}' exists already", profile.name));
                    }
                    None => profile.name.clone(),
                };
                store
                    .replace(&replaces, *profile)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
            return Some(Action::Profiles(r));
        }
        Effect::DeleteProfile(name) => {
            let r = with_store(env, |store| {
                store
                    .remove(&name)
                    .map(|_| ())
                    .ok_or_else(|| format!("no profile named '{name}'"))
            });
            return Some(Action::Profiles(r));
        }
    };
    res.err()
        .map(|e| Action::EffectFailed(EffectFailure::Link(e.to_string())))
}

/// Why a connection could not be started.
enum ConnectError {
    /// The profile's password could not be found (the user can type it instead).
    Password(String),
    /// Anything else.
    Other(String),
}

/// Loads `profiles.toml` afresh, applies `change` and saves, returning the new list.
fn with_store(
    env: &Env,
    change: impl FnOnce(&mut ProfileStore) -> Result<(), String>,
) -> Result<Vec<Profile>, String> {
    let mut store = ProfileStore::open(env.config_dir.as_deref()).map_err(|e| error_chain(&e))?;
    change(&mut store)?;
    store.save().map_err(|e| error_chain(&e))?;
    Ok(store.profiles().to_vec())
}

/// The options for a switch: the embedded broker, or a profile with its password resolved
/// (typed at the workbench's prompt, or from the file, environment or password file).
fn connect_options(to: ConnectTo, env: &Env) -> Result<ConnectOptions, ConnectError> {
    match to {
        ConnectTo::Embedded => {
            let addr = env.embedded.ok_or_else(|| {
                ConnectError::Other("no embedded broker in this session".to_owned())
            })?;
            Ok(ConnectOptions {
                host: addr.ip().to_string(),
                port: addr.port(),
                version: MqttVersion::V5,
                client_id: Some(env.client_id.clone()),
                ..ConnectOptions::default()
            })
        }
        ConnectTo::Profile { profile, password } => {
            let mut o = profile
                .base_options()
                .map_err(|e| ConnectError::Other(e.to_string()))?;
            o.password = match password {
                Some(p) => Some(p.expose().to_owned()),
                None => secret::resolve_without_asking(&profile.name, &profile.password_source())
                    .map_err(|e| ConnectError::Password(error_chain(&e)))?,
            };
            if o.client_id.is_none() {
                o.client_id = Some(env.client_id.clone());
            }
            Ok(o)
        }
    }
}
