//! Durable persistence (`persistence true`): what the broker acknowledged survives `kill -9`,
//! and `broker --dump-persistence` shows what the store holds.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::broker_cli::BrokerProcess;
use crate::common::{RawClient, connect_packet, publish_packet, subscribe_packet};

/// A broker config in `dir` with persistence on (and `extra` lines).
fn config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let conf = dir.join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "listener 0 127.0.0.1\nallow_anonymous true\npersistence true\n\
             persistence_location {}/\n{extra}",
            dir.display()
        ),
    )
    .expect("write the config");
    conf
}

fn addr(b: &BrokerProcess) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], b.port))
}

/// SIGKILL, and wait until the process is gone.
fn kill_9(b: &mut BrokerProcess) {
    b.child.0.kill().expect("kill -9");
    b.child.0.wait().expect("reap");
}

/// Topic, payload, QoS and RETAIN of a 3.1.1 PUBLISH.
fn parse(p: &[u8]) -> (String, Vec<u8>, u8, bool) {
    assert_eq!(p[0] >> 4, 3, "not a PUBLISH: {p:02X?}");
    let mut i = 1;
    while p[i] & 0x80 != 0 {
        i += 1;
    }
    i += 1;
    let tlen = usize::from(u16::from_be_bytes([p[i], p[i + 1]]));
    let topic = String::from_utf8(p[i + 2..i + 2 + tlen].to_vec()).expect("utf-8 topic");
    i += 2 + tlen;
    let qos = (p[0] >> 1) & 3;
    if qos > 0 {
        i += 2;
    }
    (topic, p[i..].to_vec(), qos, p[0] & 1 == 1)
}

/// `mqtt-workbench broker --dump-persistence FILE`: (success, stdout, stderr).
fn dump(file: &Path) -> (bool, String, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("mqtt-workbench"))
        .args(["broker", "--dump-persistence"])
        .arg(file)
        .output()
        .expect("run the dump");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn acknowledged_messages_sessions_and_retained_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = config(dir.path(), "");
    let conf = conf.to_str().expect("utf-8 path");
    let mut b = BrokerProcess::start(&["-c", conf]);
    // A persistent session subscribed at QoS 1 and 2, then offline.
    let mut s = RawClient::connect(addr(&b)).await;
    s.send(&connect_packet(4, "keeper", 0x00, 60)).await;
    s.recv().await.expect("CONNACK");
    s.send(&subscribe_packet(1, "d/1", 1)).await;
    assert_eq!(s.recv().await, Some(vec![0x90, 0x03, 0x00, 0x01, 0x01]));
    s.send(&subscribe_packet(2, "d/2", 2)).await;
    assert_eq!(s.recv().await, Some(vec![0x90, 0x03, 0x00, 0x02, 0x02]));
    s.send(&[0xE0, 0x00]).await;
    assert!(s.closed_within(Duration::from_secs(5)).await);
    let mut p = RawClient::connect_v311(addr(&b), "pub").await;
    p.send(&publish_packet("d/1", b"one", 1, false, 1)).await;
    assert_eq!(p.recv().await, Some(vec![0x40, 0x02, 0x00, 0x01]), "PUBACK");
    p.send(&publish_packet("d/2", b"two", 2, false, 2)).await;
    assert_eq!(p.recv().await, Some(vec![0x50, 0x02, 0x00, 0x02]), "PUBREC");
    p.send(&[0x62, 0x02, 0x00, 0x02]).await;
    assert_eq!(
        p.recv().await,
        Some(vec![0x70, 0x02, 0x00, 0x02]),
        "PUBCOMP"
    );
    p.send(&publish_packet("r/1", b"ret", 1, true, 3)).await;
    assert_eq!(p.recv().await, Some(vec![0x40, 0x02, 0x00, 0x03]), "PUBACK");
    // Every acknowledgement is in: the broker dies without a chance to save.
    kill_9(&mut b);

    let mut b = BrokerProcess::start(&["-c", conf]);
    b.wait_for("Restored 1 retained messages and 1 sessions");
    let mut s = RawClient::connect(addr(&b)).await;
    s.send(&connect_packet(4, "keeper", 0x00, 60)).await;
    assert_eq!(
        s.recv().await,
        Some(vec![0x20, 0x02, 0x01, 0x00]),
        "session present"
    );
    let got: Vec<_> = [s.recv().await, s.recv().await]
        .into_iter()
        .map(|m| parse(&m.expect("a kept message")))
        .map(|(t, pl, q, _)| (t, pl, q))
        .collect();
    assert_eq!(
        got,
        [
            ("d/1".to_string(), b"one".to_vec(), 1),
            ("d/2".to_string(), b"two".to_vec(), 2)
        ]
    );
    // The subscriptions survived too: a new message reaches the session.
    let mut p = RawClient::connect_v311(addr(&b), "pub").await;
    p.send(&publish_packet("d/1", b"three", 0, false, 0)).await;
    let (t, pl, _, _) = parse(&s.recv().await.expect("a live message"));
    assert_eq!((t.as_str(), pl.as_slice()), ("d/1", &b"three"[..]));
    let mut late = RawClient::connect_v311(addr(&b), "late").await;
    late.send(&subscribe_packet(1, "r/#", 0)).await;
    late.recv().await.expect("SUBACK");
    let (t, pl, _, retain) = parse(&late.recv().await.expect("the retained message"));
    assert_eq!(
        (t.as_str(), pl.as_slice(), retain),
        ("r/1", &b"ret"[..], true)
    );
}

