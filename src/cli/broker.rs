//! `mqtt-workbench broker`: the broker headless, printing its log like `mosquitto -v`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use tokio::sync::broadcast::error::RecvError;

use crate::broker::config::{LogDest, LogTypes};
use crate::broker::event::{LogFilter, LogLevel};
use crate::broker::launch::{self, LaunchOptions};
use crate::broker::signals::{self, Signal, Signals};
use crate::broker::{BrokerConfig, BrokerEvent, EventBus, LogEntry, Publisher};

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
    /// Print the content of a persistence file (retained messages, sessions, subscriptions,
    /// kept messages) as JSON lines and exit; the file is only read. Stop the broker that uses
    /// it first.
    #[arg(long, value_name = "FILE")]
    pub dump_persistence: Option<PathBuf>,
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

/// Runs the broker until SIGINT or SIGTERM, answering SIGHUP (reload), SIGUSR1 (save) and
/// SIGUSR2 (print the subscriptions) as mosquitto does.
pub async fn run(args: BrokerArgs) -> ExitCode {
    if let Some(path) = &args.dump_persistence {
        return dump_persistence(path);
    }
    let (cfg, notes) = match launch::load_config(args.config_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            super::report(&e);
            return ExitCode::FAILURE;
        }
    };
    let sink = match LogSink::open(&cfg, args.verbose) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let events = if sink.filter.wants_packets() {
        EventBus::new(1 << 14)
    } else {
        EventBus::quiet(1 << 10)
    };
    let rx = events.subscribe();
    let (sink_tx, sink_rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(print_log(rx, sink, sink_rx, args.verbose));
    // Installed before the port is announced: a signal sent as soon as the port is known is
    // handled, never the default action (which would kill the process).
    let mut signals = Signals::new();
    let opts = LaunchOptions {
        port: args.port.unwrap_or(1883),
        port_given: args.port.is_some(),
        fall_back_to_free_port: false,
    };
    let launched = match launch::launch(cfg, notes, &opts, &events) {
        Ok(l) => l,
        Err(_) => {
            drop(events);
            let _ = printer.await;
            return ExitCode::FAILURE;
        }
    };
    drop(events);
    let _ = sink_tx.send(SinkCmd::Publisher(launched.handle.publisher()));
    loop {
        match signals.recv().await {
            Signal::Stop => break,
            other => {
                if let Some(cfg) = signals::act_on(&launched.handle, other).await {
                    let _ = sink_tx.send(SinkCmd::Reconfigure(Box::new(cfg)));
                }
            }
        }
    }
    launched.stop().await;
    let _ = printer.await;
    ExitCode::SUCCESS
}

/// `--dump-persistence FILE`: the store's content as JSON lines on stdout.
fn dump_persistence(path: &std::path::Path) -> ExitCode {
    match crate::broker::store::dump_lines(path) {
        Ok(Some(lines)) => {
            let mut out = std::io::stdout().lock();
            for l in lines {
                if writeln!(out, "{l}").is_err() {
                    return ExitCode::FAILURE;
                }
            }
            if out.flush().is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!(
                "Error: persistence file '{}' does not exist",
                path.display()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            super::report(&e);
            ExitCode::FAILURE
        }
    }
}

/// A change for the log writer.
enum SinkCmd {
    /// The broker is running: `log_dest topic` can publish.
    Publisher(Publisher),
    /// SIGHUP: new logging options; files are reopened (for logrotate).
    Reconfigure(Box<BrokerConfig>),
}

/// Where log lines go and which are kept: `log_dest`, `log_type`, `connection_messages`,
/// `log_timestamp` and `log_timestamp_format`.
struct LogSink {
    filter: LogFilter,
    stamp: Timestamp,
    stdout: bool,
    stderr: bool,
    files: Vec<(PathBuf, std::io::BufWriter<std::fs::File>)>,
    #[cfg(unix)]
    syslog: Option<std::os::unix::net::UnixDatagram>,
    topic: bool,
    publisher: Option<Publisher>,
    out: std::io::BufWriter<std::io::Stdout>,
}

impl LogSink {
    /// Opens the destinations a configuration names. A log file that cannot be opened is an
    /// error naming it (mosquitto refuses to start too).
    fn open(cfg: &BrokerConfig, verbose: bool) -> Result<Self, String> {
        let dests: Vec<LogDest> = if cfg.log_dest.is_empty() {
            vec![LogDest::Stdout]
        } else {
            cfg.log_dest.clone()
        };
        let mut files = Vec::new();
        for d in &dests {
            if let LogDest::File(path) = d {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        format!(
                            "Unable to open log file {} for writing: {e}",
                            path.display()
                        )
                    })?;
                files.push((path.clone(), std::io::BufWriter::new(f)));
            }
        }
        #[cfg(unix)]
        let syslog = if dests.contains(&LogDest::Syslog) {
            let sock = std::os::unix::net::UnixDatagram::unbound()
                .and_then(|s| s.connect("/dev/log").map(|()| s))
                .map_err(|e| format!("Unable to open syslog (/dev/log): {e}"))?;
            Some(sock)
        } else {
            None
        };
        #[cfg(not(unix))]
        if dests.contains(&LogDest::Syslog) {
            return Err("'log_dest syslog' is only available on Unix".into());
        }
        Ok(Self {
            filter: LogFilter::from_config(cfg, verbose),
            stamp: match (&cfg.log_timestamp, &cfg.log_timestamp_format) {
                (false, _) => Timestamp::None,
                (true, Some(f)) => Timestamp::Format(f.clone()),
                (true, None) => Timestamp::UnixSeconds,
            },
            stdout: dests.contains(&LogDest::Stdout),
            stderr: dests.contains(&LogDest::Stderr),
            files,
            #[cfg(unix)]
            syslog,
            topic: dests.contains(&LogDest::Topic),
            publisher: None,
            out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()),
        })
    }

    /// Writes the kept lines of one entry to every destination. False when standard output
    /// is gone.
    fn write(&mut self, entry: &LogEntry) -> bool {
        let lines = self.filter.lines(&entry.event);
        if lines.is_empty() {
            return true;
        }
        let prefix = self.stamp.render(entry.time);
        let mut text = String::new();
        for (_, line) in &lines {
            if let Some(p) = &prefix {
                text.push_str(p);
                text.push_str(": ");
            }
            text.push_str(line);
            text.push('\n');
        }
        let is_error = matches!(entry.event, BrokerEvent::Error(_));
        let mut ok = true;
        // Errors go to standard error (as well as to files, syslog and topics) rather than
        // standard output, so that they show even when the log is piped or written away.
        if self.stdout && !is_error && self.out.write_all(text.as_bytes()).is_err() {
            ok = false;
        }
        if self.stderr || is_error {
            let _ = self.out.flush();
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
        for (_, f) in &mut self.files {
            let _ = f.write_all(text.as_bytes());
        }
        #[cfg(unix)]
        if let Some(sock) = &self.syslog {
            let severity = match entry.event.level() {
                LogLevel::Error => 3,
                LogLevel::Warning => 4,
                LogLevel::Notice => 5,
                LogLevel::Debug => 7,
            };
            // Facility daemon (3); the syslog daemon adds its own time stamp.
            for (_, line) in &lines {
                let msg = format!(
                    "<{}>mqtt-workbench[{}]: {line}",
                    3 * 8 + severity,
                    std::process::id()
                );
                let _ = sock.send(msg.as_bytes());
            }
        }
        if self.topic
            && let Some(p) = &self.publisher
        {
            for (class, line) in &lines {
                // Packet-level lines are never published (as in mosquitto): publishing them
                // would log more packets, without end.
                let Some(sub) = topic_class(*class) else {
                    continue;
                };
                let payload = match &prefix {
                    Some(ts) => format!("{ts}: {line}"),
                    None => line.clone(),
                };
                p.try_publish(&format!("$SYS/broker/log/{sub}"), payload);
            }
        }
        ok
    }

    fn flush(&mut self) -> bool {
        for (_, f) in &mut self.files {
            let _ = f.flush();
        }
        self.out.flush().is_ok()
    }
}

