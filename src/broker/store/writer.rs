//! The writer thread: applies batches of [`Record`]s as redb transactions, one `fsync` per
//! group of batches that were waiting together (group commit), and reports progress.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use redb::{Durability, ReadableTable, WriteTransaction};
use tokio::sync::watch;

use super::{
    AWAITING_PUBREL, DELIVERIES, Job, META, Progress, RETAINED, Record, SESSIONS, SUBSCRIPTIONS,
    SessionMeta, SyncMode, codec,
};
use crate::broker::persist::{self, Snapshot, StoredDelivery};

/// The most batches folded into one transaction.
const MAX_GROUP: usize = 1024;

/// Runs until every [`super::Store`] handle to the job channel is gone.
pub(crate) fn run(
    db: redb::Database,
    jobs: Receiver<Job>,
    progress: watch::Sender<Progress>,
    sync: SyncMode,
) {
    // `every_commit`: each transaction is durable. Otherwise they are synced every `period`
    // (none: only on request and at the end).
    let (every_commit, period) = match sync {
        SyncMode::EveryCommit => (true, None),
        SyncMode::Interval(d) if d.is_zero() => (false, None),
        SyncMode::Interval(d) => (false, Some(d.max(Duration::from_millis(10)))),
    };
    // Whether non-durable commits happened since the last durable one.
    let mut dirty = false;
    let mut next_sync = period.map(|d| Instant::now() + d);
    let mut group = Vec::new();
    loop {
        let first = match next_sync {
            None => match jobs.recv() {
                Ok(j) => Some(j),
                Err(_) => break,
            },
            Some(at) => match jobs.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(j) => Some(j),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
        };
        let mut want_sync = match (next_sync, period) {
            (Some(at), Some(d)) if Instant::now() >= at => {
                next_sync = Some(Instant::now() + d);
                true
            }
            _ => false,
        };
        if let Some(j) = first {
            group.push(j);
        }
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let mut last = None;
        let mut records = Vec::new();
        for Job::Commit {
            ticket,
            records: batch,
            sync,
        } in group.drain(..)
        {
            last = Some(ticket);
            want_sync |= sync;
            if records.is_empty() {
                records = batch;
            } else {
                records.extend(batch);
            }
        }
        if progress.borrow().failed.is_some() {
            continue;
        }
        if last.is_none() && !(want_sync && dirty) {
            continue;
        }
        let durable = every_commit || want_sync;
        let skip = cancelled(&records);
        let kept = records
            .iter()
            .zip(skip.iter().chain(std::iter::repeat(&false)))
            .filter_map(|(r, s)| (!s).then_some(r));
        match commit(&db, kept, durable) {
            Ok(()) => {
                dirty = !durable;
                if let Some(t) = last {
                    progress.send_modify(|p| p.durable = t);
                }
            }
            Err(e) => {
                let msg = format!("persistence write failed: {e}");
                progress.send_modify(|p| p.failed = Some(msg.into()));
            }
        }
    }
    if dirty && progress.borrow().failed.is_none() {
        let none: [Record; 0] = [];
        if let Err(e) = commit(&db, none.iter(), true) {
            let msg = format!("persistence write failed: {e}");
            progress.send_modify(|p| p.failed = Some(msg.into()));
        }
    }
}

