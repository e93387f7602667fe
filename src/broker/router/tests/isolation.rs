//! Isolation (issue 10): a consumer that does not keep up is held to its own queue limits and
//! never slows the others.

use super::*;
use crate::broker::pressure::SLOW_AFTER;

/// Publishes `n` QoS 0 messages on `t/1` as socket reads of `per_read` packets, every
/// `every`, letting `normal` write after each read. Returns the payloads `normal` received and
/// the clients the broker logged drops for.
async fn flood(
    h: &mut Harness,
    publisher: &Conn,
    normal: &Conn,
    n: usize,
    per_read: usize,
    every: Duration,
) -> (Vec<u64>, Vec<Arc<str>>) {
    let mut got = Vec::new();
    let mut drops = Vec::new();
    let mut sent = 0usize;
    while sent < n {
        let batch: Vec<Packet> = (sent..(sent + per_read).min(n))
            .map(|i| {
                let mut p = publish("t/1", b"", QoS::AtMostOnce, false, 0);
                p.payload = Bytes::from((i as u64).to_be_bytes().to_vec());
                Packet::Publish(p)
            })
            .collect();
        sent += batch.len();
        publisher.send(batch).await;
        for p in normal.publishes() {
            got.push(u64::from_be_bytes(p.payload[..8].try_into().unwrap()));
        }
        // Read the log as it goes: the harness's log is bounded.
        drops.extend(h.events().into_iter().filter_map(|e| match e {
            BrokerEvent::MessagesDropped(c) => Some(c),
            _ => None,
        }));
        tokio::time::sleep(every).await;
    }
    (got, drops)
}

#[tokio::test(start_paused = true)]
async fn a_stalled_consumer_never_slows_a_normal_one_and_its_excess_is_dropped() {
    stalled_and_normal(20_000, 50).await;
}

#[tokio::test(start_paused = true)]
async fn a_stalled_consumer_that_fills_its_queue_before_the_grace_still_releases_the_readers() {
    // 500 messages per read every 5 ms: the stalled queue overflows long before SLOW_AFTER,
    // and the back-pressure it raised must still be released once it is slow.
    stalled_and_normal(150_000, 500).await;
}

async fn stalled_and_normal(n: usize, per_read: usize) {
    let mut h = Harness::new();
    let normal = h.subscriber("normal", "t/#", QoS::AtMostOnce).await;
    let stuck = h.subscriber("stuck", "t/#", QoS::AtMostOnce).await;
    let publisher = h.client("pub").await;
    h.events();
    // The stalled consumer's connection took one batch and its write never completes.
    publisher
        .publish(publish("t/1", b"first", QoS::AtMostOnce, false, 0))
        .await;
    assert_eq!(stuck.take_and_block(), 1);
    assert_eq!(normal.publishes().len(), 1);
    // `per_read` messages every 5 ms, for at least four times SLOW_AFTER.
    let (got, drops) = flood(
        &mut h,
        &publisher,
        &normal,
        n,
        per_read,
        Duration::from_millis(5),
    )
    .await;
    // The normal consumer received everything, in order.
    assert_eq!(got.len(), n);
    assert!(got.windows(2).all(|w| w[0] + 1 == w[1]));
    // The stalled one holds nobody back (checked first: `is_slow` re-examines it), is slow,
    // and its queue stayed at its limit.
    assert!(
        !h.pressure().active(),
        "a stalled consumer must not pause the readers"
    );
    assert!(stuck.outbox.is_slow());
    let held = stuck.take_and_block();
    assert!(
        held <= 1000 * crate::broker::outbox::PROGRESS_SLACK,
        "held {held}"
    );
    assert!(held < n, "nothing was dropped");
    // Drops are logged once per episode, for the stalled client only.
    assert_eq!(drops, vec![Arc::<str>::from("stuck")]);
    // The pause the stalled consumer could cause is bounded by SLOW_AFTER: it is over long
    // before the flood ends.
    assert!(Duration::from_millis(5) * (n / per_read) as u32 > SLOW_AFTER * 4);
}