/// The `$SYS/broker/log/...` subtopic of a class, as mosquitto names them; `None` for debug.
fn topic_class(class: LogTypes) -> Option<&'static str> {
    [
        (LogTypes::ERROR, "E"),
        (LogTypes::WARNING, "W"),
        (LogTypes::NOTICE, "N"),
        (LogTypes::INFORMATION, "I"),
        (LogTypes::SUBSCRIBE, "M/subscribe"),
        (LogTypes::UNSUBSCRIBE, "M/unsubscribe"),
        (LogTypes::WEBSOCKETS, "WS"),
    ]
    .into_iter()
    .find(|(c, _)| *c == class)
    .map(|(_, name)| name)
}

/// Writes log lines until the broker terminates, flushing whenever the queue is drained so
/// that a reader sees each packet at once. On SIGHUP the sink is rebuilt from the reloaded
/// configuration (log files are closed and reopened, so logrotate can move them).
async fn print_log(
    mut rx: tokio::sync::broadcast::Receiver<LogEntry>,
    mut sink: LogSink,
    mut cmds: tokio::sync::mpsc::UnboundedReceiver<SinkCmd>,
    verbose: bool,
) {
    loop {
        let entry = tokio::select! {
            biased;
            Some(cmd) = cmds.recv() => {
                match cmd {
                    SinkCmd::Publisher(p) => sink.publisher = Some(p),
                    SinkCmd::Reconfigure(cfg) => {
                        // Lines emitted before the reload (its "Reloading config." among
                        // them) still go to the old destinations, as in mosquitto.
                        while let Ok(entry) = rx.try_recv() {
                            sink.write(&entry);
                        }
                        sink.flush();
                        match LogSink::open(&cfg, verbose) {
                            Ok(mut new) => {
                                new.publisher = sink.publisher.take();
                                sink = new;
                            }
                            Err(e) => {
                                let entry = LogEntry::new(SystemTime::now(), BrokerEvent::Error(format!(
                                        "{e}; the old log destinations stay"
                                    )));
                                sink.write(&entry);
                            }
                        }
                    }
                }
                continue;
            }
            r = rx.recv() => match r {
                Ok(e) => e,
                Err(RecvError::Lagged(n)) => LogEntry::new(SystemTime::now(), BrokerEvent::Lagged(n)),
                Err(RecvError::Closed) => break,
            },
        };
        let last = matches!(entry.event, BrokerEvent::Terminating)
            || matches!(entry.event, BrokerEvent::Error(_));
        if !sink.write(&entry) {
            break;
        }
        if (rx.is_empty() || last) && !sink.flush() {
            break;
        }
        if matches!(entry.event, BrokerEvent::Terminating) {
            break;
        }
    }
    sink.flush();
}
