//! `mqtt-workbench replay FILE`: publish a record (see [`crate::record`]) to any broker, with
//! the original timing or a speed factor.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::{mpsc, oneshot, watch};

use super::conn::{self, ConnArgs};
use crate::client::{
    self, ClientEvent, ClientHandle, ConnectOptions, MessageProperties, MqttVersion,
    OutgoingMessage, QoS,
};
use crate::record::Entry;

/// Options of `mqtt-workbench replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The record to replay (written by `mqtt-workbench record`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Connection options (as `sub`). `-q` overrides the recorded QoS. Without `-V`, MQTT 5 is
    /// tried first and 3.1.1 used if the broker refuses it.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// A saved profile to start from.
    #[command(flatten)]
    pub profile: super::profile::ProfileSel,
    /// Speed factor: 1 keeps the recorded timing, 2 is twice as fast, 0 sends as fast as
    /// possible.
    #[arg(long = "speed", value_name = "X", default_value_t = 1.0)]
    pub speed: f64,
    /// Put this text in front of every topic (no separator is added).
    #[arg(long = "topic-prefix", value_name = "PREFIX")]
    pub topic_prefix: Option<String>,
    /// Publish every message with the Retain flag set, whatever was recorded.
    #[arg(short = 'r', long = "retain", conflicts_with = "no_retain")]
    pub retain: bool,
    /// Publish every message without the Retain flag, whatever was recorded.
    #[arg(long = "no-retain")]
    pub no_retain: bool,
    /// No progress bar, even on a terminal.
    #[arg(long = "no-progress")]
    pub no_progress: bool,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

/// When a message is due, counted from the moment the replay starts: its recorded distance
/// from the first message divided by `speed`; zero for `speed` 0 (as fast as possible).
#[must_use]
pub fn due(offset: Duration, first: Duration, speed: f64) -> Duration {
    if speed <= 0.0 {
        return Duration::ZERO;
    }
    let d = offset.saturating_sub(first).as_secs_f64() / speed;
    // Capped at a year, so adding it to an Instant cannot overflow.
    Duration::try_from_secs_f64(d)
        .unwrap_or(Duration::MAX)
        .min(Duration::from_secs(365 * 24 * 3600))
}

/// How every message is changed on the way out.
#[derive(Debug, Clone)]
struct Rewrite {
    prefix: String,
    qos: Option<QoS>,
    retain: Option<bool>,
    /// Whether MQTT 5 properties can be sent.
    v5: bool,
}

impl Rewrite {
    fn apply(&self, e: &Entry) -> OutgoingMessage {
        let properties = if self.v5 {
            // A Client never sends a Subscription Identifier in a PUBLISH [MQTT5-3.3.4-6];
            // the Topic Alias is not recorded.
            MessageProperties {
                subscription_identifiers: Vec::new(),
                topic_alias: None,
                ..e.properties.clone()
            }
        } else {
            MessageProperties::default()
        };
        OutgoingMessage {
            topic: format!("{}{}", self.prefix, e.topic),
            payload: e.payload.clone(),
            qos: self.qos.unwrap_or(e.qos),
            retain: self.retain.unwrap_or(e.retain),
            properties,
        }
    }
}

/// What the publishing task reports when it ends.
struct Sent {
    count: u64,
    /// The largest delay between a message's due time and its hand-over to the client.
    max_late: Duration,
    closed: bool,
}

/// Publishes every entry at its due time through `send` (false: the connection is closed),
/// counting each hand-over on `sent_tx`.
async fn publish_all<F, Fut>(
    entries: Vec<Entry>,
    rewrite: Rewrite,
    speed: f64,
    sent_tx: mpsc::UnboundedSender<()>,
    mut send: F,
) -> Sent
where
    F: FnMut(OutgoingMessage) -> Fut,
    Fut: Future<Output = bool>,
{
    let first = entries.first().map_or(Duration::ZERO, |e| e.offset);
    let start = tokio::time::Instant::now();
    let mut out = Sent {
        count: 0,
        max_late: Duration::ZERO,
        closed: false,
    };
    for e in &entries {
        let at = start + due(e.offset, first, speed);
        tokio::time::sleep_until(at).await;
        out.max_late = out
            .max_late
            .max(tokio::time::Instant::now().duration_since(at));
        if !send(rewrite.apply(e)).await {
            out.closed = true;
            break;
        }
        out.count += 1;
        let _ = sent_tx.send(());
    }
    out
}

