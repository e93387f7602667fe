//! Message journeys and why notes (issue 12) on the real broker on a socket, provoked by real
//! clients (mosquitto's tools, or raw MQTT for what they cannot ask for): every line of a
//! message's life carries its broker-wide number, and each why note is attached to the line it
//! explains. The broker's bus is a journey bus, as in the workbench.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use mqtt_workbench::broker::event::{MessageNo, Why};
use mqtt_workbench::broker::{self, BrokerConfig, BrokerEvent, EventBus, LogEntry};
use tokio::sync::broadcast;

use crate::common::{RawClient, connect_packet, have_mosquitto, mqtt_str, packet, run_tool};

/// A broker with the workbench's journey lines on, and its log.
struct JourneyBroker {
    _handle: broker::BrokerHandle,
    port: String,
    addr: SocketAddr,
    log: broadcast::Receiver<LogEntry>,
    seen: Vec<LogEntry>,
}

async fn journey_broker(config: &str) -> JourneyBroker {
    let (cfg, _) = BrokerConfig::parse(&format!(
        "listener 0 127.0.0.1\nallow_anonymous true\n{config}"
    ))
    .expect("config");
    let events = EventBus::new(1 << 16).with_journeys();
    let log = events.subscribe();
    let listeners = broker::bind(&cfg, 0, &events).expect("bind loopback");
    let handle = broker::start(cfg, listeners, events).expect("start broker");
    let addr = handle
        .local_addrs
        .iter()
        .copied()
        .find(SocketAddr::is_ipv4)
        .expect("an ipv4 listener");
    JourneyBroker {
        _handle: handle,
        port: addr.port().to_string(),
        addr,
        log,
        seen: Vec::new(),
    }
}

impl JourneyBroker {
    /// Reads the log until a line containing `needle` appears; every line read is kept.
    async fn until(&mut self, needle: &str) -> LogEntry {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.log.recv()).await {
                Ok(Ok(e)) => {
                    self.seen.push(e.clone());
                    if e.event.to_string().contains(needle) {
                        return e;
                    }
                }
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                _ => panic!(
                    "no log line containing {needle:?}; saw:\n{}",
                    self.seen
                        .iter()
                        .map(|e| format!("{} {:?}", e.event, e.tag))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            }
        }
    }

    /// The kept lines of message `no`, as text.
    fn journey(&self, no: MessageNo) -> Vec<String> {
        self.seen
            .iter()
            .filter(|e| e.tag.msg == no)
            .map(|e| e.event.to_string())
            .collect()
    }

    /// A mosquitto tool against this broker, in the background (killed when dropped).
    fn spawn(&self, tool: &str, args: &[&str]) -> tokio::process::Child {
        tokio::process::Command::new(tool)
            .args(["-h", "127.0.0.1", "-p", &self.port])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn mosquitto tool")
    }

    /// Runs mosquitto_pub against this broker to its end.
    async fn publish(&self, args: &[&str]) {
        let mut all = vec!["mosquitto_pub", "-h", "127.0.0.1", "-p", &self.port];
        all.extend_from_slice(args);
        let (ok, _, err) = run_tool(&all, 10).await;
        assert!(ok, "mosquitto_pub {args:?}: {err}");
    }
}

#[tokio::test]
async fn a_qos2_message_carries_one_number_on_both_sides_and_keeps_mosquittos_wording() {
    if !have_mosquitto() {
        return;
    }
    let mut b = journey_broker("").await;
    let _sub = b.spawn(
        "mosquitto_sub",
        &["-i", "jsub", "-q", "2", "-t", "mqtt", "-C", "1"],
    );
    b.until("Sending SUBACK to jsub").await;
    b.publish(&["-i", "jpub", "-q", "2", "-t", "mqtt", "-m", "Hello2 mqtt"])
        .await;
    let received = b.until("Received PUBLISH from jpub").await;
    let no = received.tag.msg;
    assert_ne!(no, 0, "the PUBLISH got a message number");
    b.until("Received PUBCOMP from jsub").await;
    let lines = b.journey(no);
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l.split(" (").next().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "Received PUBLISH from jpub",
            "Sending PUBREC to jpub",
            "Received PUBREL from jpub",
            "Sending PUBLISH to jsub",
            "Sending PUBCOMP to jpub",
            "Received PUBREC from jsub",
            "Sending PUBREL to jsub",
            "Received PUBCOMP from jsub",
        ],
        "{lines:#?}"
    );
    // mosquitto's wording is untouched by the tag.
    assert!(
        lines[0].ends_with("(d0, q2, r0, m1, 'mqtt', ... (11 bytes))"),
        "{}",
        lines[0]
    );
    // No other line carries the number.
    assert_eq!(lines.len(), 8);
}

