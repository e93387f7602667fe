//! `mqtt-workbench sub` through the real binary, against mosquitto and against our broker,
//! with mosquitto_pub as the publisher.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::client_support::{AnyBroker, Mosquitto, free_port, run, subscribed, wb};
use crate::common::have_mosquitto;

/// The issue's "done" line: `sub -t mqtt -v` prints `mqtt Hello2 mqtt`, over 3.1.1 and 5,
/// against both brokers.
#[tokio::test]
async fn sub_v_prints_what_mosquitto_pub_sends_on_both_brokers() {
    if !have_mosquitto() {
        return;
    }
    for mosquitto in [true, false] {
        for version in ["mqttv311", "mqttv5"] {
            let mut b = AnyBroker::start(mosquitto).await;
            let sub = subscribed(
                &mut b,
                "wb",
                "tut-sub",
                &["-t", "mqtt", "-v", "-C", "1", "-W", "10", "-V", version],
            )
            .await;
            let port = b.port();
            let (ok, _, _) = run(
                "mosquitto_pub",
                &[
                    "-p",
                    &port,
                    "-t",
                    "mqtt",
                    "-m",
                    "Hello2 mqtt",
                    "-V",
                    version,
                ],
            )
            .await;
            assert_eq!(ok, 0);
            let (code, out, err) = sub.finish().await;
            assert_eq!(
                (code, String::from_utf8_lossy(&out).as_ref()),
                (0, "mqtt Hello2 mqtt\n"),
                "{} {version}: {err}",
                b.name()
            );
        }
    }
}

/// `-d` prints the packet trace in mosquitto_sub's words, QoS 2 handshake included, and the
/// message line comes after the PUBCOMP as with libmosquitto.
#[tokio::test]
async fn debug_trace_matches_mosquitto_sub_wording() {
    if !have_mosquitto() {
        return;
    }
    let mut b = AnyBroker::start(true).await;
    let sub = subscribed(
        &mut b,
        "wb",
        "sub-q2",
        &[
            "-t",
            "sensors/+/temp",
            "-t",
            "mqtt",
            "-q",
            "2",
            "-d",
            "-v",
            "-C",
            "2",
            "-W",
            "10",
        ],
    )
    .await;
    let port = b.port();
    for (q, m) in [("1", "21.5"), ("2", "21.6")] {
        run(
            "mosquitto_pub",
            &["-p", &port, "-t", "sensors/kitchen/temp", "-m", m, "-q", q],
        )
        .await;
    }
    let (code, out, _) = sub.finish().await;
    assert_eq!(code, 0);
    let out = String::from_utf8_lossy(&out);
    let expected = "Client sub-q2 sending CONNECT
Client sub-q2 received CONNACK (0)
Client sub-q2 sending SUBSCRIBE (Mid: 1, Topic: sensors/+/temp, QoS: 2, Options: 0x00)
Client sub-q2 sending SUBSCRIBE (Mid: 1, Topic: mqtt, QoS: 2, Options: 0x00)
Client sub-q2 received SUBACK
Subscribed (mid: 1): 2, 2
Client sub-q2 received PUBLISH (d0, q1, r0, m1, 'sensors/kitchen/temp', ... (4 bytes))
Client sub-q2 sending PUBACK (m1, rc0)
sensors/kitchen/temp 21.5
Client sub-q2 received PUBLISH (d0, q2, r0, m2, 'sensors/kitchen/temp', ... (4 bytes))
Client sub-q2 sending PUBREC (m2, rc0)
Client sub-q2 received PUBREL (Mid: 2)
Client sub-q2 sending PUBCOMP (m2)
sensors/kitchen/temp 21.6
Client sub-q2 sending DISCONNECT
";
    assert_eq!(out, expected);
}