/// Connects and waits for the CONNACK; `Err` carries the exit status.
async fn connect(
    options: ConnectOptions,
    debug: bool,
    quiet: bool,
    bar: &ProgressBar,
    fallback: bool,
) -> Result<(ClientHandle, mpsc::Receiver<ClientEvent>, MqttVersion), ExitCode> {
    let mut options = options;
    loop {
        let version = options.version;
        let (handle, mut events) = client::connect_with_trace(options.clone(), debug);
        loop {
            match events.recv().await {
                Some(ClientEvent::Trace(line)) => {
                    if debug {
                        bar.suspend(|| eprintln!("{line}"));
                    }
                }
                Some(ClientEvent::Connected { .. }) => return Ok((handle, events, version)),
                Some(ClientEvent::ConnectFailed {
                    code: Some(c @ (1 | 0x84)),
                    ..
                }) if fallback && version == MqttVersion::V5 => {
                    if !quiet {
                        bar.suspend(|| {
                            eprintln!(
                                "The broker refused MQTT 5 (code {c}); replaying over MQTT \
                                 3.1.1, without properties."
                            );
                        });
                    }
                    options.version = MqttVersion::V311;
                    options.session_expiry = None;
                    options.properties = crate::client::ConnectProperties::default();
                    break;
                }
                Some(ClientEvent::ConnectFailed { reason, code }) => {
                    if !quiet {
                        match code {
                            Some(_) => eprintln!("Connection error: {reason}"),
                            None => eprintln!("Error: {reason}"),
                        }
                    }
                    return Err(ExitCode::from(code.unwrap_or(1)));
                }
                Some(ClientEvent::Disconnected { reason }) => {
                    if !quiet {
                        eprintln!("Error: {reason}");
                    }
                    return Err(ExitCode::from(1));
                }
                Some(_) => {}
                None => return Err(ExitCode::from(1)),
            }
        }
    }
}

