//! Hostile and broken input, as byte tables. Each case names its spec clause. After every case
//! the broker must still serve a canary client: a bad packet closes one connection, never the
//! broker.

use std::time::Duration;

use mqtt_workbench::broker::BrokerConfig;

use crate::common::*;

/// After a v3.1.1 CONNECT, each of these must close the connection.
const AFTER_CONNECT_V311: &[(&str, &[u8])] = &[
    (
        "§2.2.3 remaining length of five bytes",
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
    ),
    (
        "[MQTT311 §2.2.3] non-minimal remaining length",
        &[0xC0, 0x80, 0x00],
    ),
    (
        "§3.3.2 QoS 1 PUBLISH without packet id",
        &[0x32, 0x03, 0x00, 0x01, b'a'],
    ),
    (
        "[MQTT311-3.3.1-4] PUBLISH with QoS 3",
        &[0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01],
    ),
    (
        "[MQTT311-2.3.1-1] QoS 1 PUBLISH with packet id 0",
        &[0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x00],
    ),
    (
        "[MQTT311-3.3.1-2] DUP on a QoS 0 PUBLISH",
        &[0x38, 0x03, 0x00, 0x01, b'a'],
    ),
    (
        "[MQTT311-3.3.2-2] '#' in a topic name",
        &[0x30, 0x03, 0x00, 0x01, b'#'],
    ),
    (
        "[MQTT311-3.3.2-2] '+' in a topic name",
        &[0x30, 0x05, 0x00, 0x03, b'a', b'/', b'+'],
    ),
    (
        "[MQTT311-1.5.3-2] U+0000 in a topic",
        &[0x30, 0x04, 0x00, 0x02, b'a', 0x00],
    ),
    (
        "[MQTT311-1.5.3-1] UTF-16 surrogate in a topic",
        &[0x30, 0x07, 0x00, 0x05, 0x74, 0x6F, 0xED, 0xA0, 0x80],
    ),
    (
        "[MQTT311-4.7.3-1] empty topic name",
        &[0x30, 0x02, 0x00, 0x00],
    ),
    (
        "§3.3.2 topic length beyond the packet",
        &[0x30, 0x03, 0x00, 0x09, b'a'],
    ),
    (
        "[MQTT311-3.8.1-1] SUBSCRIBE flags 0000",
        &[0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00],
    ),
    (
        "[MQTT311-3.8.1-1] SUBSCRIBE flags 0011",
        &[0x83, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00],
    ),
    (
        "[MQTT311-2.3.1-1] SUBSCRIBE with packet id 0",
        &[0x82, 0x06, 0x00, 0x00, 0x00, 0x01, b'a', 0x00],
    ),
    (
        "[MQTT311-3.8.3-4] SUBSCRIBE requesting QoS 3",
        &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x03],
    ),
    (
        "[MQTT311-3.8.3-4] SUBSCRIBE reserved option bits",
        &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x04],
    ),
    (
        "[MQTT311-3.8.3-3] SUBSCRIBE without a filter",
        &[0x82, 0x02, 0x00, 0x01],
    ),
    (
        "[MQTT311-4.7.1-2] SUBSCRIBE to 'a/#/b' (mosquitto closes)",
        &[
            0x82, 0x0A, 0x00, 0x01, 0x00, 0x05, b'a', b'/', b'#', b'/', b'b', 0x00,
        ],
    ),
    (
        "[MQTT311-3.10.1-1] UNSUBSCRIBE flags 0000",
        &[0xA0, 0x05, 0x00, 0x01, 0x00, 0x01, b'a'],
    ),
    (
        "[MQTT311-3.10.3-2] UNSUBSCRIBE without a filter",
        &[0xA2, 0x02, 0x00, 0x01],
    ),
    (
        "[MQTT311-3.6.1-1] PUBREL flags 0000",
        &[0x60, 0x02, 0x00, 0x01],
    ),
    (
        "§3.4 PUBACK with a trailing byte (3.1.1)",
        &[0x40, 0x03, 0x00, 0x01, 0x00],
    ),
    ("§3.12 PINGREQ with a body", &[0xC0, 0x01, 0x00]),
    ("[MQTT311-2.2.2-2] PINGREQ flags 0100", &[0xC4, 0x00]),
    ("[MQTT311-3.14.1-1] DISCONNECT flags 0010", &[0xE2, 0x00]),
    ("§2.2.1 packet type 0", &[0x00, 0x00]),
    ("§2.2.1 packet type 15 in 3.1.1", &[0xF0, 0x00]),
    ("§2.2.1 CONNACK sent by a client", &[0x20, 0x02, 0x00, 0x00]),
    (
        "§2.2.1 SUBACK sent by a client",
        &[0x90, 0x03, 0x00, 0x01, 0x00],
    ),
    ("§2.2.1 PINGRESP sent by a client", &[0xD0, 0x00]),
];

