//! Codec micro-benchmarks: the broker decoding client PUBLISH packets, the broker encoding
//! PUBLISH packets for subscribers, and the load generator's own writer and parser.
//!
//! `cargo bench --bench codec`

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use mqtt_workbench::bench::wire::{self, PublishTemplate, Stamp};
use mqtt_workbench::protocol::encode::put_publish;
use mqtt_workbench::protocol::{Decoder, MqttVersion, Packet, ProtocolVersion, Publish, QoS};

/// Packets per iteration: the broker decodes whole read buffers, not single packets.
const BATCH: usize = 1000;

fn main() {
    divan::main();
}

fn versions(v5: bool) -> (MqttVersion, ProtocolVersion) {
    let v = if v5 {
        MqttVersion::V5
    } else {
        MqttVersion::V311
    };
    (v, v.into())
}

/// A decoder that has seen CONNECT, and `BATCH` client PUBLISH packets in one buffer.
fn client_publishes(v: MqttVersion, qos: u8, size: usize) -> (Decoder, BytesMut) {
    let mut d = Decoder::new(0);
    let mut c = BytesMut::new();
    wire::connect(&mut c, v, "bench", 60);
    assert!(matches!(d.decode(&mut c), Ok(Some(Packet::Connect(_)))));
    let t = PublishTemplate::new(
        v,
        "bench/7/temperature",
        QoS::from_u8(qos).unwrap_or_default(),
        size,
    );
    let mut buf = BytesMut::new();
    for i in 0..BATCH {
        let stamp = Stamp {
            sent_ns: 1,
            publisher: 7,
            seq: i as u32,
        };
        t.write(&mut buf, (i % 65535) as u16 + 1, stamp);
    }
    (d, buf)
}

#[divan::bench(args = [(false, 0, 64), (false, 1, 64), (true, 1, 64), (false, 0, 1024)])]
fn broker_decode_publish(bencher: Bencher, (v5, qos, size): (bool, u8, usize)) {
    let (v, _) = versions(v5);
    let (decoder, buf) = client_publishes(v, qos, size);
    bencher
        .counter(ItemsCount::new(BATCH))
        .with_inputs(|| (decoder.clone(), buf.clone()))
        .bench_local_refs(|(d, b)| {
            let mut n = 0;
            while let Ok(Some(p)) = d.decode(b) {
                n += usize::from(matches!(p, Packet::Publish(_)));
            }
            assert_eq!(n, BATCH);
        });
}

#[divan::bench(args = [(false, 0, 64), (false, 1, 64), (true, 1, 64), (false, 0, 1024)])]
fn broker_encode_publish(bencher: Bencher, (v5, qos, size): (bool, u8, usize)) {
    let (_, pv) = versions(v5);
    let p = Publish {
        dup: false,
        qos: QoS::from_u8(qos).unwrap_or_default(),
        retain: false,
        topic: Arc::from("bench/7/temperature"),
        pkid: 1,
        properties: None,
        payload: Bytes::from(vec![b'x'; size]),
    };
    let mut out = BytesMut::with_capacity(BATCH * (size + 32));
    bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
        out.clear();
        for _ in 0..BATCH {
            put_publish(&mut out, black_box(&p), pv);
        }
        out.len()
    });
}

#[divan::bench(args = [false, true])]
fn loadgen_write_publish(bencher: Bencher, v5: bool) {
    let (v, _) = versions(v5);
    let t = PublishTemplate::new(v, "bench/7", QoS::AtLeastOnce, 64);
    let mut out = BytesMut::with_capacity(BATCH * 80);
    bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
        out.clear();
        for i in 0..BATCH {
            let stamp = Stamp {
                sent_ns: 1,
                publisher: 7,
                seq: i as u32,
            };
            t.write(&mut out, 1, black_box(stamp));
        }
        out.len()
    });
}

#[divan::bench(args = [false, true])]
fn loadgen_parse_publish(bencher: Bencher, v5: bool) {
    let (v, _) = versions(v5);
    let (_, buf) = client_publishes(v, 1, 64);
    bencher.counter(ItemsCount::new(BATCH)).bench_local(|| {
        let mut pos = 0;
        let mut n = 0u64;
        while let Ok(Some((hdr, total))) = wire::frame_len(&buf[pos..]) {
            if let Ok(wire::Incoming::Publish { payload, .. }) =
                wire::parse(v, buf[pos], &buf[pos + hdr..pos + total])
            {
                n += Stamp::read(payload).map_or(0, |s| u64::from(s.seq));
            }
            pos += total;
            if pos == buf.len() {
                break;
            }
        }
        n
    });
}
