//! QoS 1 and 2 flows in both directions, Receive Maximum, and redelivery on resume.

use std::time::Duration;

use tokio::time::sleep;

use super::*;

#[tokio::test(start_paused = true)]
async fn qos1_publish_is_acknowledged_with_its_packet_id() {
    // [MQTT311-4.3.2-2]; MQTT 5 says 0x10 when nobody subscribed.
    let mut h = Harness::new();
    let (p, _) = h.connect(v5("p", true, None)).await;
    p.publish(publish("nobody", b"x", QoS::AtLeastOnce, false, 7))
        .await;
    let no_match = ReasonCode::NoMatchingSubscribers.as_u8();
    assert!(matches!(&p.take()[..], [Outgoing::PubAck(a)] if a.pkid == 7 && a.reason == no_match));
    let _s = h.subscriber("s", "t", QoS::AtLeastOnce).await;
    p.publish(publish("t", b"x", QoS::AtLeastOnce, false, 7))
        .await;
    assert!(matches!(&p.take()[..], [Outgoing::PubAck(a)] if a.pkid == 7 && a.reason == 0));
}

#[tokio::test(start_paused = true)]
async fn qos2_duplicate_before_pubrel_is_not_delivered_twice() {
    // [MQTT5-4.3.3-9]: until PUBREL the same id gets PUBREC again and is delivered once,
    // when it is released.
    let mut h = Harness::new();
    let s = h.subscriber("s", "q2", QoS::ExactlyOnce).await;
    let p = h.client("p").await;
    for _ in 0..2 {
        p.publish(publish("q2", b"once", QoS::ExactlyOnce, false, 9))
            .await;
        assert!(matches!(&p.take()[..], [Outgoing::PubRec(a)] if a.pkid == 9));
    }
    assert!(s.take().is_empty(), "nothing delivered before PUBREL");
    p.send(vec![Packet::PubRel(Ack::new(9, 0))]).await;
    assert!(matches!(&p.take()[..], [Outgoing::PubComp(a)] if a.pkid == 9 && a.reason == 0));
    let got = s.one_publish();
    assert_eq!(
        (got.qos, &got.payload[..]),
        (QoS::ExactlyOnce, &b"once"[..])
    );
    // Released: the same id is a new message now.
    p.send(vec![Packet::PubRel(Ack::new(9, 0))]).await;
    assert!(matches!(&p.take()[..], [Outgoing::PubComp(_)]));
    assert!(s.take().is_empty());
}

#[tokio::test(start_paused = true)]
async fn v5_pubrel_for_an_unknown_id_gets_0x92() {
    // [MQTT5-4.3.3-12]-style: Packet Identifier not found.
    let mut h = Harness::new();
    let (p, _) = h.connect(v5("p", true, None)).await;
    p.send(vec![Packet::PubRel(Ack::new(44, 0))]).await;
    assert!(matches!(&p.take()[..], [Outgoing::PubComp(a)] if a.pkid == 44 && a.reason == 0x92));
}

#[tokio::test(start_paused = true)]
async fn outgoing_qos2_runs_pubrec_pubrel_pubcomp() {
    // A window of one: the next message waits for PUBCOMP.
    let cfg = BrokerConfig {
        max_inflight_messages: 1,
        ..BrokerConfig::default()
    };
    let mut h = Harness::with(cfg);
    let s = h.subscriber("s", "o2", QoS::ExactlyOnce).await;
    let p = h.client("p").await;
    p.publish(publish("o2", b"x", QoS::ExactlyOnce, false, 1))
        .await;
    p.send(vec![Packet::PubRel(Ack::new(1, 0))]).await;
    let m = s.one_publish();
    assert_eq!(m.qos, QoS::ExactlyOnce);
    s.send(vec![Packet::PubRec(Ack::new(m.pkid, 0))]).await;
    assert!(matches!(&s.take()[..], [Outgoing::PubRel(a)] if a.pkid == m.pkid));
    p.publish(publish("o2", b"y", QoS::ExactlyOnce, false, 2))
        .await;
    p.send(vec![Packet::PubRel(Ack::new(2, 0))]).await;
    // A PUBACK does not end a QoS 2 flow: the window stays full.
    s.puback(m.pkid).await;
    assert!(s.take().is_empty());
    s.send(vec![Packet::PubComp(Ack::new(m.pkid, 0))]).await;
    let next = s.one_publish();
    assert_eq!(&next.payload[..], b"y");
}

#[tokio::test(start_paused = true)]
async fn a_failed_pubrec_ends_the_flow_without_pubrel() {
    // MQTT5 §4.3.3: after PUBREC >= 0x80 the message is done and no PUBREL follows.
    let mut h = Harness::new();
    let (s, _) = h.connect(v5("s", true, Some(60))).await;
    s.subscribe(1, "f", QoS::ExactlyOnce).await;
    let p = h.client("p").await;
    p.publish(publish("f", b"x", QoS::ExactlyOnce, false, 1))
        .await;
    p.send(vec![Packet::PubRel(Ack::new(1, 0))]).await;
    let m = s.one_publish();
    s.send(vec![Packet::PubRec(Ack::new(m.pkid, 0x80))]).await;
    assert!(s.take().is_empty(), "no PUBREL after a failed PUBREC");
    s.close(CloseKind::PeerClosed).await;
    let (s, ack) = h.connect(v5("s", false, Some(60))).await;
    assert!(ack.session_present);
    assert!(s.take().is_empty(), "nothing to re-send: the flow ended");
}

