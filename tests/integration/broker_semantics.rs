//! Broker semantics over raw sockets: byte-exact checks of what the spec requires.

use std::time::Duration;

use crate::common::*;

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
    // [MQTT-3.1.0-1]
    let b = default_broker().await;
    let mut c = RawClient::connect(b.addr).await;
    c.send(&publish_packet("a", b"x", 0, false, 0)).await;
    assert!(c.closed_within(Duration::from_secs(5)).await);
}
