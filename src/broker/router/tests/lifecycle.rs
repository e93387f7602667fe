//! Session lifecycle on paused time: takeover, wills and Will Delay, session expiry, resume.

use std::time::Duration;

use tokio::time::sleep;

use super::*;

#[tokio::test(start_paused = true)]
async fn a_new_session_is_not_present_and_a_clean_reconnect_discards_the_old_one() {
    // [MQTT311-3.2.2-1], [MQTT311-3.1.2-6]
    let mut h = Harness::new();
    let (c, ack) = h.connect(v311("s", false)).await;
    assert!(!ack.session_present);
    c.subscribe(1, "a", QoS::AtLeastOnce).await;
    c.close(CloseKind::PeerClosed).await;
    let (c, ack) = h.connect(v311("s", true)).await;
    assert!(!ack.session_present, "Clean Session 1 starts afresh");
    let p = h.client("p").await;
    p.publish(publish("a", b"x", QoS::AtMostOnce, false, 0))
        .await;
    assert!(
        c.take().is_empty(),
        "the old subscription went with the old session"
    );
}

#[tokio::test(start_paused = true)]
async fn takeover_closes_the_old_connection() {
    // [MQTT311-3.1.4-2]; MQTT 5 gets DISCONNECT 0x8E (the outbox close reason).
    let mut h = Harness::new();
    let (old, _) = h.connect(v5("dup", true, None)).await;
    h.events();
    let (_new, _) = h.connect(v311("dup", true)).await;
    assert!(matches!(
        old.close_requested(),
        Some(CloseReason::TakenOver)
    ));
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, BrokerEvent::Takeover(c) if &**c == "dup"))
    );
}

#[tokio::test(start_paused = true)]
async fn taking_over_a_persistent_session_resumes_it_without_the_old_will() {
    // mosquitto's will-takeover matrix: a resumed session cancels the old connection's will.
    let mut h = Harness::new();
    let w = h.subscriber("w", "will/#", QoS::AtMostOnce).await;
    let mut connect = v311("pt", false);
    connect.will = Some(will("will/pt", b"gone", None));
    let (_old, _) = h.connect(connect).await;
    let (_new, ack) = h.connect(v311("pt", false)).await;
    assert!(ack.session_present);
    assert!(w.take().is_empty(), "no will when the session continues");
}

#[tokio::test(start_paused = true)]
async fn taking_over_with_a_clean_start_publishes_the_old_will() {
    let mut h = Harness::new();
    let w = h.subscriber("w", "will/#", QoS::AtMostOnce).await;
    let mut connect = v311("ct", false);
    connect.will = Some(will("will/ct", b"gone", None));
    let (_old, _) = h.connect(connect).await;
    let (_new, ack) = h.connect(v311("ct", true)).await;
    assert!(!ack.session_present);
    assert_eq!(&*w.one_publish().topic, "will/ct");
}

#[tokio::test(start_paused = true)]
async fn will_goes_out_when_the_peer_vanishes_but_not_after_disconnect() {
    // [MQTT311-3.1.2-8], [MQTT311-3.14.4-3]
    let mut h = Harness::new();
    let w = h.subscriber("w", "will/#", QoS::AtMostOnce).await;
    let mut connect = v311("a", true);
    connect.will = Some(will("will/a", b"gone", None));
    let (a, _) = h.connect(connect.clone()).await;
    a.close(CloseKind::PeerClosed).await;
    let got = w.one_publish();
    assert_eq!((&*got.topic, &got.payload[..]), ("will/a", &b"gone"[..]));
    let (a, _) = h.connect(connect).await;
    a.disconnect().await;
    assert!(w.take().is_empty(), "a normal DISCONNECT discards the will");
}

#[tokio::test(start_paused = true)]
async fn v5_disconnect_with_an_error_reason_keeps_the_will() {
    // [MQTT5-3.14.4-3]: only reason 0x00 discards the will.
    let mut h = Harness::new();
    let w = h.subscriber("w", "dr", QoS::AtMostOnce).await;
    let mut connect = v5("dr-client", true, None);
    connect.will = Some(will("dr", b"bye", None));
    let (c, _) = h.connect(connect).await;
    c.close(CloseKind::Disconnect {
        reason: ReasonCode::UnspecifiedError,
        session_expiry: None,
    })
    .await;
    assert_eq!(&w.one_publish().payload[..], b"bye");
}

#[tokio::test(start_paused = true)]
async fn will_delay_holds_the_will_until_it_runs_out() {
    // MQTT5 §3.1.3.2.2: the will goes out after the Will Delay Interval.
    let mut h = Harness::new();
    let w = h.subscriber("w", "wd/#", QoS::AtMostOnce).await;
    let mut connect = v5("slow", false, Some(30));
    connect.will = Some(will("wd/slow", b"late", Some(2)));
    let (c, _) = h.connect(connect).await;
    c.close(CloseKind::PeerClosed).await;
    sleep(Duration::from_millis(1900)).await;
    assert!(w.take().is_empty(), "not before the delay");
    sleep(Duration::from_millis(200)).await;
    assert_eq!(&*w.one_publish().topic, "wd/slow");
}