/// A refused CONNACK ends with mosquitto_sub's message and the return code as exit status.
#[tokio::test]
async fn refused_connack_exit_code_is_the_return_code() {
    if !have_mosquitto() {
        return;
    }
    let m = Mosquitto::start("allow_anonymous false").await;
    let port = m.port.to_string();
    for (version, code, msg) in [
        (
            "mqttv311",
            5,
            "Connection error: Connection Refused: not authorised.\n",
        ),
        ("mqttv5", 135, "Connection error: Not authorized\n"),
    ] {
        let (c, _, err) = run(wb(), &["sub", "-p", &port, "-t", "a", "-V", version]).await;
        assert_eq!((c, err.as_str()), (code, msg));
        // mosquitto_sub agrees.
        let (c, _, err) = run("mosquitto_sub", &["-p", &port, "-t", "a", "-V", version]).await;
        assert_eq!((c, err.as_str()), (code, msg));
    }
}

/// `-W` ends with "Timed out" and status 27, as mosquitto_sub on this machine.
#[tokio::test]
async fn timeout_exits_27_like_mosquitto_sub() {
    if !have_mosquitto() {
        return;
    }
    let b = AnyBroker::start(false).await;
    let port = b.port();
    let (c, out, err) = run(wb(), &["sub", "-p", &port, "-t", "quiet", "-W", "1"]).await;
    assert_eq!((c, out.as_str(), err.as_str()), (27, "", "Timed out\n"));
    let (c, _, err) = run("mosquitto_sub", &["-p", &port, "-t", "quiet", "-W", "1"]).await;
    assert_eq!((c, err.as_str()), (27, "Timed out\n"));
}

