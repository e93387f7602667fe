//! Keep alive, which the connection task enforces: a real connection task over an in-memory
//! duplex stream (no socket), on paused time, talking to the harness's router.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::timeout;

use super::*;
use crate::broker::connection::{Shared, serve};

impl Harness {
    /// Starts a connection task on one end of a duplex stream; returns the client's end.
    fn wire(&self) -> DuplexStream {
        let keep_alives = Arc::new(crate::broker::keepalive::KeepAlives::new());
        tokio::spawn(keep_alives.clone().run(self.shutdown.clone()));
        let shared = Arc::new(Shared {
            cfg: self.cfg.clone(),
            events: self.events.clone(),
            router: self.tx.clone(),
            stats: Arc::new(Stats::default()),
            security: Arc::new(crate::broker::security::Security::new(Arc::new(
                crate::broker::security::SecurityPolicy::open(),
            ))),
            next_conn: AtomicU64::new(1000),
            shutdown: self.shutdown.clone(),
            pressure: self.pressure.clone(),
            capture: None,
            packet_budget: Arc::new(crate::broker::pressure::PacketBudget::new(
                self.cfg.incoming_packet_budget,
            )),
            keep_alives,
        });
        let (client, server) = tokio::io::duplex(4096);
        let peer = SocketAddr::from(([127, 0, 0, 1], 50000));
        tokio::spawn(serve(server, peer, 1883, 0, shared));
        client
    }
}

fn mqtt_str(s: &str) -> Vec<u8> {
    let mut v = u16::try_from(s.len()).unwrap().to_be_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v
}

/// A 3.1.1 CONNECT, Clean Session 1, with keep alive and an optional will (QoS 0).
fn connect_bytes(id: &str, keep_alive: u16, will: Option<(&str, &str)>) -> Vec<u8> {
    let mut body = mqtt_str("MQTT");
    let flags = if will.is_some() { 0x06 } else { 0x02 };
    body.extend([4, flags]);
    body.extend(keep_alive.to_be_bytes());
    body.extend(mqtt_str(id));
    if let Some((topic, payload)) = will {
        body.extend(mqtt_str(topic));
        body.extend(mqtt_str(payload));
    }
    let mut p = vec![0x10, u8::try_from(body.len()).unwrap()];
    p.extend(body);
    p
}

/// Reads exactly `n` bytes, or `None` on EOF.
async fn read_n(c: &mut DuplexStream, n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0; n];
    c.read_exact(&mut buf).await.ok()?;
    Some(buf)
}

/// True if the server closed the stream within `limit` (of paused time).
async fn closed_within(c: &mut DuplexStream, limit: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(timeout(limit, c.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
}

#[tokio::test(start_paused = true)]
async fn keep_alive_closes_a_silent_client_and_fires_its_will() {
    // [MQTT311-3.1.2-24]: 1.5 x keep alive; [MQTT311-3.1.2-8] the will goes out.
    let mut h = Harness::new();
    let watcher = h.subscriber("watcher", "will/#", QoS::AtMostOnce).await;
    let mut c = h.wire();
    c.write_all(&connect_bytes("sleepy", 2, Some(("will/sleepy", "gone"))))
        .await
        .unwrap();
    assert_eq!(read_n(&mut c, 4).await, Some(vec![0x20, 0x02, 0x00, 0x00]));
    h.events();
    assert!(
        !closed_within(&mut c, Duration::from_millis(2900)).await,
        "still open before 1.5 x 2 s"
    );
    assert!(
        closed_within(&mut c, Duration::from_millis(200)).await,
        "closed by 3.1 s"
    );
    settle().await;
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, BrokerEvent::KeepAliveTimeout(c) if &**c == "sleepy"))
    );
    let got = watcher.one_publish();
    assert_eq!(
        (&*got.topic, &got.payload[..]),
        ("will/sleepy", &b"gone"[..])
    );
}

#[tokio::test(start_paused = true)]
async fn pings_keep_a_client_alive() {
    // Keep alive 2 s (closed after 3 s of silence); a ping every 0.5 s keeps it open.
    let h = Harness::new();
    let mut c = h.wire();
    c.write_all(&connect_bytes("pinger", 2, None))
        .await
        .unwrap();
    assert_eq!(read_n(&mut c, 4).await, Some(vec![0x20, 0x02, 0x00, 0x00]));
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.write_all(&[0xC0, 0x00]).await.unwrap();
        assert_eq!(read_n(&mut c, 2).await, Some(vec![0xD0, 0x00]));
    }
    // 4 s have passed, more than 1.5 x 2 s: only the pings kept it open. Now fall silent.
    assert!(!closed_within(&mut c, Duration::from_millis(2900)).await);
    assert!(closed_within(&mut c, Duration::from_millis(200)).await);
}

