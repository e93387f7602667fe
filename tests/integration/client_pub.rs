//! `mqtt-workbench pub` through the real binary, with mosquitto_sub as the subscriber, against
//! mosquitto and against our broker.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::client_support::{AnyBroker, Mosquitto, free_port, run, run_with_stdin, subscribed, wb};
use crate::common::have_mosquitto;

/// The issue's matrix: QoS 0/1/2, retained or not, 3.1.1 and 5, both brokers; mosquitto_sub
/// sees topic, payload, QoS and retain flag as sent.
#[tokio::test]
async fn pub_reaches_mosquitto_sub_at_every_qos_version_and_retain() {
    if !have_mosquitto() {
        return;
    }
    for mosquitto in [true, false] {
        for version in ["mqttv311", "mqttv5"] {
            let mut b = AnyBroker::start(mosquitto).await;
            let port = b.port();
            let sub = subscribed(
                &mut b,
                "mosquitto_sub",
                "matrix-sub",
                &[
                    "-t",
                    "m/#",
                    "-q",
                    "2",
                    "-V",
                    version,
                    "-F",
                    "%t %p q%q",
                    "-C",
                    "3",
                    "-W",
                    "10",
                ],
            )
            .await;
            for q in ["0", "1", "2"] {
                let topic = format!("m/{q}");
                let (c, _, err) = run(
                    wb(),
                    &[
                        "pub",
                        "-p",
                        &port,
                        "-t",
                        &topic,
                        "-m",
                        "Hello2 mqtt",
                        "-q",
                        q,
                        "-V",
                        version,
                    ],
                )
                .await;
                assert_eq!(c, 0, "{err}");
            }
            let (c, out, err) = sub.finish().await;
            let mut lines: Vec<_> = String::from_utf8_lossy(&out)
                .lines()
                .map(String::from)
                .collect();
            lines.sort();
            assert_eq!(
                (c, lines),
                (
                    0,
                    vec![
                        "m/0 Hello2 mqtt q0".to_string(),
                        "m/1 Hello2 mqtt q1".into(),
                        "m/2 Hello2 mqtt q2".into()
                    ]
                ),
                "{} {version}: {err}",
                b.name()
            );
            // Retained, every QoS: a late subscriber sees r1.
            for q in ["0", "1", "2"] {
                let topic = format!("ret/{q}");
                let (c, _, _) = run(
                    wb(),
                    &[
                        "pub", "-p", &port, "-t", &topic, "-m", "kept", "-r", "-q", q, "-V",
                        version,
                    ],
                )
                .await;
                assert_eq!(c, 0);
            }
            let (c, out, _) = run(
                "mosquitto_sub",
                &[
                    "-p",
                    &port,
                    "-t",
                    "ret/#",
                    "-q",
                    "2",
                    "-F",
                    "%t %p r%r",
                    "-C",
                    "3",
                    "-W",
                    "10",
                ],
            )
            .await;
            let mut lines: Vec<_> = out.lines().collect();
            lines.sort_unstable();
            assert_eq!(
                (c, lines),
                (0, vec!["ret/0 kept r1", "ret/1 kept r1", "ret/2 kept r1"]),
                "{} {version}",
                b.name()
            );
        }
    }
}

/// `-d` trace of a QoS 2 publish, word for word as mosquitto_pub -d.
#[tokio::test]
async fn debug_trace_of_qos2_publish() {
    let b = AnyBroker::start(false).await;
    let port = b.port();
    let (c, out, _) = run(
        wb(),
        &[
            "pub",
            "-p",
            &port,
            "-i",
            "pub-dbg2",
            "-t",
            "sensors/kitchen/temp",
            "-m",
            "21.6",
            "-q",
            "2",
            "-d",
        ],
    )
    .await;
    assert_eq!(c, 0);
    assert_eq!(
        out,
        "Client pub-dbg2 sending CONNECT
Client pub-dbg2 received CONNACK (0)
Client pub-dbg2 sending PUBLISH (d0, q2, r0, m1, 'sensors/kitchen/temp', ... (4 bytes))
Client pub-dbg2 received PUBREC (Mid: 1)
Client pub-dbg2 sending PUBREL (m1)
Client pub-dbg2 received PUBCOMP (Mid: 1, RC:0)
Client pub-dbg2 sending DISCONNECT
"
    );
}