#[tokio::test(start_paused = true)]
async fn v5_will_delay_is_cancelled_by_a_reconnect() {
    // [MQTT5-3.1.3-9]: a reconnect within the will delay means no will.
    let mut h = Harness::new();
    let w = h.subscriber("w", "wd/#", QoS::AtMostOnce).await;
    let mut connect = v5("quick", false, Some(30));
    connect.will = Some(will("wd/quick", b"late", Some(2)));
    let (c, _) = h.connect(connect).await;
    c.close(CloseKind::PeerClosed).await;
    sleep(Duration::from_secs(1)).await;
    let (_c, ack) = h.connect(v5("quick", false, Some(30))).await;
    assert!(ack.session_present);
    sleep(Duration::from_secs(5)).await;
    assert!(w.take().is_empty(), "no will for 'quick'");
}

#[tokio::test(start_paused = true)]
async fn will_delay_is_cut_short_by_the_session_ending() {
    // [MQTT5-3.1.2-8]: published at the latest when the session ends.
    let mut h = Harness::new();
    let w = h.subscriber("w", "wd/#", QoS::AtMostOnce).await;
    let mut connect = v5("short", false, Some(2));
    connect.will = Some(will("wd/short", b"x", Some(100)));
    let (c, _) = h.connect(connect).await;
    c.close(CloseKind::PeerClosed).await;
    sleep(Duration::from_millis(1900)).await;
    assert!(w.take().is_empty());
    sleep(Duration::from_millis(200)).await;
    assert_eq!(&*w.one_publish().topic, "wd/short");
}

#[tokio::test(start_paused = true)]
async fn will_delay_with_session_expiry_zero_publishes_at_once() {
    // mosquitto#3505: a delayed will with expiry 0 must not wait.
    let mut h = Harness::new();
    let w = h.subscriber("w", "wd/#", QoS::AtMostOnce).await;
    let mut connect = v5("now", true, None);
    connect.will = Some(will("wd/now", b"x", Some(30)));
    let (c, _) = h.connect(connect).await;
    c.close(CloseKind::PeerClosed).await;
    assert_eq!(&*w.one_publish().topic, "wd/now");
}

#[tokio::test(start_paused = true)]
async fn v5_session_expiry_keeps_then_ends_a_session() {
    // [MQTT5-3.1.2-23], [MQTT5-4.1.0-2]
    let mut h = Harness::new();
    let (c, _) = h.connect(v5("exp", true, Some(1))).await;
    c.disconnect().await;
    sleep(Duration::from_millis(300)).await;
    let (c, ack) = h.connect(v5("exp", false, Some(1))).await;
    assert!(ack.session_present, "session present within the expiry");
    c.disconnect().await;
    h.events();
    sleep(Duration::from_millis(1100)).await;
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, BrokerEvent::SessionExpired(c) if &**c == "exp"))
    );
    let (_c, ack) = h.connect(v5("exp", false, Some(1))).await;
    assert!(!ack.session_present, "session gone after the expiry");
}

#[tokio::test(start_paused = true)]
async fn disconnect_can_change_the_session_expiry() {
    // MQTT5 §3.14.2.2.2: the DISCONNECT's Session Expiry Interval replaces CONNECT's.
    let mut h = Harness::new();
    let (c, _) = h.connect(v5("dx", true, Some(1))).await;
    c.close(CloseKind::Disconnect {
        reason: ReasonCode::Success,
        session_expiry: Some(60),
    })
    .await;
    sleep(Duration::from_secs(30)).await;
    let (_c, ack) = h.connect(v5("dx", false, Some(1))).await;
    assert!(ack.session_present);
}

#[tokio::test(start_paused = true)]
async fn an_old_sessions_expiry_timer_cannot_end_a_new_one() {
    // A session expiry armed for an earlier session must not expire the next one in its slot.
    let mut h = Harness::new();
    let (c, _) = h.connect(v5("gen-a", true, Some(1))).await;
    c.disconnect().await;
    let (c, _) = h.connect(v5("gen-a", true, Some(3600))).await;
    c.disconnect().await;
    sleep(Duration::from_millis(1800)).await;
    let (_c, ack) = h.connect(v5("gen-a", false, Some(3600))).await;
    assert!(
        ack.session_present,
        "the one-hour session survived the old one-second timer"
    );
}

#[tokio::test(start_paused = true)]
async fn persistent_session_is_resumed_and_unacked_messages_are_resent_with_dup() {
    // [MQTT311-3.2.2-2] session present; [MQTT311-4.4.0-1] redelivery with DUP=1 on reconnect.
    let mut h = Harness::new();
    let (c, _) = h.connect(v311("persist", false)).await;
    c.subscribe(1, "p/#", QoS::AtLeastOnce).await;
    let p = h.client("persist-pub").await;
    p.publish(publish("p/1", b"first", QoS::AtLeastOnce, false, 1))
        .await;
    let first = c.one_publish();
    assert!(!first.dup);
    c.close(CloseKind::PeerClosed).await; // no PUBACK, no DISCONNECT
    sleep(Duration::from_millis(200)).await;
    p.publish(publish("p/2", b"second", QoS::AtLeastOnce, false, 2))
        .await;
    let (c, ack) = h.connect(v311("persist", false)).await;
    assert!(ack.session_present, "session present");
    let got = c.publishes();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        (got[0].dup, got[0].pkid, &got[0].payload[..]),
        (true, first.pkid, &b"first"[..])
    );
    assert_eq!(&got[1].payload[..], b"second");
    assert!(!got[1].dup);
    // A clean session discards it [MQTT311-3.1.2-6].
    c.close(CloseKind::PeerClosed).await;
    sleep(Duration::from_millis(200)).await;
    let (c, ack) = h.connect(v311("persist", true)).await;
    assert!(!ack.session_present);
    assert!(c.take().is_empty());
}
