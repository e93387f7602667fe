//! The durable store (`broker::store`): how long a group commit of N QoS 1 messages takes until
//! it is on disk (`fsync` included), and how long a restart takes to load the state.
//!
//! `cargo bench --bench store`. The files go to `$TMPDIR` (`/tmp` here: ext4 on the same
//! disk as the project). The figures are bound by the disk's `fsync`, not by the CPU.

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use mqtt_workbench::broker::persist::{StoredDelivery, StoredMessage, encode_binary};
use mqtt_workbench::broker::store::{Record, Store, StoreOptions, SyncMode};

fn main() {
    divan::main();
}

/// A QoS 1 message with a 64-byte payload kept for one offline session.
fn enqueue(seq: u64) -> Record {
    Record::Enqueue {
        client_id: "device-0001".into(),
        seq,
        delivery: StoredDelivery {
            message: StoredMessage {
                topic: "fleet/device-0001/telemetry".into(),
                payload: encode_binary(&[0x5a; 64]),
                qos: 1,
                retain: false,
                expires_at: None,
                payload_format: None,
                content_type: None,
                response_topic: None,
                correlation_data: None,
                user_properties: Vec::new(),
            },
            qos: 1,
            retain: false,
            sub_ids: Vec::new(),
            pkid: None,
            released: false,
        },
    }
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    }
}

/// One batch of `n` messages, committed and waited for (`fsync` per commit).
#[divan::bench(args = [1, 16, 256], sample_count = 30, sample_size = 1)]
fn commit_durable(bencher: Bencher, n: u64) {
    commit(bencher, n, SyncMode::EveryCommit);
}

/// The same with `SyncMode::Interval` (mosquitto's `autosave_interval`): no `fsync` per commit.
#[divan::bench(args = [1, 16, 256], sample_count = 30, sample_size = 1)]
fn commit_interval(bencher: Bencher, n: u64) {
    commit(
        bencher,
        n,
        SyncMode::Interval(std::time::Duration::from_secs(3600)),
    );
}

fn commit(bencher: Bencher, n: u64, sync: SyncMode) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let Ok((mut store, _)) = Store::open(&dir.path().join("bench.db"), StoreOptions { sync })
    else {
        return;
    };
    let rt = runtime();
    let mut seq = 0;
    bencher.counter(ItemsCount::new(n)).bench_local(|| {
        for _ in 0..n {
            store.append(enqueue(seq));
            seq += 1;
        }
        let t = store.commit();
        black_box(rt.block_on(store.wait(t)).is_ok())
    });
}

/// 64 router batches of 16 messages committed back to back (as the router does: it never
/// waits), then waiting for the last: what group commit gives under load.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn commit_pipelined_64x16(bencher: Bencher) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let Ok((mut store, _)) = Store::open(&dir.path().join("bench.db"), StoreOptions::default())
    else {
        return;
    };
    let rt = runtime();
    let mut seq = 0;
    bencher
        .counter(ItemsCount::new(64 * 16usize))
        .bench_local(|| {
            let mut t = 0;
            for _ in 0..64 {
                for _ in 0..16 {
                    store.append(enqueue(seq));
                    seq += 1;
                }
                t = store.commit();
            }
            black_box(rt.block_on(store.wait(t)).is_ok())
        });
}

/// Opening a store that holds 10,000 queued messages (a restart).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn open_10k(bencher: Bencher) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("bench.db");
    {
        let Ok((mut store, _)) = Store::open(&path, StoreOptions::default()) else {
            return;
        };
        for seq in 0..10_000 {
            store.append(enqueue(seq));
            if seq % 256 == 255 {
                store.commit();
            }
        }
        let _ = store.close();
    }
    bencher
        .counter(ItemsCount::new(10_000usize))
        .bench_local(|| {
            let opened = Store::open(&path, StoreOptions::default());
            black_box(opened.map(|(_, s)| s.sessions.len()).ok())
        });
}