/// Input errors: plain words on stderr, status 1, no connection attempted.
#[tokio::test]
async fn bad_arguments_are_reported_in_plain_words() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["sub", "-t", "a/#/b"],
            "Error: invalid subscription filter 'a/#/b': '#' must be the last level and alone in it",
        ),
        (&["sub", "-t", "a+"], "'+' must fill a whole level"),
        (&["sub"], "You must specify a topic to subscribe to"),
        (
            &["sub", "-t", "a", "-F", "%z"],
            "Error: Invalid format specifier 'z'.",
        ),
        (&["sub", "-t", "a", "-k", "2"], "Invalid keepalive given"),
        (
            &["sub", "-t", "a", "-c"],
            "You must provide a client id if you are using the -c option.",
        ),
        (
            &["sub", "-t", "a", "-V", "mqttv31"],
            "MQTT v3.1 (mqttv31) is not supported",
        ),
        (
            &["sub", "-t", "a", "-V", "7"],
            "Invalid protocol version argument given.",
        ),
        (
            &["sub", "-t", "a", "-L", "http://x/y"],
            "unsupported URL scheme",
        ),
        (
            &["sub", "-t", "a", "--will-payload", "x"],
            "Will payload given, but no will topic given.",
        ),
        (
            &["sub", "-t", "a", "-D", "connect", "bogus", "1", "-V", "5"],
            "Invalid property 'bogus'",
        ),
        (
            &["sub", "-t", "a", "--cert", "c.pem"],
            "Both certfile and keyfile must be provided",
        ),
    ];
    for (args, needle) in cases {
        let assert = assert_cmd::Command::new(wb())
            .args(*args)
            .timeout(std::time::Duration::from_secs(10))
            .assert();
        let out = assert.get_output();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Nothing listening: mosquitto_sub's "Error: Connection refused", status 1.
#[tokio::test]
async fn nothing_listening_is_connection_refused() {
    let port = free_port().to_string();
    let (c, _, err) = run(wb(), &["sub", "-p", &port, "-t", "a"]).await;
    assert_eq!((c, err.as_str()), (1, "Error: Connection refused\n"));
    // The WebSocket and TLS transports fail the same way, without a panic.
    for url in [
        format!("ws://127.0.0.1:{port}/mqtt"),
        format!("mqtts://127.0.0.1:{port}/t"),
    ] {
        let (c, _, err) = run(wb(), &["sub", "-L", &url, "-t", "a", "--insecure"]).await;
        assert_eq!(c, 1, "{url}: {err}");
        assert!(
            err.starts_with("Error: ") && !err.contains("panicked"),
            "{url}: {err}"
        );
    }
}

/// `-T` hides matching topics, `-R` hides retained ones, `-N` drops the newline, `-C` counts
/// only printed messages.
#[tokio::test]
async fn filter_out_no_retained_no_eol_and_count() {
    if !have_mosquitto() {
        return;
    }
    for mosquitto in [true, false] {
        let mut b = AnyBroker::start(mosquitto).await;
        let port = b.port();
        run(
            "mosquitto_pub",
            &["-p", &port, "-t", "f/old", "-m", "stale", "-r"],
        )
        .await;
        let sub = subscribed(
            &mut b,
            "wb",
            "filt",
            &[
                "-t",
                "f/#",
                "-T",
                "f/hidden/#",
                "-R",
                "-N",
                "-C",
                "2",
                "-W",
                "10",
            ],
        )
        .await;
        for (t, m) in [("f/hidden/x", "no"), ("f/a", "one"), ("f/b", "two")] {
            run("mosquitto_pub", &["-p", &port, "-t", t, "-m", m]).await;
        }
        let (code, out, err) = sub.finish().await;
        assert_eq!(
            (code, out.as_slice()),
            (0, b"onetwo".as_slice()),
            "{}: {err}",
            b.name()
        );
    }
}

/// `--retained-only` prints retained messages and exits at the first live one;
/// `--remove-retained` clears what it saw.
#[tokio::test]
async fn retained_only_and_remove_retained() {
    if !have_mosquitto() {
        return;
    }
    for mosquitto in [true, false] {
        let mut b = AnyBroker::start(mosquitto).await;
        let port = b.port();
        run(
            "mosquitto_pub",
            &["-p", &port, "-t", "r/1", "-m", "kept", "-r", "-q", "1"],
        )
        .await;
        let sub = subscribed(
            &mut b,
            "wb",
            "ronly",
            &[
                "-t",
                "r/#",
                "-v",
                "--retained-only",
                "--remove-retained",
                "-W",
                "10",
            ],
        )
        .await;
        sub.wait_stdout("r/1 kept\n").await;
        run("mosquitto_pub", &["-p", &port, "-t", "r/2", "-m", "live"]).await;
        let (code, out, err) = sub.finish().await;
        assert_eq!(
            (code, String::from_utf8_lossy(&out).as_ref()),
            (0, "r/1 kept\n"),
            "{err}"
        );
        // The retained message is gone: a fresh subscriber times out.
        let (c, out, _) = run("mosquitto_sub", &["-p", &port, "-t", "r/#", "-W", "1"]).await;
        assert_eq!((c, out.as_str()), (27, ""), "{}", b.name());
    }
}

/// `-E` exits after the SUBACK; `-U` unsubscribes (the broker logs it).
#[tokio::test]
async fn exit_after_subscribe_and_unsubscribe() {
    if !have_mosquitto() {
        return;
    }
    let mut b = AnyBroker::start(false).await;
    let port = b.port();
    let (c, out, _) = run(
        wb(),
        &[
            "sub",
            "-p",
            &port,
            "-i",
            "unsub-client",
            "-t",
            "a/b",
            "-U",
            "a/b",
            "-E",
            "-d",
        ],
    )
    .await;
    assert_eq!(c, 0);
    assert!(
        out.contains("Client unsub-client sending UNSUBSCRIBE (Mid: 2, Topic: a/b)"),
        "{out}"
    );
    assert!(out.contains("Subscribed (mid: 1): 0"), "{out}");
    b.wait_log("Received UNSUBSCRIBE from unsub-client").await;
}

/// Connection flags reach the broker: id prefix, keep alive, clean session off, user name,
/// will, and the URL form.
#[tokio::test]
async fn connection_flags_reach_the_broker() {
    if !have_mosquitto() {
        return;
    }
    let mut b = AnyBroker::start(true).await;
    let port = b.port();
    // -I prefix, -k, -u/-P: the broker log shows id, k and u.
    let (c, _, _) = run(
        wb(),
        &[
            "sub", "-p", &port, "-I", "pfx-", "-k", "7", "-u", "alice", "-P", "pw", "-t", "x", "-E",
        ],
    )
    .await;
    assert_eq!(c, 0);
    b.wait_log("as pfx-").await;
    b.wait_log("(p2, c1, k7, u'alice')").await;
    // -c with -i: a persistent session; v5 with -x.
    run(
        wb(),
        &[
            "sub", "-p", &port, "-i", "keep", "-c", "-q", "1", "-t", "q/t", "-E",
        ],
    )
    .await;
    b.wait_log("as keep (p2, c0, k60)").await;
    run(
        wb(),
        &[
            "sub", "-p", &port, "-i", "exp5", "-V", "5", "-x", "30", "-t", "q/t", "-E",
        ],
    )
    .await;
    b.wait_log("as exp5 (p5, c1, k60)").await;
    // Queued while offline, delivered on reconnect.
    run(
        "mosquitto_pub",
        &["-p", &port, "-t", "q/t", "-m", "queued", "-q", "1"],
    )
    .await;
    let (c, out, _) = run(
        wb(),
        &[
            "sub", "-p", &port, "-i", "keep", "-c", "-q", "1", "-t", "q/t", "-C", "1", "-W", "10",
        ],
    )
    .await;
    assert_eq!((c, out.as_str()), (0, "queued\n"));
    // -L with user and topic.
    let url = format!("mqtt://bob:pw@127.0.0.1:{port}/url/topic");
    let sub = subscribed(&mut b, "wb", "urlsub", &["-L", &url, "-C", "1", "-W", "10"]).await;
    b.wait_log("u'bob'").await;
    run(
        "mosquitto_pub",
        &["-p", &port, "-t", "url/topic", "-m", "via-url"],
    )
    .await;
    let (c, out, _) = sub.finish().await;
    assert_eq!((c, out.as_slice()), (0, b"via-url\n".as_slice()));
}

/// `--will-*`: killing the subscriber makes the broker publish its will.
#[tokio::test]
async fn will_is_published_when_the_client_vanishes() {
    if !have_mosquitto() {
        return;
    }
    for mosquitto in [true, false] {
        let mut b = AnyBroker::start(mosquitto).await;
        let port = b.port();
        let watcher = subscribed(
            &mut b,
            "mosquitto_sub",
            "watcher",
            &["-t", "status/#", "-v", "-C", "1"],
        )
        .await;
        let dev = subscribed(
            &mut b,
            "wb",
            "dev1",
            &[
                "-t",
                "cmd",
                "--will-topic",
                "status/dev1",
                "--will-payload",
                "offline",
                "--will-qos",
                "1",
                "--will-retain",
            ],
        )
        .await;
        drop(dev); // kill_on_drop: SIGKILL, no DISCONNECT
        let (c, out, _) = watcher.finish().await;
        assert_eq!(
            (c, String::from_utf8_lossy(&out).as_ref()),
            (0, "status/dev1 offline\n")
        );
        // Retained will.
        let (_, out, _) = run(
            "mosquitto_sub",
            &["-p", &port, "-t", "status/dev1", "-C", "1", "-W", "5"],
        )
        .await;
        assert_eq!(out, "offline\n", "{}", b.name());
    }
}

/// TLS: `--cafile` against mosquitto with a test CA, `--insecure` without it; the wrong CA
/// fails without a panic.
#[tokio::test]
async fn tls_cafile_and_insecure() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sh = format!(
        "cd {} && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=testca \
         -keyout ca.key -out ca.pem && openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
         -addext subjectAltName=DNS:localhost -keyout srv.key -out srv.csr && \
         printf 'subjectAltName=DNS:localhost\\n' > ext && openssl x509 -req -in srv.csr \
         -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out srv.pem && \
         openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other -keyout o.key -out other.pem && chmod 755 . && chmod 644 *",
        d.display()
    );
    let (c, _, err) = run("sh", &["-c", &sh]).await;
    assert_eq!(c, 0, "openssl: {err}");
    let p = |f: &str| d.join(f).display().to_string();
    let tls_port = free_port();
    let m = Mosquitto::start(&format!(
        "allow_anonymous true\nlistener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n",
        p("ca.pem"),
        p("srv.pem"),
        p("srv.key")
    ))
    .await;
    m.wait_log(&format!("Opening ipv4 listen socket on port {tls_port}."))
        .await;
    let port = tls_port.to_string();
    let ca = p("ca.pem");
    let other = p("other.pem");
    for extra in [vec!["--cafile", ca.as_str()], vec!["--insecure"]] {
        let mut args = vec![
            "sub",
            "-h",
            "localhost",
            "-p",
            &port,
            "-t",
            "tls/t",
            "-E",
            "-d",
        ];
        args.extend(extra.iter().copied());
        let (c, out, err) = run(wb(), &args).await;
        assert_eq!(c, 0, "{extra:?}: {err}");
        assert!(out.contains("received SUBACK"), "{out}");
    }
    let (c, _, err) = run(
        wb(),
        &[
            "sub",
            "-h",
            "localhost",
            "-p",
            &port,
            "-t",
            "t",
            "--cafile",
            &other,
        ],
    )
    .await;
    // mosquitto_sub's MOSQ_ERR_TLS status and first line; the second line says what failed.
    assert_eq!(c, 8, "{err}");
    assert!(err.starts_with("Error: A TLS error occurred.\n"), "{err}");
    assert!(err.contains("invalid peer certificate"), "{err}");
}

