//! `mqtt-workbench broker` as a process, with mosquitto's own clients as peers.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{KillOnDrop, have_mosquitto, run_tool};

/// The headless broker started with `broker -v -p 0 [extra args]`, its port, and its log
/// lines as they arrive (timestamps removed).
pub struct BrokerProcess {
    pub child: KillOnDrop,
    pub port: u16,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl BrokerProcess {
    pub fn start(extra: &[&str]) -> Self {
        let bin = assert_cmd::cargo::cargo_bin("mqtt-workbench");
        let mut child = Command::new(bin)
            .args(["broker", "-v", "-p", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mqtt-workbench broker");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // Strip the `<unix-seconds>: ` prefix.
                let text = match line.split_once(": ") {
                    Some((ts, rest)) if ts.chars().all(|c| c.is_ascii_digit()) => rest.to_string(),
                    _ => line,
                };
                if tx.send(text).is_err() {
                    break;
                }
            }
        });
        let mut p = Self {
            child: KillOnDrop(child),
            port: 0,
            lines: rx,
            seen: Vec::new(),
        };
        let line = p.wait_for("Opening ipv4 listen socket on port ");
        p.port = line
            .trim_start_matches("Opening ipv4 listen socket on port ")
            .trim_end_matches('.')
            .parse()
            .expect("port in the log");
        p
    }