#[tokio::test]
async fn the_autosave_mode_loses_what_came_after_the_last_sync_and_sigusr1_syncs() {
    // `autosave_interval 0`: changes reach the disk only on SIGUSR1 and at shutdown, so a
    // kill -9 before SIGUSR1 loses them (the documented weaker mode), and after it does not.
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = config(dir.path(), "autosave_interval 0\n");
    let conf = conf.to_str().expect("utf-8 path");
    let file = dir.path().join("mqtt-workbench.db");
    let mut b = BrokerProcess::start(&["-c", conf]);
    let mut p = RawClient::connect_v311(addr(&b), "pub").await;
    p.send(&publish_packet("lost/r", b"v", 1, true, 1)).await;
    p.recv().await.expect("PUBACK");
    kill_9(&mut b);
    let (ok, out, err) = dump(&file);
    assert!(ok, "{err}");
    assert!(!out.contains("lost/r"), "not synced, so not on disk: {out}");

    let mut b = BrokerProcess::start(&["-c", conf]);
    let pid = b.child.0.id();
    let mut p = RawClient::connect_v311(addr(&b), "pub").await;
    p.send(&publish_packet("kept/r", b"v", 1, true, 1)).await;
    p.recv().await.expect("PUBACK");
    let ok = Command::new("kill")
        .args(["-s", "USR1", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -s USR1");
    b.wait_for(&format!("Saved in-memory database to {}.", file.display()));
    kill_9(&mut b);
    let (ok, out, err) = dump(&file);
    assert!(ok, "{err}");
    assert!(out.contains("\"topic\":\"kept/r\""), "{out}");
}

#[test]
fn dump_persistence_prints_json_lines_and_refuses_what_it_cannot_read() {
    use mqtt_workbench::broker::persist::{StoredDelivery, StoredMessage, StoredSubscription};
    use mqtt_workbench::broker::store::{Record, Store, StoreOptions};
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.db");
    let msg = |topic: &str, payload: &[u8]| StoredMessage {
        topic: topic.into(),
        payload: mqtt_workbench::broker::persist::encode_binary(payload),
        qos: 1,
        retain: false,
        expires_at: None,
        payload_format: None,
        content_type: None,
        response_topic: None,
        correlation_data: None,
        user_properties: Vec::new(),
    };
    let (mut store, _) = Store::open(&file, StoreOptions::default()).expect("open");
    let cid = || "dev-1".to_string();
    store.append(Record::RetainSet(msg("state/1", b"on")));
    store.append(Record::SessionOpen {
        client_id: cid(),
        protocol_level: 4,
        expiry: 3600,
    });
    store.append(Record::Subscribe {
        client_id: cid(),
        subscription: StoredSubscription {
            filter: "cmd/#".into(),
            qos: 1,
            no_local: false,
            retain_as_published: false,
            retain_handling: 0,
        },
    });
    store.append(Record::Enqueue {
        client_id: cid(),
        seq: 0,
        delivery: StoredDelivery {
            message: msg("cmd/x", b"\xff\x00"),
            qos: 1,
            retain: false,
            sub_ids: Vec::new(),
            pkid: None,
            released: false,
        },
    });
    store.close().expect("close");
    let (ok, out, err) = dump(&file);
    assert!(ok, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let kinds: Vec<&str> = lines.iter().filter_map(|l| l["kind"].as_str()).collect();
    assert_eq!(kinds, ["retained", "session", "subscription", "delivery"]);
    assert_eq!(lines[0]["topic"], "state/1");
    assert_eq!(lines[0]["payload_text"], "on");
    assert_eq!(lines[1]["client_id"], "dev-1");
    assert_eq!(lines[2]["filter"], "cmd/#");
    assert_eq!(lines[3]["state"], "queued");
    assert_eq!(lines[3]["message"]["topic"], "cmd/x");
    assert!(
        lines[3]["message"].get("payload_text").is_none(),
        "binary payloads stay base64 only"
    );

    // A file that is not a persistence file: a clear error, and the file is left alone.
    let foreign = dir.path().join("foreign.db");
    std::fs::write(&foreign, b"\x00\x01mosquitto db").expect("write");
    let (ok, out, err) = dump(&foreign);
    assert!(!ok && out.is_empty());
    assert!(err.contains("cannot be read"), "{err}");
    assert_eq!(
        std::fs::read(&foreign).expect("read"),
        b"\x00\x01mosquitto db"
    );
    let (ok, _, err) = dump(&dir.path().join("missing.db"));
    assert!(!ok);
    assert!(err.contains("does not exist"), "{err}");
}
