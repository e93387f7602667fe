//! `mqtt-workbench bench` as a process, against the in-process broker and a real mosquitto.
//! Counts and loss only: no timing assertions.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::{KillOnDrop, default_broker, have_mosquitto, mosquitto_bin};

/// Runs `mqtt-workbench bench <args> -p PORT --json --quiet`; returns the exit success and
/// the parsed summary.
async fn bench(port: u16, args: &[&str]) -> (bool, Value) {
    let bin = assert_cmd::cargo::cargo_bin("mqtt-workbench");
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("bench")
        .args(args)
        .args(["-p", &port.to_string(), "--json", "--quiet"])
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("bench finishes within a minute")
        .expect("run mqtt-workbench bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "bench {args:?} printed no JSON ({e}): stdout {stdout:?} stderr {:?}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), json)
}

fn assert_loss_free(json: &Value, sent: u64, subscribers: u64) {
    assert_eq!(json["errors"], Value::Array(vec![]), "{json}");
    assert_eq!(json["sent"], sent, "{json}");
    assert_eq!(json["expected"], sent * subscribers, "{json}");
    assert_eq!(json["received"], sent * subscribers, "{json}");
    assert_eq!(json["lost"], 0, "{json}");
    assert_eq!(json["duplicates"], 0, "{json}");
    if json["qos"] == 1 {
        assert_eq!(json["acked"], sent, "{json}");
    }
    assert!(
        json["latency"]["samples"].as_u64().unwrap_or(0) > 0,
        "{json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanin_qos1_against_our_broker_loses_nothing() {
    let broker = default_broker().await;
    // 3 x 200 stays below the default per-client queue of 1,000 messages.
    let (ok, json) = bench(broker.port(), &["fanin", "-c", "3", "-n", "200", "-q", "1"]).await;
    assert!(ok, "{json}");
    assert_eq!(json["scenario"], "fanin");
    assert_eq!(json["publishers"], 3);
    assert_loss_free(&json, 600, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_qos1_v5_against_our_broker_loses_nothing() {
    let broker = default_broker().await;
    let args = ["fanout", "-c", "3", "-n", "300", "-q", "1", "-V", "5"];
    let (ok, json) = bench(broker.port(), &args).await;
    assert!(ok, "{json}");
    assert_eq!(json["mqtt_version"], "5");
    assert_loss_free(&json, 300, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_fanin_qos0_against_our_broker() {
    let broker = default_broker().await;
    let args = ["fanin", "-c", "2", "--rate", "400", "-n", "50", "-s", "100"];
    let (ok, json) = bench(broker.port(), &args).await;
    assert!(ok, "{json}");
    assert_eq!(json["payload_bytes"], 100);
    assert_loss_free(&json, 100, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conn_against_our_broker() {
    let broker = default_broker().await;
    let (ok, json) = bench(broker.port(), &["conn", "-c", "50", "-d", "200ms"]).await;
    assert!(ok, "{json}");
    assert_eq!(json["connected"], 50, "{json}");
    assert_eq!(json["failed"], 0, "{json}");
    assert_eq!(json["dropped_while_idle"], 0, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pub_alone_counts_pubacks() {
    let broker = default_broker().await;
    let (ok, json) = bench(broker.port(), &["pub", "-c", "2", "-n", "100", "-q", "1"]).await;
    assert!(ok, "{json}");
    assert_eq!(json["sent"], 200, "{json}");
    assert_eq!(json["acked"], 200, "{json}");
    assert!(
        json["puback_latency"]["samples"].as_u64().unwrap_or(0) == 200,
        "{json}"
    );
}

/// mosquitto on a free loopback port with the side-by-side settings.
fn start_mosquitto() -> (KillOnDrop, u16, tempfile::TempDir) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nlog_type none\npersistence false\n\
             max_inflight_messages 0\nmax_queued_messages 0\n"
        ),
    )
    .expect("write conf");
    let child = Command::new(mosquitto_bin())
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mosquitto");
    let guard = KillOnDrop(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "mosquitto did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (guard, port, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanin_and_fanout_qos1_against_mosquitto() {
    if !have_mosquitto() {
        return;
    }
    let (_mosquitto, port, _dir) = start_mosquitto();
    let (ok, json) = bench(port, &["fanin", "-c", "10", "-n", "200", "-q", "1"]).await;
    assert!(ok, "{json}");
    assert_loss_free(&json, 2000, 1);
    let args = ["fanout", "-c", "4", "-n", "200", "-q", "1", "-V", "5"];
    let (ok, json) = bench(port, &args).await;
    assert!(ok, "{json}");
    assert_loss_free(&json, 200, 4);
    let (ok, json) = bench(port, &["conn", "-c", "50", "-d", "200ms"]).await;
    assert!(ok, "{json}");
    assert_eq!(json["connected"], 50, "{json}");
}