#[tokio::test]
async fn each_malformed_packet_closes_only_its_connection() {
    let b = default_broker().await;
    let mut canary = RawClient::connect_v311(b.addr, "canary").await;
    canary.send(&subscribe_packet(1, "canary", 0)).await;
    assert!(canary.recv().await.is_some());
    for (i, (case, bytes)) in AFTER_CONNECT_V311.iter().enumerate() {
        let mut c = RawClient::connect_v311(b.addr, &format!("bad{i}")).await;
        c.send(bytes).await;
        assert!(
            c.closed_within(Duration::from_secs(5)).await,
            "not closed: {case}"
        );
        // The broker still routes for everyone else.
        let mut p = RawClient::connect_v311(b.addr, "canary-pub").await;
        p.send(&publish_packet("canary", case.as_bytes(), 0, false, 0))
            .await;
        assert_eq!(
            canary.recv().await,
            Some(publish_packet("canary", case.as_bytes(), 0, false, 0)),
            "broker unhealthy after: {case}"
        );
    }
}

#[tokio::test]
async fn second_connect_is_a_protocol_violation() {
    // [MQTT311-3.1.0-2]
    let b = default_broker().await;
    let mut c = RawClient::connect_v311(b.addr, "twice").await;
    c.send(&connect_packet(4, "twice", 0x02, 60)).await;
    assert!(c.closed_within(Duration::from_secs(5)).await);
}

