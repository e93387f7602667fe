//! Fan-out: retained messages, subscription options, shared subscriptions, message expiry,
//! offline queues.

use std::time::Duration;

use tokio::time::sleep;

use super::*;

#[tokio::test(start_paused = true)]
async fn retained_messages_reach_new_subscribers_with_retain_set() {
    // [MQTT311-3.3.1-5], [MQTT311-3.3.1-8]; live forwarding clears RETAIN [MQTT311-3.3.1-9].
    let mut h = Harness::new();
    let live = h.subscriber("live", "r/#", QoS::AtMostOnce).await;
    let p = h.client("p").await;
    p.publish(publish("r/1", b"kept", QoS::AtMostOnce, true, 0))
        .await;
    assert!(!live.one_publish().retain, "live copy has RETAIN=0");
    let late = h.client("late").await;
    late.subscribe_with(1, "r/#", opts(QoS::AtMostOnce), None)
        .await;
    let got = late.take();
    assert!(
        matches!(&got[0], Outgoing::SubAck { .. }),
        "SUBACK first: {got:?}"
    );
    assert!(matches!(&got[1..], [Outgoing::Publish(m)] if m.retain && &m.payload[..] == b"kept"));
}

#[tokio::test(start_paused = true)]
async fn an_empty_retained_payload_deletes_the_retained_message() {
    // [MQTT311-3.3.1-10], [MQTT311-3.3.1-11]
    let mut h = Harness::new();
    let p = h.client("p").await;
    p.publish(publish("d", b"old", QoS::AtMostOnce, true, 0))
        .await;
    p.publish(publish("d", b"", QoS::AtMostOnce, true, 0)).await;
    let late = h.client("late").await;
    late.subscribe_with(1, "d", opts(QoS::AtMostOnce), None)
        .await;
    assert!(matches!(&late.take()[..], [Outgoing::SubAck { .. }]));
}

#[tokio::test(start_paused = true)]
async fn retain_handling_controls_retained_messages_on_subscribe() {
    // [MQTT5-3.3.1-9], [MQTT5-3.3.1-10], [MQTT5-3.3.1-11]
    let mut h = Harness::new();
    let p = h.client("p").await;
    p.publish(publish("rh", b"x", QoS::AtMostOnce, true, 0))
        .await;
    let (s, _) = h.connect(v5("s", true, None)).await;
    let mut o = opts(QoS::AtMostOnce);
    o.retain_handling = RetainHandling::DoNotSend;
    s.subscribe_with(1, "rh", o, None).await;
    assert_eq!(s.take().len(), 1, "2: only the SUBACK");
    o.retain_handling = RetainHandling::SendIfNew;
    s.subscribe_with(2, "rh", o, None).await;
    assert_eq!(s.take().len(), 1, "1: not for an existing subscription");
    s.unsubscribe(3, &["rh"]).await;
    s.take();
    s.subscribe_with(4, "rh", o, None).await;
    assert_eq!(s.take().len(), 2, "1: sent for a new subscription");
}

#[tokio::test(start_paused = true)]
async fn no_local_and_retain_as_published() {
    // [MQTT5-3.8.3-3] No Local; Retain As Published keeps RETAIN on live messages.
    let mut h = Harness::new();
    let (c, _) = h.connect(v5("c", true, None)).await;
    let mut o = opts(QoS::AtMostOnce);
    o.no_local = true;
    c.subscribe_with(1, "nl", o, None).await;
    let mut rap = opts(QoS::AtMostOnce);
    rap.retain_as_published = true;
    c.subscribe_with(2, "rap", rap, None).await;
    c.take();
    c.publish(publish("nl", b"x", QoS::AtMostOnce, false, 0))
        .await;
    assert!(c.take().is_empty(), "not back to the publisher");
    let other = h.client("other").await;
    other
        .publish(publish("nl", b"x", QoS::AtMostOnce, false, 0))
        .await;
    assert_eq!(c.publishes().len(), 1, "others' messages still arrive");
    other
        .publish(publish("rap", b"x", QoS::AtMostOnce, true, 0))
        .await;
    assert!(c.one_publish().retain, "retain as published");
}

