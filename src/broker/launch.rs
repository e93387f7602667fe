//! From a configuration to a running broker, the same way for `mqtt-workbench broker` and the
//! workbench: the start-up log lines, the listeners, `pid_file`, `user`, the broker itself,
//! and systemd's `READY=1`; and back down with `STOPPING=1`.

use std::path::{Path, PathBuf};

use super::config::{BrokerConfig, ConfigError};
use super::event::{BrokerEvent, EventBus};
use super::listener::{self, BoundListener, ListenError};
use super::{BrokerHandle, StartError};

/// How to launch.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// The port of local only mode (no `listener` in the config); 0 picks a free one.
    pub port: u16,
    /// True when the user asked for that port (`-p`): a config with listeners then gets a
    /// notice that it is ignored, as mosquitto does.
    pub port_given: bool,
    /// In local only mode, a busy port falls back to a free one with a warning (the
    /// workbench) instead of failing (`broker`, like mosquitto).
    pub fall_back_to_free_port: bool,
}

/// A broker that [`launch`] started.
#[derive(Debug)]
pub struct Launched {
    /// The broker.
    pub handle: BrokerHandle,
    /// Set when the port was busy and another was taken, for a status line.
    pub port_notice: Option<String>,
    pid_file: Option<PathBuf>,
}