/// Payload sources: -f file, -s stdin, -l one message per line (empty lines too), -n empty,
/// and --repeat with --repeat-delay.
#[tokio::test]
async fn payload_sources_and_repeat() {
    if !have_mosquitto() {
        return;
    }
    for mosquitto in [true, false] {
        let mut b = AnyBroker::start(mosquitto).await;
        let port = b.port();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("payload.bin");
        std::fs::write(&file, b"from\x00file").unwrap();
        let file = file.display().to_string();
        let sub = subscribed(
            &mut b,
            "mosquitto_sub",
            "src-sub",
            &["-t", "s/#", "-F", "%t %x", "-C", "9", "-W", "10"],
        )
        .await;
        let ok = |r: (i32, String, String)| assert_eq!(r.0, 0, "{}", r.2);
        ok(run(wb(), &["pub", "-p", &port, "-t", "s/f", "-f", &file]).await);
        ok(run_with_stdin(
            wb(),
            &["pub", "-p", &port, "-t", "s/s", "-s"],
            Some(b"all\nof it"),
        )
        .await);
        ok(run_with_stdin(
            wb(),
            &["pub", "-p", &port, "-t", "s/l", "-l", "-q", "1"],
            Some(b"one\n\nthree"),
        )
        .await);
        ok(run(wb(), &["pub", "-p", &port, "-t", "s/n", "-n"]).await);
        ok(run(
            wb(),
            &[
                "pub",
                "-p",
                &port,
                "-t",
                "s/r",
                "-m",
                "x",
                "--repeat",
                "3",
                "--repeat-delay",
                "0.05",
            ],
        )
        .await);
        let (c, out, err) = sub.finish().await;
        assert_eq!(c, 0, "{err}");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "s/f 66726f6d0066696c65\ns/s 616c6c0a6f66206974\ns/l 6f6e65\ns/l \ns/l 7468726565\n\
             s/n \ns/r 78\ns/r 78\ns/r 78\n",
            "{}",
            b.name()
        );
    }
}

/// `-D publish ...` properties arrive at a v5 mosquitto_sub.
#[tokio::test]
async fn v5_publish_properties_reach_mosquitto_sub() {
    if !have_mosquitto() {
        return;
    }
    for mosquitto in [true, false] {
        let mut b = AnyBroker::start(mosquitto).await;
        let port = b.port();
        let sub = subscribed(
            &mut b,
            "mosquitto_sub",
            "prop-sub",
            &[
                "-t",
                "p",
                "-V",
                "5",
                "-F",
                "%C|%P|%R|%D|%F|%E",
                "-C",
                "1",
                "-W",
                "10",
            ],
        )
        .await;
        let (c, _, err) = run(
            wb(),
            &[
                "pub",
                "-p",
                &port,
                "-t",
                "p",
                "-m",
                "{}",
                "-V",
                "5",
                "-D",
                "publish",
                "content-type",
                "application/json",
                "-D",
                "publish",
                "user-property",
                "unit",
                "C",
                "-D",
                "publish",
                "response-topic",
                "reply/here",
                "-D",
                "publish",
                "correlation-data",
                "abc",
                "-D",
                "publish",
                "payload-format-indicator",
                "1",
                "-D",
                "publish",
                "message-expiry-interval",
                "300",
            ],
        )
        .await;
        assert_eq!(c, 0, "{err}");
        let (c, out, _) = sub.finish().await;
        let out = String::from_utf8_lossy(&out).into_owned();
        assert_eq!(c, 0);
        assert!(
            out.starts_with("application/json|unit:C|reply/here|abc|1|"),
            "{}: {out}",
            b.name()
        );
        let expiry: u32 = out.trim().rsplit('|').next().unwrap().parse().unwrap();
        assert!((290..=300).contains(&expiry), "{out}");
    }
}

/// Exit codes and messages as mosquitto_pub's.
#[tokio::test]
async fn pub_errors_and_exit_codes() {
    if !have_mosquitto() {
        return;
    }
    let m = Mosquitto::start("allow_anonymous false").await;
    let port = m.port.to_string();
    let (c, _, err) = run(wb(), &["pub", "-p", &port, "-t", "a", "-m", "x"]).await;
    assert_eq!(
        (c, err.as_str()),
        (
            5,
            "Connection error: Connection Refused: not authorised.\nError: The connection was refused.\n"
        )
    );
    let (c, _, err) = run(wb(), &["pub", "-p", &port, "-t", "a", "-m", "x", "-V", "5"]).await;
    assert_eq!(c, 135);
    assert!(
        err.starts_with("Connection error: Not authorized\n"),
        "{err}"
    );
    let free = free_port().to_string();
    let (c, _, err) = run(wb(), &["pub", "-p", &free, "-t", "a", "-m", "x"]).await;
    assert_eq!((c, err.as_str()), (1, "Error: Connection refused\n"));
    let cases: &[(&[&str], &str)] = &[
        (
            &["pub", "-t", "a"],
            "Error: Both topic and message must be supplied.",
        ),
        (
            &["pub", "-m", "x"],
            "Error: Both topic and message must be supplied.",
        ),
        (
            &["pub", "-t", "a", "-m", "x", "-n"],
            "Error: Only one type of message can be sent at once.",
        ),
        (
            &["pub", "-t", "a/#", "-m", "x"],
            "Error: Invalid publish topic 'a/#', does it contain '+' or '#'?",
        ),
        (
            &["pub", "-t", "a", "-f", "/nonexistent/file"],
            "Error: Unable to open file \"/nonexistent/file\".",
        ),
        (
            &[
                "pub",
                "-t",
                "a",
                "-m",
                "x",
                "-D",
                "publish",
                "content-type",
                "x",
            ],
            "You must use MQTT v5",
        ),
    ];
    for (args, needle) in cases {
        let out = assert_cmd::Command::new(wb())
            .args(*args)
            .timeout(std::time::Duration::from_secs(10))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
