//! Several connections in one workbench (issue 14), in tmux against a real mosquitto: the
//! embedded broker's connection and a profile pointing at mosquitto side by side, messages
//! published with mosquitto_pub to each, switching keeps both histories, the log pane shows
//! the client's own packets for the mosquitto connection, and the profile's Sparkplug B
//! decoder shows a payload published from a file.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use prost::Message as _;

use mqtt_workbench::tui::decode::sparkplug::{Metric, Payload, Value};

use crate::client_support::{Mosquitto, free_port};
use crate::common::{have_mosquitto, run_tool};
use crate::tui_tmux::{Tmux, have_tmux};

async fn mosquitto_pub(port: &str, topic: &str, payload: &[&str]) {
    let mut args = vec!["mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-t", topic];
    args.extend_from_slice(payload);
    let (ok, _, err) = run_tool(&args, 10).await;
    assert!(ok, "mosquitto_pub {args:?}: {err}");
}

/// The packet count in the log pane's title, `Client trace · plant (N packets)`.
fn trace_count(screen: &str) -> usize {
    let at = screen.find("Client trace · plant (").unwrap() + "Client trace · plant (".len();
    screen[at..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_connections_side_by_side_keep_their_histories_and_trace_the_client() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let m = Mosquitto::anonymous().await;
    let port = m.port.to_string();
    let embedded = free_port().to_string();
    let cfg = tempfile::tempdir().unwrap();
    let dir = cfg.path().to_str().unwrap();
    std::fs::write(
        cfg.path().join("profiles.toml"),
        format!(
            "[[profile]]\nname = \"plant\"\nhost = \"127.0.0.1\"\nport = {port}\n\
             subscriptions = [{{ filter = \"plant/#\", qos = 1 }}, {{ filter = \"spBv1.0/#\" }}]\n\n\
             [[profile.decoders]]\nfilter = \"spBv1.0/#\"\ntype = \"sparkplug\"\n"
        ),
    )
    .unwrap();

    let t = Tmux::start(
        "conns",
        &[
            "--config-dir",
            dir,
            "--port",
            &embedded,
            "--profile",
            "plant",
        ],
    );
    t.wait_until("the profile connected beside the embedded broker", |s| {
        s.contains("[2/2] client connected 'plant'")
            && s.contains(&format!("broker 127.0.0.1:{embedded}"))
    });
    m.wait_log("plant/# (QoS 1)").await;
    mosquitto_pub(&port, "plant/line1/temp", &["-m", "21.5"]).await;
    // To the embedded broker, while the plant connection is shown.
    mosquitto_pub(&embedded, "lab/bench/volts", &["-m", "3.3"]).await;
    let s = t.wait_until("mosquitto's message in the plant connection", |s| {
        s.contains("line1") && s.contains("21.5")
    });
    assert!(
        !s.contains("volts"),
        "the embedded broker's topic is not in this tree: {s}"
    );
    // The log pane: the client's own packets, with timestamps.
    let s = t.wait_until("the client trace", |s| {
        s.contains("Client trace · plant")
            && s.contains("sending CONNECT")
            && s.contains("received CONNACK")
            && s.contains("sending SUBSCRIBE")
            && s.contains("received SUBACK")
            && s.contains("received PUBLISH")
    });
    assert!(
        s.lines()
            .any(|l| l.contains("sending CONNECT") && l.contains(':')),
        "{s}"
    );
    let packets = trace_count(&s);

    // `{`: the embedded connection, with the message that arrived while it was hidden.
    t.keys(&["{"]);
    let s = t.wait_until("the embedded connection", |s| {
        s.contains("[1/2 embedded]") && s.contains("volts") && s.contains("3.3")
    });
    assert!(s.contains("Broker log"), "{s}");
    assert!(!s.contains("line1"), "{s}");
    // A message for the hidden plant connection: kept, but its trace is not built meanwhile.
    mosquitto_pub(&port, "plant/line2/temp", &["-m", "22.0"]).await;
    // The list names both, with their counts.
    t.keys(&["c"]);
    t.wait_until("the connections list", |s| {
        s.contains("Connections · Enter show") && s.contains("plant") && s.contains("embedded")
    });
    // `c` closes it again (Esc right before another key would read as Alt+key).
    t.keys(&["c"]);
    t.wait_until("the list closed", |s| {
        !s.contains("Connections · Enter show")
    });
    // `}`: back to plant, its history intact; a Sparkplug B payload from a file decodes.
    t.keys(&["}"]);
    let s = t.wait_until("the plant connection again", |s| {
        s.contains("[2/2] client connected 'plant'") && s.contains("line1") && s.contains("line2")
    });
    assert_eq!(trace_count(&s), packets, "no trace while hidden: {s}");
    let bytes = Payload {
        seq: Some(4),
        metrics: vec![Metric {
            name: Some("Oven/Temperature".into()),
            datatype: Some(10),
            value: Some(Value::Double(181.25)),
            ..Metric::default()
        }],
        ..Payload::default()
    }
    .encode_to_vec();
    let file = cfg.path().join("ndata.bin");
    std::fs::write(&file, &bytes).unwrap();
    mosquitto_pub(
        &port,
        "spBv1.0/plant/NDATA/edge1",
        &["-f", file.to_str().unwrap()],
    )
    .await;
    let s = t.wait_until("the decoded Sparkplug payload", |s| {
        s.contains("auto:sparkplug") && s.contains("Oven/Temperature: Double = 181.25")
    });
    assert!(s.contains("raw bytes ("), "the raw bytes stay in view: {s}");
    assert!(s.contains("line1"), "{s}");
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}

/// Review item 1: two profiles pointing at one mosquitto, the second opened with `P`: each
/// connection has its own client id, so mosquitto never closes one for the other
/// ([MQTT311-3.1.4-2]) and both keep receiving.
#[tokio::test(flavor = "multi_thread")]
async fn two_profiles_on_one_broker_do_not_take_each_other_over() {
    if !have_mosquitto() || !have_tmux() {
        return;
    }
    let m = Mosquitto::anonymous().await;
    let port = m.port.to_string();
    let cfg = tempfile::tempdir().unwrap();
    let dir = cfg.path().to_str().unwrap();
    std::fs::write(
        cfg.path().join("profiles.toml"),
        format!(
            "[[profile]]\nname = \"a\"\nhost = \"127.0.0.1\"\nport = {port}\n\
             subscriptions = [{{ filter = \"a/#\" }}]\n\n\
             [[profile]]\nname = \"b\"\nhost = \"127.0.0.1\"\nport = {port}\n\
             subscriptions = [{{ filter = \"b/#\" }}]\n"
        ),
    )
    .unwrap();
    let t = Tmux::start(
        "conns-ids",
        &["--config-dir", dir, "--profile", "a", "--no-broker"],
    );
    t.wait_until("profile a connected", |s| {
        s.contains("client connected 'a'")
    });
    m.wait_log("a/# (QoS 0)").await;
    // The picker: embedded (none here), a, b.
    t.keys(&["P"]);
    t.wait_until("the picker", |s| {
        s.contains("b") && s.contains("mqtt://127.0.0.1")
    });
    t.keys(&["j", "j", "Enter"]);
    t.wait_until("profile b connected", |s| {
        s.contains("[2/2] client connected 'b'")
    });
    m.wait_log("b/# (QoS 0)").await;
    // Its own client id: the workbench's with `-1`.
    m.wait_log("-1 (p").await;
    mosquitto_pub(&port, "b/x", &["-m", "for-b"]).await;
    t.wait_until("b's message", |s| s.contains("for-b"));
    t.keys(&["{"]);
    mosquitto_pub(&port, "a/x", &["-m", "for-a"]).await;
    t.wait_until("a's message, a still connected", |s| {
        s.contains("[1/2] client connected 'a'") && s.contains("for-a")
    });
    let log = m.log_text();
    assert!(!log.contains("already connected"), "{log}");
    t.keys(&["q"]);
    t.assert_clean_exit(0);
}
