//! `mqtt-workbench sub`: subscribe and print messages, a work-alike of `mosquitto_sub`.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;

use super::conn::{self, ConnArgs};
use crate::client::format::{self, OutputOptions};
use crate::client::{self, ClientEvent, IncomingMessage, OutgoingMessage, QoS};
use crate::protocol::topic::{matches, validate_filter};

/// mosquitto_sub's exit status after `-W` runs out ("Timed out").
pub const TIMED_OUT: u8 = 27;

/// Options of `mqtt-workbench sub`, named like mosquitto_sub's.
#[derive(Debug, Clone, Args)]
pub struct SubArgs {
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// A saved profile to start from.
    #[command(flatten)]
    pub profile: super::profile::ProfileSel,
    /// Topic filter to subscribe to; repeatable.
    #[arg(short = 't', long = "topic", value_name = "FILTER")]
    pub topics: Vec<String>,
    /// Do not print messages whose topic matches this filter; repeatable.
    #[arg(short = 'T', long = "filter-out", value_name = "FILTER")]
    pub filter_out: Vec<String>,
    /// Print the topic before each payload.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Exit after this many messages.
    #[arg(short = 'C', long = "count", value_name = "N")]
    pub count: Option<u64>,
    /// Exit with status 27 if this many seconds pass before the command is done.
    #[arg(short = 'W', long = "timeout", value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Do not print stale retained messages (those with the retain flag).
    #[arg(short = 'R', long = "no-retained")]
    pub no_retained: bool,
    /// Print only retained messages; exit at the first message that is not retained.
    #[arg(long = "retained-only")]
    pub retained_only: bool,
    /// Exit once the subscriptions are acknowledged.
    #[arg(short = 'E', long = "exit-after-subscribe")]
    pub exit_after_sub: bool,
    /// Do not add a newline after each message.
    #[arg(short = 'N', long = "no-eol")]
    pub no_eol: bool,
    /// Unsubscribe from this filter after subscribing; repeatable.
    #[arg(short = 'U', long = "unsubscribe", value_name = "FILTER")]
    pub unsubscribe: Vec<String>,
    /// Clear each retained message received (publish an empty retained message).
    #[arg(long = "remove-retained")]
    pub remove_retained: bool,
    /// Output format, as mosquitto_sub's -F (%t topic, %p payload, %j JSON, @H:@M time...).
    #[arg(short = 'F', long = "format", value_name = "FORMAT")]
    pub format: Option<String>,
    /// Indent %j and %J JSON output.
    #[arg(long = "pretty")]
    pub pretty: bool,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

/// What the message loop decided.
enum Next {
    Continue,
    Stop,
}

/// Runs `mqtt-workbench sub`.
pub async fn run(args: SubArgs) -> ExitCode {
    let quiet = args.conn.quiet;
    let (conn, profile) = match super::profile::resolve_connection(&args.conn, &args.profile) {
        Ok(r) => (r.connection, r.profile),
        Err(e) => return conn::usage_error("sub", quiet, &e),
    };
    let mut topics: Vec<(String, QoS)> = args
        .topics
        .iter()
        .chain(&conn.url_topic)
        .map(|t| (t.clone(), conn.qos))
        .collect();
    // Without -t, a profile's default subscriptions (each with its QoS, unless -q is given).
    if topics.is_empty()
        && let Some(p) = &profile
    {
        topics = p
            .subscriptions_or_all()
            .into_iter()
            .map(|(f, q)| (f, if args.conn.qos.is_some() { conn.qos } else { q }))
            .collect();
    }
    for f in topics
        .iter()
        .map(|(f, _)| f)
        .chain(&args.filter_out)
        .chain(&args.unsubscribe)
    {
        if let Err(e) = validate_filter(f) {
            return conn::usage_error(
                "sub",
                quiet,
                &format!("invalid subscription filter '{f}': {e}"),
            );
        }
    }
    if topics.is_empty() && args.unsubscribe.is_empty() {
        return conn::usage_error(
            "sub",
            quiet,
            "You must specify a topic to subscribe to (-t) or unsubscribe from (-U).",
        );
    }
    let output = match conn::output_options(
        "sub",
        quiet,
        args.format.as_ref(),
        args.verbose,
        args.no_eol,
        args.pretty,
    ) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let debug = args.conn.debug;
    // One client for the whole run: it reconnects by itself after a lost connection and keeps
    // counting Packet Identifiers (Mid) as mosquitto_sub does.
    // Before connecting: SIGINT or SIGTERM from now on end in a DISCONNECT.
    let mut stop = super::conn::StopSignals::new();
    let (handle, mut events) =
        client::connect_with_trace_retrying(conn.options, debug, RECONNECT_DELAY);

    let timeout = async {
        match args.timeout {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(timeout);
    let mut printed: u64 = 0;
    let mut stopping = false;
    // Set once a CONNACK accepted us: from then on a lost connection is retried, as
    // libmosquitto's loop does for mosquitto_sub, instead of ending the command.
    let mut was_connected = false;
    // Set while the broker is away and the client tries again.
    let mut down = false;
    loop {
        let ev = tokio::select! {
            ev = events.recv() => ev,
            () = &mut timeout => {
                if !quiet {
                    eprintln!("Timed out");
                }
                let _ = handle.disconnect().await;
                return ExitCode::from(TIMED_OUT);
            }
            () = stop.recv() => {
                // Not connected yet (or a second signal): nothing to say goodbye on, so
                // the command ends at once, as mosquitto_sub does.
                if stopping || down || !was_connected || handle.disconnect().await.is_err() {
                    return ExitCode::SUCCESS;
                }
                stopping = true;
                continue;
            }
        };
        let Some(ev) = ev else {
            return ExitCode::from(1);
        };
        let next = match ev {
            ClientEvent::Trace(line) => {
                if debug {
                    conn::write_stdout(format!("{line}\n").as_bytes());
                }
                Next::Continue
            }
            ClientEvent::Connected { .. } => {
                was_connected = true;
                down = false;
                // Every connection subscribes again, as mosquitto_sub's on_connect does:
                // a clean session has forgotten the subscriptions.
                if !topics.is_empty() {
                    let _ = handle
                        .subscribe_many(&topics, &conn.properties.subscribe_user)
                        .await;
                }
                for u in &args.unsubscribe {
                    let _ = handle.unsubscribe(u).await;
                }
                if topics.is_empty() && args.exit_after_sub {
                    stopping = true;
                    let _ = handle.disconnect().await;
                }
                Next::Continue
            }
            ClientEvent::ConnectFailed { reason, code } => {
                let kind = handle.failure();
                if was_connected && !stopping && client::retryable(kind) {
                    // The client tries again after RECONNECT_DELAY.
                    down = true;
                    continue;
                }
                return super::conn::connect_failed(kind, &reason, code, quiet);
            }
            ClientEvent::Disconnected { reason } => {
                if stopping {
                    return ExitCode::SUCCESS;
                }
                if client::retryable(handle.failure()) {
                    // mosquitto_sub says nothing when the connection drops; it reconnects
                    // (the client does, after RECONNECT_DELAY).
                    down = true;
                    continue;
                }
                if !quiet {
                    eprintln!("Error: {reason}");
                }
                return ExitCode::from(1);
            }
            ClientEvent::SubAck { pkid, codes } => {
                if debug {
                    conn::write_stdout(
                        format!("{}\n", client::trace::subscribed(pkid, &codes)).as_bytes(),
                    );
                }
                if !codes.is_empty() && codes.iter().all(|c| *c >= 0x80) && !quiet {
                    eprintln!("All subscription requests were denied.");
                }
                if args.exit_after_sub {
                    stopping = true;
                    let _ = handle.disconnect().await;
                }
                Next::Continue
            }
            ClientEvent::Message(msg) => {
                on_message(&args, &output, &handle, &msg, &mut printed).await
            }
            ClientEvent::UnsubAck { .. } | ClientEvent::Published { .. } => Next::Continue,
        };
        if matches!(next, Next::Stop) && !stopping {
            stopping = true;
            if handle.disconnect().await.is_err() {
                return ExitCode::SUCCESS;
            }
        }
    }
}

/// How long `sub` waits before connecting again after the broker went away: libmosquitto's
/// default reconnect delay, which mosquitto_sub keeps.
pub const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Filters, prints and counts one message.
async fn on_message(
    args: &SubArgs,
    output: &OutputOptions,
    handle: &client::ClientHandle,
    msg: &IncomingMessage,
    printed: &mut u64,
) -> Next {
    if args.count.is_some_and(|c| *printed >= c) {
        return Next::Stop;
    }
    if args.retained_only && !msg.retain {
        return Next::Stop;
    }
    // mosquitto_sub's order: -R and -T drop a message before --remove-retained sees it, so
    // a topic filtered out keeps its retained message.
    if args.no_retained && msg.retain {
        return Next::Continue;
    }
    if args.filter_out.iter().any(|f| matches(f, &msg.topic)) {
        return Next::Continue;
    }
    if args.remove_retained && msg.retain && !msg.payload.is_empty() {
        let _ = handle
            .publish(OutgoingMessage {
                topic: msg.topic.clone(),
                payload: Bytes::new(),
                qos: QoS::AtLeastOnce,
                retain: true,
                ..OutgoingMessage::default()
            })
            .await;
    }
    let r = format::render(msg, output);
    conn::write_stdout(&r.stdout);
    for line in r.stderr {
        if !args.conn.quiet {
            eprintln!("{line}");
        }
    }
    *printed += 1;
    if args.count.is_some_and(|c| *printed >= c) {
        Next::Stop
    } else {
        Next::Continue
    }
}
