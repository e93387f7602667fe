//! The durable store against real files in temporary directories, including a child process
//! killed with SIGKILL right after it was told its batches are durable.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::broker::persist::{StoredDelivery, StoredMessage, StoredSubscription, encode_binary};

fn msg(topic: &str, payload: &[u8], qos: u8) -> StoredMessage {
    StoredMessage {
        topic: topic.into(),
        payload: encode_binary(payload),
        qos,
        retain: false,
        expires_at: None,
        payload_format: None,
        content_type: None,
        response_topic: None,
        correlation_data: None,
        user_properties: Vec::new(),
    }
}

fn delivery(topic: &str, payload: &[u8]) -> StoredDelivery {
    StoredDelivery {
        message: msg(topic, payload, 1),
        qos: 1,
        retain: false,
        sub_ids: Vec::new(),
        pkid: None,
        released: false,
    }
}

fn sub(filter: &str, qos: u8) -> StoredSubscription {
    StoredSubscription {
        filter: filter.into(),
        qos,
        no_local: false,
        retain_as_published: true,
        retain_handling: 1,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Appends, commits and waits until durable.
fn commit_all(store: &mut Store, records: Vec<Record>) {
    for r in records {
        store.append(r);
    }
    let t = store.commit();
    rt().block_on(store.wait(t)).expect("durable");
}

fn open(path: &Path) -> (Store, Snapshot) {
    Store::open(path, StoreOptions::default()).expect("open")
}

fn cid() -> String {
    "dev-1".to_owned()
}

#[test]
fn every_record_kind_round_trips_through_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (mut store, snap) = open(&path);
    assert!(snap.retained.is_empty() && snap.sessions.is_empty());
    let mut retained = msg("r/1", b"\x00\xffkept", 1);
    retained.retain = true;
    retained.user_properties = vec![("k".into(), "v".into())];
    commit_all(
        &mut store,
        vec![
            Record::RetainSet(retained.clone()),
            Record::RetainSet(msg("r/2", b"gone", 0)),
            Record::RetainClear {
                topic: "r/2".into(),
            },
            Record::SessionOpen {
                client_id: cid(),
                protocol_level: 5,
                expiry: u32::MAX,
            },
            Record::Subscribe {
                client_id: cid(),
                subscription: sub("a/#", 2),
            },
            Record::Subscribe {
                client_id: cid(),
                subscription: sub("b/+", 1),
            },
            Record::Unsubscribe {
                client_id: cid(),
                filter: "b/+".into(),
            },
            Record::Enqueue {
                client_id: cid(),
                seq: 10,
                delivery: delivery("a/1", b"one"),
            },
            Record::Enqueue {
                client_id: cid(),
                seq: 11,
                delivery: delivery("a/2", b"two"),
            },
            Record::Enqueue {
                client_id: cid(),
                seq: 12,
                delivery: delivery("a/3", b"three"),
            },
            Record::Enqueue {
                client_id: cid(),
                seq: 13,
                delivery: delivery("a/4", b"four"),
            },
        ],
    );
    // A second batch: a message sent, one acknowledged, QoS 2 state on both sides.
    commit_all(
        &mut store,
        vec![
            Record::InFlight {
                client_id: cid(),
                seq: 10,
                pkid: 7,
            },
            Record::Released {
                client_id: cid(),
                seq: 10,
            },
            Record::InFlight {
                client_id: cid(),
                seq: 11,
                pkid: 8,
            },
            Record::Delivered {
                client_id: cid(),
                seq: 11,
            },
            Record::AwaitPubrel {
                client_id: cid(),
                pkid: 3,
                message: msg("in/q2", b"x", 2),
            },
            Record::AwaitPubrel {
                client_id: cid(),
                pkid: 4,
                message: msg("in/q2", b"y", 2),
            },
            Record::Pubrel {
                client_id: cid(),
                pkid: 4,
            },
            Record::SessionOpen {
                client_id: "other".into(),
                protocol_level: 4,
                expiry: 100,
            },
            Record::Subscribe {
                client_id: "other".into(),
                subscription: sub("x", 0),
            },
            Record::SessionRemove {
                client_id: "other".into(),
            },
        ],
    );
    store.close().expect("close");

    let (store, snap) = open(&path);
    assert_eq!(snap.retained, vec![retained]);
    assert_eq!(snap.sessions.len(), 1, "{snap:?}");
    let s = &snap.sessions[0];
    assert_eq!(
        (s.client_id.as_str(), s.protocol_level, s.expiry),
        ("dev-1", 5, u32::MAX)
    );
    assert_eq!(s.subscriptions, vec![sub("a/#", 2)]);
    let mut sent = delivery("a/1", b"one");
    sent.pkid = Some(7);
    sent.released = true;
    assert_eq!(s.inflight, vec![sent]);
    assert_eq!(
        s.queued,
        vec![delivery("a/3", b"three"), delivery("a/4", b"four")]
    );
    assert_eq!(s.awaiting_pubrel, vec![(3, msg("in/q2", b"x", 2))]);
    drop(store);
    // The readable export shows the same state, without changing the file.
    let before = std::fs::read(&path).expect("read");
    let dumped = dump(&path).expect("dump");
    let parsed: Snapshot = serde_json::from_str(&dumped).expect("json");
    assert_eq!(parsed.retained, snap.retained);
    assert_eq!(parsed.sessions, snap.sessions);
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

#[test]
fn deliveries_are_renumbered_from_zero_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (mut store, _) = open(&path);
    let mut records = vec![Record::SessionOpen {
        client_id: cid(),
        protocol_level: 4,
        expiry: 3600,
    }];
    for (seq, p) in [(500u64, "q1"), (900, "q2"), (77, "q0")] {
        records.push(Record::Enqueue {
            client_id: cid(),
            seq,
            delivery: delivery("t", p.as_bytes()),
        });
    }
    records.push(Record::InFlight {
        client_id: cid(),
        seq: 500,
        pkid: 1,
    });
    commit_all(&mut store, records);
    store.close().expect("close");
    let (mut store, snap) = open(&path);
    let s = &snap.sessions[0];
    // In flight first (seq 0), then the queue in the old order (77 before 900).
    assert_eq!(s.inflight.len(), 1);
    assert_eq!(s.queued, vec![delivery("t", b"q0"), delivery("t", b"q2")]);
    // So seq 1 is "q0": finishing it leaves "q2" alone.
    commit_all(
        &mut store,
        vec![Record::Delivered {
            client_id: cid(),
            seq: 1,
        }],
    );
    store.close().expect("close");
    let (_store, snap) = open(&path);
    assert_eq!(snap.sessions[0].queued, vec![delivery("t", b"q2")]);
    assert_eq!(snap.sessions[0].inflight.len(), 1);
}

#[test]
fn session_expiry_counts_offline_time_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (mut store, _) = open(&path);
    let now = persist::unix_now();
    let mut records = Vec::new();
    for (id, expiry, ago) in [("expired", 50u32, 100u64), ("left", 1000, 100)] {
        records.push(Record::SessionOpen {
            client_id: id.into(),
            protocol_level: 5,
            expiry,
        });
        records.push(Record::SessionOffline {
            client_id: id.into(),
            expiry,
            since: now - ago,
        });
    }
    commit_all(&mut store, records);
    store.close().expect("close");
    let (_store, snap) = open(&path);
    assert_eq!(snap.sessions.len(), 1, "{snap:?}");
    assert_eq!(snap.sessions[0].client_id, "left");
    // 1000 s minus about 100 s offline (a slow machine may take a second or two).
    let e = snap.sessions[0].expiry;
    assert!((895..=900).contains(&e), "{e}");
    assert_eq!(snap.sessions[0].protocol_level, 5);
}

