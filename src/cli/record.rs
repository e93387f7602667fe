//! `mqtt-workbench record`: subscribe like `sub` and write every message to a record (JSON
//! lines, see [`crate::record`] and `docs/record-format.md`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use clap::Args;

use super::conn::{self, ConnArgs};
use crate::client::{self, ClientEvent, MqttVersion, QoS};
use crate::protocol::topic::{matches, validate_filter};
use crate::record::{Entry, Header, RecordWriter};

/// Options of `mqtt-workbench record`: sub's connection and filter flags, and where to write.
/// Unlike `sub`, the subscription QoS defaults to 2 (`-q` lowers it), so each message is
/// recorded with the QoS it was published with.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// Connection options (as `sub`).
    #[command(flatten)]
    pub conn: ConnArgs,
    /// A saved profile to start from.
    #[command(flatten)]
    pub profile: super::profile::ProfileSel,
    /// Topic filter to subscribe to; repeatable.
    #[arg(short = 't', long = "topic", value_name = "FILTER")]
    pub topics: Vec<String>,
    /// Do not record messages whose topic matches this filter; repeatable.
    #[arg(short = 'T', long = "filter-out", value_name = "FILTER")]
    pub filter_out: Vec<String>,
    /// Write the record to this file (created or truncated) [default: stdout].
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Stop after recording this many messages.
    #[arg(short = 'C', long = "count", value_name = "N")]
    pub count: Option<u64>,
    /// Stop after this many seconds (a normal end: status 0).
    #[arg(short = 'W', long = "timeout", value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

/// Resolves once on Ctrl-C or, on Unix, SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs `mqtt-workbench record`.
pub async fn run(args: RecordArgs) -> ExitCode {
    let quiet = args.conn.quiet;
    let (conn, profile) = match super::profile::resolve_connection(&args.conn, &args.profile) {
        Ok(r) => (r.connection, r.profile),
        Err(e) => return conn::usage_error("record", quiet, &e),
    };
    // Delivered QoS is the lower of the published and the granted QoS: without -q, subscribe
    // at QoS 2 so the record keeps the publishers' QoS.
    let sub_qos = if args.conn.qos.is_some() {
        conn.qos
    } else {
        QoS::ExactlyOnce
    };
    let mut topics: Vec<(String, QoS)> = args
        .topics
        .iter()
        .chain(&conn.url_topic)
        .map(|t| (t.clone(), sub_qos))
        .collect();
    if topics.is_empty()
        && let Some(p) = &profile
    {
        topics = p
            .subscriptions_or_all()
            .into_iter()
            .map(|(f, q)| (f, if args.conn.qos.is_some() { conn.qos } else { q }))
            .collect();
    }
    if topics.is_empty() {
        return conn::usage_error("record", quiet, "You must specify a topic to record (-t).");
    }
    for f in topics.iter().map(|(f, _)| f).chain(&args.filter_out) {
        if let Err(e) = validate_filter(f) {
            return conn::usage_error(
                "record",
                quiet,
                &format!("invalid subscription filter '{f}': {e}"),
            );
        }
    }
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => {
                if !quiet {
                    eprintln!("Error: cannot create {}: {e}", path.display());
                }
                return ExitCode::from(1);
            }
        },
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let start = Instant::now();
    let mut header = Header::new(SystemTime::now());
    header.broker = Some(format!("{}:{}", conn.options.host, conn.options.port));
    header.mqtt = Some(
        match conn.options.version {
            MqttVersion::V5 => "5",
            MqttVersion::V311 => "3.1.1",
        }
        .to_string(),
    );
    header.filters = topics.iter().map(|(f, _)| f.clone()).collect();
    let where_to = args
        .output
        .as_ref()
        .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
    let mut writer = match RecordWriter::new(out, &header) {
        Ok(w) => w,
        Err(e) => {
            if !quiet {
                eprintln!("Error: cannot write to {where_to}: {e}");
            }
            return ExitCode::from(1);
        }
    };

    let debug = args.conn.debug;
    let (handle, mut events) = client::connect_with_trace(conn.options, debug);
    let timeout = async {
        match args.timeout {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(timeout);
    let stop_signal = interrupted();
    tokio::pin!(stop_signal);
    let mut recorded: u64 = 0;
    let mut stopping = false;
    let mut status = ExitCode::SUCCESS;
    let stop = |recorded: u64| {
        if !quiet {
            eprintln!("Recorded {recorded} messages to {where_to}");
        }
    };
    loop {
        let ev = tokio::select! {
            ev = events.recv() => ev,
            () = &mut timeout, if !stopping => {
                stopping = true;
                if handle.disconnect().await.is_err() {
                    break;
                }
                continue;
            }
            () = &mut stop_signal, if !stopping => {
                stopping = true;
                if handle.disconnect().await.is_err() {
                    break;
                }
                continue;
            }
        };
        let Some(ev) = ev else {
            break;
        };
        match ev {
            ClientEvent::Trace(line) => {
                if debug {
                    eprintln!("{line}");
                }
            }
            ClientEvent::Connected { .. } => {
                let _ = handle
                    .subscribe_many(&topics, &conn.properties.subscribe_user)
                    .await;
            }
            ClientEvent::ConnectFailed { reason, code } => {
                if !quiet {
                    match code {
                        Some(_) => eprintln!("Connection error: {reason}"),
                        None => eprintln!("Error: {reason}"),
                    }
                }
                return ExitCode::from(code.unwrap_or(1));
            }
            ClientEvent::Disconnected { reason } => {
                if !stopping {
                    if !quiet {
                        eprintln!("Error: {reason}");
                    }
                    status = ExitCode::from(1);
                }
                break;
            }
            ClientEvent::SubAck { codes, .. } => {
                if !codes.is_empty() && codes.iter().all(|c| *c >= 0x80) && !quiet {
                    eprintln!("All subscription requests were denied.");
                }
            }
            ClientEvent::Message(msg) => {
                if stopping || args.filter_out.iter().any(|f| matches(f, &msg.topic)) {
                    continue;
                }
                let entry = Entry::from_incoming(&msg, start.elapsed());
                if let Err(e) = writer.write(&entry) {
                    if !quiet {
                        eprintln!("Error: cannot write to {where_to}: {e}");
                    }
                    let _ = handle.disconnect().await;
                    return ExitCode::from(1);
                }
                recorded += 1;
                if args.count.is_some_and(|c| recorded >= c) {
                    stopping = true;
                    if handle.disconnect().await.is_err() {
                        break;
                    }
                }
            }
            ClientEvent::UnsubAck { .. } | ClientEvent::Published { .. } => {}
        }
    }
    stop(recorded);
    status
}