/// One transaction with `records`; `durable` makes it `fsync` before returning.
fn commit<'a>(
    db: &redb::Database,
    records: impl Iterator<Item = &'a Record>,
    durable: bool,
) -> Result<(), redb::Error> {
    let mut txn = db.begin_write()?;
    if !durable {
        txn.set_durability(Durability::None)
            .map_err(|e| redb::Error::Io(std::io::Error::other(e.to_string())))?;
    }
    apply(&txn, records)?;
    txn.commit()?;
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// Applies `records` in order, and stamps the commit time (`alive`).
pub(crate) fn apply<'a>(
    txn: &WriteTransaction,
    records: impl Iterator<Item = &'a Record>,
) -> Result<(), redb::Error> {
    let mut meta = txn.open_table(META)?;
    let mut retained = txn.open_table(RETAINED)?;
    let mut sessions = txn.open_table(SESSIONS)?;
    let mut subs = txn.open_table(SUBSCRIPTIONS)?;
    let mut deliveries = txn.open_table(DELIVERIES)?;
    let mut awaiting = txn.open_table(AWAITING_PUBREL)?;
    // One buffer for every delivery row of the transaction.
    let mut buf = Vec::with_capacity(256);
    let records: Vec<&Record> = records.collect();
    let runs = Runs::of(&records);
    for (i, r) in records.iter().copied().enumerate() {
        match r {
            Record::RetainSet(m) => {
                retained.insert(m.topic.as_str(), to_json(m).as_slice())?;
            }
            Record::RetainClear { topic } => {
                retained.remove(topic.as_str())?;
            }
            Record::SessionOpen {
                client_id,
                protocol_level,
                expiry,
            } => {
                let m = SessionMeta {
                    protocol_level: *protocol_level,
                    expiry: *expiry,
                    offline_since: None,
                };
                sessions.insert(client_id.as_str(), to_json(&m).as_slice())?;
            }
            Record::SessionOffline {
                client_id,
                expiry,
                since,
            } => {
                let level = sessions
                    .get(client_id.as_str())?
                    .and_then(|v| serde_json::from_slice::<SessionMeta>(v.value()).ok())
                    .map_or(4, |m| m.protocol_level);
                let m = SessionMeta {
                    protocol_level: level,
                    expiry: *expiry,
                    offline_since: Some(*since),
                };
                sessions.insert(client_id.as_str(), to_json(&m).as_slice())?;
            }
            Record::SessionRemove { client_id } => {
                let cid = client_id.as_str();
                sessions.remove(cid)?;
                let filters: Vec<String> = subs
                    .range((cid, "")..)?
                    .map_while(|row| {
                        let (k, _) = row.ok()?;
                        let (c, f) = k.value();
                        (c == cid).then(|| f.to_owned())
                    })
                    .collect();
                for f in &filters {
                    subs.remove((cid, f.as_str()))?;
                }
                deliveries.retain_in((cid, 0u64)..=(cid, u64::MAX), |_, _| false)?;
                awaiting.retain_in((cid, 0u16)..=(cid, u16::MAX), |_, _| false)?;
            }
            Record::Subscribe {
                client_id,
                subscription,
            } => {
                subs.insert(
                    (client_id.as_str(), subscription.filter.as_str()),
                    to_json(subscription).as_slice(),
                )?;
            }
            Record::Unsubscribe { client_id, filter } => {
                subs.remove((client_id.as_str(), filter.as_str()))?;
            }
            Record::Enqueue {
                client_id,
                seq,
                delivery,
            } => {
                if runs.member[i] {
                    // Written with the head of its run.
                } else if runs.next[i] == NONE {
                    codec::encode_delivery(delivery, &mut buf);
                    deliveries.insert((client_id.as_str(), *seq), buf.as_slice())?;
                } else {
                    let run = runs.members(i).filter_map(|j| match records[j] {
                        Record::Enqueue { delivery, .. } => Some(delivery),
                        _ => None,
                    });
                    let run: Vec<&StoredDelivery> = std::iter::once(delivery).chain(run).collect();
                    codec::encode_chunk(run.into_iter(), &mut buf);
                    deliveries.insert((client_id.as_str(), *seq), buf.as_slice())?;
                }
            }
            Record::InFlight {
                client_id,
                seq,
                pkid,
            } => update(&mut deliveries, &mut buf, client_id, *seq, |d| {
                d.pkid = Some(*pkid);
            })?,
            Record::Released { client_id, seq } => {
                update(&mut deliveries, &mut buf, client_id, *seq, |d| {
                    d.released = true;
                })?;
            }
            Record::Delivered { client_id, seq } => {
                split_chunk(&mut deliveries, &mut buf, client_id, *seq)?;
                deliveries.remove((client_id.as_str(), *seq))?;
            }
            Record::AwaitPubrel {
                client_id,
                pkid,
                message,
            } => {
                awaiting.insert((client_id.as_str(), *pkid), to_json(message).as_slice())?;
            }
            Record::Pubrel { client_id, pkid } => {
                awaiting.remove((client_id.as_str(), *pkid))?;
            }
        }
    }
    meta.insert("alive", persist::unix_now().to_be_bytes().as_slice())?;
    Ok(())
}