#[test]
fn an_old_json_file_is_converted_and_a_foreign_file_is_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mqtt-workbench.db");
    let mut old = Snapshot::new();
    old.retained.push(msg("r", b"v", 0));
    old.sessions.push(StoredSession {
        client_id: cid(),
        protocol_level: 4,
        expiry: u32::MAX,
        subscriptions: vec![sub("a", 1)],
        inflight: vec![StoredDelivery {
            pkid: Some(9),
            ..delivery("a", b"1")
        }],
        queued: vec![delivery("a", b"2")],
        awaiting_pubrel: vec![(5, msg("a", b"3", 2))],
    });
    persist::save(&path, &old.to_bytes()).expect("save");
    assert_eq!(
        read(&path).expect("read json").map(|s| s.sessions),
        Some(old.sessions.clone())
    );
    let (store, snap) = open(&path);
    assert_eq!(snap.retained, old.retained);
    assert_eq!(snap.sessions, old.sessions);
    drop(store);
    assert!(std::fs::read(&path).expect("read").starts_with(REDB_MAGIC));
    assert!(!dir.path().join("mqtt-workbench.db.converting").exists());
    let (_store, again) = open(&path);
    assert_eq!(again.sessions, old.sessions);

    // Neither ours nor JSON: refused, and not a byte changes.
    let foreign = dir.path().join("mosquitto.db");
    std::fs::write(&foreign, b"\x00\xb5\x00mosquitto db").expect("write");
    let err = Store::open(&foreign, StoreOptions::default()).expect_err("refused");
    assert!(matches!(err, PersistError::Unreadable { .. }), "{err}");
    assert!(dump(&foreign).is_err());
    assert_eq!(
        std::fs::read(&foreign).expect("read"),
        b"\x00\xb5\x00mosquitto db"
    );
    // A damaged JSON file is refused and kept.
    let broken = dir.path().join("broken.db");
    std::fs::write(&broken, b"{\"format\": \"mqtt-workbench persistence\", ").expect("write");
    assert!(Store::open(&broken, StoreOptions::default()).is_err());
    assert_eq!(
        std::fs::read(&broken).expect("read"),
        b"{\"format\": \"mqtt-workbench persistence\", "
    );
}