/// Why the broker did not start. Every case has already been written to the log.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A listener could not be opened.
    #[error(transparent)]
    Listen(#[from] ListenError),
    /// The broker could not start (password, ACL or persistence file).
    #[error(transparent)]
    Start(#[from] StartError),
    /// `pid_file` could not be written.
    #[error("cannot write pid_file '{path}'")]
    PidFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Privileges could not be dropped to `user`.
    #[error("{0}")]
    User(String),
}

/// Reads the configuration file, or mosquitto's defaults without one. Returns the notices to
/// log with it.
pub fn load_config(path: Option<&Path>) -> Result<(BrokerConfig, Vec<String>), ConfigError> {
    match path {
        Some(p) => BrokerConfig::from_file(p),
        None => Ok((BrokerConfig::default(), Vec::new())),
    }
}

/// Starts the broker: logs mosquitto's start-up lines, opens the listeners, writes
/// `pid_file`, drops root privileges to `user`, starts the broker and tells systemd it is
/// ready (when `$NOTIFY_SOCKET` is set). Must run inside a tokio runtime. An error is also
/// written to the log, with a hint for a busy port.
pub fn launch(
    cfg: BrokerConfig,
    notes: Vec<String>,
    opts: &LaunchOptions,
    events: &EventBus,
) -> Result<Launched, LaunchError> {
    let result = launch_inner(cfg, notes, opts, events);
    if let Err(e) = &result {
        let hint = match e {
            LaunchError::Listen(l) if l.is_addr_in_use() => {
                " (is another broker running? -p 0 picks a free port)"
            }
            _ => "",
        };
        events.emit(BrokerEvent::Error(format!(
            "{}{hint}",
            crate::error_chain(e)
        )));
    }
    result
}

fn launch_inner(
    cfg: BrokerConfig,
    notes: Vec<String>,
    opts: &LaunchOptions,
    events: &EventBus,
) -> Result<Launched, LaunchError> {
    events.emit(BrokerEvent::Starting);
    events.emit(BrokerEvent::Config(
        cfg.source.as_ref().map(|p| p.display().to_string()),
    ));
    for n in notes {
        events.emit(BrokerEvent::Notice(n));
    }
    if opts.port_given && !cfg.listeners.is_empty() {
        events.emit(BrokerEvent::Notice(
            "Note: -p is ignored because the config file defines listeners.".into(),
        ));
    }
    let mut port_notice = None;
    let listeners: Vec<BoundListener> = match listener::bind(&cfg, opts.port, events) {
        Ok(l) => l,
        Err(e)
            if e.is_addr_in_use()
                && cfg.listeners.is_empty()
                && opts.fall_back_to_free_port
                && opts.port != 0 =>
        {
            let l = listener::bind(&cfg, 0, events)?;
            let port = opts.port;
            let new_port = l.first().map_or(0, |l| l.local_addr.port());
            events.emit(BrokerEvent::Warning(format!(
                "Port {port} is in use; listening on port {new_port} instead."
            )));
            port_notice = Some(format!(
                "port {port} is busy; the broker listens on port {new_port}"
            ));
            l
        }
        Err(e) => return Err(e.into()),
    };
    let pid_file = cfg.pid_file.clone();
    if let Some(path) = &pid_file {
        std::fs::write(path, format!("{}\n", std::process::id())).map_err(|source| {
            LaunchError::PidFile {
                path: path.clone(),
                source,
            }
        })?;
    }
    let dropped = drop_privileges(cfg.user.as_deref(), events);
    if let Err(e) = dropped {
        if let Some(path) = &pid_file {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    let handle = match super::start(cfg, listeners, events.clone()) {
        Ok(h) => h,
        Err(e) => {
            if let Some(path) = &pid_file {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
    };
    notify_systemd(&[sd_notify::NotifyState::Ready], events);
    Ok(Launched {
        handle,
        port_notice,
        pid_file,
    })
}

impl Launched {
    /// Shuts the broker down cleanly (see [`BrokerHandle::shutdown`]): tells systemd
    /// `STOPPING=1` first and removes `pid_file` last.
    pub async fn stop(self) {
        notify_systemd(&[sd_notify::NotifyState::Stopping], &self.handle.events);
        self.handle.shutdown().await;
        if let Some(path) = &self.pid_file {
            // As in mosquitto, a pid file the dropped user cannot remove is left behind
            // silently; the next start overwrites it.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Sends states to systemd when it started us as `Type=notify` (`$NOTIFY_SOCKET` set).
fn notify_systemd(states: &[sd_notify::NotifyState<'_>], events: &EventBus) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        events.emit(BrokerEvent::Warning(format!(
            "cannot notify systemd ($NOTIFY_SOCKET): {e}"
        )));
    }
}

/// mosquitto's `user`: a broker started as root switches to that user (and its groups) once
/// the listeners and `pid_file` are open. Not root: nothing to do. Root without `user` (or
/// with `user root`): the broker stays root (mosquitto would switch to `mosquitto`).
#[cfg(unix)]
fn drop_privileges(user: Option<&str>, events: &EventBus) -> Result<(), LaunchError> {
    use nix::unistd::{self, User};
    if !unistd::geteuid().is_root() {
        return Ok(());
    }
    let Some(name) = user.filter(|&n| n != "root") else {
        return Ok(());
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        LaunchError::User(format!(
            "Error: Unable to drop privileges to '{name}': {what}: {e}"
        ))
    };
    let u = match User::from_name(name) {
        Ok(Some(u)) => u,
        Ok(None) => {
            return Err(LaunchError::User(format!(
                "Error: Unable to drop privileges to '{name}' because this user does not exist."
            )));
        }
        Err(e) => return Err(fail("user lookup", &e)),
    };
    let cname = std::ffi::CString::new(name).map_err(|e| fail("user name", &e))?;
    unistd::initgroups(&cname, u.gid).map_err(|e| fail("initgroups", &e))?;
    unistd::setgid(u.gid).map_err(|e| fail("setgid", &e))?;
    unistd::setuid(u.uid).map_err(|e| fail("setuid", &e))?;
    events.emit(BrokerEvent::Notice(format!(
        "Dropped privileges to user '{name}' (uid {}, gid {}).",
        u.uid, u.gid
    )));
    Ok(())
}

#[cfg(not(unix))]
fn drop_privileges(_user: Option<&str>, _events: &EventBus) -> Result<(), LaunchError> {
    Ok(())
}
