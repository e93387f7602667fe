//! The broker with rumqttc as a real client library (MQTT 3.1.1 and 5), for the semantics a
//! library user sees: QoS 0/1/2 round trips, retained messages, resumed sessions, properties.

use std::time::Duration;

use crate::common::*;

const WAIT: Duration = Duration::from_secs(10);

/// Polls a v3.1.1 event loop until `want` returns a value.
async fn poll_v4<T>(
    el: &mut rumqttc::EventLoop,
    mut want: impl FnMut(&rumqttc::Event) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let ev = el.poll().await.expect("connection");
            if let Some(v) = want(&ev) {
                return v;
            }
        }
    })
    .await
    .expect("event in time")
}

/// Polls a v5 event loop until `want` returns a value.
async fn poll_v5<T>(
    el: &mut rumqttc::v5::EventLoop,
    mut want: impl FnMut(&rumqttc::v5::Event) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let ev = el.poll().await.expect("connection");
            if let Some(v) = want(&ev) {
                return v;
            }
        }
    })
    .await
    .expect("event in time")
}

fn v4_options(id: &str, port: u16) -> rumqttc::MqttOptions {
    let mut o = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(30));
    o
}

#[tokio::test]
async fn v311_qos_0_1_2_round_trips_with_downgrade() {
    use rumqttc::{AsyncClient, Event, Packet, QoS};
    let b = default_broker().await;
    let (sub, mut sub_el) = AsyncClient::new(v4_options("rq-sub", b.port()), 16);
    sub.subscribe("rq/#", QoS::ExactlyOnce)
        .await
        .expect("subscribe");
    poll_v4(&mut sub_el, |e| {
        matches!(e, Event::Incoming(Packet::SubAck(_))).then_some(())
    })
    .await;
    let (publ, mut pub_el) = AsyncClient::new(v4_options("rq-pub", b.port()), 16);
    for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .enumerate()
    {
        publ.publish(format!("rq/{i}"), qos, false, vec![i as u8])
            .await
            .expect("publish");
    }
    let pumping = tokio::spawn(async move {
        loop {
            if pub_el.poll().await.is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    while got.len() < 3 {
        let p = poll_v4(&mut sub_el, |e| match e {
            Event::Incoming(Packet::Publish(p)) => Some(p.clone()),
            _ => None,
        })
        .await;
        got.push((p.topic, p.qos, p.payload.to_vec()));
    }
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("rq/0".to_string(), QoS::AtMostOnce, vec![0]),
            ("rq/1".to_string(), QoS::AtLeastOnce, vec![1]),
            ("rq/2".to_string(), QoS::ExactlyOnce, vec![2]),
        ]
    );
    pumping.abort();
}

#[tokio::test]
async fn v311_session_resumes_with_queued_messages() {
    use rumqttc::{AsyncClient, Event, Packet, QoS};
    let b = default_broker().await;
    let mut opts = v4_options("rq-persist", b.port());
    opts.set_clean_session(false);
    let (c, mut el) = AsyncClient::new(opts.clone(), 16);
    let present = poll_v4(&mut el, |e| match e {
        Event::Incoming(Packet::ConnAck(a)) => Some(a.session_present),
        _ => None,
    })
    .await;
    assert!(!present);
    c.subscribe("rq/q", QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    poll_v4(&mut el, |e| {
        matches!(e, Event::Incoming(Packet::SubAck(_))).then_some(())
    })
    .await;
    c.disconnect().await.expect("disconnect");
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while el.poll().await.is_ok() {}
    })
    .await;
    drop(el);
    let mut p = RawClient::connect_v311(b.addr, "rq-offline-pub").await;
    p.send(&publish_packet("rq/q", b"while away", 1, false, 1))
        .await;
    p.recv().await.expect("PUBACK");
    let (_c, mut el) = AsyncClient::new(opts, 16);
    let present = poll_v4(&mut el, |e| match e {
        Event::Incoming(Packet::ConnAck(a)) => Some(a.session_present),
        _ => None,
    })
    .await;
    assert!(present, "session present after reconnect");
    let payload = poll_v4(&mut el, |e| match e {
        Event::Incoming(Packet::Publish(p)) => Some(p.payload.to_vec()),
        _ => None,
    })
    .await;
    assert_eq!(payload, b"while away");
}

#[tokio::test]
async fn v5_properties_and_subscription_identifiers_reach_the_subscriber() {
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties, SubscribeProperties};
    use rumqttc::v5::{AsyncClient, Event, MqttOptions};
    let b = default_broker().await;
    let mut so = MqttOptions::new("rq5-sub", "127.0.0.1", b.port());
    so.set_keep_alive(Duration::from_secs(30));
    let (sub, mut sub_el) = AsyncClient::new(so, 16);
    let props = SubscribeProperties {
        id: Some(42),
        user_properties: vec![],
    };
    sub.subscribe_with_properties("rq5/#", QoS::AtLeastOnce, props)
        .await
        .expect("subscribe");
    poll_v5(&mut sub_el, |e| {
        matches!(e, Event::Incoming(Packet::SubAck(_))).then_some(())
    })
    .await;
    let mut po = MqttOptions::new("rq5-pub", "127.0.0.1", b.port());
    po.set_keep_alive(Duration::from_secs(30));
    let (publ, mut pub_el) = AsyncClient::new(po, 16);
    let props = PublishProperties {
        content_type: Some("application/json".into()),
        user_properties: vec![("unit".into(), "C".into()), ("room".into(), "lab".into())],
        response_topic: Some("rq5/reply".into()),
        correlation_data: Some(bytes::Bytes::from_static(b"req-1")),
        ..PublishProperties::default()
    };
    publ.publish_with_properties("rq5/t", QoS::AtLeastOnce, false, r#"{"t":21.5}"#, props)
        .await
        .expect("publish");
    let pumping = tokio::spawn(async move { while pub_el.poll().await.is_ok() {} });
    let p = poll_v5(&mut sub_el, |e| match e {
        Event::Incoming(Packet::Publish(p)) => Some(p.clone()),
        _ => None,
    })
    .await;
    assert_eq!(&p.topic[..], b"rq5/t");
    let got = p.properties.expect("properties");
    assert_eq!(got.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        got.user_properties,
        vec![
            ("unit".to_string(), "C".to_string()),
            ("room".to_string(), "lab".to_string())
        ]
    );
    assert_eq!(got.response_topic.as_deref(), Some("rq5/reply"));
    assert_eq!(got.correlation_data.as_deref(), Some(&b"req-1"[..]));
    assert_eq!(got.subscription_identifiers, vec![42]);
    pumping.abort();
}
