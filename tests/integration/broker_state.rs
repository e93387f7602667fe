//! The workbench's views of the broker on real sockets: the router's state query (the broker
//! state view and "Why didn't I receive it?") with mosquitto's clients as peers, and the
//! packet capture behind the inspector (bounded; absent unless asked for).

use std::time::Duration;

use mqtt_workbench::broker::BrokerConfig;
use mqtt_workbench::broker::capture::{CaptureLimits, Way};
use mqtt_workbench::protocol::RetainHandling;

use crate::common::*;

/// Polls the state until `ok` holds (the router answers in order, but mosquitto's clients
/// act on their own time).
async fn state_until(
    b: &TestBroker,
    topic: Option<&str>,
    ok: impl Fn(&mqtt_workbench::broker::router::state::BrokerState) -> bool,
) -> mqtt_workbench::broker::router::state::BrokerState {
    let probe = b.handle.probe();
    for _ in 0..100 {
        let s = probe.state(topic).await.expect("router answers");
        if ok(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("state never satisfied the condition")
}

#[tokio::test]
async fn state_query_shows_an_offline_persistent_session_with_its_queue() {
    if !have_mosquitto() {
        return;
    }
    let b = start_broker(BrokerConfig::default()).await;
    let port = b.port().to_string();
    // A persistent QoS 1 subscriber that leaves at once (-c -E).
    let (ok, _, err) = run_tool(
        &[
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-c",
            "-i",
            "keeper",
            "-q",
            "1",
            "-t",
            "sensors/#",
            "-E",
        ],
        10,
    )
    .await;
    assert!(ok, "mosquitto_sub: {err}");
    for n in 1..=3 {
        let (ok, _, err) = run_tool(
            &[
                "mosquitto_pub",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-q",
                "1",
                "-t",
                "sensors/t1",
                "-m",
                &format!("reading {n}"),
            ],
            10,
        )
        .await;
        assert!(ok, "mosquitto_pub: {err}");
    }
    let (ok, _, err) = run_tool(
        &[
            "mosquitto_pub",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-r",
            "-q",
            "1",
            "-t",
            "sensors/config",
            "-m",
            "v=2",
        ],
        10,
    )
    .await;
    assert!(ok, "mosquitto_pub -r: {err}");
    // A live MQTT 5 subscriber with every option and a Subscription Identifier.
    let mut live = RawClient::connect_v5(b.addr, "watcher").await;
    let mut body = vec![0, 9, 2, 0x0b, 7]; // id 9; properties: Subscription Identifier 7
    body.extend(mqtt_str("sensors/+"));
    body.push(0x01 | 0x04 | 0x08 | 0x20); // QoS 1, No Local, RAP, Retain Handling 2
    live.send(&packet(0x82, &body)).await;
    let ack = live.recv().await.expect("SUBACK");
    assert_eq!(ack[0], 0x90);

    let s = state_until(&b, Some("sensors/t1"), |s| {
        s.clients
            .iter()
            .any(|c| &*c.client_id == "keeper" && c.queued_count == 4)
            && s.clients.iter().any(|c| &*c.client_id == "watcher")
    })
    .await;
    let keeper = s
        .clients
        .iter()
        .find(|c| &*c.client_id == "keeper")
        .expect("keeper");
    assert!(!keeper.online, "mosquitto_sub -E left");
    assert_eq!(
        keeper.session_expiry,
        u32::MAX,
        "3.1.1 clean session 0 never expires"
    );
    assert_eq!(keeper.subscriptions.len(), 1);
    assert_eq!(&*keeper.subscriptions[0].filter, "sensors/#");
    assert_eq!(keeper.subscriptions[0].options.qos.as_u8(), 1);
    let topics: Vec<&str> = keeper.queued.iter().map(|m| &*m.topic).collect();
    assert_eq!(
        topics,
        ["sensors/t1", "sensors/t1", "sensors/t1", "sensors/config"],
        "queued in order while offline"
    );
    assert!(keeper.queued.iter().all(|m| m.qos == 1));
    assert_eq!(keeper.may_read, Some(true), "no ACL: read allowed");

    let watcher = s
        .clients
        .iter()
        .find(|c| &*c.client_id == "watcher")
        .expect("watcher");
    assert!(watcher.online);
    let sub = &watcher.subscriptions[0];
    assert_eq!(&*sub.filter, "sensors/+");
    assert!(sub.options.no_local && sub.options.retain_as_published);
    assert_eq!(
        sub.options.retain_handling,
        RetainHandling::DoNotSend,
        "Retain Handling 2"
    );
    assert_eq!(sub.id, Some(7));

    let mine: Vec<_> = s
        .retained
        .iter()
        .filter(|m| !m.topic.starts_with("$SYS/"))
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(&*mine[0].topic, "sensors/config");
    assert_eq!(mine[0].len, 3);
    assert!(s.retained_count > 1, "the $SYS topics are retained too");

    // The keeper comes back: its queue is delivered and the state shows it online and empty.
    let (ok, out, err) = run_tool(
        &[
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-c",
            "-i",
            "keeper",
            "-q",
            "1",
            "-t",
            "sensors/#",
            "-C",
            "4",
        ],
        10,
    )
    .await;
    assert!(ok, "mosquitto_sub: {err}");
    assert_eq!(out.lines().count(), 4, "{out}");
    let s = state_until(&b, None, |s| {
        s.clients
            .iter()
            .any(|c| &*c.client_id == "keeper" && c.queued_count == 0)
    })
    .await;
    assert!(
        s.clients.iter().all(|c| c.may_read.is_none()),
        "no topic, no ACL check"
    );
}

#[tokio::test]
async fn shared_groups_say_who_gets_the_next_message() {
    let b = start_broker(BrokerConfig::default()).await;
    let mut one = RawClient::connect_v5(b.addr, "one").await;
    let mut two = RawClient::connect_v5(b.addr, "two").await;
    for c in [&mut one, &mut two] {
        let mut body = vec![0, 1, 0];
        body.extend(mqtt_str("$share/g/jobs/+"));
        body.push(0);
        c.send(&packet(0x82, &body)).await;
        assert_eq!(c.recv().await.expect("SUBACK")[0], 0x90);
    }
    let s = state_until(&b, None, |s| {
        s.clients
            .iter()
            .filter(|c| !c.subscriptions.is_empty())
            .count()
            == 2
    })
    .await;
    let sub = &s.clients[0].subscriptions[0];
    assert_eq!(&*sub.filter, "$share/g/jobs/+");
    let names: Vec<&str> = sub.group.iter().map(|n| &**n).collect();
    assert_eq!(names, ["one", "two"]);
    let first = sub.group_next.clone().expect("a next member");
    // One message moves the round robin on.
    let mut p = RawClient::connect_v5(b.addr, "pub").await;
    let mut body = mqtt_str("jobs/a");
    body.push(0);
    body.extend_from_slice(b"x");
    p.send(&packet(0x30, &body)).await;
    let s = state_until(&b, None, |s| {
        s.clients[0]
            .subscriptions
            .first()
            .and_then(|x| x.group_next.clone())
            != Some(first.clone())
    })
    .await;
    assert!(s.clients[0].subscriptions[0].group_next.is_some());
}

#[tokio::test]
async fn capture_is_off_unless_asked_and_bounded_when_on() {
    // Off: the headless broker's configuration has no capture, and nothing is kept.
    let off = start_broker(BrokerConfig::default()).await;
    assert!(off.handle.capture().is_none());

    let limits = CaptureLimits {
        packets: 8,
        bytes_per_packet: 64,
        total_bytes: 4096,
    };
    let b = start_broker(BrokerConfig {
        capture: Some(limits),
        ..BrokerConfig::default()
    })
    .await;
    let cap = b.handle.capture().expect("capture on");
    let mut c = RawClient::connect_v311(b.addr, "cap").await;
    let publish = publish_packet("cap/t", b"hello", 1, false, 42);
    c.send(&publish).await;
    assert_eq!(c.recv().await.expect("PUBACK"), vec![0x40, 2, 0, 42]);
    // The inbound PUBLISH is kept byte for byte, and the PUBACK that went out too.
    let inbound = cap.packets(Way::In);
    assert!(
        inbound.iter().any(|p| p.bytes[..] == publish[..]),
        "{inbound:?}"
    );
    assert!(
        inbound.iter().any(|p| p.key.packet_type == 1),
        "the CONNECT"
    );
    let out = cap.packets(Way::Out);
    assert!(
        out.iter().any(|p| p.bytes[..] == [0x40, 2, 0, 42]),
        "{out:?}"
    );
    assert!(
        out.iter().any(|p| p.bytes[..] == [0x20, 2, 0, 0]),
        "the CONNACK"
    );
    // Many more packets: the ring keeps the newest 8 per direction.
    for n in 0..40u16 {
        c.send(&publish_packet("cap/t", &[b'x'; 100], 1, false, n + 1))
            .await;
        assert_eq!(c.recv().await.expect("PUBACK")[0], 0x40);
    }
    let (packets, bytes) = cap.usage(Way::In);
    assert_eq!(packets, 8);
    assert!(bytes <= 8 * 64, "{bytes}");
    let kept = cap.packets(Way::In);
    assert!(kept.iter().all(|p| p.is_cut() && p.bytes.len() == 64));
    assert_eq!(kept.last().and_then(|p| p.key.packet_id), Some(40));
    assert_eq!(cap.usage(Way::Out).0, 8);
}

#[tokio::test]
async fn state_query_checks_acl_read_access_to_the_topic_asked_about() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let acl = dir.path().join("acl");
    std::fs::write(&acl, "user bob\ntopic read home/#\n").expect("write acl");
    let text = format!(
        "listener 0 127.0.0.1\nallow_anonymous true\nacl_file {}\n",
        acl.display()
    );
    let (cfg, _) = BrokerConfig::parse(&text).expect("config");
    let b = start_broker(cfg).await;
    let port = b.port().to_string();
    // Two persistent sessions that subscribe and leave: bob may read home/#, eve nothing.
    for (id, user, filter) in [("bobsub", "bob", "home/#"), ("evesub", "eve", "#")] {
        let (ok, _, err) = run_tool(
            &[
                "mosquitto_sub",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-c",
                "-i",
                id,
                "-u",
                user,
                "-q",
                "1",
                "-t",
                filter,
                "-E",
            ],
            10,
        )
        .await;
        assert!(ok, "mosquitto_sub {id}: {err}");
    }
    let s = state_until(&b, Some("home/lamp"), |s| s.clients.len() == 2).await;
    let read = |id: &str| {
        s.clients
            .iter()
            .find(|c| &*c.client_id == id)
            .and_then(|c| c.may_read)
    };
    assert_eq!(read("bobsub"), Some(true));
    assert_eq!(
        read("evesub"),
        Some(false),
        "eve matches with '#' but may not read"
    );
    assert_eq!(s.topic.as_deref(), Some("home/lamp"));
    let eve = s.clients.iter().find(|c| &*c.client_id == "evesub");
    assert_eq!(eve.and_then(|c| c.username.as_deref()), Some("eve"));
}
