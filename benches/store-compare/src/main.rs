//! Scratch comparison for `broker::store`: redb vs fjall vs an own CRC-framed append-only log,
//! fsync per group commit. Numbers in docs/benchmarks.md ("Persistence store").
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

const PAYLOAD: [u8; 64] = [7u8; 64];

fn key(i: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(b"q/s1");
    k[4..].copy_from_slice(&i.to_be_bytes());
    k
}

fn value(i: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(96);
    v.extend_from_slice(b"topic/device/");
    v.extend_from_slice(&i.to_le_bytes());
    v.extend_from_slice(&PAYLOAD);
    v
}

trait Store {
    fn commit(&mut self, batch: &[(u64, bool)]); // (id, insert?)
}

struct Redb {
    db: redb::Database,
}
const T: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("m");
impl Store for Redb {
    fn commit(&mut self, batch: &[(u64, bool)]) {
        let tx = self.db.begin_write().unwrap();
        {
            let mut t = tx.open_table(T).unwrap();
            for &(i, ins) in batch {
                if ins {
                    t.insert(&key(i)[..], &value(i)[..]).unwrap();
                } else {
                    t.remove(&key(i)[..]).unwrap();
                }
            }
        }
        tx.commit().unwrap();
    }
}

struct Fjall {
    db: fjall::Database,
    ks: fjall::Keyspace,
}
impl Store for Fjall {
    fn commit(&mut self, batch: &[(u64, bool)]) {
        let mut b = self
            .db
            .batch()
            .durability(Some(fjall::PersistMode::SyncData));
        for &(i, ins) in batch {
            if ins {
                b.insert(&self.ks, key(i).to_vec(), value(i));
            } else {
                b.remove(&self.ks, key(i).to_vec());
            }
        }
        b.commit().unwrap();
    }
}

struct Log {
    f: std::fs::File,
    buf: Vec<u8>,
}
impl Store for Log {
    fn commit(&mut self, batch: &[(u64, bool)]) {
        self.buf.clear();
        for &(i, ins) in batch {
            let mut rec = Vec::with_capacity(128);
            rec.push(ins as u8);
            rec.extend_from_slice(&key(i));
            if ins {
                rec.extend_from_slice(&value(i));
            }
            self.buf
                .extend_from_slice(&(rec.len() as u32).to_le_bytes());
            self.buf
                .extend_from_slice(&crc32fast::hash(&rec).to_le_bytes());
            self.buf.extend_from_slice(&rec);
        }
        self.f.write_all(&self.buf).unwrap();
        self.f.sync_data().unwrap();
    }
}

fn open(kind: &str, dir: &Path) -> Box<dyn Store> {
    match kind {
        "redb" => Box::new(Redb {
            db: redb::Database::create(dir.join("r.redb")).unwrap(),
        }),
        "fjall" => {
            let db = fjall::Database::builder(dir.join("fj")).open().unwrap();
            let ks = db
                .keyspace("m", fjall::KeyspaceCreateOptions::default)
                .unwrap();
            Box::new(Fjall { db, ks })
        }
        _ => Box::new(Log {
            f: OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("log"))
                .unwrap(),
            buf: Vec::new(),
        }),
    }
}

fn recover(kind: &str, dir: &Path) -> usize {
    match kind {
        "redb" => {
            use redb::ReadableDatabase;
            use redb::ReadableTable;
            let db = redb::Database::create(dir.join("r.redb")).unwrap();
            let r = db.begin_read().unwrap();
            let t = r.open_table(T).unwrap();
            t.iter().unwrap().count()
        }
        "fjall" => {
            let db = fjall::Database::builder(dir.join("fj")).open().unwrap();
            let ks = db
                .keyspace("m", fjall::KeyspaceCreateOptions::default)
                .unwrap();
            ks.iter().count()
        }
        _ => {
            let mut data = Vec::new();
            std::fs::File::open(dir.join("log"))
                .unwrap()
                .read_to_end(&mut data)
                .unwrap();
            let mut live = std::collections::HashMap::new();
            let mut p = 0;
            while p + 8 <= data.len() {
                let len = u32::from_le_bytes(data[p..p + 4].try_into().unwrap()) as usize;
                let crc = u32::from_le_bytes(data[p + 4..p + 8].try_into().unwrap());
                let rec = &data[p + 8..p + 8 + len];
                assert_eq!(crc32fast::hash(rec), crc);
                let k: [u8; 12] = rec[1..13].try_into().unwrap();
                if rec[0] == 1 {
                    live.insert(k, rec[13..].to_vec());
                } else {
                    live.remove(&k);
                }
                p += 8 + len;
            }
            live.len()
        }
    }
}