#[tokio::test(start_paused = true)]
async fn delivered_qos_is_the_minimum_of_published_and_granted() {
    // [MQTT311-3.8.4-6]
    let mut h = Harness::new();
    let s0 = h.subscriber("s0", "m", QoS::AtMostOnce).await;
    let s2 = h.subscriber("s2", "m", QoS::ExactlyOnce).await;
    let p = h.client("p").await;
    p.publish(publish("m", b"x", QoS::AtLeastOnce, false, 1))
        .await;
    assert_eq!(s0.one_publish().qos, QoS::AtMostOnce);
    assert_eq!(s2.one_publish().qos, QoS::AtLeastOnce);
}

#[tokio::test(start_paused = true)]
async fn v5_receive_maximum_limits_messages_in_flight() {
    // [MQTT5-3.3.4-9]: never more unacknowledged QoS 1 messages than the client's Receive
    // Maximum; the rest follow as acknowledgements come.
    let mut h = Harness::new();
    let mut connect = v5("rm", true, None);
    connect.properties.receive_maximum = Some(1);
    let (s, _) = h.connect(connect).await;
    s.subscribe(1, "rm", QoS::AtLeastOnce).await;
    let p = h.client("p").await;
    for i in 1..=3u16 {
        p.publish(publish("rm", b"x", QoS::AtLeastOnce, false, i))
            .await;
    }
    for _ in 0..3 {
        let m = s.one_publish();
        s.puback(m.pkid).await;
    }
    assert!(s.take().is_empty());
}

#[tokio::test(start_paused = true)]
async fn redelivery_after_reconnect_respects_a_smaller_receive_maximum() {
    // [MQTT5-3.3.4-9]: three unacknowledged messages, reconnect with Receive Maximum 1: they
    // come back one at a time, each after the previous one is acknowledged.
    let mut h = Harness::new();
    let (c, _) = h.connect(v5("rm-resume", true, Some(60))).await;
    c.subscribe(1, "rr", QoS::AtLeastOnce).await;
    let p = h.client("rr-pub").await;
    for i in 1..=3u16 {
        p.publish(publish("rr", b"x", QoS::AtLeastOnce, false, i))
            .await;
    }
    assert_eq!(c.publishes().len(), 3, "first delivery, not acknowledged");
    c.close(CloseKind::PeerClosed).await;
    sleep(Duration::from_millis(200)).await;
    let mut connect = v5("rm-resume", false, Some(60));
    connect.properties.receive_maximum = Some(1);
    let (c, ack) = h.connect(connect).await;
    assert!(ack.session_present, "session present");
    let mut seen = Vec::new();
    for _ in 1..=3u16 {
        let m = c.one_publish(); // exactly one: never more than one in flight
        assert!(m.dup, "redelivered with DUP=1");
        seen.push(m.pkid);
        c.puback(m.pkid).await;
    }
    assert_eq!(seen, [1, 2, 3], "original ids, original order");
    assert!(c.take().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_released_qos2_message_is_resumed_with_pubrel_not_publish() {
    // [MQTT311-4.4.0-1]: after PUBREC, only PUBREL is re-sent.
    let mut h = Harness::new();
    let (s, _) = h.connect(v311("s", false)).await;
    s.subscribe(1, "r", QoS::ExactlyOnce).await;
    let p = h.client("p").await;
    p.publish(publish("r", b"x", QoS::ExactlyOnce, false, 1))
        .await;
    p.send(vec![Packet::PubRel(Ack::new(1, 0))]).await;
    let m = s.one_publish();
    s.send(vec![Packet::PubRec(Ack::new(m.pkid, 0))]).await;
    assert!(matches!(&s.take()[..], [Outgoing::PubRel(_)]));
    s.close(CloseKind::PeerClosed).await;
    let (s, _) = h.connect(v311("s", false)).await;
    assert!(matches!(&s.take()[..], [Outgoing::PubRel(a)] if a.pkid == m.pkid));
}

#[tokio::test(start_paused = true)]
async fn too_many_unreleased_qos2_messages_close_the_connection() {
    // [MQTT5-3.3.4-8]: beyond our Receive Maximum, DISCONNECT 0x93 (CVE-2023-28366 bound).
    let mut h = Harness::new();
    let (p, _) = h.connect(v5("flood", true, None)).await;
    let packets = (1..=RECEIVE_MAXIMUM + 1)
        .map(|i| Packet::Publish(publish("f", b"x", QoS::ExactlyOnce, false, i)))
        .collect();
    p.send(packets).await;
    assert!(matches!(
        p.close_requested(),
        Some(CloseReason::Protocol(ReasonCode::ReceiveMaximumExceeded))
    ));
}

#[tokio::test(start_paused = true)]
async fn qos1_messages_to_one_subscriber_keep_their_order_through_the_queue() {
    // [MQTT311-4.6.0-6]: a window of 2 forces most messages through the queue.
    let cfg = BrokerConfig {
        max_inflight_messages: 2,
        ..BrokerConfig::default()
    };
    let mut h = Harness::with(cfg);
    let s = h.subscriber("s", "o", QoS::AtLeastOnce).await;
    let p = h.client("p").await;
    const PAYLOADS: [&[u8]; 6] = [b"0", b"1", b"2", b"3", b"4", b"5"];
    for (i, payload) in PAYLOADS.iter().enumerate() {
        p.publish(publish("o", payload, QoS::AtLeastOnce, false, i as u16 + 1))
            .await;
    }
    let mut got = Vec::new();
    while got.len() < PAYLOADS.len() {
        let batch = s.publishes();
        assert!(!batch.is_empty() && batch.len() <= 2, "{batch:?}");
        for m in batch {
            got.push(m.payload.clone());
            s.puback(m.pkid).await;
        }
    }
    assert_eq!(got, PAYLOADS);
}
