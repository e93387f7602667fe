//! The embedded MQTT broker, used unchanged by the workbench and by `mqtt-workbench broker`.
//!
//! # Layout
//!
//! * [`config`]: settings and the mosquitto.conf subset.
//! * [`listener`]: binds sockets and accepts connections.
//! * [`connection`]: one task per client: CONNECT, keep-alive, framing.
//! * [`router`]: the single owner of sessions, subscriptions and retained messages.
//! * [`outbox`]: the bounded queue from the router to each connection.
//! * [`topic`]: topic filter validation and matching.
//! * [`event`]: [`BrokerEvent`], the verbose log that the TUI and `-v` both render.
//! * [`auth`]: mosquitto password files.
//! * [`sys`]: statistics and `$SYS` topics.
//! * [`persist`] and [`store`]: persistence (the JSON snapshot format and the durable store).
//!
//! Network input never panics a task: a bad packet ends that one connection.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod acl;
pub mod auth;
pub mod config;
pub mod connection;
pub mod event;
pub mod listener;
pub mod outbox;
pub mod persist;
pub mod pressure;
pub mod router;
pub mod store;
pub mod sys;
pub mod tls;
pub mod topic;
pub mod websocket;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::config::BrokerConfig;
use self::connection::Shared;
pub use self::event::{BrokerEvent, EventBus, LogEntry};
pub use self::listener::{BoundListener, ListenError, bind};
use self::router::Router;
use self::sys::Stats;

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The ACL file could not be used.
    #[error(transparent)]
    Acl(#[from] acl::AclError),
    /// The persistence file could not be read (it is left untouched).
    #[error(transparent)]
    Persistence(#[from] persist::PersistError),
    /// The password file could not be read.
    #[error("cannot read password file '{path}'")]
    PasswordFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A running broker.
#[derive(Debug)]
pub struct BrokerHandle {
    /// The addresses it listens on (real ports, never 0).
    pub local_addrs: Vec<SocketAddr>,
    /// Its verbose log.
    pub events: EventBus,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    stats: Arc<Stats>,
}

impl BrokerHandle {
    /// The live counters: connected clients, messages and bytes in and out.
    #[must_use]
    pub fn stats(&self) -> sys::LiveStats {
        self.stats.snapshot()
    }

    /// A shared handle on the live counters, for a status bar that outlives borrows.
    #[must_use]
    pub fn stats_handle(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// The first listening address.
    #[must_use]
    pub fn addr(&self) -> Option<SocketAddr> {
        self.local_addrs.first().copied()
    }

    /// Stops accepting, tells MQTT 5 clients the server is shutting down, and waits up to
    /// five seconds for every task to end.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.tracker.wait()).await;
        self.events.emit(BrokerEvent::Terminating);
    }
}

/// Starts the broker on sockets that [`bind`] opened. Must run inside a tokio runtime.
pub fn start(
    cfg: BrokerConfig,
    listeners: Vec<BoundListener>,
    events: EventBus,
) -> Result<BrokerHandle, StartError> {
    let passwords = match &cfg.password_file {
        Some(path) => {
            let (pw, warnings) =
                auth::PasswordFile::load(path).map_err(|source| StartError::PasswordFile {
                    path: path.clone(),
                    source,
                })?;
            for w in warnings {
                events.emit(BrokerEvent::Warning(w));
            }
            Some(Arc::new(pw))
        }
        None => None,
    };
    let anonymous = cfg.anonymous_allowed();
    let cfg = Arc::new(cfg);
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let stats = Arc::new(Stats::default());
    // Each command carries up to 64 packets of one socket read; 64 slots hold at most 4,096
    // packets, and a full channel makes readers wait (back-pressure).
    let (tx, rx) = mpsc::channel(64);
    let pressure = Arc::new(pressure::Pressure::default());
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        events: events.clone(),
        router: tx,
        stats: stats.clone(),
        passwords,
        anonymous,
        next_conn: AtomicU64::new(1),
        shutdown: shutdown.clone(),
        pressure: pressure.clone(),
    });
    tracker.spawn(pressure.tick(shutdown.clone()));
    let mut router = Router::new(cfg.clone(), events.clone(), stats.clone());
    if let Some(path) = &cfg.acl_file {
        router.set_acl(acl::Acl::load(path)?);
    }
    if let Some(path) = cfg.persistence_path()
        && let Some(snap) = persist::load(&path)?
    {
        let (retained, sessions) = router.restore(snap);
        events.emit(BrokerEvent::Notice(format!(
            "Restored {retained} retained messages and {sessions} sessions from {}.",
            path.display()
        )));
    }
    tracker.spawn(router.run(rx, shutdown.clone()));
    let local_addrs = listeners.iter().map(|l| l.local_addr).collect();
    for l in listeners {
        tracker.spawn(listener::accept_loop(l, shared.clone(), tracker.clone()));
    }
    events.emit(BrokerEvent::Running);
    Ok(BrokerHandle {
        local_addrs,
        events,
        shutdown,
        tracker,
        stats,
    })
}
