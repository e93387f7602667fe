//! `mqtt-workbench broker`: the broker headless, printing its log like `mosquitto -v`.

use crate::error_chain;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use tokio::sync::broadcast::error::RecvError;

use crate::broker::event::LogLevel;
use crate::broker::{self, BrokerConfig, BrokerEvent, EventBus, LogEntry};

/// Options of `mqtt-workbench broker`, named like mosquitto's.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// Verbose: log every packet (mosquitto's `log_type all`).
    #[arg(short, long)]
    pub verbose: bool,
    /// Port to listen on when the config defines no listener (0 picks a free port).
    #[arg(short, long, value_name = "PORT")]
    pub port: Option<u16>,
    /// A mosquitto.conf-style configuration file.
    #[arg(short, long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    // The top level gives `-h` to the client's host and clap propagates that to subcommands,
    // so the broker declares its own `-h` (it has no host option, like mosquitto).
    /// Print help.
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// How log lines are stamped.
#[derive(Debug, Clone)]
pub enum Timestamp {
    /// No prefix (`log_timestamp false`).
    None,
    /// Unix seconds, mosquitto's default.
    UnixSeconds,
    /// A strftime format (`log_timestamp_format`).
    Format(String),
}

impl Timestamp {
    /// The stamp for one moment, without the `: ` separator.
    #[must_use]
    pub fn render(&self, t: SystemTime) -> Option<String> {
        match self {
            Self::None => None,
            Self::UnixSeconds => Some(
                t.duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
                    .to_string(),
            ),
            Self::Format(f) => {
                let dt: chrono::DateTime<chrono::Local> = t.into();
                let mut s = String::new();
                use std::fmt::Write as _;
                if write!(s, "{}", dt.format(f)).is_err() {
                    s = dt.to_rfc3339();
                }
                Some(s)
            }
        }
    }
}

/// Formats one log entry as the lines mosquitto would print, each with the stamp.
#[must_use]
pub fn format_entry(entry: &LogEntry, stamp: &Timestamp) -> String {
    let text = entry.event.to_string();
    let prefix = stamp.render(entry.time);
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split('\n') {
        if let Some(p) = &prefix {
            out.push_str(p);
            out.push_str(": ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Runs the broker until SIGINT or SIGTERM.
pub async fn run(args: BrokerArgs) -> ExitCode {
    let (cfg, notes) = match &args.config_file {
        Some(path) => match BrokerConfig::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                super::report(&e);
                return ExitCode::FAILURE;
            }
        },
        None => (BrokerConfig::default(), Vec::new()),
    };
    let stamp = match (&cfg.log_timestamp, &cfg.log_timestamp_format) {
        (false, _) => Timestamp::None,
        (true, Some(f)) => Timestamp::Format(f.clone()),
        (true, None) => Timestamp::UnixSeconds,
    };
    let events = if args.verbose {
        EventBus::new(1 << 14)
    } else {
        EventBus::quiet(1 << 10)
    };
    let rx = events.subscribe();
    let min_level = if args.verbose {
        LogLevel::Debug
    } else {
        LogLevel::Notice
    };
    let printer = tokio::spawn(print_log(rx, stamp, min_level));

    events.emit(BrokerEvent::Starting);
    events.emit(BrokerEvent::Config(
        args.config_file.as_ref().map(|p| p.display().to_string()),
    ));
    for n in notes {
        events.emit(BrokerEvent::Notice(n));
    }
    if args.port.is_some() && !cfg.listeners.is_empty() {
        events.emit(BrokerEvent::Notice(
            "Note: -p is ignored because the config file defines listeners.".into(),
        ));
    }
    let listeners = match broker::bind(&cfg, args.port.unwrap_or(1883), &events) {
        Ok(l) => l,
        Err(e) => {
            events.emit(BrokerEvent::Error(format!(
                "{e}{}",
                if e.is_addr_in_use() {
                    " (is another broker running? -p 0 picks a free port)"
                } else {
                    ""
                }
            )));
            drop(events);
            let _ = printer.await;
            return ExitCode::FAILURE;
        }
    };
    let handle = match broker::start(cfg, listeners, events.clone()) {
        Ok(h) => h,
        Err(e) => {
            events.emit(BrokerEvent::Error(error_chain(&e)));
            drop(events);
            let _ = printer.await;
            return ExitCode::FAILURE;
        }
    };
    drop(events);
    wait_for_signal().await;
    handle.shutdown().await;
    let _ = printer.await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Prints log lines to stdout until the broker terminates, flushing whenever the queue is
/// drained so that a reader sees each packet at once.
async fn print_log(
    mut rx: tokio::sync::broadcast::Receiver<LogEntry>,
    stamp: Timestamp,
    min_level: LogLevel,
) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
    loop {
        let entry = match rx.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => LogEntry {
                time: SystemTime::now(),
                event: BrokerEvent::Lagged(n),
            },
            Err(RecvError::Closed) => break,
        };
        let last = matches!(entry.event, BrokerEvent::Terminating)
            || matches!(entry.event, BrokerEvent::Error(_));
        let level = entry.event.level();
        if level >= min_level {
            let text = format_entry(&entry, &stamp);
            let res = if level >= LogLevel::Warning && matches!(entry.event, BrokerEvent::Error(_))
            {
                let _ = out.flush();
                std::io::stderr().write_all(text.as_bytes())
            } else {
                out.write_all(text.as_bytes())
            };
            if res.is_err() {
                break;
            }
        }
        if (rx.is_empty() || last) && out.flush().is_err() {
            break;
        }
        if matches!(entry.event, BrokerEvent::Terminating) {
            break;
        }
    }
    let _ = out.flush();
}
