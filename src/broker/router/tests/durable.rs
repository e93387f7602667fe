//! Persistence on: the router records its changes and holds PUBACK, PUBREC, PUBCOMP, SUBACK
//! and UNSUBACK until the batch that stored them is durable. The test plays the store's
//! writer ([`Store::manual`]): it sees each committed batch and says when it is durable.

use super::*;
use crate::broker::store::{ManualWriter, Record, Store};

fn harness() -> (Harness, ManualWriter) {
    let (store, w) = Store::manual();
    (Harness::with_store(BrokerConfig::default(), store), w)
}

/// The records of every batch committed since the last call, and the last ticket.
fn records(w: &ManualWriter) -> (Vec<Record>, u64) {
    let batches = w.batches();
    let last = batches.last().map_or(0, |b| b.0);
    (batches.into_iter().flat_map(|b| b.1).collect(), last)
}

/// A persistent 3.1.1 session "sub" subscribed to `t` at QoS 1 and offline; every batch so
/// far made durable.
async fn offline_subscriber(h: &mut Harness, w: &ManualWriter) {
    let (s, _) = h.connect(v311("sub", false)).await;
    s.subscribe_with(1, "t", opts(QoS::AtLeastOnce), None).await;
    assert!(s.take().is_empty(), "SUBACK is held");
    let (recs, last) = records(w);
    assert!(
        matches!(&recs[..], [Record::SessionOpen { client_id, .. }, Record::Subscribe { subscription, .. }]
            if client_id == "sub" && subscription.filter == "t" && subscription.qos == 1),
        "{recs:?}"
    );
    w.durable(last - 1);
    settle().await;
    assert!(
        s.take().is_empty(),
        "the subscription's batch is not durable yet"
    );
    w.durable(last);
    settle().await;
    assert!(matches!(&s.take()[..], [Outgoing::SubAck { pkid: 1, .. }]));
    s.disconnect().await;
    let (recs, last) = records(w);
    assert!(
        matches!(&recs[..], [Record::SessionOffline { client_id, .. }] if client_id == "sub"),
        "{recs:?}"
    );
    w.durable(last);
    settle().await;
}

#[tokio::test(start_paused = true)]
async fn a_puback_waits_until_the_message_kept_for_an_offline_session_is_durable() {
    let (mut h, w) = harness();
    offline_subscriber(&mut h, &w).await;
    let p = h.client("pub").await;
    assert!(records(&w).0.is_empty(), "a clean session is not stored");
    p.publish(publish("t", b"m1", QoS::AtLeastOnce, false, 5))
        .await;
    assert!(
        p.take().is_empty(),
        "no PUBACK before the message is on disk"
    );
    let (recs, last) = records(&w);
    assert!(
        matches!(&recs[..], [Record::Enqueue { client_id, seq: 0, delivery }]
            if client_id == "sub" && delivery.pkid.is_none() && delivery.qos == 1),
        "{recs:?}"
    );
    settle().await;
    assert!(
        p.take().is_empty(),
        "still nothing while the batch is not durable"
    );
    w.durable(last);
    settle().await;
    assert!(matches!(&p.take()[..], [Outgoing::PubAck(a)] if a.pkid == 5));
    // A message nobody keeps needs no storing: acknowledged at once, no batch.
    p.publish(publish("nobody", b"x", QoS::AtLeastOnce, false, 6))
        .await;
    assert!(matches!(&p.take()[..], [Outgoing::PubAck(a)] if a.pkid == 6));
    assert!(records(&w).0.is_empty());
}

