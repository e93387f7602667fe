//! `mqtt-workbench record` and `replay` through the real binary: record from a real mosquitto
//! while mosquitto_pub publishes, replay into a second broker (ours and mosquitto) while
//! mosquitto_sub watches.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::client_support::{AnyBroker, Mosquitto, Proc, free_port, run, subscribed, wb};
use crate::common::have_mosquitto;

/// A binary payload with every byte value, so no encoding step can hide a change.
fn all_bytes() -> Vec<u8> {
    (0..=255u8).rev().chain(0..=255u8).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// mosquitto_sub's view of a message: topic, QoS, retain, payload in hex, content type,
/// response topic, correlation data, payload format indicator, expiry, user properties.
/// Starts `mqtt-workbench record` on `broker` with client id `id` and waits for its SUBACK.
async fn recording(broker: &mut AnyBroker, id: &str, args: &[&str]) -> Proc {
    let port = broker.port();
    let mut all = vec!["record", "-h", "127.0.0.1", "-p", &port, "-i", id];
    all.extend_from_slice(args);
    let p = Proc::wb(&all);
    broker.wait_log(&format!("Sending SUBACK to {id}")).await;
    p
}

const FORMAT: &str = "%t|%q|%r|%x|%C|%R|%D|%F|%E|%P";

/// The fields of one `FORMAT` line, with the Message Expiry Interval apart: brokers count it
/// down in whole seconds, so it may be a second or two less after a hop.
fn split(line: &str) -> (String, Option<u32>) {
    let mut f: Vec<&str> = line.split('|').collect();
    let expiry = f[8].parse().ok();
    f[8] = "";
    (f.join("|"), expiry)
}

/// The record's acceptance test: record from mosquitto (binary and text payloads, MQTT 5
/// properties, a retained message, a filtered-out topic), then replay into ours and into a
/// second mosquitto: byte-identical payloads, the properties, the order and the Retain flag
/// survive.
#[tokio::test]
async fn record_from_mosquitto_then_replay_into_a_second_broker_is_byte_identical() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet.jsonl");
    let file_arg = file.to_str().unwrap().to_string();
    let bin = dir.path().join("bin");
    std::fs::write(&bin, all_bytes()).unwrap();

    let mut source = AnyBroker::Mosquitto(Mosquitto::anonymous().await);
    let port = source.port();
    let (c, _, e) = run(
        "mosquitto_pub",
        &[
            "-p",
            &port,
            "-t",
            "rec/retained",
            "-m",
            "kept",
            "-r",
            "-q",
            "1",
        ],
    )
    .await;
    assert_eq!(c, 0, "{e}");
    let recorder = recording(
        &mut source,
        "rec-1",
        &[
            "-V", "mqttv5", "-q", "2", "-t", "rec/#", "-T", "rec/skip", "-C", "5", "-W", "20",
            "-o", &file_arg,
        ],
    )
    .await;
    let bin_arg = bin.to_str().unwrap();
    let publishes: &[&[&str]] = &[
        &[
            "-t",
            "rec/bin",
            "-f",
            bin_arg,
            "-q",
            "2",
            "-D",
            "publish",
            "content-type",
            "application/octet-stream",
            "-D",
            "publish",
            "response-topic",
            "rec/reply",
            "-D",
            "publish",
            "correlation-data",
            "req-42",
            "-D",
            "publish",
            "user-property",
            "b",
            "2",
            "-D",
            "publish",
            "user-property",
            "a",
            "1",
            "-D",
            "publish",
            "user-property",
            "b",
            "3",
            "-D",
            "publish",
            "message-expiry-interval",
            "600",
            "-D",
            "publish",
            "payload-format-indicator",
            "0",
        ],
        &["-t", "rec/skip", "-m", "not recorded"],
        &[
            "-t",
            "rec/text",
            "-m",
            "21.5 °C",
            "-q",
            "1",
            "-D",
            "publish",
            "payload-format-indicator",
            "1",
            "-D",
            "publish",
            "content-type",
            "text/plain",
        ],
        &["-t", "rec/empty", "-n"],
        &["-t", "rec/last", "-m", "{\"t\":1}"],
    ];
    for args in publishes {
        let mut all = vec!["-p", port.as_str(), "-V", "mqttv5"];
        all.extend_from_slice(args);
        let (c, _, e) = run("mosquitto_pub", &all).await;
        assert_eq!(c, 0, "mosquitto_pub {args:?}: {e}");
    }
    let (c, _, err) = recorder.finish().await;
    assert_eq!(c, 0, "record: {err}");
    assert!(err.contains("Recorded 5 messages to"), "{err}");

    // The record itself: a header, then one line per message, in order.
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(lines[0]["format"], "mqtt-workbench-record");
    assert_eq!(lines[0]["version"], "1.0");
    assert_eq!(lines[0]["mqtt"], "5");
    let topics: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l["topic"].as_str().unwrap())
        .collect();
    assert_eq!(
        topics,
        [
            "rec/retained",
            "rec/bin",
            "rec/text",
            "rec/empty",
            "rec/last"
        ]
    );
    assert_eq!(
        (&lines[1]["retain"], &lines[1]["payload"]),
        (&true.into(), &"kept".into())
    );
    assert_eq!(lines[2]["qos"], 2);
    assert!(
        lines[2].get("payload").is_none(),
        "binary goes to payload_b64"
    );
    assert_eq!(lines[2]["payload_b64"].as_str().unwrap().len(), 684);
    let p = &lines[2]["properties"];
    assert_eq!(p["content_type"], "application/octet-stream");
    assert_eq!(p["correlation_data"], "req-42");
    assert_eq!(
        p["user_properties"],
        serde_json::json!([["b", "2"], ["a", "1"], ["b", "3"]])
    );
    assert_eq!(lines[3]["payload"], "21.5 °C");
    assert_eq!(lines[3]["qos"], 1);
    assert_eq!(lines[3]["properties"]["payload_format_indicator"], 1);
    assert_eq!(lines[4]["payload"], "");
    let offsets: Vec<u64> = lines[1..]
        .iter()
        .map(|l| l["offset_us"].as_u64().unwrap())
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "{offsets:?}");

    let expected = [
        format!("rec/retained|1|0|{}||||||", hex(b"kept")),
        format!(
            "rec/bin|1|0|{}|application/octet-stream|rec/reply|req-42|0||b:2 a:1 b:3",
            hex(&all_bytes())
        ),
        format!(
            "rec/text|1|0|{}|text/plain|||1||",
            hex("21.5 °C".as_bytes())
        ),
        "rec/empty|0|0|||||||".to_string(),
        format!("rec/last|0|0|{}||||||", hex(b"{\"t\":1}")),
    ];
    for mosquitto_target in [false, true] {
        let mut target = AnyBroker::start(mosquitto_target).await;
        // The watcher subscribes at QoS 1: libmosquitto hands a QoS 2 message over only at
        // PUBREL, so later messages could overtake it in mosquitto_sub's output.
        let watcher = subscribed(
            &mut target,
            "mosquitto_sub",
            "watch",
            &[
                "-V", "mqttv5", "-q", "1", "-t", "rec/#", "-F", FORMAT, "-C", "5", "-W", "20",
            ],
        )
        .await;
        let tport = target.port();
        let (c, _, err) = run(
            wb(),
            &[
                "replay",
                "-h",
                "127.0.0.1",
                "-p",
                &tport,
                "--speed",
                "0",
                &file_arg,
            ],
        )
        .await;
        assert_eq!(c, 0, "replay into {}: {err}", target.name());
        assert!(
            err.contains("Replayed 5/5 messages") && err.contains("5 acknowledged, 0 refused"),
            "{err}"
        );
        let (c, out, err) = watcher.finish().await;
        assert_eq!(c, 0, "mosquitto_sub on {}: {err}", target.name());
        let out = String::from_utf8(out).unwrap();
        let got: Vec<(String, Option<u32>)> = out.lines().map(split).collect();
        let want: Vec<String> = expected.iter().map(|l| split(l).0).collect();
        assert_eq!(
            got.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>(),
            want,
            "into {}",
            target.name()
        );
        // The expiry went through both brokers, counted down by at most a few seconds.
        let expiry = got[1].1.unwrap();
        assert!((590..=600).contains(&expiry), "expiry {expiry}");
        assert_eq!(got[0].1, None);
        // The retained message was replayed retained: a new subscriber gets it with the flag.
        let (c, out, err) = run(
            "mosquitto_sub",
            &[
                "-p", &tport, "-t", "rec/#", "-F", "%t|%r|%p", "-C", "1", "-W", "5",
            ],
        )
        .await;
        assert_eq!((c, out.as_str()), (0, "rec/retained|1|kept\n"), "{err}");
    }
}