/// Task `tuifix` item 6: SIGTERM and SIGINT end `sub`, `rr` and `pub -l` as they end
/// mosquitto_sub: with a DISCONNECT, so the broker discards the Will [MQTT311-3.1.2-10].
#[tokio::test]
async fn sigterm_and_sigint_send_disconnect_and_the_will_stays_unpublished() {
    use crate::client_support::Proc;
    if !have_mosquitto() {
        return;
    }
    let mut b = AnyBroker::start(true).await;
    let port = b.port();
    let watcher = subscribed(
        &mut b,
        "mosquitto_sub",
        "watcher",
        &["-t", "gone/#", "-v", "-C", "1"],
    )
    .await;
    let will = |id: &'static str| -> Vec<String> {
        let base = ["-h", "127.0.0.1", "-p", &port, "-i", id];
        let mut a: Vec<String> = base.iter().map(|s| (*s).to_owned()).collect();
        let topic = format!("gone/{id}");
        a.extend(["--will-topic", &topic, "--will-payload", "x"].map(str::to_owned));
        a
    };
    let cases: [(&str, &str, &[&str]); 4] = [
        ("sub", "TERM", &["-t", "cmd"]),
        ("sub", "INT", &["-t", "cmd"]),
        ("rr", "TERM", &["-t", "req", "-e", "resp", "-m", "q"]),
        ("pub", "TERM", &["-t", "out", "-l"]),
    ];
    for (i, (cmd, sig, extra)) in cases.into_iter().enumerate() {
        let id: &'static str = ["s-term", "s-int", "rr-term", "pub-term"][i];
        let mut args = vec![cmd.to_owned()];
        args.extend(will(id));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let p = Proc::wb_stdin_open(&args);
        b.wait_log(&format!("as {id} (")).await;
        // Subscribed (sub, rr) or connected (pub): the CONNACK went out.
        b.wait_log(&format!("Sending CONNACK to {id}")).await;
        if cmd != "pub" {
            // sub and rr subscribe once their CONNACK arrived: before it, a signal ends them
            // at once with nothing to disconnect (as mosquitto_sub).
            b.wait_log(&format!("Received SUBSCRIBE from {id}")).await;
        }
        p.signal(sig);
        let (code, _, err) = p.finish().await;
        assert_eq!(code, 0, "{cmd} after SIG{sig}: {err}");
        b.wait_log(&format!("Received DISCONNECT from {id}")).await;
    }
    // Had a Will been published, the watcher would have printed it before this.
    run(
        "mosquitto_pub",
        &["-p", &port, "-t", "gone/end", "-m", "end"],
    )
    .await;
    let (c, out, _) = watcher.finish().await;
    assert_eq!(
        (c, String::from_utf8_lossy(&out).as_ref()),
        (0, "gone/end end\n")
    );
}
