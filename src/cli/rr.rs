//! `mqtt-workbench rr`: one request, one response, a work-alike of `mosquitto_rr`.
//!
//! MQTT 5 request/response (MQTT5 §4.10): subscribe to the response topic (`-e`), and once
//! the SUBACK is in, publish the request to `-t` with the Response Topic property set to
//! `-e` (and any `-D publish` property, such as correlation-data). The first message on the
//! response topic is printed as mosquitto_sub would print it (`-v`, `-F`, `-N`, `--pretty`)
//! and the command ends with status 0; `-W` gives up with "Timed out" and status 27.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;

use super::conn::{self, ConnArgs};
use super::sub::TIMED_OUT;
use crate::client::format;
use crate::client::{self, ClientEvent, MqttVersion, OutgoingMessage};
use crate::protocol::topic::validate_filter;

/// Options of `mqtt-workbench rr`, named like mosquitto_rr's.
#[derive(Debug, Clone, Args)]
pub struct RrArgs {
    /// Connection options (`-V` defaults to 5 here, as in mosquitto_rr).
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Topic the request is published to.
    #[arg(short = 't', long = "topic", value_name = "TOPIC")]
    pub topic: Option<String>,
    /// Response topic: subscribed to before the request goes out, and sent as the request's
    /// Response Topic property.
    #[arg(short = 'e', long = "response-topic", value_name = "TOPIC")]
    pub response_topic: Option<String>,
    /// Request payload.
    #[arg(short = 'm', long = "message", value_name = "MESSAGE")]
    pub message: Option<String>,
    /// Send the contents of a file as the request.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Read the request from stdin, the whole input as one message.
    #[arg(short = 's', long = "stdin-file")]
    pub stdin_file: bool,
    /// Send a null (zero length) request.
    #[arg(short = 'n', long = "null-message")]
    pub null_message: bool,
    /// Print the topic before the response payload.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Give up with status 27 if no response arrives within this many seconds.
    #[arg(short = 'W', long = "timeout", value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Ignore stale retained messages on the response topic.
    #[arg(short = 'R', long = "no-retained")]
    pub no_retained: bool,
    /// Do not add a newline after the response.
    #[arg(short = 'N', long = "no-eol")]
    pub no_eol: bool,
    /// Output format, as mosquitto_sub's -F.
    #[arg(short = 'F', long = "format", value_name = "FORMAT")]
    pub format: Option<String>,
    /// Indent %j and %J JSON output.
    #[arg(long = "pretty")]
    pub pretty: bool,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

/// The request payload from `-m`, `-f`, `-s` or `-n`; `None` when none was given.
fn payload(args: &RrArgs, quiet: bool) -> Result<Option<Bytes>, ExitCode> {
    let given = [
        args.message.is_some(),
        args.file.is_some(),
        args.stdin_file,
        args.null_message,
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given > 1 {
        return Err(conn::usage_error(
            "rr",
            quiet,
            "Only one type of message can be sent at once.",
        ));
    }
    if let Some(m) = &args.message {
        return Ok(Some(Bytes::from(m.clone().into_bytes())));
    }
    if let Some(path) = &args.file {
        return match std::fs::read(path) {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(_) => {
                if !quiet {
                    eprintln!("Error: Unable to open file \"{}\".", path.display());
                    eprintln!("Error loading input file \"{}\".", path.display());
                }
                Err(ExitCode::from(1))
            }
        };
    }
    if args.stdin_file {
        let mut buf = Vec::new();
        if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf) {
            if !quiet {
                eprintln!("Error: cannot read stdin: {e}");
            }
            return Err(ExitCode::from(1));
        }
        return Ok(Some(Bytes::from(buf)));
    }
    Ok(args.null_message.then(Bytes::new))
}

/// Runs `mqtt-workbench rr`.
pub async fn run(args: RrArgs) -> ExitCode {
    let quiet = args.conn.quiet;
    let mut conn_args = args.conn.clone();
    if conn_args.protocol.is_none() {
        conn_args.protocol = Some("5".into());
    }
    let conn = match conn_args.resolve() {
        Ok(c) => c,
        Err(e) => return conn::usage_error("rr", quiet, &e),
    };
    let payload = match payload(&args, quiet) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let topic = args.topic.clone().or(conn.url_topic.clone());
    let (Some(topic), Some(response_topic), Some(payload)) =
        (topic, args.response_topic.clone(), payload)
    else {
        return conn::usage_error(
            "rr",
            quiet,
            "All of topic, message, and response topic must be supplied.",
        );
    };
    if client::validate_topic(&topic).is_err() {
        return conn::usage_error(
            "rr",
            quiet,
            &format!("Invalid publish topic '{topic}', does it contain '+' or '#'?"),
        );
    }
    if let Err(e) = validate_filter(&response_topic) {
        return conn::usage_error(
            "rr",
            quiet,
            &format!("invalid response topic '{response_topic}': {e}"),
        );
    }
    let output = match conn::output_options(
        "rr",
        quiet,
        args.format.as_ref(),
        args.verbose,
        args.no_eol,
        args.pretty,
    ) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut properties = conn.properties.publish.clone();
    // MQTT 3.1.1 has no properties: the responder must know the response topic by
    // convention, as with mosquitto_rr -V 311.
    if conn.options.version == MqttVersion::V5 {
        properties.response_topic = Some(response_topic.clone());
    }
    let request = OutgoingMessage {
        topic,
        payload,
        qos: conn.qos,
        retain: false,
        properties,
    };
    let debug = args.conn.debug;
    // Before connecting: SIGINT or SIGTERM from now on end in a DISCONNECT.
    let mut stop = super::conn::StopSignals::new();
    let (handle, mut events) = client::connect_with_trace(conn.options, debug);
    let timeout = async {
        match args.timeout {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(timeout);
    let mut request = Some(request);
    let mut stopping = false;
    // Set at the first CONNACK that accepted us.
    let mut connected = false;
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
                // Not connected yet (or a second signal): the command ends at once.
                if stopping || !connected || handle.disconnect().await.is_err() {
                    return ExitCode::SUCCESS;
                }
                stopping = true;
                continue;
            }
        };
        let Some(ev) = ev else {
            return ExitCode::from(1);
        };
        match ev {
            ClientEvent::Trace(line) => {
                if debug {
                    conn::write_stdout(format!("{line}\n").as_bytes());
                }
            }
            ClientEvent::Connected { .. } => {
                connected = true;
                let _ = handle
                    .subscribe_many(
                        &[(response_topic.clone(), conn.qos)],
                        &conn.properties.subscribe_user,
                    )
                    .await;
            }
            ClientEvent::SubAck { .. } => {
                // The request goes out only once the response topic is subscribed, so a
                // quick responder cannot answer into the void.
                if let Some(r) = request.take() {
                    let _ = handle.publish(r).await;
                }
            }
            ClientEvent::Message(msg) => {
                if stopping || (args.no_retained && msg.retain) {
                    continue;
                }
                let r = format::render(&msg, &output);
                conn::write_stdout(&r.stdout);
                if !quiet {
                    for line in r.stderr {
                        eprintln!("{line}");
                    }
                }
                stopping = true;
                if handle.disconnect().await.is_err() {
                    return ExitCode::SUCCESS;
                }
            }
            ClientEvent::ConnectFailed { reason, code } => {
                return super::conn::connect_failed(handle.failure(), &reason, code, quiet);
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
            ClientEvent::UnsubAck { .. } | ClientEvent::Published { .. } => {}
        }
    }
}