#[tokio::test]
async fn why_qos_downgrade_is_on_the_sending_publish_line() {
    if !have_mosquitto() {
        return;
    }
    let mut b = journey_broker("").await;
    let _sub = b.spawn(
        "mosquitto_sub",
        &["-i", "q0sub", "-q", "0", "-t", "dg", "-C", "1"],
    );
    b.until("Sending SUBACK to q0sub").await;
    b.publish(&["-i", "q1pub", "-q", "1", "-t", "dg", "-m", "x"])
        .await;
    let sent = b.until("Sending PUBLISH to q0sub").await;
    assert_eq!(
        sent.tag.why,
        Some(Why::QosDowngrade {
            published: 1,
            granted: 0
        }),
        "{}",
        sent.event
    );
    let received = b.until("Sending PUBACK to q1pub").await;
    assert_eq!(received.tag.msg, sent.tag.msg, "same journey");
    assert_eq!(received.tag.why, None);
}

#[tokio::test]
async fn why_retain_is_0_live_and_1_on_subscribe() {
    if !have_mosquitto() {
        return;
    }
    let mut b = journey_broker("").await;
    let _live = b.spawn("mosquitto_sub", &["-i", "live", "-t", "rt", "-C", "1"]);
    b.until("Sending SUBACK to live").await;
    b.publish(&["-i", "rpub", "-r", "-t", "rt", "-m", "kept"])
        .await;
    let live = b.until("Sending PUBLISH to live").await;
    assert!(live.event.to_string().contains("r0,"), "{}", live.event);
    assert_eq!(live.tag.why, Some(Why::RetainLive));
    let _late = b.spawn("mosquitto_sub", &["-i", "late", "-t", "rt", "-C", "1"]);
    let late = b.until("Sending PUBLISH to late").await;
    assert!(late.event.to_string().contains("r1,"), "{}", late.event);
    assert_eq!(late.tag.why, Some(Why::RetainOnSubscribe));
    assert!(
        late.tag.msg > live.tag.msg,
        "a subscribe-time delivery is a journey of its own"
    );
}

#[tokio::test]
async fn why_will_sent_when_the_socket_drops_and_discarded_on_disconnect() {
    if !have_mosquitto() {
        return;
    }
    let mut b = journey_broker("").await;
    let _watch = b.spawn("mosquitto_sub", &["-i", "watch", "-t", "will/#"]);
    b.until("Sending SUBACK to watch").await;
    let mut dying = b.spawn(
        "mosquitto_sub",
        &[
            "-i",
            "dying",
            "-t",
            "x",
            "--will-topic",
            "will/dying",
            "--will-payload",
            "gone",
        ],
    );
    b.until("Sending SUBACK to dying").await;
    dying.kill().await.expect("kill mosquitto_sub");
    let will = b.until("Will of dying published").await;
    assert_eq!(
        will.tag.why,
        Some(Why::WillSent(
            "the network connection closed without DISCONNECT"
        ))
    );
    let delivered = b.until("Sending PUBLISH to watch").await;
    assert_eq!(delivered.tag.msg, will.tag.msg, "the will's journey");

    b.publish(&[
        "-i",
        "tidy",
        "-t",
        "x",
        "-m",
        "m",
        "--will-topic",
        "will/tidy",
        "--will-payload",
        "gone",
    ])
    .await;
    let bye = b.until("Client tidy disconnected.").await;
    assert_eq!(bye.tag.why, Some(Why::WillDiscarded));
}