    /// Waits for a log line containing `needle`, keeping every line seen.
    pub fn wait_for(&mut self, needle: &str) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(_) => panic!(
                    "no log line containing {needle:?}; saw:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Asserts that `expected` lines appear in this order (other lines may come between).
    pub fn assert_in_order(&mut self, expected: &[&str]) {
        let last = expected.last().copied().unwrap_or_default();
        self.wait_for(last);
        let mut pos = 0;
        for want in expected {
            match self.seen[pos..].iter().position(|l| l == want) {
                Some(i) => pos += i + 1,
                None => panic!(
                    "missing or out of order: {want:?}\nlog:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    pub fn port_arg(&self) -> String {
        self.port.to_string()
    }
}

#[tokio::test]
async fn the_three_terminal_tutorial_works_and_logs_like_mosquitto() {
    if !have_mosquitto() {
        return;
    }
    let mut b = BrokerProcess::start(&[]);
    let port = b.port_arg();
    let sub = tokio::process::Command::new("mosquitto_sub")
        .args([
            "-h",
            "localhost",
            "-p",
            &port,
            "-t",
            "mqtt",
            "-v",
            "-i",
            "tutorial-sub",
            "-C",
            "1",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto_sub");
    b.wait_for("tutorial-sub 0 mqtt");
    let (ok, _, err) = run_tool(
        &[
            "mosquitto_pub",
            "-h",
            "localhost",
            "-p",
            &port,
            "-t",
            "mqtt",
            "-m",
            "Hello2 mqtt",
            "-i",
            "tutorial-pub",
        ],
        10,
    )
    .await;
    assert!(ok, "mosquitto_pub failed: {err}");
    let out = tokio::time::timeout(Duration::from_secs(10), sub.wait_with_output())
        .await
        .expect("subscriber finished")
        .expect("subscriber output");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "mqtt Hello2 mqtt\n");
    b.assert_in_order(&[
        "Sending CONNACK to tutorial-sub (0, 0)",
        "Received SUBSCRIBE from tutorial-sub",
        "\tmqtt (QoS 0)",
        "tutorial-sub 0 mqtt",
        "Sending SUBACK to tutorial-sub",
        "Received PUBLISH from tutorial-pub (d0, q0, r0, m0, 'mqtt', ... (11 bytes))",
        "Sending PUBLISH to tutorial-sub (d0, q0, r0, m0, 'mqtt', ... (11 bytes))",
        "Received DISCONNECT from tutorial-pub",
        "Client tutorial-pub disconnected.",
    ]);
    // The connection line carries the client's ephemeral port: check its shape.
    let connected = b.wait_for("as tutorial-sub (p2, c1, k60).");
    assert!(
        connected.starts_with("New client connected from 127.0.0.1:"),
        "{connected}"
    );
    b.wait_for("New connection from 127.0.0.1:");
    // SIGTERM: clean shutdown with mosquitto's terminating line.
    let pid = b.child.0.id();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill")
            .success()
    );
    b.wait_for("mqtt-workbench version");
    b.wait_for("terminating");
    let status = b.child.0.wait().expect("exit status");
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn qos_1_and_2_handshakes_log_like_mosquitto() {
    if !have_mosquitto() {
        return;
    }
    let mut b = BrokerProcess::start(&[]);
    let port = b.port_arg();
    let sub = tokio::process::Command::new("mosquitto_sub")
        .args([
            "-p",
            &port,
            "-t",
            "sensors/+/temp",
            "-q",
            "2",
            "-v",
            "-i",
            "sub-q2",
            "-C",
            "2",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto_sub");
    b.wait_for("sub-q2 2 sensors/+/temp");
    for (qos, id) in [("1", "pub-dbg1"), ("2", "pub-dbg2")] {
        let (ok, _, err) = run_tool(
            &[
                "mosquitto_pub",
                "-p",
                &port,
                "-t",
                "sensors/kitchen/temp",
                "-m",
                "21.5",
                "-q",
                qos,
                "-i",
                id,
            ],
            10,
        )
        .await;
        assert!(ok, "{err}");
    }
    let out = tokio::time::timeout(Duration::from_secs(10), sub.wait_with_output())
        .await
        .expect("subscriber finished")
        .expect("output");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "sensors/kitchen/temp 21.5\nsensors/kitchen/temp 21.5\n"
    );
    b.assert_in_order(&[
        "Received PUBLISH from pub-dbg1 (d0, q1, r0, m1, 'sensors/kitchen/temp', ... (4 bytes))",
        "Sending PUBLISH to sub-q2 (d0, q1, r0, m1, 'sensors/kitchen/temp', ... (4 bytes))",
        "Sending PUBACK to pub-dbg1 (m1, rc0)",
    ]);
    b.assert_in_order(&[
        "Received PUBLISH from pub-dbg2 (d0, q2, r0, m1, 'sensors/kitchen/temp', ... (4 bytes))",
        "Sending PUBREC to pub-dbg2 (m1, rc0)",
        "Received PUBREL from pub-dbg2 (Mid: 1)",
        "Sending PUBLISH to sub-q2 (d0, q2, r0, m2, 'sensors/kitchen/temp', ... (4 bytes))",
        "Sending PUBCOMP to pub-dbg2 (m1)",
    ]);
    b.wait_for("Received PUBACK from sub-q2 (Mid: 1, RC:0)");
    b.assert_in_order(&[
        "Received PUBREC from sub-q2 (Mid: 2)",
        "Sending PUBREL to sub-q2 (m2)",
        "Received PUBCOMP from sub-q2 (Mid: 2, RC:0)",
    ]);
}

#[tokio::test]
async fn retained_message_reaches_a_late_subscriber_with_r1() {
    if !have_mosquitto() {
        return;
    }
    let mut b = BrokerProcess::start(&[]);
    let port = b.port_arg();
    let (ok, _, err) = run_tool(
        &[
            "mosquitto_pub",
            "-p",
            &port,
            "-t",
            "mqtt/retained",
            "-m",
            "kept",
            "-r",
            "-q",
            "1",
            "-i",
            "pub-ret",
        ],
        10,
    )
    .await;
    assert!(ok, "{err}");
    let (ok, out, err) = run_tool(
        &[
            "mosquitto_sub",
            "-p",
            &port,
            "-t",
            "mqtt/#",
            "-v",
            "-C",
            "1",
            "-i",
            "sub-ret",
        ],
        10,
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out, "mqtt/retained kept\n");
    b.assert_in_order(&[
        "Received PUBLISH from pub-ret (d0, q1, r1, m1, 'mqtt/retained', ... (4 bytes))",
        "Sending PUBACK to pub-ret (m1, rc0)",
        "Sending SUBACK to sub-ret",
        "Sending PUBLISH to sub-ret (d0, q0, r1, m0, 'mqtt/retained', ... (4 bytes))",
    ]);
    // An empty retained payload deletes it [MQTT311-3.3.1-10].
    let (ok, _, _) = run_tool(
        &[
            "mosquitto_pub",
            "-p",
            &port,
            "-t",
            "mqtt/retained",
            "-n",
            "-r",
        ],
        10,
    )
    .await;
    assert!(ok);
    let (_, out, _) = run_tool(
        &[
            "mosquitto_sub",
            "-p",
            &port,
            "-t",
            "mqtt/#",
            "-v",
            "-C",
            "1",
            "-W",
            "1",
        ],
        10,
    )
    .await;
    assert_eq!(out, "", "retained message should be gone");
}

#[tokio::test]
async fn will_fires_on_unclean_close_and_not_after_disconnect() {
    if !have_mosquitto() {
        return;
    }
    let mut b = BrokerProcess::start(&[]);
    let port = b.port_arg();
    let watcher = tokio::process::Command::new("mosquitto_sub")
        .args([
            "-p",
            &port,
            "-t",
            "status/#",
            "-v",
            "-i",
            "will-watcher",
            "-C",
            "1",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("watcher");
    b.wait_for("will-watcher 0 status/#");
    // A clean exit (DISCONNECT) discards the will.
    let (ok, _, _) = run_tool(
        &[
            "mosquitto_pub",
            "-p",
            &port,
            "-t",
            "x",
            "-m",
            "y",
            "-i",
            "polite",
            "--will-topic",
            "status/polite",
            "--will-payload",
            "gone",
        ],
        10,
    )
    .await;
    assert!(ok);
    b.wait_for("Client polite disconnected.");
    // A killed client's will goes out.
    let mut dev = tokio::process::Command::new("mosquitto_sub")
        .args([
            "-p",
            &port,
            "-t",
            "devices/dev1/cmd",
            "-i",
            "dev1",
            "-k",
            "5",
            "--will-topic",
            "status/dev1",
            "--will-payload",
            "offline",
            "--will-retain",
            "--will-qos",
            "1",
        ])
        .kill_on_drop(true)
        .spawn()
        .expect("dev1");
    b.wait_for("Will message specified (7 bytes) (r1, q1).");
    b.wait_for("dev1 0 devices/dev1/cmd");
    dev.kill().await.expect("kill dev1");
    let out = tokio::time::timeout(Duration::from_secs(10), watcher.wait_with_output())
        .await
        .expect("watcher finished")
        .expect("output");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "status/dev1 offline\n"
    );
    b.assert_in_order(&[
        "Client dev1 closed its connection.",
        "Sending PUBLISH to will-watcher (d0, q0, r0, m0, 'status/dev1', ... (7 bytes))",
    ]);
    assert!(
        !b.seen.iter().any(|l| l.contains("'status/polite'")),
        "will of a clean disconnect was sent"
    );
    // The will was retained: a new subscriber gets it.
    let (_, out, _) = run_tool(
        &[
            "mosquitto_sub",
            "-p",
            &port,
            "-t",
            "status/dev1",
            "-v",
            "-C",
            "1",
            "-W",
            "3",
        ],
        10,
    )
    .await;
    assert_eq!(out, "status/dev1 offline\n");
}

#[tokio::test]
async fn persistent_session_queues_while_offline() {
    if !have_mosquitto() {
        return;
    }
    let mut b = BrokerProcess::start(&[]);
    let port = b.port_arg();
    // -W 1 ends the first run after a second without messages; the session stays.
    let _ = run_tool(
        &[
            "mosquitto_sub",
            "-p",
            &port,
            "-t",
            "queue/test",
            "-q",
            "1",
            "-c",
            "-i",
            "persist1",
            "-C",
            "1",
            "-W",
            "1",
        ],
        10,
    )
    .await;
    b.wait_for("persist1 1 queue/test");
    b.wait_for("Client persist1 disconnected.");
    let (ok, _, _) = run_tool(
        &[
            "mosquitto_pub",
            "-p",
            &port,
            "-t",
            "queue/test",
            "-m",
            "while offline",
            "-q",
            "1",
        ],
        10,
    )
    .await;
    assert!(ok);
    let (ok, out, err) = run_tool(
        &[
            "mosquitto_sub",
            "-p",
            &port,
            "-t",
            "queue/test",
            "-q",
            "1",
            "-c",
            "-i",
            "persist1",
            "-C",
            "1",
            "-v",
            "-W",
            "5",
        ],
        10,
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out, "queue/test while offline\n");
    b.wait_for("Sending CONNACK to persist1 (1, 0)");
}

#[tokio::test]
async fn mqtt5_and_mqtt31_clients_are_served_and_logged() {
    if !have_mosquitto() {
        return;
    }
    let mut b = BrokerProcess::start(&[]);
    let port = b.port_arg();
    let (ok, _, err) = run_tool(
        &[
            "mosquitto_pub",
            "-p",
            &port,
            "-t",
            "v5/topic",
            "-m",
            "abc",
            "-q",
            "1",
            "-V",
            "5",
            "-i",
            "pub-v5",
        ],
        10,
    )
    .await;
    assert!(ok, "{err}");
    // v5: no subscribers means PUBACK reason 0x10 (16).
    b.wait_for("as pub-v5 (p5, c1, k60).");
    b.wait_for("Sending PUBACK to pub-v5 (m1, rc16)");
    let (ok, _, err) = run_tool(
        &[
            "mosquitto_pub",
            "-p",
            &port,
            "-t",
            "v31/topic",
            "-m",
            "abc",
            "-V",
            "mqttv31",
            "-i",
            "pub-v31",
        ],
        10,
    )
    .await;
    assert!(ok, "{err}");
    b.wait_for("as pub-v31 (p1, c1, k60).");
}

#[test]
fn a_bad_config_line_names_file_line_and_option() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broker.conf");
    let mut f = std::fs::File::create(&path).expect("create");
    writeln!(f, "sys_interval 5\nbogus_option 3").expect("write");
    let out = Command::new(assert_cmd::cargo::cargo_bin("mqtt-workbench"))
        .args(["broker", "-c"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:2: unknown option 'bogus_option'",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn a_busy_port_is_reported_not_crashed() {
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = blocker.local_addr().expect("addr").port();
    let out = Command::new(assert_cmd::cargo::cargo_bin("mqtt-workbench"))
        .args(["broker", "-p", &port.to_string()])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(
        err.to_lowercase().contains("address already in use"),
        "{err}"
    );
}