#[tokio::test(start_paused = true)]
async fn overlapping_subscriptions_deliver_one_copy_with_the_highest_qos() {
    // [MQTT5-3.3.4-2], [MQTT5-3.3.4-3]: one copy, every Subscription Identifier.
    let mut h = Harness::new();
    let (s, _) = h.connect(v5("s", true, None)).await;
    s.subscribe_with(1, "a/#", opts(QoS::ExactlyOnce), Some(7))
        .await;
    s.subscribe_with(2, "a/+", opts(QoS::AtMostOnce), Some(9))
        .await;
    s.take();
    let p = h.client("p").await;
    p.publish(publish("a/b", b"x", QoS::AtLeastOnce, false, 1))
        .await;
    let m = s.one_publish();
    assert_eq!(m.qos, QoS::AtLeastOnce);
    let mut ids = m.properties.expect("properties").subscription_ids;
    ids.sort_unstable();
    assert_eq!(ids, [7, 9]);
}

#[tokio::test(start_paused = true)]
async fn shared_subscription_spreads_messages_over_members() {
    // MQTT5 §4.8.2: each message goes to one member of the group.
    let mut h = Harness::new();
    let a = h.subscriber("a", "$share/g/job", QoS::AtMostOnce).await;
    let b = h.subscriber("b", "$share/g/job", QoS::AtMostOnce).await;
    let p = h.client("p").await;
    for _ in 0..4 {
        p.publish(publish("job", b"x", QoS::AtMostOnce, false, 0))
            .await;
    }
    assert_eq!((a.publishes().len(), b.publishes().len()), (2, 2));
}

#[tokio::test(start_paused = true)]
async fn shared_subscription_prefers_connected_members() {
    let mut h = Harness::new();
    let (gone, _) = h.connect(v311("gone", false)).await;
    gone.subscribe(1, "$share/g/j", QoS::AtLeastOnce).await;
    gone.close(CloseKind::PeerClosed).await;
    let here = h.subscriber("here", "$share/g/j", QoS::AtLeastOnce).await;
    let p = h.client("p").await;
    for i in 1..=3 {
        p.publish(publish("j", b"x", QoS::AtLeastOnce, false, i))
            .await;
    }
    assert_eq!(here.publishes().len(), 3);
    let (gone, _) = h.connect(v311("gone", false)).await;
    assert!(
        gone.take().is_empty(),
        "nothing was queued for the offline member"
    );
}

#[tokio::test(start_paused = true)]
async fn v5_message_expiry_drops_stale_retained_messages() {
    // [MQTT5-3.3.2-5]; the remaining interval is forwarded [MQTT5-3.3.2-6].
    let mut h = Harness::new();
    let (p, _) = h.connect(v5("exp-pub", true, None)).await;
    p.publish(publish_expiring(
        "e/short",
        b"soon gone",
        QoS::AtMostOnce,
        true,
        0,
        1,
    ))
    .await;
    p.publish(publish_expiring(
        "e/long",
        b"stays",
        QoS::AtMostOnce,
        true,
        0,
        100,
    ))
    .await;
    sleep(Duration::from_millis(2200)).await;
    let (s, _) = h.connect(v5("exp-sub", true, None)).await;
    s.subscribe_with(1, "e/#", opts(QoS::AtMostOnce), None)
        .await;
    let got = s.take();
    let [Outgoing::SubAck { .. }, Outgoing::Publish(m)] = &got[..] else {
        panic!("{got:?}");
    };
    assert_eq!(&*m.topic, "e/long");
    let left = m.properties.as_ref().and_then(|p| p.message_expiry);
    assert_eq!(
        left,
        Some(97),
        "100 s less the 2.2 s that passed, whole seconds"
    );
}

#[tokio::test(start_paused = true)]
async fn a_queued_message_expires_while_its_subscriber_is_away() {
    // [MQTT5-3.3.2-5]: dropped if it expired before onward delivery starts.
    let mut h = Harness::new();
    let (s, _) = h.connect(v5("away", true, Some(600))).await;
    s.subscribe(1, "q", QoS::AtLeastOnce).await;
    s.close(CloseKind::PeerClosed).await;
    let (p, _) = h.connect(v5("p", true, None)).await;
    p.publish(publish_expiring(
        "q",
        b"short",
        QoS::AtLeastOnce,
        false,
        1,
        2,
    ))
    .await;
    p.publish(publish_expiring(
        "q",
        b"long",
        QoS::AtLeastOnce,
        false,
        2,
        60,
    ))
    .await;
    sleep(Duration::from_secs(5)).await;
    let (s, _) = h.connect(v5("away", false, Some(600))).await;
    let m = s.one_publish();
    assert_eq!(&m.payload[..], b"long");
    // 60 s less the 5 s away and the harness's few milliseconds, rounded down.
    assert_eq!(m.properties.and_then(|p| p.message_expiry), Some(54));
}

