//! Broker semantics over raw sockets: sessions, QoS flows, retained messages, wills and
//! MQTT 5 features, checked byte by byte against the specification.
//!
//! Behaviour that depends on time (keep alive, will delay, session and message expiry,
//! redelivery on resume) is tested on tokio's paused clock by the socket-free router harness
//! in `src/broker/router/tests/`, not here with wall-clock sleeps.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use mqtt_workbench::broker::BrokerConfig;

use crate::common::*;

/// A received PUBLISH, decoded for assertions (3.1.1 layout unless `v5`).
#[derive(Debug, PartialEq, Eq)]
struct Pub {
    topic: String,
    qos: u8,
    retain: bool,
    dup: bool,
    pkid: u16,
    props: Vec<u8>,
    payload: Vec<u8>,
}

fn parse_publish(p: &[u8], v5: bool) -> Pub {
    assert_eq!(p[0] >> 4, 3, "not a PUBLISH: {p:02X?}");
    let mut i = 1;
    while p[i] & 0x80 != 0 {
        i += 1;
    }
    i += 1;
    let tlen = usize::from(u16::from_be_bytes([p[i], p[i + 1]]));
    let topic = String::from_utf8(p[i + 2..i + 2 + tlen].to_vec()).expect("utf8 topic");
    i += 2 + tlen;
    let qos = (p[0] >> 1) & 3;
    let mut pkid = 0;
    if qos > 0 {
        pkid = u16::from_be_bytes([p[i], p[i + 1]]);
        i += 2;
    }
    let mut props = Vec::new();
    if v5 {
        let n = usize::from(p[i]);
        assert!(n < 128, "long property lists not parsed here");
        props = p[i + 1..i + 1 + n].to_vec();
        i += 1 + n;
    }
    Pub {
        topic,
        qos,
        retain: p[0] & 1 == 1,
        dup: p[0] & 8 == 8,
        pkid,
        props,
        payload: p[i..].to_vec(),
    }
}

/// MQTT 5 CONNECT with a raw property block.
fn connect_v5_props(id: &str, flags: u8, keep_alive: u16, props: &[u8]) -> Vec<u8> {
    let mut body = mqtt_str("MQTT");
    body.push(5);
    body.push(flags);
    body.extend_from_slice(&keep_alive.to_be_bytes());
    body.extend(varint(props.len()));
    body.extend_from_slice(props);
    body.extend(mqtt_str(id));
    packet(0x10, &body)
}

/// MQTT 5 SUBSCRIBE with one filter, options byte and optional subscription identifier.
fn subscribe_v5(pkid: u16, filter: &str, options: u8, sub_id: Option<u8>) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    match sub_id {
        Some(id) => body.extend([2, 0x0B, id]),
        None => body.push(0),
    }
    body.extend(mqtt_str(filter));
    body.push(options);
    packet(0x82, &body)
}

/// MQTT 5 PUBLISH with raw properties.
fn publish_v5(
    topic: &str,
    qos: u8,
    retain: bool,
    pkid: u16,
    props: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut body = mqtt_str(topic);
    if qos > 0 {
        body.extend_from_slice(&pkid.to_be_bytes());
    }
    body.extend(varint(props.len()));
    body.extend_from_slice(props);
    body.extend_from_slice(payload);
    packet(0x30 | (qos << 1) | u8::from(retain), &body)
}

async fn v5_client(
    addr: std::net::SocketAddr,
    id: &str,
    flags: u8,
    props: &[u8],
) -> (RawClient, Vec<u8>) {
    let mut c = RawClient::connect(addr).await;
    c.send(&connect_v5_props(id, flags, 60, props)).await;
    let ack = c.recv().await.expect("CONNACK");
    assert_eq!(ack[0], 0x20);
    assert_eq!(ack[3], 0, "CONNACK reason: {ack:02X?}");
    (c, ack)
}

#[tokio::test]
async fn qos0_publish_reaches_a_subscriber() {
    let b = default_broker().await;
    let mut sub = RawClient::connect_v311(b.addr, "s1").await;
    sub.send(&subscribe_packet(1, "a/+", 0)).await;
    assert_eq!(sub.recv().await, Some(vec![0x90, 0x03, 0x00, 0x01, 0x00]));
    let mut publ = RawClient::connect_v311(b.addr, "p1").await;
    publ.send(&publish_packet("a/b", b"hi", 0, false, 0)).await;
    assert_eq!(
        sub.recv().await,
        Some(publish_packet("a/b", b"hi", 0, false, 0))
    );
}