#[tokio::test(start_paused = true)]
async fn a_slow_consumer_that_catches_up_is_normal_again() {
    let mut h = Harness::new();
    let stuck = h.subscriber("slowpoke", "t/#", QoS::AtMostOnce).await;
    let publisher = h.client("pub").await;
    publisher
        .publish(publish("t/1", b"first", QoS::AtMostOnce, false, 0))
        .await;
    assert_eq!(stuck.take_and_block(), 1);
    tokio::time::sleep(SLOW_AFTER * 2).await;
    publisher
        .publish(publish("t/1", b"second", QoS::AtMostOnce, false, 0))
        .await;
    assert!(stuck.outbox.is_slow());
    // It wrote the batch and then everything queued: it is a normal consumer again.
    stuck.outbox.written();
    assert!(stuck.outbox.is_slow(), "still has a packet queued");
    assert_eq!(stuck.publishes().len(), 1);
    assert!(!stuck.outbox.is_slow());
}

#[tokio::test(start_paused = true)]
async fn slow_consumers_together_stay_within_the_memory_budget() {
    use crate::broker::pressure::SLOW_BYTES_BUDGET;
    let cfg = BrokerConfig {
        max_queued_messages: 0,
        max_queued_bytes: SLOW_BYTES_BUDGET,
        ..BrokerConfig::default()
    };
    let mut h = Harness::with(cfg);
    let a = h.subscriber("a", "t/#", QoS::AtMostOnce).await;
    let b = h.subscriber("b", "t/#", QoS::AtMostOnce).await;
    let publisher = h.client("pub").await;
    publisher
        .publish(publish("t/1", b"x", QoS::AtMostOnce, false, 0))
        .await;
    a.take_and_block();
    b.take_and_block();
    tokio::time::sleep(SLOW_AFTER * 2).await;
    // 1 MiB messages: each consumer alone may hold up to the budget; both together may not.
    let big = Bytes::from(vec![7u8; 1 << 20]);
    let count = SLOW_BYTES_BUDGET / (1 << 20);
    for _ in 0..count {
        let mut p = publish("t/1", b"", QoS::AtMostOnce, false, 0);
        p.payload = big.clone();
        publisher.publish(p).await;
    }
    assert!(a.outbox.is_slow() && b.outbox.is_slow());
    assert!(h.pressure().slow_bytes() <= SLOW_BYTES_BUDGET);
    let held = a.take_and_block() + b.take_and_block();
    assert!(held <= count, "held {held} of {count} MiB-sized messages");
    assert_eq!(h.pressure().slow_bytes(), 0);
}

#[tokio::test(start_paused = true)]
async fn slow_consumer_disconnect_closes_an_overflowing_client_with_0x97() {
    let cfg = BrokerConfig {
        max_queued_messages: 10,
        slow_consumer_disconnect: true,
        ..BrokerConfig::default()
    };
    let mut h = Harness::with(cfg);
    let (stuck, _) = h.connect(v5("stuck5", true, None)).await;
    stuck.subscribe(1, "t/#", QoS::AtMostOnce).await;
    let normal = h.subscriber("normal", "t/#", QoS::AtMostOnce).await;
    let publisher = h.client("pub").await;
    publisher
        .publish(publish("t/1", b"first", QoS::AtMostOnce, false, 0))
        .await;
    assert_eq!(stuck.take_and_block(), 1);
    assert_eq!(normal.publishes().len(), 1);
    tokio::time::sleep(SLOW_AFTER * 2).await;
    for _ in 0..20 {
        publisher
            .publish(publish("t/1", b"m", QoS::AtMostOnce, false, 0))
            .await;
    }
    assert_eq!(normal.publishes().len(), 20, "the normal client gets all");
    assert_eq!(
        stuck.close_requested(),
        Some(CloseReason::Protocol(ReasonCode::QuotaExceeded))
    );
    assert!(h.events().iter().any(|e| matches!(
        e,
        BrokerEvent::DisconnectedBecause { client, .. } if &**client == "stuck5"
    )));
}

/// The value the router publishes on `$SYS/broker/publish/messages/dropped` at its next
/// `$SYS` interval.
async fn sys_dropped(h: &mut Harness) -> String {
    let watch = h
        .subscriber(
            "sys-watch",
            "$SYS/broker/publish/messages/dropped",
            QoS::AtMostOnce,
        )
        .await;
    watch.take();
    tokio::time::sleep(Duration::from_secs(h.cfg.sys_interval + 1)).await;
    let p = watch.publishes().pop().expect("no $SYS update");
    String::from_utf8(p.payload.to_vec()).unwrap()
}

