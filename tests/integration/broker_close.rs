//! Lingering close (issue 10): a client refused with a reason code reads that reason and then
//! an orderly end of stream, never a connection reset, even when it keeps sending.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

/// Reads until end of stream. Returns the bytes and whether the end was orderly (EOF) rather
/// than an error such as a connection reset.
async fn read_to_end(c: &mut RawClient) -> (Vec<u8>, bool) {
    let mut all = Vec::new();
    let mut tmp = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), c.stream.read(&mut tmp)).await {
            Ok(Ok(0)) => return (all, true),
            Ok(Ok(n)) => all.extend_from_slice(&tmp[..n]),
            Ok(Err(_)) | Err(_) => return (all, false),
        }
    }
}

fn publish_v5_qos2(topic: &str, pkid: u16) -> Vec<u8> {
    let mut body = mqtt_str(topic);
    body.extend_from_slice(&pkid.to_be_bytes());
    body.push(0);
    body.push(b'x');
    packet(0x34, &body)
}

#[tokio::test]
async fn a_client_past_receive_maximum_reads_0x93_not_a_reset() {
    let b = default_broker().await;
    let mut c = RawClient::connect(b.addr).await;
    c.send(&connect_packet(5, "linger93", 0x02, 60)).await;
    let ack = c.recv().await.expect("CONNACK");
    assert_eq!(ack[0], 0x20);
    // 1,025 unreleased QoS 2 messages (one past Receive Maximum 1024), then more packets in
    // the same write: they reach the broker after it decided to close.
    let mut batch = Vec::new();
    for id in 1..=1025u16 {
        batch.extend(publish_v5_qos2("flood", id));
    }
    for _ in 0..2000 {
        batch.extend(publish_packet("more", &[0u8; 32], 0, false, 0));
    }
    let (mut rd, mut wr) = c.stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&batch).await;
        // Keep the write half open: the broker must not wait for it beyond its linger.
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(wr);
    });
    let mut all = Vec::new();
    let mut tmp = [0u8; 8192];
    let orderly = loop {
        match tokio::time::timeout(Duration::from_secs(10), rd.read(&mut tmp)).await {
            Ok(Ok(0)) => break true,
            Ok(Ok(n)) => all.extend_from_slice(&tmp[..n]),
            Ok(Err(_)) | Err(_) => break false,
        }
    };
    writer.abort();
    assert!(
        all.windows(3).any(|w| w[0] == 0xE0 && w[2] == 0x93),
        "DISCONNECT 0x93 not read: {} bytes, tail {:02X?}",
        all.len(),
        &all[all.len().saturating_sub(8)..]
    );
    assert!(
        orderly,
        "the connection ended with an error (reset), not an orderly close"
    );
}

#[tokio::test]
async fn a_refused_connect_reads_its_connack_despite_pipelined_packets() {
    let b = default_broker().await;
    let mut c = RawClient::connect(b.addr).await;
    // 3.1.1, zero-length client id with Clean Session 0: refused with CONNACK 0x02
    // [MQTT311-3.1.3-8]; 256 KiB of PUBLISH packets follow in the same write.
    let mut bytes = connect_packet(4, "", 0x00, 60);
    for _ in 0..4096 {
        bytes.extend(publish_packet("x", &[0u8; 56], 0, false, 0));
    }
    c.send(&bytes).await;
    let (all, orderly) = read_to_end(&mut c).await;
    assert_eq!(all, vec![0x20, 0x02, 0x00, 0x02], "CONNACK 0x02");
    assert!(orderly, "the connection ended with a reset");
}