#[tokio::test]
async fn why_dollar_topics_on_the_wildcard_subscribe_and_the_publish_it_misses() {
    if !have_mosquitto() {
        return;
    }
    let mut b = journey_broker("").await;
    let _all = b.spawn("mosquitto_sub", &["-i", "all", "-t", "#"]);
    let sub = b.until("Received SUBSCRIBE from all").await;
    assert_eq!(sub.tag.why, Some(Why::DollarTopics));
    b.publish(&["-i", "dpub", "-t", "$app/x", "-m", "m"]).await;
    let received = b.until("Received PUBLISH from dpub").await;
    let missed = b.until("Not delivered to all").await;
    assert_eq!(missed.tag.why, Some(Why::DollarTopics));
    assert_eq!(missed.tag.msg, received.tag.msg);
}

#[tokio::test]
async fn why_no_subscriber_and_acl_denied() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let acl = dir.path().join("acl");
    std::fs::write(&acl, "topic write secret/#\ntopic readwrite open/#\n").expect("acl");
    let mut b = journey_broker(&format!("acl_file {}\n", acl.display())).await;
    b.publish(&["-i", "lonely", "-t", "open/nobody", "-m", "m"])
        .await;
    let received = b.until("Received PUBLISH from lonely").await;
    let none = b.until("Not delivered ('open/nobody')").await;
    assert_eq!(none.tag.why, Some(Why::NoSubscriber));
    assert_eq!(none.tag.msg, received.tag.msg);

    let _spy = b.spawn("mosquitto_sub", &["-i", "spy", "-t", "secret/#"]);
    b.until("Sending SUBACK to spy").await;
    b.publish(&["-i", "writer", "-t", "secret/plan", "-m", "m"])
        .await;
    let denied = b.until("Not delivered to spy").await;
    assert_eq!(denied.tag.why, Some(Why::AclDenied));
}

#[tokio::test]
async fn why_no_local_for_the_publishers_own_subscription() {
    let mut b = journey_broker("").await;
    let mut c = RawClient::connect(b.addr).await;
    c.send(&connect_packet(5, "loop", 0x02, 60)).await;
    assert_eq!(c.recv().await.map(|p| p[0]), Some(0x20), "CONNACK");
    // SUBSCRIBE (MQTT 5): packet id 1, no properties, `nl` with No Local (bit 2), QoS 0.
    let mut body = vec![0, 1, 0];
    body.extend(mqtt_str("nl"));
    body.push(0x04);
    c.send(&packet(0x82, &body)).await;
    assert_eq!(c.recv().await.map(|p| p[0]), Some(0x90), "SUBACK");
    // PUBLISH (MQTT 5) QoS 0 to `nl`, no properties.
    let mut body = mqtt_str("nl");
    body.push(0);
    body.extend_from_slice(b"echo");
    c.send(&packet(0x30, &body)).await;
    let received = b.until("Received PUBLISH from loop").await;
    let nl = b.until("Not delivered to loop").await;
    assert_eq!(nl.tag.why, Some(Why::NoLocal));
    assert_eq!(nl.tag.msg, received.tag.msg);
}

#[tokio::test]
async fn why_maximum_packet_size() {
    if !have_mosquitto() {
        return;
    }
    let mut b = journey_broker("").await;
    let _small = b.spawn(
        "mosquitto_sub",
        &[
            "-V",
            "5",
            "-i",
            "small",
            "-t",
            "big",
            "-D",
            "connect",
            "maximum-packet-size",
            "40",
        ],
    );
    b.until("Sending SUBACK to small").await;
    let payload = "x".repeat(100);
    b.publish(&["-i", "bigpub", "-t", "big", "-m", &payload])
        .await;
    let dropped = b.until("Not delivered to small").await;
    assert_eq!(dropped.tag.why, Some(Why::MaximumPacketSize));
}

#[tokio::test]
async fn why_message_expired_while_the_subscriber_was_away() {
    if !have_mosquitto() {
        return;
    }
    let mut b = journey_broker("").await;
    let sub = [
        "-V", "5", "-i", "away", "-c", "-x", "60", "-q", "1", "-t", "exp",
    ];
    let mut first = sub.to_vec();
    first.push("-E");
    let mut args = vec!["mosquitto_sub", "-h", "127.0.0.1", "-p", &b.port];
    args.extend_from_slice(&first);
    let (ok, _, err) = run_tool(&args, 10).await;
    assert!(ok, "{err}");
    b.until("Client away disconnected.").await;
    b.publish(&[
        "-V",
        "5",
        "-i",
        "epub",
        "-q",
        "1",
        "-t",
        "exp",
        "-m",
        "soon gone",
        "-D",
        "publish",
        "message-expiry-interval",
        "1",
    ])
    .await;
    let received = b.until("Received PUBLISH from epub").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let _back = b.spawn("mosquitto_sub", &sub);
    let expired = b.until("Not delivered to away").await;
    assert_eq!(expired.tag.why, Some(Why::Expired));
    assert_eq!(expired.tag.msg, received.tag.msg);
}

