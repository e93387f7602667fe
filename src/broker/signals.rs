//! The signals a broker answers, as mosquitto does: SIGINT and SIGTERM stop it cleanly,
//! SIGHUP reloads the configuration (password and ACL files, log files), SIGUSR1 saves the
//! persistence file now and SIGUSR2 prints the subscriptions to the log.
//!
//! One [`Signals`] future serves `mqtt-workbench broker` and the workbench alike; the
//! workbench treats [`Signal::Reload`] as its terminal hanging up (it quits), the headless
//! broker hands it to [`BrokerHandle::reload`].

use super::BrokerHandle;
use super::config::BrokerConfig;

/// What a received signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT or SIGTERM: shut down cleanly.
    Stop,
    /// SIGHUP: reload the configuration (for a terminal program: the terminal hung up).
    Reload,
    /// SIGUSR1: save the persistence file now.
    Save,
    /// SIGUSR2: print the subscriptions to the log.
    DumpSubscriptions,
}

/// The process's signal handlers. Create it before the broker announces its port, so that a
/// signal sent as soon as the port is known is handled rather than killing the process.
#[derive(Debug)]
pub struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    usr1: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    usr2: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            if s.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

impl Signals {
    /// Installs the handlers. Must run inside a tokio runtime. A handler that cannot be
    /// installed is left out (its signal then keeps its default action).
    #[must_use]
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                term: signal(SignalKind::terminate()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
                usr1: signal(SignalKind::user_defined1()).ok(),
                usr2: signal(SignalKind::user_defined2()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Waits for the next signal. Cancel-safe: use it in `tokio::select!`.
    pub async fn recv(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => Signal::Stop,
                () = next(&mut self.term) => Signal::Stop,
                () = next(&mut self.hup) => Signal::Reload,
                () = next(&mut self.usr1) => Signal::Save,
                () = next(&mut self.usr2) => Signal::DumpSubscriptions,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Stop
        }
    }
}

impl Default for Signals {
    fn default() -> Self {
        Self::new()
    }
}

/// Does what a signal other than [`Signal::Stop`] asks of a running broker. Returns the
/// reloaded configuration after a successful [`Signal::Reload`] (its logging options are for
/// the caller's log writer); a failed reload is logged and the old settings stay.
pub async fn act_on(handle: &BrokerHandle, signal: Signal) -> Option<BrokerConfig> {
    match signal {
        Signal::Stop => None,
        Signal::Reload => match handle.reload().await {
            Ok(cfg) => Some(cfg),
            Err(e) => {
                handle.events.emit(super::BrokerEvent::Error(format!(
                    "reloading the configuration failed: {e}"
                )));
                None
            }
        },
        Signal::Save => {
            handle.save_now().await;
            None
        }
        Signal::DumpSubscriptions => {
            handle.dump_subscriptions().await;
            None
        }
    }
}
