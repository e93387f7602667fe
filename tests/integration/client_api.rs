//! The client library against the in-process broker: one event loop for 3.1.1 and 5.0, and
//! `-d` trace lines only for a consumer that asked for them.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use bytes::Bytes;
use mqtt_workbench::client::{self, ClientEvent, ConnectOptions, OutgoingMessage};
use mqtt_workbench::protocol::{MqttVersion, QoS};
use tokio::sync::mpsc;

use crate::common::default_broker;

/// Waits for the next event, failing the test after 10 s.
async fn next(events: &mut mpsc::Receiver<ClientEvent>) -> ClientEvent {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event within 10 s")
        .expect("the connection task sends events until it ends")
}

/// Subscribes, publishes one QoS 1 message to itself, receives it and disconnects, returning
/// every event seen.
async fn round_trip(version: MqttVersion, trace: bool) -> Vec<ClientEvent> {
    let broker = default_broker().await;
    let opts = ConnectOptions {
        host: "127.0.0.1".into(),
        port: broker.port(),
        version,
        client_id: Some(format!("api-{version}-{trace}")),
        ..ConnectOptions::default()
    };
    // `connect` is the workbench's path: no trace.
    let (handle, mut events) = if trace {
        client::connect_with_trace(opts, true)
    } else {
        client::connect(opts)
    };
    let mut seen = Vec::new();
    loop {
        let ev = next(&mut events).await;
        let done = matches!(ev, ClientEvent::Connected { .. });
        assert!(!matches!(ev, ClientEvent::ConnectFailed { .. }), "{ev:?}");
        seen.push(ev);
        if done {
            break;
        }
    }
    handle.subscribe("t/#", QoS::AtLeastOnce).await.unwrap();
    loop {
        let ev = next(&mut events).await;
        let done = matches!(ev, ClientEvent::SubAck { .. });
        seen.push(ev);
        if done {
            break;
        }
    }
    handle
        .publish(OutgoingMessage {
            topic: "t/a".into(),
            payload: Bytes::from_static(b"hi"),
            qos: QoS::AtLeastOnce,
            ..OutgoingMessage::default()
        })
        .await
        .unwrap();
    // Both the message coming back and the PUBACK of our own publish.
    let (mut received, mut acked) = (false, false);
    while !(received && acked) {
        let ev = next(&mut events).await;
        received |= matches!(ev, ClientEvent::Message(_));
        acked |= matches!(ev, ClientEvent::Published { .. });
        seen.push(ev);
    }
    handle.disconnect().await.unwrap();
    loop {
        let ev = next(&mut events).await;
        let done = matches!(ev, ClientEvent::Disconnected { .. });
        seen.push(ev);
        if done {
            break;
        }
    }
    seen
}

fn traces(events: &[ClientEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Trace(line) => Some(line.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn without_trace_no_trace_event_is_sent() {
    for version in [MqttVersion::V311, MqttVersion::V5] {
        let events = round_trip(version, false).await;
        assert_eq!(traces(&events), Vec::<&str>::new(), "MQTT {version}");
        let msg = events.iter().find_map(|e| match e {
            ClientEvent::Message(m) => Some(m),
            _ => None,
        });
        let msg = msg.unwrap_or_else(|| panic!("MQTT {version}: no message in {events:?}"));
        assert_eq!((msg.topic.as_str(), &msg.payload[..]), ("t/a", &b"hi"[..]));
        assert_eq!(msg.qos, QoS::AtLeastOnce);
    }
}

#[tokio::test]
async fn with_trace_both_versions_report_every_packet() {
    for version in [MqttVersion::V311, MqttVersion::V5] {
        let events = round_trip(version, true).await;
        let lines = traces(&events);
        let id = format!("api-{version}-true");
        for expected in [
            format!("Client {id} sending CONNECT"),
            format!("Client {id} received CONNACK (0)"),
            format!("Client {id} sending SUBSCRIBE (Mid: 1, Topic: t/#, QoS: 1, Options: 0x00)"),
            format!("Client {id} received SUBACK"),
            format!("Client {id} sending PUBLISH (d0, q1, r0, m2, 't/a', ... (2 bytes))"),
            format!("Client {id} received PUBLISH (d0, q1, r0, m1, 't/a', ... (2 bytes))"),
            format!("Client {id} sending PUBACK (m1, rc0)"),
            format!("Client {id} received PUBACK (Mid: 2, RC:0)"),
            format!("Client {id} sending DISCONNECT"),
        ] {
            assert!(
                lines.contains(&expected.as_str()),
                "MQTT {version}: no {expected:?} in {lines:#?}"
            );
        }
    }
}