#[test]
fn a_redb_file_of_another_program_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("other.redb");
    {
        let db = redb::Database::create(&path).expect("create");
        let t = db.begin_write().expect("txn");
        {
            let mut tb = t
                .open_table(TableDefinition::<&str, &str>::new("theirs"))
                .expect("table");
            tb.insert("k", "v").expect("insert");
        }
        t.commit().expect("commit");
    }
    let before = std::fs::read(&path).expect("read");
    let err = Store::open(&path, StoreOptions::default()).expect_err("refused");
    assert!(err.to_string().contains("other.redb"), "{err}");
    assert!(dump(&path).is_err());
    assert!(
        std::fs::read(&path).expect("read") == before,
        "the file changed"
    );
}

#[test]
fn a_truncated_database_never_panics_and_never_loses_a_readable_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (mut store, _) = open(&path);
    for i in 0..20u64 {
        commit_all(
            &mut store,
            vec![Record::RetainSet(msg(&format!("t/{i}"), &[7u8; 64], 1))],
        );
    }
    store.close().expect("close");
    let full = std::fs::read(&path).expect("read");
    let step = (full.len() / 64).max(1);
    for cut in (0..full.len()).step_by(step) {
        let p = dir.path().join(format!("cut-{cut}.db"));
        std::fs::write(&p, &full[..cut]).expect("write");
        match Store::open(&p, StoreOptions::default()) {
            // An empty file is a fresh start; otherwise a state that opens must be complete.
            Ok((_s, snap)) => assert!(
                cut == 0 || snap.retained.len() == 20,
                "cut at {cut} opened with {} of 20 retained messages",
                snap.retained.len()
            ),
            Err(e) => {
                assert!(matches!(e, PersistError::Unreadable { .. }), "{e}");
                assert!(
                    std::fs::read(&p).expect("read") == full[..cut],
                    "cut at {cut}: a refused file was changed"
                );
            }
        }
    }
}

#[test]
fn damage_in_the_middle_is_refused_and_the_file_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (mut store, _) = open(&path);
    for i in 0..20u64 {
        commit_all(
            &mut store,
            vec![Record::RetainSet(msg(
                &format!("t/{i}"),
                format!("payload-{i:04}").as_bytes(),
                1,
            ))],
        );
    }
    store.close().expect("close");
    let mut bytes = std::fs::read(&path).expect("read");
    // Flip one character inside a stored payload (base64 of "payload-0007").
    let needle = encode_binary(b"payload-0007");
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .expect("payload in the file");
    bytes[at + 2] ^= 0x01;
    std::fs::write(&path, &bytes).expect("write");
    let err = Store::open(&path, StoreOptions::default()).expect_err("damage detected");
    assert!(matches!(err, PersistError::Unreadable { .. }), "{err}");
    assert!(
        std::fs::read(&path).expect("read") == bytes,
        "a refused file was changed"
    );
}

