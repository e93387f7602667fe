//! The broker-wide bound on half-received packets (`incoming_packet_budget`, issue 10): raw
//! clients on loopback declare large packets and send them in parts.

use std::time::Duration;

use mqtt_workbench::broker::BrokerConfig;

use crate::common::*;

const KIB: usize = 1024;

/// A broker that accepts packets up to the protocol's maximum, with a 1 MiB budget for
/// half-received packets.
fn budget_config() -> BrokerConfig {
    BrokerConfig {
        max_packet_size: 0,
        incoming_packet_budget: 1024 * KIB,
        ..BrokerConfig::default()
    }
}

/// The topic of the next PUBLISH `c` receives, or `None` if none comes within `limit`.
async fn next_topic(c: &mut RawClient, limit: Duration) -> Option<String> {
    let p = c.recv_within(limit).await?;
    assert_eq!(
        p[0] & 0xF0,
        0x30,
        "not a PUBLISH: {:02X?}",
        &p[..p.len().min(8)]
    );
    // Skip the fixed header's Remaining Length, then read the topic.
    let mut i = 1;
    while p[i] & 0x80 != 0 {
        i += 1;
    }
    let len = usize::from(u16::from_be_bytes([p[i + 1], p[i + 2]]));
    Some(String::from_utf8(p[i + 3..i + 3 + len].to_vec()).expect("UTF-8 topic"))
}

#[tokio::test]
async fn a_packet_waits_for_the_budget_while_another_large_packet_is_half_received() {
    let b = start_broker(budget_config()).await;
    let mut sub = RawClient::connect_v311(b.addr, "watch").await;
    sub.send(&subscribe_packet(1, "big/#", 0)).await;
    assert_eq!(sub.recv().await.expect("SUBACK")[0], 0x90);

    // A declares a 768 KiB PUBLISH and sends a little over half of it: it holds 768 KiB of
    // the 1 MiB budget while the rest is on its way.
    let first = publish_packet("big/first", &vec![1u8; 768 * KIB], 0, false, 0);
    let mut a = RawClient::connect_v311(b.addr, "first").await;
    a.send(&first[..400 * KIB]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // B sends a whole 512 KiB PUBLISH: it does not fit next to A's, so B's connection stops
    // reading until A's packet is complete.
    let second = publish_packet("big/second", &vec![2u8; 512 * KIB], 0, false, 0);
    let mut bb = RawClient::connect_v311(b.addr, "second").await;
    let writer = tokio::spawn(async move {
        bb.send(&second).await;
        bb
    });
    assert_eq!(
        next_topic(&mut sub, Duration::from_millis(1500)).await,
        None,
        "the second packet was read while the budget could not cover it"
    );

    // A's rest arrives: A's message is delivered, its bytes are given back, and B's packet
    // is read and delivered after it.
    a.send(&first[400 * KIB..]).await;
    assert_eq!(
        next_topic(&mut sub, Duration::from_secs(10))
            .await
            .as_deref(),
        Some("big/first")
    );
    assert_eq!(
        next_topic(&mut sub, Duration::from_secs(10))
            .await
            .as_deref(),
        Some("big/second")
    );
    let _bb = writer.await.expect("writer task");
}

#[tokio::test]
async fn a_packet_larger_than_the_whole_budget_closes_its_connection() {
    let b = start_broker(budget_config()).await;
    // MQTT 5: DISCONNECT 0x95 Packet too large, before the body is buffered.
    let mut c = RawClient::connect_v5(b.addr, "huge5").await;
    let mut header = vec![0x30];
    header.extend(varint(2 * 1024 * KIB));
    header.extend(vec![0u8; 100 * KIB]);
    c.send(&header).await;
    let p = c.recv().await.expect("DISCONNECT");
    assert_eq!((p[0], p.get(2).copied()), (0xE0, Some(0x95)), "{p:02X?}");
    assert!(c.closed_within(Duration::from_secs(5)).await);

    // The case: twenty clients that each declare a 256 MB PUBLISH (the protocol's
    // maximum, allowed here by `max_packet_size 0`) are all closed after their first bytes,
    // and the budget is whole again for a normal large message.
    let mut clients = Vec::new();
    for i in 0..20 {
        let mut c = RawClient::connect_v311(b.addr, &format!("decl{i}")).await;
        let mut p = vec![0x30];
        p.extend(varint(268_435_455));
        p.extend(vec![0u8; 64 * KIB]);
        c.send(&p).await;
        clients.push(c);
    }
    for c in &mut clients {
        assert!(c.closed_within(Duration::from_secs(10)).await);
    }
    let mut sub = RawClient::connect_v311(b.addr, "watch").await;
    sub.send(&subscribe_packet(1, "ok", 0)).await;
    assert_eq!(sub.recv().await.expect("SUBACK")[0], 0x90);
    let mut p = RawClient::connect_v311(b.addr, "fits").await;
    p.send(&publish_packet("ok", &vec![3u8; 900 * KIB], 0, false, 0))
        .await;
    assert_eq!(
        next_topic(&mut sub, Duration::from_secs(10))
            .await
            .as_deref(),
        Some("ok")
    );
}