fn drop_lines(events: &[BrokerEvent], client: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, BrokerEvent::MessagesDropped(c) if &**c == client))
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_drops_its_qos0_messages_before_refusing_qos1() {
    let cfg = BrokerConfig {
        max_queued_messages: 3,
        queue_qos0_messages: true,
        sys_interval: 1,
        ..BrokerConfig::default()
    };
    let mut h = Harness::with(cfg);
    let (s, _) = h.connect(v311("off", false)).await;
    s.subscribe(1, "t/#", QoS::AtLeastOnce).await;
    s.close(CloseKind::PeerClosed).await;
    let p = h.client("p").await;
    h.events();
    for m in [b"a", b"b", b"c"] {
        p.publish(publish("t/0", m, QoS::AtMostOnce, false, 0))
            .await;
    }
    // Full (a, b, c): x and y each evict the oldest QoS 0 message.
    p.publish(publish("t/1", b"x", QoS::AtLeastOnce, false, 1))
        .await;
    p.publish(publish("t/1", b"y", QoS::AtLeastOnce, false, 2))
        .await;
    // Full (c, x, y): a new QoS 0 message is dropped, a QoS 1 one evicts c.
    p.publish(publish("t/0", b"d", QoS::AtMostOnce, false, 0))
        .await;
    p.publish(publish("t/1", b"z", QoS::AtLeastOnce, false, 3))
        .await;
    // Full of QoS 1 (x, y, z): nothing left to evict, w is refused.
    p.publish(publish("t/1", b"w", QoS::AtLeastOnce, false, 4))
        .await;
    assert_eq!(drop_lines(&h.events(), "off"), 1, "one line per episode");
    let (s, ack) = h.connect(v311("off", false)).await;
    assert!(ack.session_present);
    let got: Vec<(Vec<u8>, QoS)> = s
        .publishes()
        .into_iter()
        .map(|p| (p.payload.to_vec(), p.qos))
        .collect();
    assert_eq!(
        got,
        vec![
            (b"x".to_vec(), QoS::AtLeastOnce),
            (b"y".to_vec(), QoS::AtLeastOnce),
            (b"z".to_vec(), QoS::AtLeastOnce),
        ]
    );
    // a, b, c evicted, d and w refused.
    assert_eq!(sys_dropped(&mut h).await, "5");
}

#[tokio::test(start_paused = true)]
async fn a_full_byte_limit_evicts_as_many_qos0_messages_as_a_qos1_message_needs() {
    let cfg = BrokerConfig {
        max_queued_messages: 0,
        max_queued_bytes: 100,
        queue_qos0_messages: true,
        sys_interval: 1,
        ..BrokerConfig::default()
    };
    let mut h = Harness::with(cfg);
    let (s, _) = h.connect(v311("bytes", false)).await;
    s.subscribe(1, "t/#", QoS::ExactlyOnce).await;
    s.close(CloseKind::PeerClosed).await;
    let p = h.client("p").await;
    h.events();
    // Three 30-byte QoS 0 messages fit in 100 bytes, the fourth does not.
    for m in [&[b'1'; 30], &[b'2'; 30], &[b'3'; 30], &[b'4'; 30]] {
        p.publish(publish("t/0", m, QoS::AtMostOnce, false, 0))
            .await;
    }
    // 60 bytes of QoS 1 need two of the QoS 0 messages to go (90 + 60 > 100, 60 + 60 > 100).
    p.publish(publish("t/2", &[b'q'; 60], QoS::AtLeastOnce, false, 1))
        .await;
    assert_eq!(drop_lines(&h.events(), "bytes"), 1);
    let (s, _) = h.connect(v311("bytes", false)).await;
    let got: Vec<(u8, usize, QoS)> = s
        .publishes()
        .into_iter()
        .map(|p| (p.payload[0], p.payload.len(), p.qos))
        .collect();
    assert_eq!(
        got,
        vec![(b'3', 30, QoS::AtMostOnce), (b'q', 60, QoS::AtLeastOnce)]
    );
    assert_eq!(sys_dropped(&mut h).await, "3");
}