#[test]
fn interval_mode_completes_before_sync_and_keeps_everything_after_a_clean_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let options = StoreOptions {
        sync: SyncMode::Interval(Duration::from_secs(3600)),
    };
    let (mut store, _) = Store::open(&path, options.clone()).expect("open");
    for i in 0..50u64 {
        commit_all(
            &mut store,
            vec![Record::RetainSet(msg(&format!("t/{i}"), b"x", 0))],
        );
    }
    store.close().expect("close");
    let (_store, snap) = Store::open(&path, options).expect("reopen");
    assert_eq!(snap.retained.len(), 50);
}

#[test]
fn commit_without_changes_hands_back_the_last_ticket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, _) = open(&dir.path().join("state.db"));
    assert_eq!(store.commit(), 0);
    assert!(!store.has_pending());
    store.append(Record::RetainClear { topic: "x".into() });
    assert!(store.has_pending());
    assert_eq!(store.commit(), 1);
    assert_eq!(store.commit(), 1);
    rt().block_on(store.wait(1)).expect("durable");
    assert_eq!(store.progress().borrow().durable, 1);
}

#[test]
fn batches_committed_without_waiting_all_become_durable_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (mut store, _) = open(&path);
    let mut last = 0;
    for i in 0..200u64 {
        // The router commits once per batch and never waits: later batches pile up behind
        // the running fsync and go to disk together.
        store.append(Record::RetainSet(msg("seq", i.to_string().as_bytes(), 1)));
        store.append(Record::RetainSet(msg(&format!("t/{i}"), b"x", 1)));
        let t = store.commit();
        assert_eq!(t, last + 1, "tickets count up");
        last = t;
    }
    rt().block_on(store.wait(last)).expect("durable");
    assert_eq!(store.progress().borrow().durable, 200);
    store.close().expect("close");
    let (_store, snap) = open(&path);
    assert_eq!(snap.retained.len(), 201);
    let seq = snap
        .retained
        .iter()
        .find(|m| m.topic == "seq")
        .expect("seq");
    assert_eq!(seq.payload, encode_binary(b"199"), "the last write wins");
}

#[test]
fn a_second_broker_on_the_same_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (_first, _) = open(&path);
    let err = Store::open(&path, StoreOptions::default()).expect_err("locked");
    assert!(err.to_string().contains("in use"), "{err}");
}

#[test]
fn a_dump_of_a_file_in_use_says_to_stop_the_broker_or_copy_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (_running, _) = open(&path);
    let err = dump(&path).expect_err("locked");
    let text = crate::error_chain(&err);
    assert!(text.contains("in use by a running broker"), "{text}");
    assert!(text.contains("stop that broker"), "{text}");
    assert!(text.contains("copy the file"), "{text}");
    assert!(!text.contains("move it away"), "{text}");
}

/// The environment variable that turns [`kill9_child`] into the child of
/// [`committed_batches_survive_kill_9`].
const CHILD_DIR: &str = "MQTT_WORKBENCH_STORE_CHILD_DIR";

/// Child process: commits batches forever (bounded), printing `committed N` once batch N is
/// durable, until the parent kills it. Does nothing unless started by the parent.
#[test]
#[ignore = "child process of committed_batches_survive_kill_9"]
fn kill9_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let path = Path::new(&dir).join("state.db");
    let (mut store, snap) = open(&path);
    let start = snap.sessions.first().map_or(0, |s| s.queued.len() as u64);
    let rt = rt();
    let mut out = std::io::stdout().lock();
    if start == 0 {
        store.append(Record::SessionOpen {
            client_id: cid(),
            protocol_level: 4,
            expiry: u32::MAX,
        });
    }
    for n in start..start + 20_000 {
        // Several batches per commit, as the router would produce while a sync is running.
        store.append(Record::Enqueue {
            client_id: cid(),
            seq: n,
            delivery: delivery("k", n.to_string().as_bytes()),
        });
        store.append(Record::RetainSet(msg("last", n.to_string().as_bytes(), 1)));
        let t = store.commit();
        rt.block_on(store.wait(t)).expect("durable");
        use std::io::Write as _;
        writeln!(out, "committed {n}").expect("stdout");
        out.flush().expect("flush");
    }
}

