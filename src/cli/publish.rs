//! `mqtt-workbench pub`: publish messages, a work-alike of `mosquitto_pub`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use super::conn::{self, ConnArgs};
use crate::client::{self, ClientEvent, ClientHandle, OutgoingMessage};

/// Options of `mqtt-workbench pub`, named like mosquitto_pub's.
#[derive(Debug, Clone, Args)]
pub struct PubArgs {
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// A saved profile to start from.
    #[command(flatten)]
    pub profile: super::profile::ProfileSel,
    /// Topic to publish to.
    #[arg(short = 't', long = "topic", value_name = "TOPIC")]
    pub topic: Option<String>,
    /// Message payload.
    #[arg(short = 'm', long = "message", value_name = "MESSAGE")]
    pub message: Option<String>,
    /// Send the contents of a file as the message.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Read the message from stdin, the whole input as one message.
    #[arg(short = 's', long = "stdin-file")]
    pub stdin_file: bool,
    /// Read messages from stdin, one message per line.
    #[arg(short = 'l', long = "stdin-line")]
    pub stdin_line: bool,
    /// Send a null (zero length) message.
    #[arg(short = 'n', long = "null-message")]
    pub null_message: bool,
    /// Retain the message.
    #[arg(short = 'r', long = "retain")]
    pub retain: bool,
    /// Publish the message this many times.
    #[arg(long = "repeat", value_name = "N", default_value_t = 1)]
    pub repeat: u32,
    /// Seconds to wait between repeated publishes (fractions allowed).
    #[arg(long = "repeat-delay", value_name = "SECS", default_value_t = 0.0)]
    pub repeat_delay: f64,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

/// Where payloads come from.
enum Source {
    /// The same payload, `repeat` times.
    Fixed(Bytes),
    /// One message per stdin line.
    Lines,
}

/// Publishes what the source gives, then reports how many messages were queued.
async fn produce(
    handle: ClientHandle,
    source: Source,
    template: OutgoingMessage,
    repeat: u32,
    delay: Duration,
    done: mpsc::Sender<u64>,
) {
    let mut count = 0u64;
    match source {
        Source::Fixed(payload) => {
            for i in 0..repeat.max(1) {
                if i > 0 && !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let msg = OutgoingMessage {
                    payload: payload.clone(),
                    ..template.clone()
                };
                if handle.publish(msg).await.is_err() {
                    break;
                }
                count += 1;
            }
        }
        Source::Lines => {
            let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
            let mut line = Vec::new();
            loop {
                line.clear();
                match stdin.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        let msg = OutgoingMessage {
                            payload: Bytes::copy_from_slice(&line),
                            ..template.clone()
                        };
                        if handle.publish(msg).await.is_err() {
                            break;
                        }
                        count += 1;
                    }
                }
            }
        }
    }
    let _ = done.send(count).await;
}

