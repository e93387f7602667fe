//! Regressions found by the chaos soak (`benches/chaos.sh`): each test is one interleaving
//! the soak broke, replayed on a real socket against a real broker.

use std::time::Duration;

use super::common::{RawClient, connect_packet, default_broker, publish_packet};

/// Sends `bytes` one at a time, `gap` apart, until the broker closes the connection; returns
/// how many were sent by then (all of them if it never closed).
async fn trickle_until_closed(c: &mut RawClient, bytes: &[u8], gap: Duration) -> usize {
    for (i, b) in bytes.iter().enumerate() {
        if c.closed_within(gap).await {
            return i;
        }
        if tokio::io::AsyncWriteExt::write_all(&mut c.stream, &[*b])
            .await
            .is_err()
        {
            return i;
        }
    }
    bytes.len()
}

#[tokio::test]
async fn a_slow_loris_half_publish_is_closed_by_keep_alive_v311() {
    // [MQTT311-3.1.2-24]: the broker closes a connection that sends no whole Control Packet
    // for 1.5 x Keep Alive. Keep Alive 1 s; then half a PUBLISH trickled one byte every
    // 250 ms for up to 10 s: bytes of a packet that never completes are not a Control
    // Packet, so the connection must be closed long before the trickle ends (the soak saw
    // such connections kept open for its whole run).
    let b = default_broker().await;
    let mut c = RawClient::connect(b.addr).await;
    c.send(&connect_packet(4, "loris-311", 0x02, 1)).await;
    assert_eq!(c.recv().await, Some(vec![0x20, 0x02, 0x00, 0x00]));
    let publish = publish_packet("chaos/loris", &[b'x'; 60], 0, false, 0);
    let half = &publish[..40];
    let sent = trickle_until_closed(&mut c, half, Duration::from_millis(250)).await;
    assert!(
        sent < half.len(),
        "still open after {} trickled bytes (~10 s) with Keep Alive 1 s",
        half.len()
    );
}

#[tokio::test]
async fn a_slow_loris_half_publish_gets_disconnect_0x8d_v5() {
    // [MQTT5-3.1.2-22], [MQTT5-3.2.2-21]: the same for 5.0, which reads DISCONNECT with
    // reason 0x8D (Keep Alive timeout) before the close.
    let b = default_broker().await;
    let mut c = RawClient::connect(b.addr).await;
    c.send(&connect_packet(5, "loris-5", 0x02, 1)).await;
    let ack = c.recv().await.expect("CONNACK");
    assert_eq!((ack[0], ack[3]), (0x20, 0x00));
    let mut half = vec![0x30, 0x40, 0x00, 0x0B];
    half.extend_from_slice(b"chaos/loris");
    half.extend_from_slice(&[0u8; 24]); // properties length 0, then a short payload
    let mut disconnect = None;
    for &byte in &half {
        if let Some(p) = c.recv_within(Duration::from_millis(250)).await {
            disconnect = Some(p);
            break;
        }
        if tokio::io::AsyncWriteExt::write_all(&mut c.stream, &[byte])
            .await
            .is_err()
        {
            break;
        }
    }
    let p = disconnect.expect("a DISCONNECT before the trickle of ~10 s ended");
    assert_eq!(p[0], 0xE0, "DISCONNECT, got {p:02x?}");
    assert_eq!(p[2], 0x8D, "reason Keep Alive timeout, got {p:02x?}");
    assert!(c.closed_within(Duration::from_secs(5)).await);
}

/// The broker process's resident set in KiB (Linux `/proc`).
#[cfg(target_os = "linux")]
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}

#[cfg(target_os = "linux")]
#[test]
fn memory_comes_back_after_stalled_subscribers_leave() {
    // The soak's RSS check: three subscribers that never read fill their queues (1,000
    // messages each, mosquitto's default) with 6 KB messages, then go away. The freed queues
    // lie between live allocations, where glibc's allocator keeps them resident unless asked
    // to give them back: before the fix RSS stayed about 20 MB up for good.
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::broker_cli::BrokerProcess;
    use super::common::subscribe_packet;

    let b = BrokerProcess::start(&[]);
    let pid = b.child.0.id();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], b.port));
    let start = rss_kib(pid);
    let mut stalled = Vec::new();
    for k in 0..3 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        s.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        s.connect(&addr.into()).expect("connect");
        let mut s: TcpStream = s.into();
        s.write_all(&connect_packet(4, &format!("stalled-{k}"), 0x02, 0))
            .expect("CONNECT");
        s.write_all(&subscribe_packet(1, "flood/#", 0))
            .expect("SUBSCRIBE");
        stalled.push(s);
    }
    let mut publisher = TcpStream::connect(addr).expect("connect publisher");
    publisher
        .write_all(&connect_packet(4, "flooder", 0x02, 0))
        .expect("CONNECT");
    let mut connack = [0u8; 4];
    publisher.read_exact(&mut connack).expect("CONNACK");
    assert_eq!(connack, [0x20, 0x02, 0x00, 0x00]);
    std::thread::sleep(Duration::from_millis(300)); // the SUBSCRIBEs are in
    let message = publish_packet("flood/x", &[7u8; 6000], 0, false, 0);
    for _ in 0..3000 {
        publisher.write_all(&message).expect("PUBLISH");
    }
    // The load must really have taken memory, or the check below proves nothing.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut peak = start;
    while peak < start + 10 * 1024 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        peak = peak.max(rss_kib(pid));
    }
    assert!(
        peak >= start + 10 * 1024,
        "the flood grew RSS only from {start} to {peak} KiB"
    );
    drop(stalled);
    drop(publisher);
    // Back within 5 MB of the start once the broker is quiet (it trims at the first quiet
    // 5 s interval after a busy one).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut now = rss_kib(pid);
    while now > start + 5 * 1024 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        now = rss_kib(pid);
    }
    assert!(
        now <= start + 5 * 1024,
        "RSS {now} KiB 30 s after the load, {start} KiB at the start, {peak} KiB at the peak"
    );
}