/// Rewrites one stored delivery in place (a missing one is left missing).
fn update(
    deliveries: &mut redb::Table<(&str, u64), &[u8]>,
    buf: &mut Vec<u8>,
    client_id: &str,
    seq: u64,
    change: impl FnOnce(&mut StoredDelivery),
) -> Result<(), redb::Error> {
    split_chunk(deliveries, buf, client_id, seq)?;
    let current = deliveries
        .get((client_id, seq))?
        .and_then(|v| codec::decode_delivery(v.value()).ok());
    if let Some(mut d) = current {
        change(&mut d);
        codec::encode_delivery(&d, buf);
        deliveries.insert((client_id, seq), buf.as_slice())?;
    }
    Ok(())
}

/// The most deliveries in one chunk row: bounds the work of splitting one, and keeps a chunk
/// of small messages within one 4 KiB page (larger values cost redb more per commit).
const MAX_CHUNK: usize = 32;

/// No next member.
const NONE: usize = usize::MAX;

/// The runs of one transaction's records: `Enqueue`s of one session with consecutive
/// sequence numbers and no other record of that session between them, stored as one chunk
/// row under the first one's key. Records of other sessions and retained messages touch other
/// rows, so writing a run at the place of its first record gives the same state.
struct Runs {
    /// Index of the next member of the run, or [`NONE`].
    next: Vec<usize>,
    /// A member after the first (written with the first).
    member: Vec<bool>,
}

impl Runs {
    fn of(records: &[&Record]) -> Self {
        use std::collections::HashMap;
        let n = records.len();
        let mut runs = Self {
            next: vec![NONE; n],
            member: vec![false; n],
        };
        // Client id -> (index of the run's last Enqueue, its seq, run length).
        let mut open: HashMap<&str, (usize, u64, usize)> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            let cid = match r {
                Record::RetainSet(_) | Record::RetainClear { .. } => continue,
                Record::Enqueue { client_id, seq, .. } => {
                    let cid = client_id.as_str();
                    match open.get_mut(cid) {
                        Some((last, last_seq, len))
                            if last_seq.checked_add(1) == Some(*seq) && *len < MAX_CHUNK =>
                        {
                            runs.next[*last] = i;
                            runs.member[i] = true;
                            *last = i;
                            *last_seq = *seq;
                            *len += 1;
                        }
                        _ => {
                            open.insert(cid, (i, *seq, 1));
                        }
                    }
                    continue;
                }
                Record::SessionOpen { client_id, .. }
                | Record::SessionOffline { client_id, .. }
                | Record::SessionRemove { client_id }
                | Record::Subscribe { client_id, .. }
                | Record::Unsubscribe { client_id, .. }
                | Record::InFlight { client_id, .. }
                | Record::Released { client_id, .. }
                | Record::Delivered { client_id, .. }
                | Record::AwaitPubrel { client_id, .. }
                | Record::Pubrel { client_id, .. } => client_id.as_str(),
            };
            open.remove(cid);
        }
        runs
    }

    /// The members of the run headed by `head`, after it.
    fn members(&self, head: usize) -> impl Iterator<Item = usize> + '_ {
        let after = |j: usize| {
            let n = self.next[j];
            (n != NONE).then_some(n)
        };
        std::iter::successors(after(head), move |&j| after(j))
    }
}

/// If `seq` lies in a chunk row, replaces the chunk with one row per delivery, so the row of
/// `seq` can be changed or removed alone.
fn split_chunk(
    deliveries: &mut redb::Table<(&str, u64), &[u8]>,
    buf: &mut Vec<u8>,
    client_id: &str,
    seq: u64,
) -> Result<(), redb::Error> {
    let chunk = {
        // The row at or before `seq`: a single row at `seq` is the common case.
        let mut rows = deliveries.range((client_id, 0u64)..=(client_id, seq))?;
        match rows.next_back() {
            Some(row) => {
                let (k, v) = row?;
                codec::is_chunk(v.value()).then(|| (k.value().1, v.value().to_vec()))
            }
            None => None,
        }
    };
    let Some((first, bytes)) = chunk else {
        return Ok(());
    };
    // A damaged chunk stops the store (its acknowledgements are withheld) rather than being
    // removed or rewritten; the next start names the damage.
    let ds = codec::decode_chunk(&bytes).map_err(|why| {
        redb::Error::Io(std::io::Error::other(format!(
            "damaged chunk of {client_id} at {first}: {why}"
        )))
    })?;
    if seq - first >= ds.len() as u64 {
        return Ok(());
    }
    deliveries.remove((client_id, first))?;
    for (s, d) in (first..).zip(&ds) {
        codec::encode_delivery(d, buf);
        deliveries.insert((client_id, s), buf.as_slice())?;
    }
    Ok(())
}

