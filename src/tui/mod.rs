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
pub mod decode;
pub mod export_file;
pub mod history;
pub mod json;
pub mod keymap;
pub mod payload;
pub mod terminal;
pub mod text;
pub mod trace;
pub mod widgets;

mod links;

#[cfg(test)]
mod tests;

use crate::error_chain;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use crossterm::event::EventStream;
use futures::StreamExt;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::mpsc;

use self::app::{
    Action, App, ConnectTo, Effect, EffectFailure, Limits, StartInfo, Target, fault::FaultRequest,
};
use self::client_link::LinkHandle;
use crate::broker::launch::{self, LaunchOptions, Launched};
use crate::broker::signals::{self, Signal, Signals};
use crate::broker::{BrokerConfig, EventBus, LogEntry};
use crate::client::{BrokerUrl, ConnectOptions, MqttVersion};
use crate::profile::{Profile, ProfileStore, secret};

/// The broker port the workbench tries first.
pub const DEFAULT_PORT: u16 = 1883;

/// The marker file (in the config dir) that says the first-minute overlay was seen.
pub const FIRST_MINUTE_MARKER: &str = "first-minute-seen";

/// Set to a non-empty value to skip the first-minute overlay: for tests and scripted sessions
/// that must not depend on whether the config dir has the marker.
pub const NO_FIRST_MINUTE_ENV: &str = "MQTT_WORKBENCH_NO_FIRST_MINUTE";

/// What the command line asks of the workbench.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Embedded broker port (`--port`); a busy one is refused. Without it the default port
    /// is used, and a free one when that is busy.
    pub port: Option<u16>,
    /// Broker configuration file (`-c`).
    pub config_file: Option<PathBuf>,
    /// Client only (`--no-broker`).
    pub no_broker: bool,
    /// Client: broker host (`-h`).
    pub host: Option<String>,
    /// Client: broker port (`-p`).
    pub client_port: Option<u16>,
    /// Client: a broker URL (`-L`): `mqtt`, `mqtts`, `ws` or `wss`, as `sub -L` takes.
    pub url: Option<String>,
    /// Client: a saved profile to open on (`--profile`).
    pub profile: Option<String>,
    /// Directory of `profiles.toml` (`--config-dir`).
    pub config_dir: Option<PathBuf>,
}

/// The running embedded broker and its log.
struct Embedded {
    launched: Launched,
    addr: SocketAddr,
    /// Its configuration and log, to start it again (the restart fault).
    cfg: BrokerConfig,
    events: EventBus,
    /// The private persistence directory used without `-c`, removed at exit.
    scratch: Option<tempfile::TempDir>,
}

/// Starts the embedded broker through the launch path `broker` uses
/// ([`broker::launch`]: start-up lines, listeners, `pid_file`, `user`, systemd). A busy port
/// (default or `--port`) falls back to a free port with a notice, as long as the config does
/// not name its own listeners.
fn start_embedded_broker(
    opts: &Options,
    events: &EventBus,
) -> Result<(Embedded, Option<String>), String> {
    let (mut cfg, notes) =
        launch::load_config(opts.config_file.as_deref()).map_err(|e| error_chain(&e))?;
    // Without a config file, sessions go to a private persistence file saved at shutdown, so
    // that the restart fault shows persistent sessions resuming. The directory is new, with
    // a random name and mode 0700 (queued messages are nobody else's business), and removed
    // at exit.
    let scratch = if opts.config_file.is_none() {
        tempfile::Builder::new()
            .prefix("mqtt-workbench-")
            .tempdir()
            .ok()
    } else {
        None
    };
    // The packet inspector's capture ring (issue 12): the headless `broker` never sets it.
    cfg.capture = Some(crate::broker::capture::CaptureLimits::default());
    if let Some(dir) = &scratch {
        cfg.persistence = true;
        cfg.persistence_location = Some(dir.path().to_path_buf());
        cfg.autosave_interval = Some(0);
    }
    let launch_opts = LaunchOptions {
        port: opts.port.unwrap_or(DEFAULT_PORT),
        port_given: opts.port.is_some(),
        // Only a port nobody asked for may move; a busy `--port N` is refused, as mosquitto
        // refuses it.
        fall_back_to_free_port: opts.port.is_none(),
    };
    let launched =
        launch::launch(cfg.clone(), notes, &launch_opts, events).map_err(|e| error_chain(&e))?;
    let addr = launched
        .handle
        .local_addrs
        .iter()
        .copied()
        .find(SocketAddr::is_ipv4)
        .or_else(|| launched.handle.addr())
        .ok_or_else(|| "the broker has no listener".to_owned())?;
    let notice = launched.port_notice.clone();
    let e = Embedded {
        launched,
        addr,
        cfg,
        events: events.clone(),
        scratch,
    };
    Ok((e, notice))
}