#[test]
fn committed_batches_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut expected: Option<u64> = None;
    for round in 0..6u64 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "broker::store::tests::kill9_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let mut last = None;
        let wanted = 5 + round * 7;
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("committed ") {
                last = Some(n.parse::<u64>().expect("number"));
                seen += 1;
                if seen == wanted {
                    break;
                }
            }
        }
        // SIGKILL, possibly in the middle of the next commit.
        child.kill().expect("kill -9");
        let _ = child.wait();
        let last = last.expect("the child committed something");
        expected = Some(last);
        let path = dir.path().join("state.db");
        // The export reads a crashed database (through a repaired copy) without touching it.
        assert!(
            needs_repair(&path),
            "round {round}: the kill left a clean file"
        );
        let before = std::fs::read(&path).expect("read");
        let dumped: Snapshot = serde_json::from_str(&dump(&path).expect("dump")).expect("json");
        assert!(
            dumped.sessions[0].queued.len() as u64 > last,
            "round {round}"
        );
        assert!(
            std::fs::read(&path).expect("read") == before,
            "dump changed the file"
        );
        let (store, snap) = open(&path);
        let s = snap.sessions.first().expect("session survived");
        // Every acknowledged batch is there, in order, without holes; batches the child
        // committed after the last line read here may be there too.
        let have: Vec<String> = s
            .queued
            .iter()
            .map(|d| {
                String::from_utf8(persist::decode_binary(&d.message.payload).expect("b64"))
                    .expect("utf8")
            })
            .collect();
        assert!(
            have.len() as u64 > last,
            "round {round}: {} < {}",
            have.len(),
            last + 1
        );
        for (i, p) in have.iter().enumerate() {
            assert_eq!(p, &i.to_string(), "round {round}");
        }
        let retained = persist::decode_binary(&snap.retained[0].payload).expect("b64");
        let r: u64 = String::from_utf8(retained)
            .expect("utf8")
            .parse()
            .expect("n");
        assert!(r >= last, "round {round}: retained {r} < {last}");
        drop(store);
    }
    assert!(expected.is_some());
}

/// A delivery with every optional field set.
fn full_delivery() -> StoredDelivery {
    let mut m = msg("sensors/ä/1", b"\x00\x01\xfe\xffdata", 2);
    m.retain = true;
    m.expires_at = Some(1_900_000_000);
    m.payload_format = Some(1);
    m.content_type = Some("text/plain".into());
    m.response_topic = Some("reply/here".into());
    m.correlation_data = Some(encode_binary(b"\x01\x02"));
    m.user_properties = vec![("k".into(), "v".into()), ("k".into(), "".into())];
    StoredDelivery {
        message: m,
        qos: 2,
        retain: true,
        sub_ids: vec![1, 268_435_455],
        pkid: Some(65_535),
        released: true,
    }
}

#[test]
fn binary_delivery_rows_round_trip_and_json_rows_still_decode() {
    let mut buf = Vec::new();
    for d in [full_delivery(), delivery("a", b"")] {
        codec::encode_delivery(&d, &mut buf);
        assert_eq!(buf[0], codec::TAG);
        assert_eq!(codec::decode_delivery(&buf), Ok(d.clone()));
        // A format 1 row (JSON) decodes to the same delivery.
        let json = serde_json::to_vec(&d).expect("json");
        assert_eq!(codec::decode_delivery(&json), Ok(d.clone()));
    }
    // The binary row is smaller than the JSON one it replaces, the payload stored raw.
    let d = delivery("bench/3", &[7u8; 64]);
    codec::encode_delivery(&d, &mut buf);
    assert!(buf.len() + 60 < serde_json::to_vec(&d).expect("json").len());
    assert!(buf.windows(64).any(|w| w == [7u8; 64]));
    // A payload string that is not base64 comes back as it was.
    let mut odd = delivery("a", b"");
    odd.message.payload = "not base64!".into();
    codec::encode_delivery(&odd, &mut buf);
    assert_eq!(codec::decode_delivery(&buf), Ok(odd));
}