#[tokio::test]
async fn first_packet_must_be_connect() {
    // [MQTT311-3.1.0-1] [MQTT5-3.1.0-1]
    let b = default_broker().await;
    let mut c = RawClient::connect(b.addr).await;
    c.send(&publish_packet("a", b"x", 0, false, 0)).await;
    assert!(c.closed_within(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn delivered_qos_is_the_minimum_of_published_and_granted() {
    // [MQTT311-3.8.4-6]; overlapping subscriptions deliver one copy at the highest QoS [MQTT311-3.3.5-1].
    let b = default_broker().await;
    let mut sub = RawClient::connect_v311(b.addr, "minq").await;
    sub.send(&subscribe_packet(1, "q/#", 1)).await;
    sub.recv().await.expect("SUBACK");
    sub.send(&subscribe_packet(2, "q/+", 0)).await;
    sub.recv().await.expect("SUBACK");
    let mut p = RawClient::connect_v311(b.addr, "minq-pub").await;
    p.send(&publish_packet("q/a", b"two", 2, false, 7)).await;
    assert_eq!(p.recv().await, Some(vec![0x50, 0x02, 0x00, 0x07])); // PUBREC
    p.send(&[0x62, 0x02, 0x00, 0x07]).await; // PUBREL
    assert_eq!(p.recv().await, Some(vec![0x70, 0x02, 0x00, 0x07])); // PUBCOMP
    let got = parse_publish(&sub.recv().await.expect("PUBLISH"), false);
    assert_eq!((got.qos, got.payload.as_slice()), (1, &b"two"[..]));
    sub.send(&[0x40, 0x02, (got.pkid >> 8) as u8, got.pkid as u8])
        .await;
    // Only one copy.
    assert_eq!(sub.recv_within(Duration::from_millis(300)).await, None);
}

#[tokio::test]
async fn qos2_duplicate_before_pubrel_is_not_delivered_twice() {
    // [MQTT311-4.3.3-2]
    let b = default_broker().await;
    let mut sub = RawClient::connect_v311(b.addr, "dupsub").await;
    sub.send(&subscribe_packet(1, "d", 0)).await;
    sub.recv().await.expect("SUBACK");
    let mut p = RawClient::connect_v311(b.addr, "duppub").await;
    p.send(&publish_packet("d", b"once", 2, false, 9)).await;
    assert_eq!(p.recv().await, Some(vec![0x50, 0x02, 0x00, 0x09]));
    let mut dup = publish_packet("d", b"once", 2, false, 9);
    dup[0] |= 0x08;
    p.send(&dup).await;
    assert_eq!(p.recv().await, Some(vec![0x50, 0x02, 0x00, 0x09]));
    p.send(&[0x62, 0x02, 0x00, 0x09]).await;
    assert_eq!(p.recv().await, Some(vec![0x70, 0x02, 0x00, 0x09]));
    assert_eq!(
        sub.recv().await,
        Some(publish_packet("d", b"once", 0, false, 0))
    );
    assert_eq!(sub.recv_within(Duration::from_millis(300)).await, None);
}

#[tokio::test]
async fn client_id_takeover_closes_the_old_connection() {
    // [MQTT311-3.1.4-2] [MQTT5-3.1.4-3]; MQTT 5 gets DISCONNECT 0x8E first.
    let mut b = default_broker().await;
    let (mut old, _) = v5_client(b.addr, "dupid", 0x02, &[]).await;
    let _new = RawClient::connect_v311(b.addr, "dupid").await;
    assert_eq!(old.recv().await, Some(vec![0xE0, 0x02, 0x8E, 0x00]));
    assert!(old.closed_within(Duration::from_secs(5)).await);
    b.wait_log("Client dupid already connected, closing old connection.")
        .await;
}

#[tokio::test]
async fn dollar_topics_do_not_match_leading_wildcards() {
    // [MQTT311-4.7.2-1]: `#` never sees $SYS; `$SYS/#` does.
    let cfg = BrokerConfig {
        sys_interval: 1,
        ..BrokerConfig::default()
    };
    let b = start_broker(cfg).await;
    let mut all = RawClient::connect_v311(b.addr, "all").await;
    all.send(&subscribe_packet(1, "#", 0)).await;
    all.recv().await.expect("SUBACK");
    let mut sys = RawClient::connect_v311(b.addr, "sys").await;
    sys.send(&subscribe_packet(1, "$SYS/broker/version", 0))
        .await;
    sys.recv().await.expect("SUBACK");
    let got = parse_publish(&sys.recv().await.expect("$SYS message"), false);
    assert_eq!(got.topic, "$SYS/broker/version");
    assert!(String::from_utf8_lossy(&got.payload).starts_with("mqtt-workbench version"));
    assert_eq!(
        all.recv_within(Duration::from_millis(1500)).await,
        None,
        "'#' received a $SYS topic"
    );
}

#[tokio::test]
async fn every_retained_message_reaches_a_wildcard_subscriber() {
    // [MQTT311-3.3.1-6]: all of them, not cut by queue limits (mosquitto#3096).
    let cfg = BrokerConfig {
        max_queued_messages: 100,
        ..BrokerConfig::default()
    };
    let b = start_broker(cfg).await;
    let mut p = RawClient::connect_v311(b.addr, "retainer").await;
    let n = 3000;
    let mut batch = Vec::new();
    for i in 0..n {
        batch.extend(publish_packet(
            &format!("r/{}/{i}", i % 7),
            b"v",
            0,
            true,
            0,
        ));
    }
    p.send(&batch).await;
    p.send(&[0xC0, 0x00]).await;
    assert_eq!(p.recv().await, Some(vec![0xD0, 0x00]));
    let mut s = RawClient::connect_v311(b.addr, "late").await;
    s.send(&subscribe_packet(1, "r/#", 1)).await;
    s.recv().await.expect("SUBACK");
    let mut count = 0;
    while count < n {
        let Some(msg) = s.recv().await else { break };
        let got = parse_publish(&msg, false);
        assert!(got.retain);
        if got.qos == 1 {
            s.send(&[0x40, 0x02, (got.pkid >> 8) as u8, got.pkid as u8])
                .await;
        }
        count += 1;
    }
    assert_eq!(count, n);
}

#[tokio::test]
async fn offline_queue_is_bounded() {
    let cfg = BrokerConfig {
        max_queued_messages: 5,
        ..BrokerConfig::default()
    };
    let mut b = start_broker(cfg).await;
    let mut c = RawClient::connect(b.addr).await;
    c.send(&connect_packet(4, "bounded", 0x00, 60)).await;
    c.recv().await.expect("CONNACK");
    c.send(&subscribe_packet(1, "b", 1)).await;
    c.recv().await.expect("SUBACK");
    c.send(&[0xE0, 0x00]).await;
    assert!(c.closed_within(Duration::from_secs(5)).await);
    let mut p = RawClient::connect_v311(b.addr, "flooder").await;
    for i in 1..=20u16 {
        p.send(&publish_packet("b", &i.to_be_bytes(), 1, false, i))
            .await;
        p.recv().await.expect("PUBACK");
    }
    let mut c = RawClient::connect(b.addr).await;
    c.send(&connect_packet(4, "bounded", 0x00, 60)).await;
    assert_eq!(c.recv().await, Some(vec![0x20, 0x02, 0x01, 0x00]));
    let mut got = Vec::new();
    while let Some(m) = c.recv_within(Duration::from_millis(500)).await {
        let m = parse_publish(&m, false);
        c.send(&[0x40, 0x02, (m.pkid >> 8) as u8, m.pkid as u8])
            .await;
        got.push(u16::from_be_bytes([m.payload[0], m.payload[1]]));
    }
    // The oldest five were kept, in order, and the drop was logged once, in mosquitto's words.
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    b.wait_log("Outgoing messages are being dropped for client bounded.")
        .await;
}

#[tokio::test]
async fn qos1_messages_arrive_in_order() {
    // [MQTT311-4.6.0-5], [MQTT311-4.6.0-6]. Unlimited queue: with mosquitto's default of 1000, a burst of 2000 at a
    // subscriber that acknowledges one at a time would (correctly) drop the excess.
    let cfg = BrokerConfig {
        max_queued_messages: 0,
        ..BrokerConfig::default()
    };
    let b = start_broker(cfg).await;
    let mut s = RawClient::connect_v311(b.addr, "order-sub").await;
    s.send(&subscribe_packet(1, "o", 1)).await;
    s.recv().await.expect("SUBACK");
    let mut p = RawClient::connect_v311(b.addr, "order-pub").await;
    let n = 2000u32;
    let mut batch = Vec::new();
    for i in 0..n {
        batch.extend(publish_packet(
            "o",
            &i.to_be_bytes(),
            1,
            false,
            (i % 60000 + 1) as u16,
        ));
    }
    p.send(&batch).await;
    for i in 0..n {
        let m = parse_publish(&s.recv().await.expect("message"), false);
        assert_eq!(m.payload, i.to_be_bytes(), "out of order at {i}");
        s.send(&[0x40, 0x02, (m.pkid >> 8) as u8, m.pkid as u8])
            .await;
    }
}

// ----- MQTT 5 -----------------------------------------------------------------------------

#[tokio::test]
async fn v5_assigned_client_identifier_is_returned() {
    // [MQTT5-3.1.3-7], [MQTT5-3.2.2-16]
    let b = default_broker().await;
    let (_c, ack) = v5_client(b.addr, "", 0x02, &[]).await;
    let pos = ack
        .iter()
        .position(|&x| x == 0x12)
        .expect("Assigned Client Identifier property");
    let len = usize::from(u16::from_be_bytes([ack[pos + 1], ack[pos + 2]]));
    let id = String::from_utf8_lossy(&ack[pos + 3..pos + 3 + len]);
    assert!(id.starts_with("auto-"), "{id}");
}

#[tokio::test]
async fn v5_disconnect_with_will_publishes_the_will() {
    // §3.14.2.1 reason 0x04
    let b = default_broker().await;
    let mut watcher = RawClient::connect_v311(b.addr, "dw-watch").await;
    watcher.send(&subscribe_packet(1, "dw", 0)).await;
    watcher.recv().await.expect("SUBACK");
    let mut body = mqtt_str("MQTT");
    body.extend([5, 0x06, 0, 60, 0]);
    body.extend(mqtt_str("dw-client"));
    body.push(0);
    body.extend(mqtt_str("dw"));
    body.extend(mqtt_str("bye"));
    let mut c = RawClient::connect(b.addr).await;
    c.send(&packet(0x10, &body)).await;
    c.recv().await.expect("CONNACK");
    c.send(&[0xE0, 0x01, 0x04]).await;
    assert_eq!(
        watcher.recv().await,
        Some(publish_packet("dw", b"bye", 0, false, 0))
    );
}

#[tokio::test]
async fn v5_properties_pass_through_and_subscription_ids_are_added() {
    // [MQTT5-3.3.2-4], [MQTT5-3.3.2-16..-20], [MQTT5-3.3.4-3]
    let b = default_broker().await;
    let (mut s, _) = v5_client(b.addr, "props-sub", 0x02, &[]).await;
    s.send(&subscribe_v5(1, "pp/#", 0x00, Some(7))).await;
    s.recv().await.expect("SUBACK");
    let (mut p, _) = v5_client(b.addr, "props-pub", 0x02, &[]).await;
    let mut props = vec![0x01, 0x01]; // payload format: UTF-8
    props.extend([0x03, 0x00, 0x04]);
    props.extend(b"text");
    props.extend([0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v']);
    p.send(&publish_v5("pp/x", 0, false, 0, &props, b"hello"))
        .await;
    let got = parse_publish(&s.recv().await.expect("PUBLISH"), true);
    assert_eq!(got.payload, b"hello");
    // Property order is free except among User Properties; check each one is there.
    let has = |part: &[u8]| got.props.windows(part.len()).any(|w| w == part);
    assert!(has(&[0x01, 0x01]), "payload format: {:02X?}", got.props);
    assert!(
        has(&[0x03, 0x00, 0x04, b't', b'e', b'x', b't']),
        "content type"
    );
    assert!(
        has(&[0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v']),
        "user property"
    );
    assert!(has(&[0x0B, 0x07]), "subscription identifier");
    assert_eq!(got.props.len(), props.len() + 2);
}

#[tokio::test]
async fn v5_no_local_and_retain_handling() {
    // [MQTT5-3.8.3-3] No Local; Retain Handling 2 sends no retained messages.
    let b = default_broker().await;
    let (mut c, _) = v5_client(b.addr, "nl", 0x02, &[]).await;
    c.send(&publish_v5("nl/r", 0, true, 0, &[], b"kept")).await;
    c.send(&subscribe_v5(1, "nl/#", 0x04 | 0x20, None)).await; // No Local, Retain Handling 2
    assert_eq!(
        c.recv().await,
        Some(vec![0x90, 0x04, 0x00, 0x01, 0x00, 0x00])
    );
    c.send(&publish_v5("nl/x", 0, false, 0, &[], b"mine")).await;
    assert_eq!(c.recv_within(Duration::from_millis(300)).await, None);
    // Retain As Published keeps RETAIN=1 on live delivery; Retain Handling 0 sends the stored one.
    let (mut s, _) = v5_client(b.addr, "rap", 0x02, &[]).await;
    s.send(&subscribe_v5(1, "nl/#", 0x08, None)).await;
    s.recv().await.expect("SUBACK");
    let stored = parse_publish(&s.recv().await.expect("retained"), true);
    assert!(stored.retain);
    c.send(&publish_v5("nl/r", 0, true, 0, &[], b"again")).await;
    let live = parse_publish(&s.recv().await.expect("live"), true);
    assert!(live.retain, "retain as published");
}

#[tokio::test]
async fn v5_receive_maximum_limits_messages_in_flight() {
    // [MQTT5-3.3.4-9]: never more unacknowledged QoS 1 messages than the client's Receive Maximum.
    let b = default_broker().await;
    let (mut s, _) = v5_client(b.addr, "rm", 0x02, &[0x21, 0x00, 0x01]).await;
    s.send(&subscribe_v5(1, "rm", 0x01, None)).await;
    s.recv().await.expect("SUBACK");
    let (mut p, _) = v5_client(b.addr, "rm-pub", 0x02, &[]).await;
    for i in 1..=3u16 {
        p.send(&publish_v5("rm", 1, false, i, &[], &i.to_be_bytes()))
            .await;
        p.recv().await.expect("PUBACK");
    }
    for i in 1..=3u16 {
        let m = parse_publish(&s.recv().await.expect("message"), true);
        assert_eq!(m.payload, i.to_be_bytes());
        // Nothing more until this one is acknowledged.
        assert_eq!(s.recv_within(Duration::from_millis(200)).await, None);
        s.send(&[0x40, 0x02, (m.pkid >> 8) as u8, m.pkid as u8])
            .await;
    }
}

#[tokio::test]
async fn v5_topic_alias_maps_a_topic_for_later_publishes() {
    // §3.3.2.3.4
    let b = default_broker().await;
    let (mut s, _) = v5_client(b.addr, "alias-sub", 0x02, &[]).await;
    s.send(&subscribe_v5(1, "al/#", 0, None)).await;
    s.recv().await.expect("SUBACK");
    let (mut p, ack) = v5_client(b.addr, "alias-pub", 0x02, &[]).await;
    assert!(
        ack.windows(3).any(|w| w == [0x22, 0x00, 0x0A]),
        "Topic Alias Maximum 10: {ack:02X?}"
    );
    p.send(&publish_v5(
        "al/long/topic",
        0,
        false,
        0,
        &[0x23, 0x00, 0x01],
        b"one",
    ))
    .await;
    p.send(&publish_v5("", 0, false, 0, &[0x23, 0x00, 0x01], b"two"))
        .await;
    for payload in [&b"one"[..], b"two"] {
        let m = parse_publish(&s.recv().await.expect("message"), true);
        assert_eq!(
            (m.topic.as_str(), m.payload.as_slice()),
            ("al/long/topic", payload)
        );
        assert!(m.props.is_empty(), "the alias is not forwarded");
    }
}

#[tokio::test]
async fn shared_subscription_spreads_messages_over_members() {
    // MQTT 5 §4.8.2
    let b = default_broker().await;
    let mut m1 = RawClient::connect_v311(b.addr, "worker1").await;
    let mut m2 = RawClient::connect_v311(b.addr, "worker2").await;
    for m in [&mut m1, &mut m2] {
        m.send(&subscribe_packet(1, "$share/g1/jobs/#", 0)).await;
        m.recv().await.expect("SUBACK");
    }
    let mut p = RawClient::connect_v311(b.addr, "jobber").await;
    for i in 0..10u8 {
        p.send(&publish_packet("jobs/x", &[i], 0, false, 0)).await;
    }
    let mut got = Vec::new();
    for m in [&mut m1, &mut m2] {
        let mut n = 0;
        while let Some(pk) = m.recv_within(Duration::from_millis(500)).await {
            got.push(parse_publish(&pk, false).payload[0]);
            n += 1;
        }
        assert!(n > 0, "a member received nothing");
    }
    got.sort_unstable();
    assert_eq!(got, (0..10).collect::<Vec<u8>>());
}

#[tokio::test]
async fn unsubscribe_stops_delivery_and_acks_unknown_filters() {
    // [MQTT5-3.10.4-1..-5]
    let b = default_broker().await;
    let (mut c, _) = v5_client(b.addr, "unsub", 0x02, &[]).await;
    c.send(&subscribe_v5(1, "u/#", 0, None)).await;
    c.recv().await.expect("SUBACK");
    let mut body = vec![0x00, 0x02, 0x00];
    body.extend(mqtt_str("u/#"));
    body.extend(mqtt_str("never/subscribed"));
    c.send(&packet(0xA2, &body)).await;
    assert_eq!(
        c.recv().await,
        Some(vec![0xB0, 0x05, 0x00, 0x02, 0x00, 0x00, 0x11])
    );
    let mut p = RawClient::connect_v311(b.addr, "unsub-pub").await;
    p.send(&publish_packet("u/1", b"x", 0, false, 0)).await;
    assert_eq!(c.recv_within(Duration::from_millis(300)).await, None);
}

#[tokio::test]
async fn password_file_from_mosquitto_passwd_is_honoured() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = dir.path().join("passwd");
    let (ok, _, err) = run_tool(
        &[
            "mosquitto_passwd",
            "-c",
            "-b",
            pw.to_str().expect("path"),
            "alice",
            "secret",
        ],
        10,
    )
    .await;
    assert!(ok, "mosquitto_passwd: {err}");
    let text = format!("listener 0 127.0.0.1\npassword_file {}\n", pw.display());
    let (cfg, _) = BrokerConfig::parse(&text).expect("config");
    let b = start_broker(cfg).await;
    let login = |user: Option<&str>, pass: Option<&str>| {
        let mut flags = 0x02;
        let mut tail = Vec::new();
        if let Some(u) = user {
            flags |= 0x80;
            tail.extend(mqtt_str(u));
        }
        if let Some(p) = pass {
            flags |= 0x40;
            tail.extend(mqtt_str(p));
        }
        let mut body = mqtt_str("MQTT");
        body.extend([4, flags, 0, 60]);
        body.extend(mqtt_str("login"));
        body.extend(tail);
        packet(0x10, &body)
    };
    let cases = [
        (Some("alice"), Some("secret"), 0x00),
        // Not authorised (5), as mosquitto answers; see docs/broker.md on the CONNACK code
        // for a wrong password.
        (Some("alice"), Some("wrong"), 0x05),
        (Some("mallory"), Some("secret"), 0x05),
        (None, None, 0x05), // anonymous not allowed once a listener is configured
    ];
    for (user, pass, code) in cases {
        let mut c = RawClient::connect(b.addr).await;
        c.send(&login(user, pass)).await;
        assert_eq!(
            c.recv().await,
            Some(vec![0x20, 0x02, 0x00, code]),
            "{user:?}/{pass:?}"
        );
    }
}

#[tokio::test]
async fn a_stalled_subscriber_does_not_stall_the_broker() {
    // Back-pressure slows publishers to their consumers' pace, but a consumer that makes no
    // progress stops counting after a moment: the others go on, and its excess is dropped.
    let b = default_broker().await;
    let mut stalled = RawClient::connect_v311(b.addr, "stalled").await;
    stalled.send(&subscribe_packet(1, "flood", 0)).await;
    stalled.recv().await.expect("SUBACK");
    let mut live = RawClient::connect_v311(b.addr, "live").await;
    live.send(&subscribe_packet(1, "flood", 0)).await;
    live.recv().await.expect("SUBACK");
    let n = 20_000u32;
    let publisher = tokio::spawn(async move {
        let mut p = RawClient::connect_v311(b.addr, "flooder").await;
        let payload = vec![b'x'; 512];
        let mut batch = Vec::new();
        for i in 0..n {
            let mut body = payload.clone();
            body[..4].copy_from_slice(&i.to_be_bytes());
            batch.extend(publish_packet("flood", &body, 0, false, 0));
            if batch.len() > 64 * 1024 {
                p.send(&batch).await;
                batch.clear();
            }
        }
        p.send(&batch).await;
        p.send(&[0xC0, 0x00]).await;
        assert_eq!(
            p.recv_within(Duration::from_secs(30)).await,
            Some(vec![0xD0, 0x00])
        );
        b
    });
    // The live subscriber receives every message, in order, although `stalled` never reads.
    for i in 0..n {
        let m = live
            .recv_within(Duration::from_secs(30))
            .await
            .expect("live delivery");
        let got = parse_publish(&m, false);
        assert_eq!(got.payload[..4], i.to_be_bytes(), "message {i}");
    }
    let b = publisher.await.expect("publisher");
    let mut canary = RawClient::connect_v311(b.addr, "canary").await;
    canary.send(&[0xC0, 0x00]).await;
    assert_eq!(canary.recv().await, Some(vec![0xD0, 0x00]));
    drop(stalled);
}

#[tokio::test]
async fn websocket_listener_serves_mqtt_clients() {
    // MQTT over WebSockets (§6): a `protocol websockets` listener beside a TCP one.
    let (cfg, _) = BrokerConfig::parse(
        "listener 0 127.0.0.1\nallow_anonymous true\nlistener 0 127.0.0.1\nprotocol websockets\n",
    )
    .expect("config");
    let b = start_broker(cfg).await;
    let ws = b.handle.local_addrs[1];
    let bin = assert_cmd::cargo::cargo_bin("mqtt-workbench");
    let url = format!("ws://127.0.0.1:{}/mqtt", ws.port());
    let sub = tokio::process::Command::new(&bin)
        .args([
            "sub", "-L", &url, "-t", "over/ws", "-v", "-C", "1", "-W", "10",
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sub over ws");
    // Publish over plain TCP until the WebSocket subscriber has its subscription.
    let mut p = RawClient::connect_v311(b.addr, "tcp-pub").await;
    let mut out = None;
    let waiter = tokio::spawn(sub.wait_with_output());
    for _ in 0..50 {
        p.send(&publish_packet("over/ws", b"framed", 0, false, 0))
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if waiter.is_finished() {
            out = Some(waiter.await.expect("join").expect("output"));
            break;
        }
    }
    let out = out.expect("the WebSocket subscriber received a message");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "over/ws framed\n");
}

#[tokio::test]
async fn live_stats_count_clients_and_messages() {
    let b = default_broker().await;
    let mut s = RawClient::connect_v311(b.addr, "stats-sub").await;
    s.send(&subscribe_packet(1, "st", 0)).await;
    s.recv().await.expect("SUBACK");
    let mut p = RawClient::connect_v311(b.addr, "stats-pub").await;
    for _ in 0..3 {
        p.send(&publish_packet("st", b"x", 0, false, 0)).await;
    }
    for _ in 0..3 {
        s.recv().await.expect("delivery");
    }
    let stats = b.handle.stats();
    assert_eq!(stats.clients_connected, 2);
    assert_eq!((stats.publish_received, stats.publish_sent), (3, 3));
    assert!(stats.bytes_received > 0 && stats.bytes_sent > 0);
}

#[tokio::test]
async fn persistence_keeps_retained_messages_and_sessions_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = || BrokerConfig {
        persistence: true,
        persistence_location: Some(dir.path().to_owned()),
        ..BrokerConfig::default()
    };
    let b = start_broker(cfg()).await;
    let mut p = RawClient::connect_v311(b.addr, "persist-pub").await;
    p.send(&publish_packet("keep/r", b"kept", 1, true, 1)).await;
    p.recv().await.expect("PUBACK");
    // `$` topics other than $SYS are kept too [MQTT311-3.1.2-7].
    p.send(&publish_packet("$app/state", b"dollar", 1, true, 3))
        .await;
    p.recv().await.expect("PUBACK");
    let mut s = RawClient::connect(b.addr).await;
    s.send(&connect_packet(4, "survivor", 0x00, 60)).await;
    s.recv().await.expect("CONNACK");
    s.send(&subscribe_packet(1, "keep/q", 1)).await;
    s.recv().await.expect("SUBACK");
    s.send(&[0xE0, 0x00]).await;
    assert!(s.closed_within(Duration::from_secs(5)).await);
    p.send(&publish_packet("keep/q", b"queued", 1, false, 2))
        .await;
    p.recv().await.expect("PUBACK");
    b.handle.shutdown().await;
    let file = dir.path().join("mqtt-workbench.db");
    assert!(file.exists(), "nothing was saved");

    let mut b = start_broker(cfg()).await;
    b.wait_log("Restored 2 retained messages and 1 sessions")
        .await;
    let mut s = RawClient::connect(b.addr).await;
    s.send(&connect_packet(4, "survivor", 0x00, 60)).await;
    assert_eq!(
        s.recv().await,
        Some(vec![0x20, 0x02, 0x01, 0x00]),
        "session present"
    );
    let m = parse_publish(&s.recv().await.expect("queued message"), false);
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("keep/q", &b"queued"[..])
    );
    let mut late = RawClient::connect_v311(b.addr, "late").await;
    late.send(&subscribe_packet(1, "keep/#", 0)).await;
    late.recv().await.expect("SUBACK");
    let r = parse_publish(&late.recv().await.expect("retained"), false);
    assert_eq!(
        (r.topic.as_str(), r.payload.as_slice(), r.retain),
        ("keep/r", &b"kept"[..], true)
    );
    late.send(&subscribe_packet(2, "$app/#", 0)).await;
    late.recv().await.expect("SUBACK");
    let r = parse_publish(&late.recv().await.expect("$ retained"), false);
    assert_eq!(
        (r.topic.as_str(), r.payload.as_slice()),
        ("$app/state", &b"dollar"[..])
    );
    b.handle.shutdown().await;

    // A damaged file stops the start and is left as it was.
    std::fs::write(&file, b"not json").expect("write");
    let events = mqtt_workbench::broker::EventBus::new(16);
    let listeners = mqtt_workbench::broker::bind(&cfg(), 0, &events).expect("bind");
    let err = mqtt_workbench::broker::start(cfg(), listeners, events).expect_err("refused");
    assert!(err.to_string().contains("mqtt-workbench.db"), "{err}");
    assert_eq!(std::fs::read(&file).expect("read"), b"not json");
}

/// CONNECT (3.1.1 or 5) with a user name and no password.
fn connect_as(level: u8, id: &str, user: &str) -> Vec<u8> {
    let mut body = mqtt_str("MQTT");
    body.extend([level, 0x82, 0, 60]);
    if level == 5 {
        body.push(0);
    }
    body.extend(mqtt_str(id));
    body.extend(mqtt_str(user));
    packet(0x10, &body)
}

#[tokio::test]
async fn acl_file_grants_and_denies_like_mosquitto() {
    // bob may read home/#, alice may read and write it; everything else is denied.
    let dir = tempfile::tempdir().expect("tempdir");
    let acl = dir.path().join("acl");
    std::fs::write(
        &acl,
        "topic write other/#\nuser bob\ntopic read home/#\nuser alice\ntopic readwrite home/#\n",
    )
    .expect("write acl");
    let text = format!(
        "listener 0 127.0.0.1\nallow_anonymous true\nacl_file {}\n",
        acl.display()
    );
    let (cfg, _) = BrokerConfig::parse(&text).expect("config");
    let mut b = start_broker(cfg).await;
    let addr = b.addr;
    let login = |level, id: &str, user: &str| {
        let bytes = connect_as(level, id, user);
        async move {
            let mut c = RawClient::connect(addr).await;
            c.send(&bytes).await;
            let ack = c.recv().await.expect("CONNACK");
            assert_eq!(ack[3], 0, "{ack:02X?}");
            c
        }
    };
    let mut bob = login(4, "bobsub", "bob").await;
    bob.send(&subscribe_packet(1, "home/#", 1)).await;
    bob.recv().await.expect("SUBACK");
    // bob may not publish: 3.1.1 still gets a plain PUBACK, the log says Denied and rc135.
    let mut bobpub = login(4, "bobpub", "bob").await;
    bobpub
        .send(&publish_packet("home/lamp", b"on", 1, false, 1))
        .await;
    assert_eq!(bobpub.recv().await, Some(vec![0x40, 0x02, 0x00, 0x01]));
    b.wait_log("Denied PUBLISH from bobpub (d0, q1, r0, m1, 'home/lamp', ... (2 bytes))")
        .await;
    b.wait_log("Sending PUBACK to bobpub (m1, rc135)").await;
    assert_eq!(
        bob.recv_within(Duration::from_millis(300)).await,
        None,
        "denied message delivered"
    );
    // MQTT 5 learns why: PUBACK 0x87.
    let mut bob5 = login(5, "bob5", "bob").await;
    bob5.send(&publish_v5("home/lamp", 1, false, 2, &[], b"on"))
        .await;
    assert_eq!(bob5.recv().await, Some(vec![0x40, 0x03, 0x00, 0x02, 0x87]));
    // alice may: bob reads it.
    let mut alice = login(4, "alicepub", "alice").await;
    alice
        .send(&publish_packet("home/lamp", b"off", 0, false, 0))
        .await;
    let got = parse_publish(&bob.recv().await.expect("delivery"), false);
    assert_eq!(got.payload, b"off");
    // Granted writes are still filtered at delivery: anonymous may write other/#, but alice may
    // not read it, so her subscription gets nothing (and the publish is not Denied).
    alice.send(&subscribe_packet(1, "other/#", 0)).await;
    alice.recv().await.expect("SUBACK");
    let mut anon = RawClient::connect_v311(addr, "anon").await;
    anon.send(&publish_packet("other/x", b"x", 1, false, 5))
        .await;
    assert_eq!(anon.recv().await, Some(vec![0x40, 0x02, 0x00, 0x05]));
    b.wait_log("Received PUBLISH from anon (d0, q1, r0, m5, 'other/x', ... (1 bytes))")
        .await;
    assert_eq!(alice.recv_within(Duration::from_millis(300)).await, None);
}

#[tokio::test]
async fn tls_listener_serves_mosquitto_sub_with_cafile() {
    // A TLS listener (certfile/keyfile) beside a plain one; mosquitto_sub (OpenSSL) verifies
    // the chain with --cafile and receives a message published over plain TCP.
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = crate::profile_cli::make_certs(dir.path(), "broker-test-ca");
    let text = format!(
        "listener 0 127.0.0.1\nallow_anonymous true\nlistener 0 127.0.0.1\ncertfile {cert}\nkeyfile {key}\n"
    );
    let (cfg, _) = BrokerConfig::parse(&text).expect("config");
    let b = start_broker(cfg).await;
    let tls_port = b.handle.local_addrs[1].port().to_string();
    let sub = tokio::process::Command::new("mosquitto_sub")
        .args([
            "-h",
            "localhost",
            "-p",
            &tls_port,
            "--cafile",
            &ca,
            "-t",
            "secure/t",
            "-v",
            "-C",
            "1",
            "-W",
            "10",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto_sub");
    let waiter = tokio::spawn(sub.wait_with_output());
    let mut p = RawClient::connect_v311(b.addr, "plain-pub").await;
    let mut out = None;
    for _ in 0..50 {
        p.send(&publish_packet("secure/t", b"over tls", 0, false, 0))
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if waiter.is_finished() {
            out = Some(waiter.await.expect("join").expect("output"));
            break;
        }
    }
    let out = out.expect("the TLS subscriber finished");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "secure/t over tls\n",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A missing key file is a start-up error naming the listener and the file.
    let bad = format!("listener 0 127.0.0.1\ncertfile {cert}\nkeyfile /nonexistent/key.pem\n");
    let (cfg, _) = BrokerConfig::parse(&bad).expect("config");
    let events = mqtt_workbench::broker::EventBus::new(16);
    let err = mqtt_workbench::broker::bind(&cfg, 0, &events)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("/nonexistent/key.pem"), "{err}");
}

#[tokio::test]
async fn packets_pipelined_with_connect_are_handled_at_once() {
    // A client may send SUBSCRIBE, PUBLISH and DISCONNECT right behind CONNECT, in one write.
    let b = default_broker().await;
    let mut c = RawClient::connect(b.addr).await;
    let mut burst = connect_packet(4, "pipelined", 0x02, 60);
    burst.extend(subscribe_packet(1, "pipe/#", 0));
    c.send(&burst).await;
    assert_eq!(c.recv().await, Some(vec![0x20, 0x02, 0x00, 0x00]));
    assert_eq!(
        c.recv().await,
        Some(vec![0x90, 0x03, 0x00, 0x01, 0x00]),
        "SUBACK without another read"
    );
    // CONNECT (with a will) + PUBLISH + DISCONNECT, then the client closes: the message goes
    // out and the will does not [MQTT311-3.14.4-3].
    let mut body = mqtt_str("MQTT");
    body.extend([4, 0x06, 0, 60]);
    body.extend(mqtt_str("pipe7"));
    body.extend(mqtt_str("pipe/will"));
    body.extend(mqtt_str("gone"));
    let mut burst = packet(0x10, &body);
    burst.extend(publish_packet("pipe/data", b"data", 0, false, 0));
    burst.extend([0xE0, 0x00]);
    let mut p = RawClient::connect(b.addr).await;
    p.send(&burst).await;
    p.stream.shutdown().await.expect("shutdown");
    assert_eq!(
        c.recv().await,
        Some(publish_packet("pipe/data", b"data", 0, false, 0))
    );
    assert_eq!(
        c.recv_within(Duration::from_millis(300)).await,
        None,
        "the will was published"
    );
}

#[tokio::test]
async fn taking_over_a_clean_session_does_not_resume_it() {
    // [MQTT311-3.1.2-6]: a clean session ends with its connection, even when the client that
    // takes its id over asks for a persistent one.
    let b = default_broker().await;
    let mut old = RawClient::connect_v311(b.addr, "tk").await;
    old.send(&subscribe_packet(1, "tk/x", 1)).await;
    old.recv().await.expect("SUBACK");
    let mut new = RawClient::connect(b.addr).await;
    new.send(&connect_packet(4, "tk", 0x00, 60)).await;
    assert_eq!(
        new.recv().await,
        Some(vec![0x20, 0x02, 0x00, 0x00]),
        "no session present"
    );
    let mut p = RawClient::connect_v311(b.addr, "tk-pub").await;
    p.send(&publish_packet("tk/x", b"x", 1, false, 1)).await;
    p.recv().await.expect("PUBACK");
    assert_eq!(
        new.recv_within(Duration::from_millis(300)).await,
        None,
        "old subscription kept"
    );
}

#[tokio::test]
async fn v5_message_expiry_of_zero_means_no_expiry() {
    let b = default_broker().await;
    let (mut s, _) = v5_client(b.addr, "exp0-sub", 0x02, &[]).await;
    s.send(&subscribe_v5(1, "e0", 0x01, None)).await;
    s.recv().await.expect("SUBACK");
    let (mut p, _) = v5_client(b.addr, "exp0-pub", 0x02, &[]).await;
    p.send(&publish_v5("e0", 1, false, 1, &[0x02, 0, 0, 0, 0], b"kept"))
        .await;
    p.recv().await.expect("PUBACK");
    let m = parse_publish(&s.recv().await.expect("delivered"), true);
    assert_eq!(m.payload, b"kept");
}

#[tokio::test]
async fn v5_disconnect_with_an_error_reason_keeps_the_will() {
    // [MQTT5-3.14.4-3]: only reason 0x00 discards the will.
    let b = default_broker().await;
    let mut watcher = RawClient::connect_v311(b.addr, "dr-watch").await;
    watcher.send(&subscribe_packet(1, "dr", 0)).await;
    watcher.recv().await.expect("SUBACK");
    let mut body = mqtt_str("MQTT");
    body.extend([5, 0x06, 0, 60, 0]);
    body.extend(mqtt_str("dr-client"));
    body.push(0);
    body.extend(mqtt_str("dr"));
    body.extend(mqtt_str("bye"));
    let mut c = RawClient::connect(b.addr).await;
    c.send(&packet(0x10, &body)).await;
    c.recv().await.expect("CONNACK");
    c.send(&[0xE0, 0x01, 0x80]).await;
    assert_eq!(
        watcher.recv().await,
        Some(publish_packet("dr", b"bye", 0, false, 0))
    );
}