/// Runs `mqtt-workbench pub`.
pub async fn run(args: PubArgs) -> ExitCode {
    let quiet = args.conn.quiet;
    let conn = match super::profile::resolve_connection(&args.conn, &args.profile) {
        Ok(r) => r.connection,
        Err(e) => return conn::usage_error("pub", quiet, &e),
    };
    let sources = [
        args.message.is_some(),
        args.file.is_some(),
        args.stdin_file,
        args.stdin_line,
        args.null_message,
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if sources > 1 {
        return conn::usage_error(
            "pub",
            quiet,
            "Only one type of message can be sent at once.",
        );
    }
    let Some(topic) = args.topic.clone().or(conn.url_topic.clone()) else {
        return conn::usage_error("pub", quiet, "Both topic and message must be supplied.");
    };
    if sources == 0 {
        return conn::usage_error("pub", quiet, "Both topic and message must be supplied.");
    }
    if client::validate_topic(&topic).is_err() {
        return conn::usage_error(
            "pub",
            quiet,
            &format!("Invalid publish topic '{topic}', does it contain '+' or '#'?"),
        );
    }
    if !args.repeat_delay.is_finite() || args.repeat_delay < 0.0 {
        return conn::usage_error(
            "pub",
            quiet,
            "--repeat-delay must be a number of seconds, 0 or more.",
        );
    }
    let source = if let Some(m) = &args.message {
        Source::Fixed(Bytes::from(m.clone().into_bytes()))
    } else if let Some(path) = &args.file {
        match std::fs::read(path) {
            Ok(b) => Source::Fixed(Bytes::from(b)),
            Err(_) => {
                if !quiet {
                    eprintln!("Error: Unable to open file \"{}\".", path.display());
                    eprintln!("Error loading input file \"{}\".", path.display());
                }
                return ExitCode::from(1);
            }
        }
    } else if args.stdin_file {
        let mut buf = Vec::new();
        if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf) {
            if !quiet {
                eprintln!("Error: cannot read stdin: {e}");
            }
            return ExitCode::from(1);
        }
        Source::Fixed(Bytes::from(buf))
    } else if args.stdin_line {
        Source::Lines
    } else {
        Source::Fixed(Bytes::new())
    };
    let template = OutgoingMessage {
        topic,
        payload: Bytes::new(),
        qos: conn.qos,
        retain: args.retain,
        properties: conn.properties.publish.clone(),
    };
    let delay = Duration::from_secs_f64(args.repeat_delay.min(1e9));
    let debug = args.conn.debug;
    let version = conn.options.version;
    // Before connecting: SIGINT or SIGTERM from now on end in a DISCONNECT.
    let mut stop = super::conn::StopSignals::new();
    let (handle, mut events) = client::connect_with_trace(conn.options, debug);
    let (done_tx, mut done_rx) = mpsc::channel(1);
    let mut source = Some(source);
    let mut queued: Option<u64> = None;
    let mut completed = 0u64;
    let mut stopping = false;
    loop {
        tokio::select! {
            ev = events.recv() => {
                let Some(ev) = ev else { return ExitCode::from(1) };
                match ev {
                    ClientEvent::Trace(line) => {
                        if debug {
                            let mut stdout = std::io::stdout().lock();
                            let _ = writeln!(stdout, "{line}");
                            let _ = stdout.flush();
                        }
                    }
                    ClientEvent::Connected { .. } => {
                        if let Some(src) = source.take() {
                            tokio::spawn(produce(
                                handle.clone(),
                                src,
                                template.clone(),
                                args.repeat,
                                delay,
                                done_tx.clone(),
                            ));
                        }
                    }
                    ClientEvent::Published { pkid, reason } => {
                        completed += 1;
                        if reason >= 0x80 && !quiet {
                            eprintln!(
                                "Warning: Publish {pkid} failed: {}.",
                                client::trace::reason_string(reason)
                            );
                        }
                    }
                    ClientEvent::ConnectFailed { reason, code } => {
                        if quiet || code.is_none() {
                            return super::conn::connect_failed(
                                handle.failure(),
                                &reason,
                                code,
                                quiet,
                            );
                        }
                        return match code {
                            Some(c) => {
                                eprintln!("Connection error: {reason}");
                                if version == client::MqttVersion::V5 {
                                    eprintln!("Error: A network protocol error occurred when \
                                               communicating with the broker.");
                                } else {
                                    eprintln!("Error: The connection was refused.");
                                }
                                ExitCode::from(c)
                            }
                            None => ExitCode::from(1),
                        };
                    }
                    ClientEvent::Disconnected { reason } => {
                        if stopping {
                            return ExitCode::SUCCESS;
                        }
                        if !quiet {
                            eprintln!("Error: {reason}");
                        }
                        return ExitCode::from(1);
                    }
                    ClientEvent::Message(_) | ClientEvent::SubAck { .. }
                    | ClientEvent::UnsubAck { .. } => {}
                }
            }
            Some(n) = done_rx.recv() => queued = Some(n),
            () = stop.recv() => {
                // A second signal ends the command at once (the first may wait for a
                // connection that never comes).
                if stopping || handle.disconnect().await.is_err() {
                    return ExitCode::SUCCESS;
                }
                stopping = true;
            }
        }
        if !stopping && queued.is_some_and(|n| completed >= n) {
            stopping = true;
            if handle.disconnect().await.is_err() {
                return ExitCode::SUCCESS;
            }
        }
    }
}