#[test]
fn damaged_binary_delivery_rows_are_errors_never_panics() {
    let mut buf = Vec::new();
    codec::encode_delivery(&full_delivery(), &mut buf);
    // Every cut-short row, and the whole row with a byte too many.
    for n in 1..buf.len() {
        assert!(codec::decode_delivery(&buf[..n]).is_err(), "cut at {n}");
    }
    let mut long = buf.clone();
    long.push(0);
    assert!(codec::decode_delivery(&long).is_err());
    // A flag byte that is neither 0 nor 1, a huge count, invalid UTF-8.
    let mut bad = buf.clone();
    bad[2] = 7;
    assert!(codec::decode_delivery(&bad).is_err());
    let mut huge = buf.clone();
    // sub_ids count sits after tag, qos, retain, released and the pkid (1 + 2 bytes).
    huge[7..11].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(codec::decode_delivery(&huge).is_err());
    let mut utf8 = Vec::new();
    codec::encode_delivery(&delivery("t", b""), &mut utf8);
    // Topic "t" is the byte after its 4-byte length, which follows 1+3+1+4 bytes.
    assert_eq!(utf8[13], b't');
    utf8[13] = 0xff;
    assert!(codec::decode_delivery(&utf8).is_err());
    // The payload marker after the topic: neither 0 nor 1.
    let mut marker = Vec::new();
    codec::encode_delivery(&delivery("t", b""), &mut marker);
    assert_eq!(marker[14], 0);
    marker[14] = 9;
    assert!(codec::decode_delivery(&marker).is_err());
}

/// Writes a format 1 store by hand: the tag `mqtt-workbench store 1` and JSON rows.
fn write_format_1(path: &Path, d: &StoredDelivery) {
    let db = redb::Database::create(path).expect("create");
    let t = db.begin_write().expect("txn");
    {
        let mut meta = t.open_table(META).expect("meta");
        meta.insert("format", FORMAT_1.as_bytes()).expect("tag");
        let m = SessionMeta {
            protocol_level: 4,
            expiry: u32::MAX,
            offline_since: Some(persist::unix_now()),
        };
        let mut sessions = t.open_table(SESSIONS).expect("sessions");
        sessions
            .insert("dev-1", serde_json::to_vec(&m).expect("json").as_slice())
            .expect("session");
        let mut subs = t.open_table(SUBSCRIPTIONS).expect("subs");
        subs.insert(
            ("dev-1", "a/#"),
            serde_json::to_vec(&sub("a/#", 1)).expect("json").as_slice(),
        )
        .expect("sub");
        let mut deliveries = t.open_table(DELIVERIES).expect("deliveries");
        deliveries
            .insert(
                ("dev-1", 7u64),
                serde_json::to_vec(d).expect("json").as_slice(),
            )
            .expect("delivery");
        t.open_table(RETAINED).expect("retained");
        t.open_table(AWAITING_PUBREL).expect("awaiting");
    }
    t.commit().expect("commit");
}

fn format_tag(path: &Path) -> Vec<u8> {
    let db = redb::Database::open(path).expect("open");
    let r = db.begin_read().expect("read");
    let meta = r.open_table(META).expect("meta");
    meta.get("format")
        .expect("get")
        .map(|v| v.value().to_vec())
        .expect("tag")
}

#[test]
fn a_format_1_store_opens_and_is_rewritten_as_format_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let d = full_delivery();
    write_format_1(&path, &d);
    // The readable export reads the old rows as they are.
    let dumped = dump(&path).expect("dump");
    assert!(dumped.contains("reply/here"), "{dumped}");
    let (store, snap) = open(&path);
    assert_eq!(snap.sessions.len(), 1);
    assert_eq!(snap.sessions[0].inflight, vec![d.clone()]);
    assert_eq!(snap.sessions[0].subscriptions, vec![sub("a/#", 1)]);
    drop(store);
    assert_eq!(format_tag(&path), FORMAT.as_bytes());
    {
        let db = redb::Database::open(&path).expect("open");
        let r = db.begin_read().expect("read");
        let t = r.open_table(DELIVERIES).expect("deliveries");
        let row = t
            .get(("dev-1", 0u64))
            .expect("get")
            .expect("renumbered row");
        assert_eq!(row.value()[0], codec::TAG);
    }
    let (_store, again) = open(&path);
    assert_eq!(again.sessions, snap.sessions);
}

