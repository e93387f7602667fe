//! The embedded MQTT broker, used unchanged by the workbench and by `mqtt-workbench broker`.
//!
//! # Layout
//!
//! * [`config`]: settings and the mosquitto.conf subset.
//! * [`listener`]: binds sockets and accepts connections.
//! * [`connection`]: one task per client: CONNECT, keep-alive, framing.
//! * [`router`]: the single owner of sessions, subscriptions and retained messages.
//! * [`outbox`]: the bounded queue from the router to each connection.
//! * Topic names and filters are shared vocabulary: [`crate::protocol::topic`].
//! * [`event`]: [`BrokerEvent`], the verbose log that the TUI and `-v` both render.
//! * [`auth`]: mosquitto password files.
//! * [`security`]: who may connect and what they may do, per listener if asked; reloadable.
//! * [`signals`]: SIGHUP, SIGUSR1, SIGUSR2, SIGINT and SIGTERM as mosquitto handles them.
//! * [`launch`]: config file to running broker, shared by `broker` and the workbench.
//! * [`sys`]: statistics and `$SYS` topics.
//! * [`persist`] and [`store`]: persistence (the JSON snapshot format and the durable store).
//!
//! Network input never panics a task: a bad packet ends that one connection.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod acl;
pub mod auth;
pub mod bridge;
pub mod capture;
pub mod config;
pub mod connection;
pub mod control;
pub mod event;
pub mod keepalive;
pub mod launch;
pub mod listener;
pub mod outbox;
pub mod persist;
pub mod pressure;
pub mod router;
pub mod security;
pub mod signals;
pub mod store;
pub mod sys;
pub mod tag;
pub mod tls;
pub mod trim;
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
use self::security::Security;
use self::sys::Stats;

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A password or ACL file could not be used.
    #[error(transparent)]
    Security(#[from] security::SecurityError),
    /// The persistence file could not be read (it is left untouched).
    #[error(transparent)]
    Persistence(#[from] persist::PersistError),
    /// A bridge is incomplete.
    #[error("{0}")]
    Bridge(String),
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
    cfg: Arc<BrokerConfig>,
    security: Arc<Security>,
    router: mpsc::Sender<router::RouterCmd>,
    /// The TLS configuration of each TLS listener, by listener index.
    tls: Vec<(usize, Arc<listener::TlsSlot>)>,
    capture: Option<Arc<capture::Capture>>,
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

    /// The packet capture, when the configuration asked for one (the workbench's inspector).
    #[must_use]
    pub fn capture(&self) -> Option<Arc<capture::Capture>> {
        self.capture.clone()
    }

    /// The first listening address.
    #[must_use]
    pub fn addr(&self) -> Option<SocketAddr> {
        self.local_addrs.first().copied()
    }

    /// The configuration the broker started with.
    #[must_use]
    pub fn config(&self) -> &BrokerConfig {
        &self.cfg
    }

    /// SIGHUP: re-reads the configuration file and the password and ACL files it names, and
    /// puts the new security settings in force without dropping anyone: connected clients
    /// stay, new CONNECTs are judged by the new password files, and every ACL check from now
    /// on uses the new ACL. Returns the new configuration (its logging options are for the
    /// caller's log writer). On an error the old settings stay and the error is returned;
    /// listeners and the other options keep their start-up values until a restart.
    pub async fn reload(&self) -> Result<BrokerConfig, String> {
        self.events
            .emit(BrokerEvent::Notice("Reloading config.".into()));
        let cfg = match &self.cfg.source {
            Some(path) => BrokerConfig::from_file(path)
                .map(|(c, _)| c)
                .map_err(|e| crate::error_chain(&e))?,
            None => BrokerConfig::default(),
        };
        if cfg.per_listener_settings != self.cfg.per_listener_settings
            || !same_listeners(&cfg, &self.cfg)
        {
            return Err(
                "listeners or per_listener_settings changed; restart the broker to apply \
                 them (the old settings stay in force)"
                    .into(),
            );
        }
        let (policy, warnings) =
            security::SecurityPolicy::load(&cfg).map_err(|e| crate::error_chain(&e))?;
        // Certificates are read again (rotation); all of them, before any is put in force.
        let mut tls = Vec::new();
        for (index, slot) in &self.tls {
            let Some(t) = cfg.listeners.get(*index).and_then(|l| l.tls.as_ref()) else {
                return Err(format!(
                    "listener {} is no longer TLS; restart the broker",
                    index + 1
                ));
            };
            tls.push((slot, tls::server_config(t)?));
        }
        for w in warnings {
            self.events.emit(BrokerEvent::Warning(w));
        }
        for (slot, config) in tls {
            slot.replace(config);
        }
        let policy = Arc::new(policy);
        self.security.replace(policy.clone());
        self.control(control::Control::Security(policy)).await;
        Ok(cfg)
    }

    /// SIGUSR1: syncs the persistence store to disk now (a notice when persistence is off).
    pub async fn save_now(&self) {
        self.control(control::Control::SaveNow).await;
    }

    /// SIGUSR2: prints every subscription and the number of retained messages to the log.
    pub async fn dump_subscriptions(&self) {
        self.control(control::Control::DumpSubscriptions).await;
    }

    /// A handle that asks the router for snapshots of its state (the workbench's views).
    #[must_use]
    pub fn probe(&self) -> router::state::Probe {
        router::state::Probe::new(self.router.clone())
    }

    /// A handle that publishes messages from the broker itself (for `log_dest topic`).
    #[must_use]
    pub fn publisher(&self) -> Publisher {
        Publisher {
            router: self.router.clone(),
        }
    }

    async fn control(&self, c: control::Control) {
        let _ = self.router.send(router::RouterCmd::Control(c)).await;
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

/// Publishes messages from the broker itself, at QoS 0 and never retained.
#[derive(Debug, Clone)]
pub struct Publisher {
    router: mpsc::Sender<router::RouterCmd>,
}

impl Publisher {
    /// Queues a message without waiting; false when the broker is busy or gone (the message
    /// is then dropped, as a log line may be).
    pub fn try_publish(&self, topic: &str, payload: impl Into<bytes::Bytes>) -> bool {
        self.router
            .try_send(router::RouterCmd::Control(control::Control::Publish {
                topic: Arc::from(topic),
                payload: payload.into(),
            }))
            .is_ok()
    }
}

/// Starts the broker on sockets that [`bind`] opened. Must run inside a tokio runtime.
pub fn start(
    cfg: BrokerConfig,
    listeners: Vec<BoundListener>,
    events: EventBus,
) -> Result<BrokerHandle, StartError> {
    for b in &cfg.bridges {
        bridge::validate(b).map_err(StartError::Bridge)?;
    }
    let (policy, warnings) = security::SecurityPolicy::load(&cfg)?;
    for w in warnings {
        events.emit(BrokerEvent::Warning(w));
    }
    let policy = Arc::new(policy);
    let security = Arc::new(Security::new(policy.clone()));
    let cfg = Arc::new(cfg);
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let stats = Arc::new(Stats::default());
    // Each command carries up to 64 packets of one socket read; 64 slots hold at most 4,096
    // packets, and a full channel makes readers wait (back-pressure).
    let (tx, rx) = mpsc::channel(64);
    let pressure = Arc::new(pressure::Pressure::default());
    let capture = cfg.capture.map(capture::Capture::new);
    let packet_budget = Arc::new(pressure::PacketBudget::new(cfg.incoming_packet_budget));
    let keep_alives = Arc::new(keepalive::KeepAlives::new());
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        events: events.clone(),
        router: tx.clone(),
        stats: stats.clone(),
        security: security.clone(),
        next_conn: AtomicU64::new(1),
        shutdown: shutdown.clone(),
        pressure: pressure.clone(),
        capture: capture.clone(),
        packet_budget,
        keep_alives: keep_alives.clone(),
    });
    tracker.spawn(pressure.tick(shutdown.clone()));
    tracker.spawn(keep_alives.run(shutdown.clone()));
    tracker.spawn(trim::run(stats.clone(), shutdown.clone()));
    let mut router = Router::new(cfg.clone(), events.clone(), stats.clone());
    router.set_security(policy);
    if let Some(path) = cfg.persistence_path() {
        // An old JSON file is converted; one that cannot be read is refused, untouched.
        let existed = path.exists();
        let options = store::StoreOptions {
            sync: cfg.persistence_sync(),
        };
        let (store, snap) = store::Store::open(&path, options)?;
        router.set_store(store);
        let (retained, sessions) = router.restore(snap);
        if existed {
            events.emit(BrokerEvent::Notice(format!(
                "Restored {retained} retained messages and {sessions} sessions from {}.",
                path.display()
            )));
        }
    }
    tracker.spawn(router.run(rx, shutdown.clone()));
    for b in &cfg.bridges {
        tracker.spawn(bridge::run(b.clone(), shared.clone()));
    }
    let local_addrs = listeners.iter().map(|l| l.local_addr).collect();
    let mut tls_slots: Vec<(usize, Arc<listener::TlsSlot>)> = Vec::new();
    for l in &listeners {
        if let Some(slot) = &l.tls
            && !tls_slots.iter().any(|(_, s)| Arc::ptr_eq(s, slot))
        {
            tls_slots.push((l.index, slot.clone()));
        }
    }
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
        cfg,
        security,
        router: tx,
        tls: tls_slots,
        capture,
    })
}

/// True when both configurations open the same listeners (port, address, protocol, TLS or
/// not), in the same order.
fn same_listeners(a: &BrokerConfig, b: &BrokerConfig) -> bool {
    a.listeners.len() == b.listeners.len()
        && a.listeners.iter().zip(&b.listeners).all(|(x, y)| {
            x.port == y.port
                && x.bind == y.bind
                && x.protocol == y.protocol
                && x.tls.is_some() == y.tls.is_some()
        })
}