fn crash_child(dir: &Path, quick: bool) {
    let db = redb::Database::create(dir.join("r.redb")).unwrap();
    let mut lat = Vec::new();
    for c in 0..400u64 {
        let t = Instant::now();
        let mut tx = db.begin_write().unwrap();
        tx.set_quick_repair(quick);
        {
            let mut tb = tx.open_table(T).unwrap();
            for j in 0..256 {
                let i = c * 256 + j;
                tb.insert(&key(i)[..], &value(i)[..]).unwrap();
            }
        }
        tx.commit().unwrap();
        lat.push(t.elapsed());
    }
    lat.sort();
    eprintln!(
        "redb quick_repair={quick} batch 256 commit p50 {:.2?} p99 {:.2?}",
        lat[200], lat[396]
    );
    std::process::abort();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        crash_child(Path::new(&args[2]), args[3] == "1");
    }
    if args.get(1).map(String::as_str) == Some("crash") {
        for quick in ["0", "1"] {
            let dir = tempfile::tempdir_in("/tmp").unwrap();
            let _ = std::process::Command::new(&args[0])
                .args(["child", dir.path().to_str().unwrap(), quick])
                .status();
            let t = Instant::now();
            let live = recover("redb", dir.path());
            println!(
                "redb quick_repair={quick}: reopen after abort with {live} records: {:.2?}",
                t.elapsed()
            );
        }
        return;
    }
    let kinds: Vec<String> = std::env::args().skip(1).collect();
    for kind in &kinds {
        for &n in &[1usize, 16, 256] {
            let dir = tempfile::tempdir_in("/tmp").unwrap();
            let mut s = open(kind, dir.path());
            // QoS 1 message: queued (insert) then acked (remove) later: half inserts, half removes.
            let commits = match n {
                1 => 400,
                16 => 200,
                _ => 60,
            };
            let mut lat = Vec::new();
            let mut id = 0u64;
            let start = Instant::now();
            for c in 0..commits {
                let batch: Vec<(u64, bool)> = (0..n as u64)
                    .map(|j| {
                        if c % 2 == 0 {
                            (id + j, true)
                        } else {
                            (id - n as u64 + j, false)
                        }
                    })
                    .collect();
                if c % 2 == 0 {
                    id += n as u64;
                } else {
                    id += 0;
                }
                let t = Instant::now();
                s.commit(&batch);
                lat.push(t.elapsed());
            }
            let el = start.elapsed();
            lat.sort();
            let recs = (commits * n) as f64;
            println!(
                "{kind:5} batch {n:3}: commit p50 {:>8.2?} p99 {:>8.2?}  {:>9.0} records/s",
                lat[lat.len() / 2],
                lat[lat.len() * 99 / 100],
                recs / el.as_secs_f64()
            );
        }
        // recovery: 100k live records written in batches of 256.
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        {
            let mut s = open(kind, dir.path());
            for c in 0..400u64 {
                let batch: Vec<(u64, bool)> = (0..256).map(|j| (c * 256 + j, true)).collect();
                s.commit(&batch);
            }
        }
        let t = Instant::now();
        let live = recover(kind, dir.path());
        let el: Duration = t.elapsed();
        let size: u64 = walk(dir.path());
        println!(
            "{kind:5} recovery of {live} live records: {el:.2?}, {:.1} MB on disk",
            size as f64 / 1e6
        );
    }
}

fn walk(p: &Path) -> u64 {
    let mut s = 0;
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        s += if m.is_dir() { walk(&e.path()) } else { m.len() };
    }
    s
}