/// Resolves once on Ctrl-C.
async fn interrupted() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs `mqtt-workbench replay`.
#[allow(clippy::too_many_lines)] // one linear story: read, connect, publish, acknowledge, report
pub async fn run(args: ReplayArgs) -> ExitCode {
    let quiet = args.conn.quiet;
    if !args.speed.is_finite() || args.speed < 0.0 {
        return conn::usage_error(
            "replay",
            quiet,
            &format!("--speed must be 0 or a positive number, not {}", args.speed),
        );
    }
    let (conn, _) = match super::profile::resolve_connection(&args.conn, &args.profile) {
        Ok(r) => (r.connection, r.profile),
        Err(e) => return conn::usage_error("replay", quiet, &e),
    };
    if !conn.properties.publish.is_empty() {
        return conn::usage_error(
            "replay",
            quiet,
            "replay sends the recorded properties; -D publish is not supported here.",
        );
    }
    let prefix = args.topic_prefix.clone().unwrap_or_default();
    if prefix.contains(['+', '#', '\0']) {
        return conn::usage_error(
            "replay",
            quiet,
            &format!("--topic-prefix '{prefix}' must not contain '+', '#' or NUL."),
        );
    }
    let entries = match crate::record::read_file(&args.file) {
        Ok((_, entries)) => entries,
        Err(e) => {
            if !quiet {
                eprintln!("Error: {e}");
            }
            return ExitCode::from(1);
        }
    };
    let total = entries.len() as u64;
    let with_props = entries.iter().filter(|e| !e.properties.is_empty()).count();
    let span = match (entries.first(), entries.last()) {
        (Some(a), Some(b)) => b.offset.saturating_sub(a.offset),
        _ => Duration::ZERO,
    };

    let bar = if !args.no_progress && !quiet && std::io::stderr().is_terminal() {
        let b = ProgressBar::new(total);
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {pos}/{len} acknowledged ({percent} %), ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        b.set_style(style);
        b
    } else {
        ProgressBar::hidden()
    };

    let mut options = conn.options;
    let auto_version = args.conn.protocol.is_none() && args.profile.profile.is_none();
    if auto_version {
        options.version = MqttVersion::V5;
    }
    let target = format!("{}:{}", options.host, options.port);
    let debug = args.conn.debug;
    let (handle, mut events, version) =
        match connect(options, debug, quiet, &bar, auto_version).await {
            Ok(c) => c,
            Err(code) => return code,
        };
    let rewrite = Rewrite {
        prefix,
        qos: args.conn.qos.map(|_| conn.qos),
        retain: if args.retain {
            Some(true)
        } else if args.no_retain {
            Some(false)
        } else {
            None
        },
        v5: version == MqttVersion::V5,
    };

    let started = Instant::now();
    let (sent_tx, mut sent_rx) = mpsc::unbounded_channel();
    let (done_tx, mut done_rx) = oneshot::channel();
    let (acked_tx, acked_rx) = watch::channel(0u64);
    let publisher = {
        let handle = handle.clone();
        let speed = args.speed;
        let rewrite = rewrite.clone();
        tokio::spawn(async move {
            // A QoS 2 message is complete (PUBCOMP) before the next one goes out: brokers
            // that forward it only on PUBREL would otherwise let later messages overtake it.
            let mut handed_over = 0u64;
            let sent = publish_all(entries, rewrite, speed, sent_tx, |m| {
                handed_over += 1;
                let n = handed_over;
                let h = handle.clone();
                let mut acked = acked_rx.clone();
                async move {
                    let exactly_once = m.qos == QoS::ExactlyOnce;
                    if h.publish(m).await.is_err() {
                        return false;
                    }
                    !exactly_once || acked.wait_for(|a| *a >= n).await.is_ok()
                }
            })
            .await;
            let _ = done_tx.send(sent);
        })
    };
    let stop_signal = interrupted();
    tokio::pin!(stop_signal);

    let mut acked: u64 = 0;
    let mut refused: u64 = 0;
    let mut sent_so_far: u64 = 0;
    let mut sent: Option<Sent> = None;
    let mut interrupted_early = false;
    let mut disconnecting = false;
    let mut lost: Option<String> = None;
    loop {
        if !disconnecting
            && let Some(s) = &sent
            && (acked >= s.count || s.closed)
        {
            disconnecting = true;
            if handle.disconnect().await.is_err() {
                break;
            }
        }
        tokio::select! {
            ev = events.recv() => match ev {
                Some(ClientEvent::Trace(line)) => {
                    if debug {
                        bar.suspend(|| eprintln!("{line}"));
                    }
                }
                Some(ClientEvent::Published { reason, .. }) => {
                    acked += 1;
                    if reason >= 0x80 {
                        refused += 1;
                    }
                    bar.set_position(acked);
                    acked_tx.send_replace(acked);
                }
                Some(ClientEvent::Disconnected { reason }) => {
                    if !disconnecting {
                        lost = Some(reason);
                    }
                    break;
                }
                Some(_) => {}
                None => break,
            },
            Some(()) = sent_rx.recv() => sent_so_far += 1,
            s = &mut done_rx, if sent.is_none() => {
                sent = Some(s.unwrap_or(Sent { count: sent_so_far, max_late: Duration::ZERO, closed: true }));
            }
            () = &mut stop_signal, if !interrupted_early => {
                interrupted_early = true;
                publisher.abort();
                sent = Some(Sent { count: sent_so_far, max_late: Duration::ZERO, closed: true });
            }
        }
    }
    publisher.abort();
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let sent = sent.unwrap_or(Sent {
        count: sent_so_far,
        max_late: Duration::ZERO,
        closed: true,
    });
    if !quiet {
        let speed = if args.speed == 0.0 {
            "as fast as possible".to_string()
        } else {
            format!("speed {}", args.speed)
        };
        eprintln!(
            "Replayed {}/{total} messages from {} to {target} in {:.3} s (recorded span {:.3} s, \
             {speed}; latest send {:.1} ms behind schedule); {acked} acknowledged, {refused} \
             refused by the broker.",
            sent.count,
            args.file.display(),
            elapsed.as_secs_f64(),
            span.as_secs_f64(),
            sent.max_late.as_secs_f64() * 1000.0,
        );
        if with_props > 0 && !rewrite.v5 {
            eprintln!(
                "{with_props} messages had MQTT 5 properties, not sent over MQTT 3.1.1 (use -V mqttv5)."
            );
        }
        if interrupted_early {
            eprintln!("Interrupted.");
        }
        if let Some(reason) = &lost {
            eprintln!("Error: {reason}");
        }
    }
    if lost.is_some() || interrupted_early || sent.count < total || refused > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_follow_the_record_divided_by_the_speed() {
        let ms = Duration::from_millis;
        assert_eq!(due(ms(1500), ms(500), 1.0), ms(1000));
        assert_eq!(due(ms(1500), ms(500), 2.0), ms(500));
        assert_eq!(due(ms(1500), ms(500), 0.5), ms(2000));
        assert_eq!(due(ms(1500), ms(500), 0.0), Duration::ZERO);
        // Out of order offsets are due at once rather than in the past.
        assert_eq!(due(ms(100), ms(500), 1.0), Duration::ZERO);
    }

    fn entry(offset_ms: u64, topic: &str, retain: bool) -> Entry {
        Entry {
            time: "2026-12-01T00:00:00.000000Z".into(),
            offset: Duration::from_millis(offset_ms),
            topic: topic.into(),
            qos: QoS::AtLeastOnce,
            retain,
            properties: MessageProperties {
                content_type: Some("text/plain".into()),
                subscription_identifiers: vec![4],
                user_properties: vec![("k".into(), "v".into())],
                ..MessageProperties::default()
            },
            payload: bytes::Bytes::from_static(b"\xff\x00"),
        }
    }

    /// The publishing task hands each message over when due on tokio's paused clock, keeps
    /// the order, and rewrites topic, QoS, retain and properties as asked.
    #[tokio::test(start_paused = true)]
    async fn publish_all_keeps_the_schedule_and_rewrites() {
        let ms = Duration::from_millis;
        let entries = vec![
            entry(100, "a", true),
            entry(100, "b", false),
            entry(350, "c", false),
            entry(1350, "d", true),
            entry(1360, "e", false),
        ];
        let rewrite = Rewrite {
            prefix: "replay/".into(),
            qos: Some(QoS::ExactlyOnce),
            retain: None,
            v5: true,
        };
        let start = tokio::time::Instant::now();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let log = seen.clone();
        let sent = publish_all(entries, rewrite, 2.0, tx, move |m| {
            log.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((tokio::time::Instant::now() - start, m));
            // Handing over takes 1 ms; the next message is still due on the record's clock.
            async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                true
            }
        })
        .await;
        assert_eq!((sent.count, sent.closed), (5, false));
        assert_eq!(sent.max_late, ms(1), "b waits for a's hand-over");
        let seen = seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let times: Vec<_> = seen.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, vec![ms(0), ms(1), ms(125), ms(625), ms(630)]);
        let topics: Vec<_> = seen.iter().map(|(_, m)| m.topic.as_str()).collect();
        assert_eq!(
            topics,
            ["replay/a", "replay/b", "replay/c", "replay/d", "replay/e"]
        );
        let m = &seen[0].1;
        assert_eq!((m.qos, m.retain), (QoS::ExactlyOnce, true));
        assert_eq!(m.payload.as_ref(), b"\xff\x00");
        assert_eq!(m.properties.content_type.as_deref(), Some("text/plain"));
        assert_eq!(m.properties.user_properties, vec![("k".into(), "v".into())]);
        assert!(m.properties.subscription_identifiers.is_empty());
        assert!(!seen[1].1.retain);
        let mut counted = 0;
        while rx.try_recv().is_ok() {
            counted += 1;
        }
        assert_eq!(counted, 5);
    }

    /// Over MQTT 3.1.1 no property goes out; a closed connection stops the replay.
    #[tokio::test(start_paused = true)]
    async fn without_v5_properties_are_dropped_and_a_closed_connection_stops() {
        let rewrite = Rewrite {
            prefix: String::new(),
            qos: None,
            retain: Some(false),
            v5: false,
        };
        let m = rewrite.apply(&entry(0, "a", true));
        assert!(m.properties.is_empty());
        assert_eq!(
            (m.topic.as_str(), m.qos, m.retain),
            ("a", QoS::AtLeastOnce, false)
        );
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut calls = 0;
        let sent = publish_all(
            vec![
                entry(0, "a", false),
                entry(5, "b", false),
                entry(9, "c", false),
            ],
            rewrite,
            0.0,
            tx,
            |_| {
                calls += 1;
                std::future::ready(calls < 2)
            },
        )
        .await;
        assert_eq!((sent.count, sent.closed), (1, true));
    }
}