#[test]
fn a_store_of_a_newer_format_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    {
        let db = redb::Database::create(&path).expect("create");
        let t = db.begin_write().expect("txn");
        {
            let mut meta = t.open_table(META).expect("meta");
            meta.insert("format", b"mqtt-workbench store 3".as_slice())
                .expect("tag");
        }
        t.commit().expect("commit");
    }
    let before = std::fs::read(&path).expect("read");
    let err = Store::open(&path, StoreOptions::default()).expect_err("refused");
    assert!(err.to_string().contains("store 3"), "{err}");
    assert!(
        std::fs::read(&path).expect("read") == before,
        "the file changed"
    );
}

fn enq(seq: u64) -> Record {
    Record::Enqueue {
        client_id: cid(),
        seq,
        delivery: delivery("a", b"x"),
    }
}

fn delivered(seq: u64) -> Record {
    Record::Delivered {
        client_id: cid(),
        seq,
    }
}

#[test]
fn enqueue_and_delivered_in_one_group_cancel_out() {
    let inflight = |seq| Record::InFlight {
        client_id: cid(),
        seq,
        pkid: 1,
    };
    let records = vec![
        inflight(5), // a row from an earlier group: kept
        enq(0),
        enq(1),
        inflight(0),
        Record::Released {
            client_id: cid(),
            seq: 0,
        },
        delivered(0),
        delivered(5), // earlier row: kept
        inflight(1),
    ];
    let skip = writer::cancelled(&records);
    assert_eq!(
        skip,
        vec![false, true, false, true, true, true, false, false]
    );
    // Nothing delivered: nothing to scan.
    assert!(writer::cancelled(&[enq(0), enq(1)]).is_empty());
    // A SessionRemove between them: the Delivered after it belongs to the new session.
    let records = vec![
        enq(0),
        Record::SessionRemove { client_id: cid() },
        delivered(0),
        enq(0),
    ];
    assert!(writer::cancelled(&records).is_empty());
    let records = vec![
        enq(0),
        delivered(0),
        Record::SessionRemove { client_id: cid() },
        enq(0),
        delivered(0),
    ];
    assert_eq!(
        writer::cancelled(&records),
        vec![true, true, false, false, false]
    );
}

#[test]
fn a_group_with_cancelled_deliveries_stores_the_same_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (mut store, _) = open(&path);
    commit_all(
        &mut store,
        vec![
            Record::SessionOpen {
                client_id: cid(),
                protocol_level: 4,
                expiry: u32::MAX,
            },
            enq(0),
            enq(1),
            enq(2),
            delivered(1),
            Record::InFlight {
                client_id: cid(),
                seq: 2,
                pkid: 4,
            },
            enq(3),
            delivered(3),
        ],
    );
    drop(store);
    let (_store, snap) = open(&path);
    assert_eq!(snap.sessions.len(), 1);
    let s = &snap.sessions[0];
    assert_eq!(s.queued, vec![delivery("a", b"x")]);
    assert_eq!(
        s.inflight,
        vec![StoredDelivery {
            pkid: Some(4),
            ..delivery("a", b"x")
        }]
    );
}

/// The rows of the `deliveries` table: (client id, key seq, whether a chunk, deliveries in it).
fn delivery_rows(path: &Path) -> Vec<(String, u64, bool, usize)> {
    let db = redb::Database::open(path).expect("open");
    let r = db.begin_read().expect("read");
    let t = r.open_table(DELIVERIES).expect("deliveries");
    t.iter()
        .expect("iter")
        .map(|row| {
            let (k, v) = row.expect("row");
            let (c, s) = k.value();
            let n = codec::decode_row(v.value()).expect("decode").len();
            (c.to_owned(), s, codec::is_chunk(v.value()), n)
        })
        .collect()
}

fn enq_for(client: &str, seq: u64, payload: &[u8]) -> Record {
    Record::Enqueue {
        client_id: client.into(),
        seq,
        delivery: delivery("a", payload),
    }
}

fn session_open(client: &str) -> Record {
    Record::SessionOpen {
        client_id: client.into(),
        protocol_level: 4,
        expiry: u32::MAX,
    }
}