#[tokio::test(start_paused = true)]
async fn acks_of_one_connection_keep_their_order_behind_a_held_one() {
    // [MQTT311-4.6.0-2]: PUBACKs in the order the PUBLISH packets came.
    let (mut h, w) = harness();
    offline_subscriber(&mut h, &w).await;
    let p = h.client("pub").await;
    p.publish(publish("t", b"kept", QoS::AtLeastOnce, false, 1))
        .await;
    p.publish(publish("nobody", b"x", QoS::AtLeastOnce, false, 2))
        .await;
    assert!(p.take().is_empty(), "the second waits behind the first");
    // Another connection's ack does not wait for this one's.
    let q = h.client("other").await;
    let (_, last) = records(&w);
    w.durable(last);
    settle().await;
    q.publish(publish("nobody", b"y", QoS::AtLeastOnce, false, 9))
        .await;
    assert!(matches!(&q.take()[..], [Outgoing::PubAck(a)] if a.pkid == 9));
    let got = p.take();
    assert!(
        matches!(&got[..], [Outgoing::PubAck(a), Outgoing::PubAck(b)] if a.pkid == 1 && b.pkid == 2),
        "{got:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn qos2_pubrec_and_pubcomp_wait_for_their_records() {
    let (mut h, w) = harness();
    offline_subscriber(&mut h, &w).await;
    // A persistent publisher: its unreleased QoS 2 message is session state.
    let (p, _) = h.connect(v311("pub2", false)).await;
    let (_, last) = records(&w);
    w.durable(last);
    settle().await;
    p.publish(publish("t", b"q2", QoS::ExactlyOnce, false, 3))
        .await;
    assert!(p.take().is_empty(), "PUBREC waits for the stored message");
    let (recs, last) = records(&w);
    assert!(
        matches!(&recs[..], [Record::AwaitPubrel { client_id, pkid: 3, .. }] if client_id == "pub2"),
        "{recs:?}"
    );
    w.durable(last);
    settle().await;
    assert!(matches!(&p.take()[..], [Outgoing::PubRec(a)] if a.pkid == 3));
    p.send(vec![Packet::PubRel(Ack::new(3, 0))]).await;
    assert!(
        p.take().is_empty(),
        "PUBCOMP waits until the release is stored"
    );
    let (recs, last) = records(&w);
    assert!(
        matches!(&recs[..], [Record::Pubrel { pkid: 3, .. }, Record::Enqueue { client_id, seq: 0, .. }]
            if client_id == "sub"),
        "{recs:?}"
    );
    w.durable(last);
    settle().await;
    assert!(matches!(&p.take()[..], [Outgoing::PubComp(a)] if a.pkid == 3));
}

#[tokio::test(start_paused = true)]
async fn a_kept_message_is_recorded_through_its_whole_delivery() {
    let (mut h, w) = harness();
    offline_subscriber(&mut h, &w).await;
    let p = h.client("pub").await;
    p.publish(publish("t", b"m", QoS::AtLeastOnce, false, 1))
        .await;
    let (_, last) = records(&w);
    w.durable(last);
    settle().await;
    // The session comes back: the queued message goes in flight, then is acknowledged.
    let (s, ack) = h.connect(v311("sub", false)).await;
    assert!(ack.session_present);
    let got = s.one_publish();
    let (recs, _) = records(&w);
    assert!(
        matches!(&recs[..], [Record::SessionOpen { .. }, Record::InFlight { seq: 0, pkid, .. }]
            if *pkid == got.pkid),
        "{recs:?}"
    );
    s.puback(got.pkid).await;
    let (recs, _) = records(&w);
    assert!(
        matches!(&recs[..], [Record::Delivered { client_id, seq: 0 }] if client_id == "sub"),
        "{recs:?}"
    );
    s.unsubscribe(2, &["t", "never"]).await;
    let (recs, last) = records(&w);
    assert!(
        matches!(&recs[..], [Record::Unsubscribe { client_id, filter }]
            if client_id == "sub" && filter == "t"),
        "one record, for the filter that existed: {recs:?}"
    );
    assert!(s.take().is_empty(), "UNSUBACK is held");
    w.durable(last);
    settle().await;
    assert!(matches!(
        &s.take()[..],
        [Outgoing::UnsubAck { pkid: 2, .. }]
    ));
    // A clean start ends the stored session.
    s.disconnect().await;
    let _ = h.connect(v311("sub", true)).await;
    let (recs, _) = records(&w);
    assert!(
        recs.iter()
            .any(|r| matches!(r, Record::SessionRemove { client_id } if client_id == "sub")),
        "{recs:?}"
    );
    // Retained messages are recorded, `$SYS` ones are not.
    p.publish(publish("r/1", b"v", QoS::AtMostOnce, true, 0))
        .await;
    p.publish(publish("r/1", b"", QoS::AtMostOnce, true, 0))
        .await;
    let (recs, _) = records(&w);
    assert!(
        matches!(&recs[..], [Record::RetainSet(m), Record::RetainClear { topic }]
            if m.topic == "r/1" && topic == "r/1"),
        "{recs:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn after_a_store_failure_what_needs_storing_is_never_acknowledged() {
    let (mut h, w) = harness();
    offline_subscriber(&mut h, &w).await;
    let p = h.client("pub").await;
    p.publish(publish("t", b"lost?", QoS::AtLeastOnce, false, 1))
        .await;
    let _ = h.events();
    w.fail("disk full");
    settle().await;
    let errors: Vec<String> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            BrokerEvent::Error(m) => Some(m),
            _ => None,
        })
        .collect();
    assert!(
        matches!(&errors[..], [m] if m.contains("disk full") && m.contains("withheld")),
        "{errors:?}"
    );
    assert!(p.take().is_empty(), "the held PUBACK is never sent");
    p.publish(publish("t", b"again", QoS::AtLeastOnce, false, 2))
        .await;
    assert!(
        p.take().is_empty(),
        "nor one for a message that needs storing"
    );
    p.publish(publish("nobody", b"x", QoS::AtLeastOnce, false, 3))
        .await;
    assert!(
        matches!(&p.take()[..], [Outgoing::PubAck(a)] if a.pkid == 3),
        "a message nobody keeps is still acknowledged"
    );
    w.fail("disk full again");
    settle().await;
    assert!(
        !h.events()
            .iter()
            .any(|e| matches!(e, BrokerEvent::Error(_))),
        "the failure is logged once"
    );
}
