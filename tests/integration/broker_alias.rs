//! Broker-assigned Topic Aliases (issue 10, MQTT5 §3.3.2.3.4): MQTT 5 subscribers that allow
//! aliases get the topic with a new alias first, then the alias and an empty topic.

use std::time::Duration;

use mqtt_workbench::broker::BrokerConfig;

use crate::common::*;

/// An MQTT 5 CONNECT with a Topic Alias Maximum property.
fn connect_v5_with_alias_max(id: &str, max: u16) -> Vec<u8> {
    let mut body = mqtt_str("MQTT");
    body.extend_from_slice(&[5, 0x02, 0, 60]);
    body.extend_from_slice(&[3, 0x22]);
    body.extend_from_slice(&max.to_be_bytes());
    body.extend(mqtt_str(id));
    packet(0x10, &body)
}

fn subscribe_v5(pkid: u16, filter: &str) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    body.push(0);
    body.extend(mqtt_str(filter));
    body.push(0);
    packet(0x82, &body)
}

/// Topic, Topic Alias and payload of a QoS 0 MQTT 5 PUBLISH (whole packet).
fn parse_publish_v5(p: &[u8]) -> (String, Option<u16>, Vec<u8>) {
    assert_eq!(p[0] & 0xF0, 0x30, "not a PUBLISH: {p:02X?}");
    let mut i = 1;
    while p[i] & 0x80 != 0 {
        i += 1;
    }
    i += 1;
    let tlen = usize::from(u16::from_be_bytes([p[i], p[i + 1]]));
    let topic = String::from_utf8(p[i + 2..i + 2 + tlen].to_vec()).expect("utf-8 topic");
    i += 2 + tlen;
    // Properties: one-byte length is enough here.
    let plen = usize::from(p[i]);
    let props = &p[i + 1..i + 1 + plen];
    let mut alias = None;
    let mut j = 0;
    while j < props.len() {
        match props[j] {
            0x23 => {
                alias = Some(u16::from_be_bytes([props[j + 1], props[j + 2]]));
                j += 3;
            }
            other => panic!("unexpected property {other:#04X}"),
        }
    }
    (topic, alias, p[i + 1 + plen..].to_vec())
}

#[tokio::test]
async fn v5_subscribers_that_allow_aliases_get_broker_assigned_aliases_lru() {
    let b = start_broker(BrokerConfig {
        outgoing_topic_alias_max: 10,
        ..BrokerConfig::default()
    })
    .await;
    let mut sub = RawClient::connect(b.addr).await;
    sub.send(&connect_v5_with_alias_max("alias-sub", 2)).await;
    let ack = sub.recv().await.expect("CONNACK");
    assert_eq!(ack[3], 0);
    sub.send(&subscribe_v5(1, "al/#")).await;
    let suback = sub.recv().await.expect("SUBACK");
    assert_eq!(suback[0], 0x90);
    let mut publisher = RawClient::connect_v311(b.addr, "alias-pub").await;
    let topics = ["al/a", "al/a", "al/b", "al/c", "al/a", "al/c"];
    for t in topics {
        publisher
            .send(&publish_packet(t, t.as_bytes(), 0, false, 0))
            .await;
    }
    let mut got = Vec::new();
    for _ in topics {
        let p = sub.recv().await.expect("PUBLISH");
        got.push(parse_publish_v5(&p));
    }
    let expected: Vec<(&str, Option<u16>)> = vec![
        ("al/a", Some(1)), // first use: topic and alias
        ("", Some(1)),     // then the alias alone
        ("al/b", Some(2)),
        ("al/c", Some(1)), // both taken: the least recently used (al/a's) is remapped
        ("al/a", Some(2)), // al/b's alias was least recently used now
        ("", Some(1)),
    ];
    for (i, ((topic, alias, payload), (et, ea))) in got.iter().zip(&expected).enumerate() {
        assert_eq!((topic.as_str(), *alias), (*et, *ea), "message {i}");
        assert_eq!(payload, topics[i].as_bytes(), "message {i}");
    }
}

#[tokio::test]
async fn no_aliases_without_the_clients_topic_alias_maximum_or_when_configured_off() {
    for (cfg, alias_max) in [
        (
            BrokerConfig {
                outgoing_topic_alias_max: 10,
                ..BrokerConfig::default()
            },
            0u16,
        ),
        (BrokerConfig::default(), 10),
    ] {
        let b = start_broker(cfg).await;
        let mut sub = RawClient::connect(b.addr).await;
        sub.send(&connect_v5_with_alias_max("plain-sub", alias_max))
            .await;
        sub.recv().await.expect("CONNACK");
        sub.send(&subscribe_v5(1, "al/#")).await;
        sub.recv().await.expect("SUBACK");
        let mut publisher = RawClient::connect_v311(b.addr, "plain-pub").await;
        for _ in 0..2 {
            publisher
                .send(&publish_packet("al/x", b"p", 0, false, 0))
                .await;
        }
        for _ in 0..2 {
            let p = sub.recv().await.expect("PUBLISH");
            assert_eq!(parse_publish_v5(&p), ("al/x".into(), None, b"p".to_vec()));
        }
    }
}

#[tokio::test]
async fn rumqttc_v5_allowing_aliases_gets_full_topics_by_default() {
    // Off by default: rumqttc 0.25 resolves an incoming alias in its state but hands the
    // application the PUBLISH with the empty topic, and libmosquitto 2.0.11 (mosquitto_sub
    // -V 5 -D connect topic-alias-maximum 10) closes with a protocol error on an empty topic.
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::Packet;
    use rumqttc::v5::{AsyncClient, Event, MqttOptions};
    assert_eq!(BrokerConfig::default().outgoing_topic_alias_max, 0);
    let b = default_broker().await;
    let mut o = MqttOptions::new("alias-rumqttc", "127.0.0.1", b.port());
    o.set_topic_alias_max(Some(10));
    let (client, mut el) = AsyncClient::new(o, 64);
    client
        .subscribe("al/#", QoS::AtMostOnce)
        .await
        .expect("subscribe");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let e = tokio::time::timeout_at(deadline, el.poll())
            .await
            .expect("SUBACK in time")
            .expect("event loop");
        if matches!(e, Event::Incoming(Packet::SubAck(_))) {
            break;
        }
    }
    let mut p = RawClient::connect_v311(b.addr, "alias-rpub").await;
    let sent = [
        ("al/long/device/topic", "1"),
        ("al/long/device/topic", "2"),
        ("al/other", "3"),
        ("al/long/device/topic", "4"),
    ];
    for (t, m) in sent {
        p.send(&publish_packet(t, m.as_bytes(), 0, false, 0)).await;
    }
    let mut got = Vec::new();
    while got.len() < sent.len() {
        let e = tokio::time::timeout_at(deadline, el.poll())
            .await
            .expect("PUBLISH in time")
            .expect("event loop");
        if let Event::Incoming(Packet::Publish(p)) = e {
            let alias = p.properties.as_ref().and_then(|pr| pr.topic_alias);
            got.push((
                String::from_utf8_lossy(&p.topic).into_owned(),
                String::from_utf8_lossy(&p.payload).into_owned(),
                alias,
            ));
        }
    }
    let topics: Vec<(&str, &str)> = got
        .iter()
        .map(|(t, m, _)| (t.as_str(), m.as_str()))
        .collect();
    assert_eq!(topics, sent.to_vec(), "full topics after alias resolution");
    assert!(got.iter().all(|(_, _, a)| a.is_none()), "{got:?}");
}