#[tokio::test]
async fn why_queue_full() {
    if !have_mosquitto() {
        return;
    }
    let mut b = journey_broker("max_queued_messages 1\n").await;
    let mut args = vec!["mosquitto_sub", "-h", "127.0.0.1", "-p", &b.port];
    args.extend_from_slice(&["-i", "slow", "-c", "-q", "1", "-t", "qf", "-E"]);
    let (ok, _, err) = run_tool(&args, 10).await;
    assert!(ok, "{err}");
    b.until("Client slow disconnected.").await;
    for m in ["one", "two"] {
        b.publish(&["-i", "qpub", "-q", "1", "-t", "qf", "-m", m])
            .await;
    }
    let full = b.until("Not delivered to slow").await;
    assert_eq!(full.tag.why, Some(Why::QueueFull));
    assert!(full.tag.msg > 0);
}

/// The headless `broker -v` never sees journey lines: a plain bus does not build them.
#[tokio::test]
async fn a_plain_bus_carries_no_journey_lines() {
    let (cfg, _) =
        BrokerConfig::parse("listener 0 127.0.0.1\nallow_anonymous true\n").expect("config");
    let events = EventBus::new(1 << 12);
    let mut log = events.subscribe();
    let listeners = broker::bind(&cfg, 0, &events).expect("bind");
    let handle = broker::start(cfg, listeners, events).expect("start");
    let addr = handle.local_addrs[0];
    let mut c = RawClient::connect(addr).await;
    c.send(&connect_packet(4, "plain", 0x02, 60)).await;
    assert!(c.recv().await.is_some(), "CONNACK");
    let mut body = mqtt_str("nobody");
    body.extend_from_slice(b"m");
    c.send(&packet(0x30, &body)).await;
    let mut seen = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_secs(5), log.recv())
            .await
            .expect("log line")
            .expect("open bus");
        let received = matches!(e.event, BrokerEvent::PublishReceived { .. });
        seen.push(e);
        if received {
            break;
        }
    }
    // Give a NotDelivered line the time to arrive if it were (wrongly) built.
    c.send(&[0xC0, 0x00]).await;
    let pong = c.recv().await;
    assert_eq!(pong, Some(vec![0xD0, 0x00]));
    while let Ok(e) = log.try_recv() {
        seen.push(e);
    }
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e.event, BrokerEvent::NotDelivered { .. })),
        "{seen:?}"
    );
    // The message number is still carried (the tag costs no formatting).
    assert!(
        seen.iter()
            .any(|e| matches!(e.event, BrokerEvent::PublishReceived { .. }) && e.tag.msg > 0)
    );
}

#[tokio::test]
async fn why_a_shared_group_gave_it_to_another_member() {
    if !have_mosquitto() {
        return;
    }
    let mut b = journey_broker("").await;
    let mut members = Vec::new();
    for id in ["m1", "m2"] {
        members.push(b.spawn(
            "mosquitto_sub",
            &["-V", "5", "-i", id, "-t", "$share/g/shared"],
        ));
        b.until(&format!("Sending SUBACK to {id}")).await;
    }
    b.publish(&["-i", "spub", "-t", "shared", "-m", "one"])
        .await;
    let received = b.until("Received PUBLISH from spub").await;
    let other = b.until("Not delivered to m").await;
    assert_eq!(other.tag.why, Some(Why::SharedGroupOtherMember));
    assert_eq!(other.tag.msg, received.tag.msg);
    let delivered = b.until("Sending PUBLISH to m").await;
    assert_eq!(delivered.tag.msg, received.tag.msg);
    let (skipped, got) = (other.event.client(), delivered.event.client());
    assert!(
        skipped.is_some() && got.is_some() && skipped != got,
        "one member each"
    );
}