/// CONNECT packets that must be refused before a session exists.
#[tokio::test]
async fn bad_connect_packets_are_refused() {
    let b = default_broker().await;
    // (case, bytes, the CONNACK expected before the close, if any)
    type Case = (&'static str, Vec<u8>, Option<Vec<u8>>);
    let cases: Vec<Case> = vec![
        (
            "[MQTT311-3.1.2-1] unknown protocol name: closed without CONNACK",
            {
                let mut body = mqtt_str("HTTP");
                body.extend([4, 0x02, 0, 60]);
                body.extend(mqtt_str("x"));
                packet(0x10, &body)
            },
            None,
        ),
        (
            "[MQTT311-3.1.2-2] unsupported level 6: CONNACK 0x01",
            connect_packet(6, "x", 0x02, 60),
            Some(vec![0x20, 0x02, 0x00, 0x01]),
        ),
        (
            "[MQTT311-3.1.2-2] MQIsdp with level 4: CONNACK 0x01",
            {
                let mut body = mqtt_str("MQIsdp");
                body.extend([4, 0x02, 0, 60]);
                body.extend(mqtt_str("x"));
                packet(0x10, &body)
            },
            Some(vec![0x20, 0x02, 0x00, 0x01]),
        ),
        (
            "[MQTT311-3.1.2-3] reserved flag set",
            connect_packet(4, "x", 0x03, 60),
            None,
        ),
        (
            "[MQTT311-3.1.2-11] will QoS without a will",
            connect_packet(4, "x", 0x0A, 60),
            None,
        ),
        (
            "[MQTT311-3.1.2-15] will retain without a will",
            connect_packet(4, "x", 0x22, 60),
            None,
        ),
        (
            "[MQTT311-3.1.2-22] password without user name",
            connect_packet(4, "x", 0x42, 60),
            None,
        ),
        (
            "[MQTT311-3.1.3-8] empty client id with clean session 0: CONNACK 0x02",
            connect_packet(4, "", 0x00, 60),
            Some(vec![0x20, 0x02, 0x00, 0x02]),
        ),
        (
            "MQTT 3.1 requires a client id: CONNACK 0x02",
            connect_packet(3, "", 0x02, 60),
            Some(vec![0x20, 0x02, 0x00, 0x02]),
        ),
        (
            "§2.2.3 a huge first packet is refused at its header",
            vec![0x10, 0xFF, 0xFF, 0xFF, 0x7F],
            None,
        ),
        (
            "CONNECT with a trailing byte",
            {
                let mut p = connect_packet(4, "x", 0x02, 60);
                p[1] += 1;
                p.push(0);
                p
            },
            None,
        ),
    ];
    for (case, bytes, expected_connack) in cases {
        let mut c = RawClient::connect(b.addr).await;
        c.send(&bytes).await;
        if let Some(ack) = expected_connack {
            assert_eq!(c.recv().await, Some(ack), "{case}");
        }
        assert!(
            c.closed_within(Duration::from_secs(5)).await,
            "not closed: {case}"
        );
    }
    // Still healthy.
    RawClient::connect_v311(b.addr, "after").await;
}

#[tokio::test]
async fn empty_client_id_with_clean_session_is_assigned_one() {
    // [MQTT311-3.1.3-6], [MQTT311-3.1.3-7]
    let mut b = default_broker().await;
    let mut c = RawClient::connect(b.addr).await;
    c.send(&connect_packet(4, "", 0x02, 60)).await;
    assert_eq!(c.recv().await, Some(vec![0x20, 0x02, 0x00, 0x00]));
    let line = b.wait_log("New client connected from").await;
    assert!(line.contains(" as auto-"), "{line}");
}

#[tokio::test]
async fn oversize_packets_are_refused_at_the_header() {
    let cfg = BrokerConfig {
        max_packet_size: 100,
        ..BrokerConfig::default()
    };
    let mut b = start_broker(cfg).await;
    let mut c = RawClient::connect_v311(b.addr, "big").await;
    // Only the header of a 200-byte PUBLISH: refused before the body arrives.
    c.send(&[0x30, 0xC5, 0x01]).await;
    assert!(c.closed_within(Duration::from_secs(5)).await);
    b.wait_log("Client big disconnected due to oversize packet.")
        .await;
}

#[tokio::test]
async fn connect_deadline_closes_silent_sockets() {
    let cfg = BrokerConfig {
        connect_timeout: Duration::from_millis(500),
        ..BrokerConfig::default()
    };
    let b = start_broker(cfg).await;
    let mut silent = RawClient::connect(b.addr).await;
    assert!(silent.closed_within(Duration::from_secs(5)).await);
    let mut partial = RawClient::connect(b.addr).await;
    partial
        .send(&connect_packet(4, "slow", 0x02, 60)[..6])
        .await;
    assert!(partial.closed_within(Duration::from_secs(5)).await);
}

// ----- MQTT 5: the server says why before it closes [MQTT5-4.13.1-1] -----------------------------

/// Encodes an MQTT 5 PUBLISH with a raw property block.
fn publish_v5(topic: &str, props: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut body = mqtt_str(topic);
    body.extend(varint(props.len()));
    body.extend_from_slice(props);
    body.extend_from_slice(payload);
    packet(0x30, &body)
}

/// The reason code of a server DISCONNECT, if the next packet is one.
async fn disconnect_reason(c: &mut RawClient) -> Option<u8> {
    let p = c.recv().await?;
    (p[0] == 0xE0 && p.len() >= 3).then(|| p[2])
}

#[tokio::test]
async fn mqtt5_protocol_errors_get_the_right_reason_code() {
    let b = default_broker().await;
    let cases: Vec<(&str, Vec<u8>, u8)> = vec![
        (
            "[MQTT5-3.3.2-8] topic alias 0",
            publish_v5("a", &[0x23, 0x00, 0x00], b"x"),
            0x94,
        ),
        (
            "[MQTT5-3.3.2-9] topic alias above the maximum (10)",
            publish_v5("a", &[0x23, 0x00, 0x0B], b"x"),
            0x94,
        ),
        (
            "§3.3.2.3.4 unknown alias with an empty topic",
            publish_v5("", &[0x23, 0x00, 0x01], b"x"),
            0x82,
        ),
        (
            "§2.2.2.2 property included twice",
            publish_v5("a", &[0x01, 0x00, 0x01, 0x01], b"x"),
            0x82,
        ),
        (
            "§2.2.2.2 property not allowed in PUBLISH",
            publish_v5("a", &[0x11, 0, 0, 0, 1], b"x"),
            0x81,
        ),
        (
            "§2.2.2.2 subscription identifier sent by a client",
            publish_v5("a", &[0x0B, 0x01], b"x"),
            0x82,
        ),
        (
            "[MQTT5-3.3.2-2] wildcard in a topic name",
            publish_v5("a/#", &[], b"x"),
            0x90,
        ),
        (
            "[MQTT5-3.3.2-14] wildcard in a response topic",
            publish_v5("a", &[0x08, 0x00, 0x01, b'#'], b"x"),
            0x82,
        ),
        (
            "§3.14.2.1 undefined DISCONNECT reason code",
            vec![0xE0, 0x02, 0xFF, 0x00],
            0x81,
        ),
        (
            "§3.15 AUTH without an authentication method",
            vec![0xF0, 0x00],
            0x82,
        ),
        (
            "[MQTT5 §3.14.2.2.2] session expiry set at DISCONNECT after 0 at CONNECT",
            vec![0xE0, 0x07, 0x00, 0x05, 0x11, 0, 0, 0, 10],
            0x82,
        ),
        (
            "[MQTT5-3.8.3-4] No Local on a shared subscription",
            {
                let mut body = vec![0x00, 0x01, 0x00];
                body.extend(mqtt_str("$share/g/a"));
                body.push(0x04);
                packet(0x82, &body)
            },
            0x82,
        ),
    ];
    for (case, bytes, reason) in cases {
        let mut c = RawClient::connect_v5(b.addr, "v5bad").await;
        c.send(&bytes).await;
        assert_eq!(disconnect_reason(&mut c).await, Some(reason), "{case}");
        assert!(
            c.closed_within(Duration::from_secs(5)).await,
            "not closed: {case}"
        );
    }
}

#[tokio::test]
async fn mqtt5_invalid_filter_gets_suback_0x8f_and_the_connection_stays() {
    let b = default_broker().await;
    let mut c = RawClient::connect_v5(b.addr, "v5sub").await;
    let mut body = vec![0x00, 0x07, 0x00];
    body.extend(mqtt_str("a/#/b"));
    body.push(0x01);
    body.extend(mqtt_str("ok/+"));
    body.push(0x01);
    c.send(&packet(0x82, &body)).await;
    assert_eq!(
        c.recv().await,
        Some(vec![0x90, 0x05, 0x00, 0x07, 0x00, 0x8F, 0x01])
    );
    c.send(&[0xC0, 0x00]).await;
    assert_eq!(c.recv().await, Some(vec![0xD0, 0x00]));
}

#[tokio::test]
async fn mqtt5_short_disconnect_is_normal() {
    // §3.14.2.1: remaining length 0 means reason 0x00 (mosquitto_pub -V 5 sends `e0 00`).
    let mut b = default_broker().await;
    let mut c = RawClient::connect_v5(b.addr, "short").await;
    c.send(&[0xE0, 0x00]).await;
    assert!(c.closed_within(Duration::from_secs(5)).await);
    b.wait_log("Client short disconnected.").await;
}

#[tokio::test]
async fn oversize_v5_packet_gets_disconnect_0x95() {
    let cfg = BrokerConfig {
        max_packet_size: 100,
        ..BrokerConfig::default()
    };
    let b = start_broker(cfg).await;
    let mut c = RawClient::connect(b.addr).await;
    c.send(&connect_packet(5, "big5", 0x02, 60)).await;
    let ack = c.recv().await.expect("CONNACK");
    // CONNACK announces Maximum Packet Size 100 (property 0x27).
    assert!(
        ack.windows(5).any(|w| w == [0x27, 0, 0, 0, 100]),
        "{ack:02X?}"
    );
    c.send(&publish_v5("a", &[], &[0u8; 200])).await;
    assert_eq!(disconnect_reason(&mut c).await, Some(0x95));
}

#[tokio::test]
async fn unreleased_qos2_messages_are_bounded_by_receive_maximum() {
    // CVE-2023-28366-style flood: QoS 2 PUBLISHes that are never released. The broker announces
    // Receive Maximum 1024 and disconnects with 0x93 past it [MQTT5-3.3.4-7].
    let b = default_broker().await;
    let mut c = RawClient::connect(b.addr).await;
    c.send(&connect_packet(5, "q2flood", 0x02, 60)).await;
    let ack = c.recv().await.expect("CONNACK");
    assert!(
        ack.windows(3).any(|w| w == [0x21, 0x04, 0x00]),
        "Receive Maximum 1024: {ack:02X?}"
    );
    let mut batch = Vec::new();
    for id in 1..=1025u16 {
        batch.extend(publish_v5_qos2("flood", id));
    }
    c.send(&batch).await;
    let mut reason = None;
    while let Some(p) = c.recv().await {
        if p[0] == 0xE0 {
            reason = Some(p[2]);
            break;
        }
    }
    assert_eq!(reason, Some(0x93));
    // Still healthy for everyone else.
    RawClient::connect_v311(b.addr, "after-flood").await;
}

fn publish_v5_qos2(topic: &str, pkid: u16) -> Vec<u8> {
    let mut body = mqtt_str(topic);
    body.extend_from_slice(&pkid.to_be_bytes());
    body.push(0);
    body.push(b'x');
    packet(0x34, &body)
}