/// Marks the records of one group that need not reach the disk: a delivery enqueued and
/// finished (`Delivered`) within the same group is never written, and neither are its
/// `InFlight` / `Released` updates in between. The state after the group is the same as
/// with every record applied. A `SessionRemove` ends the pairing for its client (its
/// sequence numbers start again), so an `Enqueue` before it is never paired with a
/// `Delivered` after it.
pub(crate) fn cancelled(records: &[Record]) -> Vec<bool> {
    use std::collections::HashMap;
    if !records
        .iter()
        .any(|r| matches!(r, Record::Delivered { .. }))
    {
        return Vec::new();
    }
    // (client id, seq) -> index of its Enqueue, while it is open in this group.
    let mut open: HashMap<(&str, u64), usize> = HashMap::new();
    // (client id, seq) -> (Enqueue index, Delivered index); only the first pair of a key.
    let mut pairs: HashMap<(&str, u64), (usize, usize)> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        match r {
            Record::Enqueue { client_id, seq, .. } => {
                open.insert((client_id.as_str(), *seq), i);
            }
            Record::Delivered { client_id, seq } => {
                let key = (client_id.as_str(), *seq);
                if let Some(e) = open.remove(&key) {
                    pairs.entry(key).or_insert((e, i));
                }
            }
            Record::SessionRemove { client_id } => {
                open.retain(|(c, _), _| c != client_id);
            }
            _ => {}
        }
    }
    if pairs.is_empty() {
        return Vec::new();
    }
    let mut skip = vec![false; records.len()];
    for &(e, d) in pairs.values() {
        skip[e] = true;
        skip[d] = true;
    }
    for (i, r) in records.iter().enumerate() {
        if let Record::InFlight { client_id, seq, .. } | Record::Released { client_id, seq } = r
            && let Some(&(e, d)) = pairs.get(&(client_id.as_str(), *seq))
            && e < i
            && i < d
        {
            skip[i] = true;
        }
    }
    skip
}

/// Replaces every table's content with `snap`: sessions count as offline since
/// `snap.saved_at`, and each session's deliveries are numbered `0..` (in flight, then
/// queued).
pub(crate) fn write_snapshot(txn: &WriteTransaction, snap: &Snapshot) -> Result<(), redb::Error> {
    txn.delete_table(RETAINED)?;
    txn.delete_table(SESSIONS)?;
    txn.delete_table(SUBSCRIPTIONS)?;
    txn.delete_table(DELIVERIES)?;
    txn.delete_table(AWAITING_PUBREL)?;
    let mut records = Vec::new();
    for m in &snap.retained {
        records.push(Record::RetainSet(m.clone()));
    }
    for s in &snap.sessions {
        let cid = &s.client_id;
        records.push(Record::SessionOpen {
            client_id: cid.clone(),
            protocol_level: s.protocol_level,
            expiry: s.expiry,
        });
        records.push(Record::SessionOffline {
            client_id: cid.clone(),
            expiry: s.expiry,
            since: snap.saved_at,
        });
        for sub in &s.subscriptions {
            records.push(Record::Subscribe {
                client_id: cid.clone(),
                subscription: sub.clone(),
            });
        }
        for (seq, d) in (0u64..).zip(s.inflight.iter().chain(&s.queued)) {
            records.push(Record::Enqueue {
                client_id: cid.clone(),
                seq,
                delivery: d.clone(),
            });
        }
        for (pkid, m) in &s.awaiting_pubrel {
            records.push(Record::AwaitPubrel {
                client_id: cid.clone(),
                pkid: *pkid,
                message: m.clone(),
            });
        }
    }
    apply(txn, records.iter())
}