/// `--topic-prefix`, `-q`, `--no-retain` and MQTT 3.1.1: topics moved, QoS and Retain
/// overridden, properties dropped with a note, from a record written by hand after
/// docs/record-format.md.
#[tokio::test]
async fn replay_rewrites_topic_qos_retain_and_drops_properties_over_311() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hand.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"format":"mqtt-workbench-record","version":"1.0","started":"2026-12-01T00:00:00.000000Z"}"#, "\n",
            r#"{"time":"2026-12-01T00:00:00.100000Z","offset_us":100000,"topic":"a/1","qos":0,"retain":true,"properties":{"content_type":"text/plain","user_properties":[["k","v"]]},"payload":"one"}"#, "\n",
            "\n",
            r#"{"time":"2026-12-01T00:00:00.300000Z","offset_us":300000,"topic":"a/2","qos":2,"retain":false,"payload_b64":"AAEC/w=="}"#, "\n",
        ),
    )
    .unwrap();
    let mut target = AnyBroker::start(false).await;
    let watcher = subscribed(
        &mut target,
        "mosquitto_sub",
        "watch",
        &[
            "-V", "mqttv5", "-q", "2", "-t", "copy/#", "-F", FORMAT, "-C", "2", "-W", "20",
        ],
    )
    .await;
    let port = target.port();
    let (c, _, err) = run(
        wb(),
        &[
            "replay",
            "-p",
            &port,
            "-V",
            "mqttv311",
            "--topic-prefix",
            "copy/",
            "-q",
            "1",
            "--no-retain",
            "--speed",
            "4",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(c, 0, "{err}");
    assert!(err.contains("Replayed 2/2 messages"), "{err}");
    assert!(
        err.contains("1 messages had MQTT 5 properties, not sent over MQTT 3.1.1"),
        "{err}"
    );
    let (c, out, err) = watcher.finish().await;
    assert_eq!(c, 0, "{err}");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "copy/a/1|1|0|{}||||||\ncopy/a/2|1|0|000102ff||||||\n",
            hex(b"one")
        )
    );
    let (c, out, _) = run(
        "mosquitto_sub",
        &["-p", &port, "-t", "copy/#", "-v", "-W", "1"],
    )
    .await;
    assert_eq!((c, out.as_str()), (27, ""), "nothing was retained");
}