#[test]
fn consecutive_enqueues_of_a_group_share_one_chunk_row_split_when_touched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (mut store, _) = open(&path);
    // Two sessions interleaved: each gets its own run; a Subscribe of "b" ends b's run.
    let mut records = vec![session_open("a"), session_open("b")];
    for seq in 0..5u64 {
        records.push(enq_for("a", seq, &[seq as u8]));
        records.push(enq_for("b", seq, &[seq as u8]));
        if seq == 2 {
            records.push(Record::Subscribe {
                client_id: "b".into(),
                subscription: sub("x", 1),
            });
        }
    }
    commit_all(&mut store, records);
    drop(store);
    assert_eq!(
        delivery_rows(&path),
        vec![
            ("a".into(), 0, true, 5),
            ("b".into(), 0, true, 3),
            ("b".into(), 3, true, 2),
        ]
    );
    // Reading expands the chunks in order; the restart renumbers (one chunk per session).
    let (mut store, snap) = open(&path);
    let payloads = |s: &StoredSession| -> Vec<String> {
        s.queued.iter().map(|d| d.message.payload.clone()).collect()
    };
    let want: Vec<String> = (0..5u8).map(|i| encode_binary(&[i])).collect();
    assert_eq!(snap.sessions.len(), 2);
    assert!(snap.sessions.iter().all(|s| payloads(s) == want));
    // Sending seq 1 of "a" and finishing seq 3 split a's chunk into single rows.
    commit_all(
        &mut store,
        vec![
            Record::InFlight {
                client_id: "a".into(),
                seq: 1,
                pkid: 7,
            },
            Record::Delivered {
                client_id: "a".into(),
                seq: 3,
            },
        ],
    );
    drop(store);
    let rows = delivery_rows(&path);
    let a: Vec<_> = rows.iter().filter(|r| r.0 == "a").collect();
    assert_eq!(
        a,
        vec![
            &("a".to_owned(), 0, false, 1),
            &("a".to_owned(), 1, false, 1),
            &("a".to_owned(), 2, false, 1),
            &("a".to_owned(), 4, false, 1)
        ]
    );
    let (_store, snap) = open(&path);
    let a = snap
        .sessions
        .iter()
        .find(|s| s.client_id == "a")
        .expect("a");
    assert_eq!(a.inflight.len(), 1);
    assert_eq!(a.inflight[0].pkid, Some(7));
    assert_eq!(a.inflight[0].message.payload, encode_binary(&[1]));
    assert_eq!(
        payloads(a),
        vec![
            encode_binary(&[0]),
            encode_binary(&[2]),
            encode_binary(&[4])
        ]
    );
}

#[test]
fn a_delivered_at_the_chunk_key_removes_one_delivery_not_the_chunk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (mut store, _) = open(&path);
    let mut records = vec![session_open("a")];
    records.extend((0..3u64).map(|s| enq_for("a", s, b"m")));
    commit_all(&mut store, records);
    commit_all(
        &mut store,
        vec![Record::Delivered {
            client_id: "a".into(),
            seq: 0,
        }],
    );
    // A seq past the chunk's end: nothing changes.
    commit_all(
        &mut store,
        vec![Record::InFlight {
            client_id: "a".into(),
            seq: 9,
            pkid: 1,
        }],
    );
    drop(store);
    let (_store, snap) = open(&path);
    assert_eq!(snap.sessions[0].queued.len(), 2);
    assert!(snap.sessions[0].inflight.is_empty());
}

#[test]
fn chunks_hold_at_most_32_deliveries_and_damage_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let (mut store, _) = open(&path);
    let mut records = vec![session_open("a")];
    records.extend((0..70u64).map(|s| enq_for("a", s, b"m")));
    commit_all(&mut store, records);
    drop(store);
    let rows = delivery_rows(&path);
    assert_eq!(
        rows.iter().map(|r| (r.1, r.3)).collect::<Vec<_>>(),
        vec![(0, 32), (32, 32), (64, 6)]
    );
    let mut buf = Vec::new();
    let ds = [delivery("a", b"1"), delivery("b", b"2")];
    codec::encode_chunk(ds.iter(), &mut buf);
    assert_eq!(codec::decode_row(&buf), Ok(ds.to_vec()));
    for n in 1..buf.len() {
        assert!(codec::decode_row(&buf[..n]).is_err(), "cut at {n}");
    }
}