/// The profile named by `--profile`, with its options (password included) and the
/// command line's `-h`/`-p`/`-L` over them.
fn start_profile(
    opts: &Options,
    url: Option<&BrokerUrl>,
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
    if let Some(u) = url {
        // The URL names the broker (scheme, host, port, WebSocket path) and may carry
        // credentials; the profile's other settings stay.
        let from_url = u.to_options();
        o.transport = from_url.transport;
        o.host = from_url.host;
        o.port = from_url.port;
        o.ws_path = from_url.ws_path;
    }
    match url.filter(|u| u.username.is_some()) {
        Some(u) => {
            o.username.clone_from(&u.username);
            o.password.clone_from(&u.password);
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
    let url = match opts.url.as_deref().map(BrokerUrl::parse).transpose() {
        Ok(u) => u,
        Err(e) => {
            eprintln!("Error: {}", error_chain(&e));
            return ExitCode::FAILURE;
        }
    };
    // Profiles are read (and a password asked for) before the terminal changes mode.
    let dir = crate::profile::config_dir(opts.config_dir.as_deref());
    let first_minute_marker = dir.as_ref().ok().map(|d| d.join(FIRST_MINUTE_MARKER));
    let first_minute = std::env::var_os(NO_FIRST_MINUTE_ENV).is_none_or(|v| v.is_empty())
        && first_minute_marker.as_ref().is_some_and(|m| !m.exists());
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
    // `--profile` alone opens the profile beside the embedded broker's connection.
    let beside = start.is_some()
        && !opts.no_broker
        && opts.host.is_none()
        && opts.client_port.is_none()
        && url.is_none();
    let (start, beside) = if beside { (None, start) } else { (start, None) };
    let remote =
        opts.host.is_some() || opts.client_port.is_some() || url.is_some() || start.is_some();
    let want_broker = !opts.no_broker && (!remote || opts.port.is_some());

    let events = EventBus::new(1 << 16).with_journeys();
    let log_rx = events.subscribe();
    let (mut embedded, notice) = if want_broker {
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
            let filter = url
                .as_ref()
                .and_then(|u| u.topic.clone())
                .unwrap_or_else(|| "#".into());
            let mut o = match (&url, &embedded) {
                (Some(u), _) => u.to_options(),
                (None, Some(e)) if !remote => ConnectOptions {
                    host: e.addr.ip().to_string(),
                    port: e.addr.port(),
                    ..ConnectOptions::default()
                },
                _ => ConnectOptions {
                    host: opts.host.clone().unwrap_or_else(|| "localhost".into()),
                    port: opts.client_port.unwrap_or(DEFAULT_PORT),
                    ..ConnectOptions::default()
                },
            };
            o.version = MqttVersion::V5;
            o.client_id = Some(client_id.clone());
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
    // The copied commands connect as the link does; an embedded link needs no flags.
    let login = if matches!(target, Target::Embedded) {
        crate::lessons::shell::Login::default()
    } else {
        crate::lessons::shell::Login::of(&link_opts, link_opts.password.is_some())
    };
    let info = StartInfo {
        broker_addr: embedded.as_ref().map(|e| e.addr.to_string()),
        client_target,
        // The id the link really connects with: a profile's own client id where it sets one
        // (the clash check and the log's `▸` mark compare with it).
        client_id: link_opts
            .client_id
            .clone()
            .unwrap_or_else(|| client_id.clone()),
        subscriptions,
        notice,
        target,
        profiles,
        profiles_error,
        profiles_file,
        first_minute,
        help_lines: widgets::help::help_lines().len(),
        login,
    };
    let (fault_tx, fault_rx) = mpsc::unbounded_channel();
    let (restart_tx, restart_rx) = mpsc::unbounded_channel();
    if first_minute && let Some(m) = &first_minute_marker {
        // Shown once: the marker is written as it shows (a failure only means it shows again).
        let _ = m.parent().map(std::fs::create_dir_all);
        let _ = std::fs::write(m, "the first-minute overlay was shown\n");
    }
    let env = Env {
        config_dir: opts.config_dir.clone(),
        embedded: embedded.as_ref().map(|e| e.addr),
        client_id,
        fault_tx,
        restart_tx,
    };

    let code = match terminal::enter() {
        Ok(mut guard) => {
            let traced = info.target != Target::Embedded;
            let mut client = links::Links::new();
            client.replace(0, Some(client_link::connect_traced(link_opts, traced)));
            let mut app = App::new(info, Limits::default());
            let helpers = Helpers {
                embedded: &mut embedded,
                faults: fault_rx,
                restarted: restart_rx,
                open: beside.map(|(profile, o)| {
                    Action::Open(ConnectTo::Profile {
                        profile: Box::new(profile),
                        password: o.password.map(crate::profile::Secret::new),
                    })
                }),
            };
            let res = event_loop(&mut guard, &mut app, &mut client, &env, log_rx, helpers).await;
            terminal::restore();
            drop(guard);
            // A polite DISCONNECT, but never a wait: the shell is already back.
            client.disconnect_all(Duration::from_millis(300)).await;
            match res {
                Ok(()) if !terminal::panicked() => ExitCode::SUCCESS,
                Ok(()) => ExitCode::FAILURE,
                Err(e) => {
                    // Not `eprintln!`: it panics when the terminal is gone, which would skip
                    // the broker's shutdown below.
                    let _ = writeln!(std::io::stderr(), "Error: the terminal failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            // The broker already runs: like every message from here on, written without
            // `eprintln!`, which panics on a dead stderr and would skip its shutdown below.
            let _ = writeln!(std::io::stderr(), "Error: cannot set up the terminal: {e}");
            ExitCode::FAILURE
        }
    };
    if let Some(e) = embedded {
        e.launched.stop().await;
        if let Some(dir) = e.scratch {
            let _ = dir.close();
        }
    }
    code
}

/// The embedded broker and the channels on which fault helpers report.
struct Helpers<'a> {
    embedded: &'a mut Option<Embedded>,
    faults: mpsc::UnboundedReceiver<Action>,
    restarted: mpsc::UnboundedReceiver<Embedded>,
    /// A connection to open beside the first one (`--profile` with the embedded broker).
    open: Option<Action>,
}

/// The restart fault: stops the embedded broker (it saves its sessions) and starts it again
/// on the same port in the background; the new broker comes back on `env.restart_tx`.
fn restart_broker(embedded: Option<Embedded>, env: &Env) {
    let Some(e) = embedded else {
        let _ = env.fault_tx.send(Action::FaultDone(
            Err("no embedded broker to restart (a restart may be under way)".into()),
            SystemTime::now(),
        ));
        return;
    };
    let (faults, back) = (env.fault_tx.clone(), env.restart_tx.clone());
    tokio::spawn(async move {
        let Embedded {
            launched,
            addr,
            cfg,
            events,
            scratch,
        } = e;
        launched.stop().await;
        // The same launch path as at start-up, on the same port (no fallback: the clients
        // must find the broker where it was).
        let again = LaunchOptions {
            port: addr.port(),
            port_given: true,
            fall_back_to_free_port: false,
        };
        let started =
            launch::launch(cfg.clone(), Vec::new(), &again, &events).map_err(|e| error_chain(&e));
        let report = match started {
            Ok(launched) => {
                let _ = back.send(Embedded {
                    launched,
                    addr,
                    cfg,
                    events,
                    scratch,
                });
                Ok(format!("the broker restarted on port {}", addr.port()))
            }
            Err(e) => Err(format!("the broker could not start again: {e}")),
        };
        let _ = faults.send(Action::FaultDone(report, SystemTime::now()));
    });
}

/// What the run loop needs to perform effects.
struct Env {
    config_dir: Option<PathBuf>,
    embedded: Option<SocketAddr>,
    client_id: String,
    /// Fault helpers report here when they finish.
    fault_tx: mpsc::UnboundedSender<Action>,
    /// The restarted embedded broker comes back here.
    restart_tx: mpsc::UnboundedSender<Embedded>,
}

/// How many queued log lines or client events one wake-up takes before the loop looks at
/// other sources again.
const BATCH: usize = 4096;

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
    client: &mut links::Links,
    env: &Env,
    mut log_rx: tokio::sync::broadcast::Receiver<LogEntry>,
    mut helpers: Helpers<'_>,
) -> std::io::Result<()> {
    let size = guard.terminal.size()?;
    let mut effects = app.update(Action::Resize(size.width, size.height));
    effects.extend(app.update(Action::Tick(SystemTime::now())));
    if let Some(a) = helpers.open.take() {
        effects.extend(app.update(a));
    }
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
            // The connections' links: messages, (re)connects, SUBACKs, client trace.
            (id, ev) = client.recv() => {
                effects.extend(app.update(Action::ConnEvent(id, ev)));
                for _ in 0..BATCH {
                    let Some((id, ev)) = client.try_recv() else { break };
                    effects.extend(app.update(Action::ConnEvent(id, ev)));
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
                if let Some(e) = helpers.embedded.as_ref() {
                    effects.extend(app.update(Action::BrokerStats(e.launched.handle.stats())));
                }
                dirty = true;
            }
            // A fault helper finished.
            Some(a) = helpers.faults.recv() => {
                effects.extend(app.update(a));
                dirty = true;
            }
            // The embedded broker is back after a restart.
            Some(e) = helpers.restarted.recv() => *helpers.embedded = Some(e),
            // SIGTERM / SIGINT, and SIGHUP (for a terminal program: the terminal hung up):
            // leave like `q`. SIGUSR1 / SIGUSR2 act on the embedded broker as on `broker`.
            sig = signals.recv() => match (sig, helpers.embedded.as_ref()) {
                (Signal::Stop | Signal::Reload, _) => {
                    effects.extend(app.update(Action::Cmd(app::Cmd::Quit)));
                }
                (other, Some(e)) => {
                    let _ = signals::act_on(&e.launched.handle, other).await;
                }
                (_, None) => {}
            },
        }
        // Effects run in order; each result goes back through `update`, and whatever that
        // asks for runs next.
        let mut queue: std::collections::VecDeque<Effect> = effects.drain(..).collect();
        while let Some(e) = queue.pop_front() {
            if let Effect::Fault(r) = &e
                && r.fault == app::fault::Fault::RestartBroker
            {
                restart_broker(helpers.embedded.take(), env);
                continue;
            }
            if let Effect::Learn(req) = e {
                if let Some(a) = learn(req, helpers.embedded.as_ref(), env) {
                    queue.extend(app.update(a));
                    dirty = true;
                }
                continue;
            }
            // Effects go to the shown connection's link unless addressed to another.
            let (conn, e) = match e {
                Effect::OnConn(id, e) => (id, *e),
                e => (app.conns().active(), e),
            };
            if let Effect::Connect(to) = &e
                && let Some(a) = links::decoders_for(to, conn, env.config_dir.as_deref())
            {
                queue.extend(app.update(a));
            }
            let traced = app.conns().traced(conn);
            if let Some(result) = perform(e, client, (conn, traced), env, guard) {
                queue.extend(app.update(result));
                dirty = true;
            }
        }
        // Only the shown connection builds its client trace.
        let shown = app.conns().active();
        client.trace_only(shown, app.conns().traced(shown));
        if app.quit() {
            return Ok(());
        }
    }
}

/// Issue 12: finds captured bytes at once, or asks the embedded broker for its state in the
/// background (after the delay that paces the views' polling); the answer comes back as an
/// action on the helpers' channel.
fn learn(
    req: app::inspector::LearnRequest,
    embedded: Option<&Embedded>,
    env: &Env,
) -> Option<Action> {
    use app::inspector::{LearnRequest, LearnResult};
    match req {
        LearnRequest::Capture(r) => {
            let cap = embedded.and_then(|e| e.launched.handle.capture());
            let found = cap.map_or_else(
                || Err("the embedded broker captures no packets (restarting?)".to_owned()),
                |c| r.find(&c),
            );
            Some(Action::Learn(LearnResult::Captured(found)))
        }
        LearnRequest::State { topic, after, poll } => {
            let Some(probe) = embedded.map(|e| e.launched.handle.probe()) else {
                return Some(Action::Learn(LearnResult::State(poll, None)));
            };
            let tx = env.fault_tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                let s = probe.state(topic.as_deref()).await.map(Box::new);
                let _ = tx.send(Action::Learn(LearnResult::State(poll, s)));
            });
            None
        }
    }
}

/// Carries out one effect. The model is never touched here: what happened comes back as an
/// action for the loop to feed to [`App::update`].
fn perform(
    effect: Effect,
    client: &mut links::Links,
    (conn, traced): (app::conns::ConnId, bool),
    env: &Env,
    guard: &mut terminal::TerminalGuard,
) -> Option<Action> {
    let link = client.get(conn);
    let no_link = || Err(client_link::LinkError::not_connected());
    let res = match effect {
        Effect::Subscribe { filter, qos } => {
            link.map_or_else(no_link, |l| l.subscribe(&filter, qos))
        }
        Effect::Unsubscribe(filter) => link.map_or_else(no_link, |l| l.unsubscribe(&filter)),
        Effect::Publish(p) => link.map_or_else(no_link, |l| l.publish(&p)),
        Effect::Reconnect => link.map_or_else(no_link, LinkHandle::reconnect_now),
        // Carried out by `learn` in the event loop, which holds the embedded broker.
        Effect::Learn(_) => return None,
        Effect::Fault(FaultRequest {
            fault,
            broker,
            client_id,
        }) => {
            let Ok(addr) = broker.parse::<SocketAddr>() else {
                return Some(Action::FaultDone(
                    Err(format!("bad broker address '{broker}'")),
                    SystemTime::now(),
                ));
            };
            let tx = env.fault_tx.clone();
            tokio::spawn(async move {
                let r = crate::lessons::faults::run(fault, addr, &client_id).await;
                let _ = tx.send(Action::FaultDone(r, SystemTime::now()));
            });
            return None;
        }
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
            return match connect_options(to, env, conn) {
                Ok(o) => {
                    client.replace(conn, Some(client_link::connect_traced(o, traced)));
                    None
                }
                Err(ConnectError::Password(why)) => {
                    client.replace(conn, None);
                    // An unset password_env or unreadable password_file: ask instead.
                    Some(match asked {
                        Some(profile) => Action::NeedPassword { profile, why },
                        None => Action::ConnectFailed(why),
                    })
                }
                Err(ConnectError::Other(e)) => {
                    client.replace(conn, None);
                    Some(Action::ConnectFailed(e))
                }
            };
        }
        Effect::CloseConn(id) => {
            client.close(id);
            return None;
        }
        // Unwrapped by the loop before it gets here.
        Effect::OnConn(..) => return None,
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
        Effect::Export(file) => return Some(Action::Exported(export_file::write(file))),
        Effect::ReloadProfiles => {
            let r = ProfileStore::open(env.config_dir.as_deref())
                .map(|store| store.profiles().to_vec())
                .map_err(|e| error_chain(&e));
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
/// Without an explicit client id, connection `conn` gets its own
/// ([`app::conns::client_id_for`]).
fn connect_options(
    to: ConnectTo,
    env: &Env,
    conn: app::conns::ConnId,
) -> Result<ConnectOptions, ConnectError> {
    let own_id = app::conns::client_id_for(&env.client_id, conn);
    match to {
        ConnectTo::Embedded => {
            let addr = env.embedded.ok_or_else(|| {
                ConnectError::Other("no embedded broker in this session".to_owned())
            })?;
            Ok(ConnectOptions {
                host: addr.ip().to_string(),
                port: addr.port(),
                version: MqttVersion::V5,
                client_id: Some(own_id),
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
                o.client_id = Some(own_id);
            }
            Ok(o)
        }
    }
}