/// A malformed line or an unknown major version is refused before connecting, naming the
/// file and the line; nothing panics.
#[tokio::test]
async fn replay_refuses_malformed_records_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let head = r#"{"format":"mqtt-workbench-record","version":"1.0","started":"2026-12-01T00:00:00.000000Z"}"#;
    let good = r#"{"time":"2026-12-01T00:00:00.100000Z","offset_us":1,"topic":"a","qos":0,"retain":false,"payload":"x"}"#;
    let cases = [
        (
            format!("{head}\n{good}\n{{\"time\":\n{good}\n"),
            ":3: not a record message",
        ),
        (
            format!("{head}\n{}\n", good.replace("\"qos\":0", "\"qos\":7")),
            ":2: \"qos\" is 7, not 0, 1 or 2",
        ),
        (
            head.replace("1.0", "2.0"),
            ":1: record format version 2.0 is not supported (this build reads 1.x)",
        ),
        (format!("{good}\n"), ":1: not a record header"),
        (
            format!("{head}\n{}", &good[..40]),
            ":2: not a record message",
        ),
    ];
    // Nothing listens on this port: a replay that tried to connect would say so instead.
    let port = free_port().to_string();
    for (i, (content, needle)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("bad{i}.jsonl"));
        std::fs::write(&file, content).unwrap();
        let name = file.to_str().unwrap();
        let (c, out, err) = run(wb(), &["replay", "-h", "127.0.0.1", "-p", &port, name]).await;
        assert_eq!((c, out.as_str()), (1, ""), "{err}");
        assert!(
            err.starts_with(&format!("Error: {name}{needle}")),
            "case {i}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let (c, _, err) = run(
        wb(),
        &[
            "replay",
            "-p",
            &port,
            dir.path().join("missing").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(c, 1);
    assert!(err.contains("missing: cannot open"), "{err}");
    let (c, _, err) = run(wb(), &["replay", "--speed=-1", "-p", &port, "x"]).await;
    assert_eq!(c, 1);
    assert!(
        err.contains("--speed must be 0 or a positive number"),
        "{err}"
    );
}

/// Without `-o` the record goes to stdout; without `-q` the subscription is QoS 2, so the
/// publisher's QoS 1 is recorded; `-W` ends it normally; flags are checked as sub checks them.
#[tokio::test]
async fn record_to_stdout_until_the_timeout() {
    if !have_mosquitto() {
        return;
    }
    let mut b = AnyBroker::start(false).await;
    let rec = recording(&mut b, "rec-out", &["-t", "s/#", "-W", "2"]).await;
    let port = b.port();
    let (c, _, _) = run(
        "mosquitto_pub",
        &["-p", &port, "-t", "s/1", "-m", "hi", "-q", "1"],
    )
    .await;
    assert_eq!(c, 0);
    let (c, out, err) = rec.finish().await;
    assert_eq!(c, 0, "{err}");
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with(r#"{"format":"mqtt-workbench-record","version":"1.0","#));
    assert!(
        lines[0].contains(r#""mqtt":"3.1.1","filters":["s/#"]"#),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(r#""topic":"s/1","qos":1,"retain":false,"payload":"hi"}"#),
        "{}",
        lines[1]
    );
    assert!(err.contains("Recorded 1 messages to stdout"), "{err}");
    let (c, _, err) = run(wb(), &["record", "-p", &port]).await;
    assert_eq!(c, 1);
    assert!(
        err.contains("You must specify a topic to record (-t)."),
        "{err}"
    );
    let (c, _, err) = run(wb(), &["record", "-p", &port, "-t", "a/#/b"]).await;
    assert_eq!(c, 1);
    assert!(err.contains("invalid subscription filter 'a/#/b'"), "{err}");
}

/// Sends SIGINT (Ctrl-C) to a process.
fn interrupt(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT {pid}");
}

/// Ctrl-C ends `record` normally with every message written, and stops `replay` part-way with
/// a summary and status 1.
#[tokio::test]
async fn ctrl_c_stops_record_cleanly_and_replay_with_a_summary() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("int.jsonl");
    let mut b = AnyBroker::start(false).await;
    let port = b.port();
    let rec = tokio::process::Command::new(wb())
        .args([
            "record",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-i",
            "rec-int",
            "-t",
            "i/#",
            "-o",
        ])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    b.wait_log("Sending SUBACK to rec-int").await;
    for m in ["one", "two"] {
        let (c, _, _) = run("mosquitto_pub", &["-p", &port, "-t", "i/x", "-m", m]).await;
        assert_eq!(c, 0);
    }
    // Both messages are on disk before the interrupt: each line is flushed.
    for _ in 0..250 {
        if std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .count()
            == 3
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    interrupt(rec.id().unwrap());
    let out = tokio::time::timeout(std::time::Duration::from_secs(15), rec.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("Recorded 2 messages to"), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.lines().nth(2).unwrap().contains(r#""payload":"two"}"#),
        "{text}"
    );

    // A record whose second message is due in 60 s: interrupted after the first.
    let long = dir.path().join("long.jsonl");
    let mut lines: Vec<String> = text.lines().take(2).map(str::to_string).collect();
    lines.push(
        r#"{"time":"2026-12-01T00:01:00.000000Z","offset_us":60000000,"topic":"i/y","qos":0,"retain":false,"payload":"late"}"#
            .to_string(),
    );
    std::fs::write(&long, lines.join("\n")).unwrap();
    let replay = tokio::process::Command::new(wb())
        .args(["replay", "-h", "127.0.0.1", "-p", &port, "-i", "rep-int"])
        .arg(&long)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    b.wait_log("Received PUBLISH from rep-int").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    interrupt(replay.id().unwrap());
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        replay.wait_with_output(),
    )
    .await
    .unwrap()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Replayed 1/2 messages"), "{err}");
    assert!(err.contains("Interrupted."), "{err}");
}

/// Task `polish`, item 7: a message whose Correlation Data is not UTF-8, as the workbench's
/// message list keeps it, exported with `x` (the record format) and sent with `replay`: the
/// broker delivers the same bytes, and `record` writes them as `correlation_data_b64`.
#[tokio::test]
async fn exported_binary_correlation_data_replays_byte_identical() {
    use mqtt_workbench::client::MessageProperties;
    use mqtt_workbench::tui::app::export::{Format, history};
    use mqtt_workbench::tui::app::messages::Message;
    use mqtt_workbench::tui::client_link::shown_properties;

    let correlation = [0x00, 0xff, 0xfe, 0x80, b'a'];
    let message = Message {
        time: std::time::SystemTime::now(),
        topic: "corr/req".into(),
        payload: bytes::Bytes::from_static(b"ping"),
        qos: 1,
        retain: false,
        sent_retained: false,
        properties: shown_properties(MessageProperties {
            correlation_data: Some(bytes::Bytes::copy_from_slice(&correlation)),
            ..MessageProperties::default()
        }),
        copy: false,
        pkid: 1,
        journey: 0,
    };
    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("export.jsonl");
    std::fs::write(&exported, history([&message], Format::Jsonl)).unwrap();
    let recorded = dir.path().join("again.jsonl");

    let mut broker = AnyBroker::start(false).await;
    let recorder = recording(
        &mut broker,
        "corr-rec",
        &[
            "-V",
            "mqttv5",
            "-q",
            "1",
            "-t",
            "corr/#",
            "-C",
            "1",
            "-W",
            "20",
            "-o",
            recorded.to_str().unwrap(),
        ],
    )
    .await;
    let port = broker.port();
    let (c, _, err) = run(
        wb(),
        &[
            "replay",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "--speed",
            "0",
            exported.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(c, 0, "replay: {err}");
    let (c, _, err) = recorder.finish().await;
    assert_eq!(c, 0, "record: {err}");
    let text = std::fs::read_to_string(&recorded).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(line["topic"], "corr/req");
    assert_eq!(
        line["properties"]["correlation_data_b64"], "AP/+gGE=",
        "{text}"
    );
}