#[tokio::test(start_paused = true)]
async fn keep_alive_zero_never_times_out() {
    // [MQTT311-3.1.2-24]: a keep alive of 0 switches the mechanism off.
    let h = Harness::new();
    let mut c = h.wire();
    c.write_all(&connect_bytes("forever", 0, None))
        .await
        .unwrap();
    assert_eq!(read_n(&mut c, 4).await, Some(vec![0x20, 0x02, 0x00, 0x00]));
    assert!(!closed_within(&mut c, Duration::from_secs(24 * 3600)).await);
}

#[tokio::test(start_paused = true)]
async fn a_half_packet_trickle_is_not_keep_alive_traffic() {
    // [MQTT311-3.1.2-24]: only a whole Control Packet counts. Keep alive 2 s: half a
    // PUBLISH sent one byte every 500 ms (the chaos soak's slow loris) must not hold the
    // connection open past 1.5 x 2 s after the CONNECT, the last whole packet.
    let h = Harness::new();
    let mut c = h.wire();
    c.write_all(&connect_bytes("loris", 2, None)).await.unwrap();
    assert_eq!(read_n(&mut c, 4).await, Some(vec![0x20, 0x02, 0x00, 0x00]));
    let mut publish = vec![0x30, 0x20, 0x00, 0x04];
    publish.extend_from_slice(b"t/lo");
    publish.extend_from_slice(&[b'x'; 16]); // 20 of the 32 bytes the header announces
    for &b in &publish[..5] {
        // One byte at 0, 0.5, 1.0, 1.5 and 2.0 s after the CONNACK.
        c.write_all(&[b]).await.unwrap();
        assert!(!closed_within(&mut c, Duration::from_millis(500)).await);
    }
    // 2.5 s after CONNECT: still open (below 3 s), and the trickle goes on.
    c.write_all(&publish[5..6]).await.unwrap();
    assert!(
        !closed_within(&mut c, Duration::from_millis(400)).await,
        "open at 2.9 s"
    );
    c.write_all(&publish[6..7]).await.unwrap();
    assert!(
        closed_within(&mut c, Duration::from_millis(300)).await,
        "closed by 3.2 s although bytes kept coming"
    );
}

#[tokio::test(start_paused = true)]
async fn a_disconnect_read_after_a_failed_write_still_discards_the_will() {
    // The chaos soak: a client sends DISCONNECT and closes at once, while a message for it is
    // on its way. Its socket then fails the broker's write (reset) before the broker has read
    // the DISCONNECT waiting in the same socket; the broker took that for a vanished client
    // and published the Will, which DISCONNECT must discard [MQTT311-3.14.4-3].
    let mut h = Harness::new();
    let watcher = h.subscriber("watcher", "will/#", QoS::AtMostOnce).await;
    let mut c = h.wire();
    c.write_all(&connect_bytes("leaver", 60, Some(("will/leaver", "gone"))))
        .await
        .unwrap();
    assert_eq!(read_n(&mut c, 4).await, Some(vec![0x20, 0x02, 0x00, 0x00]));
    let mut subscribe = vec![0x82, 0x06, 0x00, 0x01];
    subscribe.extend(mqtt_str("t"));
    subscribe.push(0);
    c.write_all(&subscribe).await.unwrap();
    assert_eq!(
        read_n(&mut c, 5).await,
        Some(vec![0x90, 0x03, 0x00, 0x01, 0x00])
    );
    // A message for it reaches the router first (sent without letting anything run), then
    // its DISCONNECT and close: when its connection task runs, its outbox and its socket are
    // both ready, and the outbox is served first.
    watcher
        .tx
        .send(RouterCmd::Packets {
            conn: watcher.conn,
            packets: vec![Packet::Publish(publish(
                "t",
                b"x",
                QoS::AtMostOnce,
                false,
                0,
            ))],
        })
        .await
        .unwrap();
    c.write_all(&[0xE0, 0x00]).await.unwrap();
    drop(c);
    settle().await;
    settle().await;
    assert!(
        watcher.publishes().is_empty(),
        "the Will was published after DISCONNECT"
    );
}