#[tokio::test(start_paused = true)]
async fn v5_message_expiry_of_zero_means_no_expiry() {
    let mut h = Harness::new();
    let (s, _) = h.connect(v5("away", true, Some(600))).await;
    s.subscribe(1, "e0", QoS::AtLeastOnce).await;
    s.close(CloseKind::PeerClosed).await;
    let (p, _) = h.connect(v5("p", true, None)).await;
    p.publish(publish_expiring(
        "e0",
        b"kept",
        QoS::AtLeastOnce,
        false,
        1,
        0,
    ))
    .await;
    sleep(Duration::from_secs(500)).await;
    let (s, ack) = h.connect(v5("away", false, Some(600))).await;
    assert!(ack.session_present);
    let m = s.one_publish();
    assert_eq!(&m.payload[..], b"kept");
    assert!(m.properties.and_then(|p| p.message_expiry).is_none());
}

#[tokio::test(start_paused = true)]
async fn offline_queue_is_bounded() {
    // Like mosquitto: beyond max_queued_messages, new messages are dropped (with a warning).
    let cfg = BrokerConfig {
        max_queued_messages: 3,
        ..BrokerConfig::default()
    };
    let mut h = Harness::with(cfg);
    let (s, _) = h.connect(v311("off", false)).await;
    s.subscribe(1, "b", QoS::AtLeastOnce).await;
    s.close(CloseKind::PeerClosed).await;
    let p = h.client("p").await;
    h.events();
    for i in 1..=5 {
        p.publish(publish("b", b"x", QoS::AtLeastOnce, false, i))
            .await;
    }
    let dropped = h
        .events()
        .iter()
        .filter(|e| matches!(e, BrokerEvent::MessagesDropped(_)))
        .count();
    assert_eq!(dropped, 1, "one warning per episode");
    let (s, _) = h.connect(v311("off", false)).await;
    assert_eq!(s.publishes().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn unsubscribe_stops_delivery_and_acks_unknown_filters() {
    // [MQTT311-3.10.4-5]; MQTT 5 says 0x11 for a filter that had no subscription.
    let mut h = Harness::new();
    let (s, _) = h.connect(v5("s", true, None)).await;
    s.subscribe(1, "u", QoS::AtMostOnce).await;
    s.unsubscribe(2, &["u", "never"]).await;
    assert!(
        matches!(&s.take()[..], [Outgoing::UnsubAck { pkid: 2, codes }] if codes == &[0, 0x11])
    );
    let p = h.client("p").await;
    p.publish(publish("u", b"x", QoS::AtMostOnce, false, 0))
        .await;
    assert!(s.take().is_empty());
}

#[tokio::test(start_paused = true)]
async fn dollar_topics_do_not_match_leading_wildcards() {
    // [MQTT311-4.7.2-1], live and retained.
    let mut h = Harness::new();
    let all = h.subscriber("all", "#", QoS::AtMostOnce).await;
    let sys = h.subscriber("sys", "$SYS/#", QoS::AtMostOnce).await;
    let p = h.client("p").await;
    p.publish(publish("$SYS/x", b"1", QoS::AtMostOnce, true, 0))
        .await;
    assert!(all.take().is_empty());
    assert_eq!(sys.publishes().len(), 1);
    let late = h.client("late").await;
    late.subscribe_with(1, "+/x", opts(QoS::AtMostOnce), None)
        .await;
    assert!(matches!(&late.take()[..], [Outgoing::SubAck { .. }]));
}

#[tokio::test(start_paused = true)]
async fn v311_invalid_filter_closes_and_v5_gets_0x8f() {
    // [MQTT311-4.8.0-1] (mosquitto closes); MQTT 5 SUBACK 0x8F for that filter.
    let mut h = Harness::new();
    let (c5, _) = h.connect(v5("c5", true, None)).await;
    c5.subscribe_with(1, "a/#/b", opts(QoS::AtMostOnce), None)
        .await;
    assert!(matches!(&c5.take()[..], [Outgoing::SubAck { codes, .. }] if codes == &[0x8F]));
    let c3 = h.client("c3").await;
    c3.subscribe_with(1, "a/#/b", opts(QoS::AtMostOnce), None)
        .await;
    assert!(matches!(
        c3.close_requested(),
        Some(CloseReason::Protocol(ReasonCode::MalformedPacket))
    ));
}
