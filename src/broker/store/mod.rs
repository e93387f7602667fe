//! Durable persistence: every change to retained messages and persistent sessions is a
//! [`Record`], buffered by [`Store::append`] and written with one `fsync` per
//! [`Store::commit`] (group commit) on a writer thread, so the router's loop never blocks on
//! the disk. The router holds a PUBACK or PUBREC until the [`Ticket`] of the batch that stored
//! its message is durable ([`Store::progress`]).
//!
//! The storage is a [redb](https://docs.rs/redb) database (one file, copy-on-write B-trees,
//! checksummed commit slots): measured against fjall and an own append-only log in
//! `docs/benchmarks.md`, all three are bound by the same `fsync`, and redb adds one small
//! dependency (`libc`), recovers fastest and needs no compaction of our own.
//!
//! Tables (values are JSON, except the hot `deliveries` rows, which use the compact binary
//! layout of `codec`; `--dump-persistence` decodes both and prints JSON):
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | `format`, `alive` | the format tag; Unix seconds of the last commit |
//! | `retained` | topic | [`StoredMessage`] |
//! | `sessions` | client id | [`SessionMeta`] |
//! | `subscriptions` | (client id, filter) | [`StoredSubscription`] |
//! | `deliveries` | (client id, sequence number) | [`StoredDelivery`], binary (`pkid` set: in flight); or a chunk: the deliveries of consecutive numbers from this one, kept in one group commit |
//! | `awaiting_pubrel` | (client id, packet id) | [`StoredMessage`] |
//!
//! Per group commit the writer skips a delivery enqueued and finished within the group, and
//! stores each run of consecutive deliveries of one session as one chunk row (one redb
//! insert per run instead of one per message); the first change to one delivery of a chunk
//! splits it into single rows.
//!
//! Loading gives back the [`Snapshot`] the router already restores from. An old JSON
//! persistence file is converted on open; a file that is neither is refused and left untouched.
//!
//! # Wiring into the router
//!
//! Only sessions that outlive their connection (Session Expiry Interval > 0, or a 3.1.1 clean
//! session 0) get session records; `$SYS` topics get none.
//!
//! * Start (`broker::start`): `Store::open(path, options)` instead of `persist::load`; restore
//!   the returned [`Snapshot`] as today; each restored delivery's sequence number is its index
//!   in `inflight` then `queued`, and the session's next number is their total length.
//! * Retained: `RetainSet` / `RetainClear` (empty payload) where `route` stores it.
//! * CONNECT: clean start over an old stored session → `SessionRemove`; a persistent session
//!   created or resumed → `SessionOpen`. Disconnect (`went_offline`) → `SessionOffline` with
//!   the expiry in force and `unix_now()`; expiry 0, expiry timer, takeover that ends it →
//!   `SessionRemove`.
//! * SUBSCRIBE / UNSUBSCRIBE on a persistent session → `Subscribe` per granted filter /
//!   `Unsubscribe` per removed filter.
//! * A message kept for a persistent session (queued, or sent at once with QoS > 0) →
//!   `Enqueue` with the next sequence number (stored beside the entry in the queue and in the
//!   in-flight window); queued → sent: `InFlight`; PUBREC received: `Released`; PUBACK /
//!   PUBCOMP, expiry, queue-limit drop: `Delivered`.
//! * Incoming QoS 2 on a persistent session: `AwaitPubrel` when stored, `Pubrel` on PUBREL.
//! * Acknowledgements: while records are pending (`has_pending()`), PUBACK, PUBREC and PUBCOMP
//!   for a connection are held (with any later ones for that connection, to keep their order)
//!   instead of pushed to its outbox. At the end of each router batch `commit()` gives the
//!   ticket for everything held in that batch; a `select!` arm on `progress().changed()`
//!   releases every held acknowledgement whose ticket is `<= durable`. A set `failed` is
//!   logged once (`BrokerEvent::Error`); from then on an acknowledgement whose batch made
//!   records is withheld for good (never acknowledge what is not stored), the rest go out.
//!   The router's side lives in `router/durable.rs`.
//! * Shutdown: `close()` in `spawn_blocking` instead of the final `save`; no autosave timer
//!   (in [`SyncMode::Interval`] the writer syncs by itself). SIGUSR1: [`Store::sync_now`].

mod codec;
mod export;
mod writer;

#[cfg(test)]
use export::needs_repair;
pub use export::{dump, dump_lines, read};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::persist::{
    self, PersistError, Snapshot, StoredDelivery, StoredMessage, StoredSession, StoredSubscription,
};

/// The format tag stored in the `meta` table: format 2 writes `deliveries` rows in the
/// binary layout of [`codec`].
const FORMAT: &str = "mqtt-workbench store 2";

/// The previous format tag (every row JSON). Such a file opens: its rows are read as they
/// are, rewritten as format 2 by the renumbering at open, and the tag is updated then.
const FORMAT_1: &str = "mqtt-workbench store 1";

/// Whether `tag` names a format this build reads.
fn known_format(tag: &[u8]) -> bool {
    tag == FORMAT.as_bytes() || tag == FORMAT_1.as_bytes()
}

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const RETAINED: TableDefinition<&str, &[u8]> = TableDefinition::new("retained");
pub(crate) const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
pub(crate) const SUBSCRIPTIONS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("subscriptions");
pub(crate) const DELIVERIES: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("deliveries");
pub(crate) const AWAITING_PUBREL: TableDefinition<(&str, u16), &[u8]> =
    TableDefinition::new("awaiting_pubrel");

/// One change to the persistent state, in the order the router makes it.
///
/// Deliveries are named by the session's client id and a sequence number the router gives
/// each message it keeps for that session (see [`Store::open`] for the numbering after a
/// restart); queue order is sequence order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// A retained message was set (replacing any on its topic).
    RetainSet(StoredMessage),
    /// The retained message on a topic was cleared.
    RetainClear {
        /// Topic name.
        topic: String,
    },
    /// A persistent session was created or taken over by a new connection (it is online).
    SessionOpen {
        /// Client identifier.
        client_id: String,
        /// Protocol level of the connection: 3, 4 or 5.
        protocol_level: u8,
        /// Session Expiry Interval in seconds (`u32::MAX` = never).
        expiry: u32,
    },
    /// The session's connection ended: its expiry clock runs from `since`.
    SessionOffline {
        /// Client identifier.
        client_id: String,
        /// Session Expiry Interval in seconds, as it stands at the disconnect (MQTT 5 DISCONNECT
        /// may change it).
        expiry: u32,
        /// Unix seconds of the disconnect.
        since: u64,
    },
    /// The session ended (clean start, expiry, or Session Expiry Interval 0): it is removed
    /// with its subscriptions, deliveries and QoS 2 state.
    SessionRemove {
        /// Client identifier.
        client_id: String,
    },
    /// A subscription was added or replaced.
    Subscribe {
        /// Client identifier.
        client_id: String,
        /// The subscription.
        subscription: StoredSubscription,
    },
    /// A subscription was removed.
    Unsubscribe {
        /// Client identifier.
        client_id: String,
        /// The full filter, with any `$share/group/` prefix.
        filter: String,
    },
    /// A message was kept for a session: queued (`pkid` `None`) or sent at once (`pkid` set).
    Enqueue {
        /// Client identifier.
        client_id: String,
        /// The router's sequence number for this delivery.
        seq: u64,
        /// The delivery.
        delivery: StoredDelivery,
    },
    /// A queued message was sent with this Packet Identifier (it is now in flight).
    InFlight {
        /// Client identifier.
        client_id: String,
        /// The delivery's sequence number.
        seq: u64,
        /// Packet Identifier.
        pkid: u16,
    },
    /// QoS 2 in flight: PUBREC received, PUBREL sent.
    Released {
        /// Client identifier.
        client_id: String,
        /// The delivery's sequence number.
        seq: u64,
    },
    /// The delivery is finished (PUBACK, PUBCOMP, QoS 0 sent) or dropped (expired, queue
    /// limit).
    Delivered {
        /// Client identifier.
        client_id: String,
        /// The delivery's sequence number.
        seq: u64,
    },
    /// An incoming QoS 2 PUBLISH was received; it waits for PUBREL under its Packet
    /// Identifier.
    AwaitPubrel {
        /// Client identifier.
        client_id: String,
        /// Packet Identifier.
        pkid: u16,
        /// The message.
        message: StoredMessage,
    },
    /// PUBREL received for an incoming QoS 2 message (it was published and is forgotten).
    Pubrel {
        /// Client identifier.
        client_id: String,
        /// Packet Identifier.
        pkid: u16,
    },
}

/// What the `sessions` table keeps per session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// Protocol level of its last connection: 3, 4 or 5.
    pub protocol_level: u8,
    /// Session Expiry Interval in seconds (`u32::MAX` = never).
    pub expiry: u32,
    /// Unix seconds when its connection ended; `None` while online (a crash then counts from
    /// the last commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_since: Option<u64>,
}

/// When a batch reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Every commit is written and `fsync`ed before its ticket completes (the default).
    #[default]
    EveryCommit,
    /// Commits complete once applied in memory and reach the disk every interval (mosquitto's
    /// `autosave_interval`): faster, but a crash loses what came since the last sync. A zero
    /// interval syncs only on [`Store::sync_now`] and at [`Store::close`].
    Interval(Duration),
}

/// Options for [`Store::open`].
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// When batches reach the disk.
    pub sync: SyncMode,
}

/// The number of a committed batch; batches complete in order.
pub type Ticket = u64;

/// How far the writer has got, watched through [`Store::progress`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Every batch with a ticket up to this one is durable (per the [`SyncMode`]).
    pub durable: Ticket,
    /// Set when a write failed: that batch and every later one are not stored, and the store
    /// accepts no more (the first error is kept).
    pub failed: Option<Arc<str>>,
}

/// A job for the writer thread.
pub(crate) enum Job {
    /// Store these records as one transaction; with `sync` set it reaches the disk before
    /// its ticket completes, whatever the [`SyncMode`].
    Commit {
        /// The batch's ticket.
        ticket: Ticket,
        /// Its records.
        records: Vec<Record>,
        /// Sync it to disk (SIGUSR1 "save now").
        sync: bool,
    },
}

/// The durable store, owned by the router.
pub struct Store {
    pending: Vec<Record>,
    next_ticket: Ticket,
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    progress: watch::Receiver<Progress>,
    writer: Option<std::thread::JoinHandle<()>>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("pending", &self.pending.len())
            .field("next_ticket", &self.next_ticket)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store at `path` and returns it with the state it holds.
    ///
    /// * No file: a new, empty store.
    /// * A redb file of ours: loaded (after a crash redb first repairs it from its last
    ///   durable commit).
    /// * An old JSON persistence file: loaded and converted in place (a new database is built
    ///   beside it and renamed over it once durable).
    /// * Anything else: [`PersistError::Unreadable`], and the file is left untouched.
    ///
    /// After opening, each session's deliveries are numbered `0..` in the order of its
    /// `inflight` list and then its `queued` list in the returned [`Snapshot`]; the router
    /// numbers its next delivery for that session `inflight.len() + queued.len()`.
    pub fn open(path: &Path, options: StoreOptions) -> Result<(Self, Snapshot), PersistError> {
        let db = match classify(path)? {
            Kind::Missing => open_db(path)?,
            Kind::Redb => {
                check_ours(path)?;
                open_db(path)?
            }
            Kind::Json => {
                let snap = persist::load(path)?.unwrap_or_default();
                convert(path, &snap)?;
                open_db(path)?
            }
        };
        let snap = read_snapshot(&db, path)?;
        renumber(&db, &snap, path)?;
        let (tx, progress) = watch::channel(Progress::default());
        let (jobs, rx) = std::sync::mpsc::channel();
        let sync = options.sync;
        let writer = std::thread::Builder::new()
            .name("persistence".into())
            .spawn(move || writer::run(db, rx, tx, sync))
            .map_err(|source| PersistError::Io {
                path: path.to_owned(),
                source,
            })?;
        let store = Self {
            pending: Vec::new(),
            next_ticket: 1,
            jobs: Some(jobs),
            progress,
            writer: Some(writer),
            path: path.to_owned(),
        };
        Ok((store, snap))
    }

    /// Buffers one change for the next [`commit`](Self::commit); never blocks.
    pub fn append(&mut self, record: Record) {
        self.pending.push(record);
    }

    /// Whether changes are buffered and not yet committed.
    #[must_use]
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The ticket that covers every change appended so far: the one the next
    /// [`commit`](Self::commit) returns. An acknowledgement may go out once it is durable.
    #[must_use]
    pub fn covering(&self) -> Ticket {
        if self.pending.is_empty() {
            self.next_ticket - 1
        } else {
            self.next_ticket
        }
    }

    /// Hands the buffered changes to the writer as one batch and returns its ticket; never
    /// blocks. With nothing buffered it returns the last ticket handed out.
    pub fn commit(&mut self) -> Ticket {
        if self.pending.is_empty() {
            return self.next_ticket - 1;
        }
        self.send(false)
    }

    /// Commits what is buffered (perhaps nothing) and has the writer sync everything to disk
    /// even in [`SyncMode::Interval`] (SIGUSR1 "save now"); the returned ticket is durable once
    /// the sync is done. Never blocks.
    pub fn sync_now(&mut self) -> Ticket {
        self.send(true)
    }

    /// Sends the buffered changes as the next batch.
    fn send(&mut self, sync: bool) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let records = std::mem::take(&mut self.pending);
        if let Some(jobs) = &self.jobs {
            // A closed channel means the writer stopped after a failure; `progress` says so.
            let _ = jobs.send(Job::Commit {
                ticket,
                records,
                sync,
            });
        }
        ticket
    }

    /// Watches the writer: `changed()` wakes the router when batches become durable.
    #[must_use]
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.clone()
    }

    /// Waits until `ticket` is durable, or returns the write error that stopped the store.
    pub async fn wait(&self, ticket: Ticket) -> Result<(), Arc<str>> {
        let mut rx = self.progress.clone();
        let result = rx
            .wait_for(|p| p.durable >= ticket || p.failed.is_some())
            .await
            .map(|p| p.clone());
        match result {
            Ok(p) if p.durable >= ticket => Ok(()),
            Ok(p) => Err(p.failed.unwrap_or_else(|| Arc::from("the store failed"))),
            Err(_) => Err(Arc::from("the persistence writer stopped")),
        }
    }

    /// Commits what is buffered, waits for the writer to finish everything and stops it
    /// (blocking: call it from `spawn_blocking` or at the very end).
    pub fn close(mut self) -> Result<(), Arc<str>> {
        self.commit();
        self.stop()
    }

    /// Stops the writer after it has drained its jobs.
    fn stop(&mut self) -> Result<(), Arc<str>> {
        self.jobs = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        match self.progress.borrow().failed.clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// A store without a writer thread, for the router's tests: the test plays the writer.
#[cfg(test)]
pub(crate) struct ManualWriter {
    jobs: std::sync::mpsc::Receiver<Job>,
    progress: watch::Sender<Progress>,
}

#[cfg(test)]
impl ManualWriter {
    /// The batches committed since the last call: (ticket, records, sync requested).
    pub(crate) fn batches(&self) -> Vec<(Ticket, Vec<Record>, bool)> {
        self.jobs
            .try_iter()
            .map(
                |Job::Commit {
                     ticket,
                     records,
                     sync,
                 }| (ticket, records, sync),
            )
            .collect()
    }

    /// Reports every batch up to `ticket` durable.
    pub(crate) fn durable(&self, ticket: Ticket) {
        self.progress.send_modify(|p| p.durable = ticket);
    }

    /// Reports a write failure.
    pub(crate) fn fail(&self, why: &str) {
        self.progress
            .send_modify(|p| p.failed = Some(Arc::from(why)));
    }
}

#[cfg(test)]
impl Store {
    /// A store whose writer is the returned [`ManualWriter`].
    pub(crate) fn manual() -> (Self, ManualWriter) {
        let (tx, progress) = watch::channel(Progress::default());
        let (jobs, rx) = std::sync::mpsc::channel();
        let store = Self {
            pending: Vec::new(),
            next_ticket: 1,
            jobs: Some(jobs),
            progress,
            writer: None,
            path: PathBuf::from("manual"),
        };
        (
            store,
            ManualWriter {
                jobs: rx,
                progress: tx,
            },
        )
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// What is at the persistence path.
enum Kind {
    Missing,
    Json,
    Redb,
}

/// redb's file magic (the first bytes of every redb file).
const REDB_MAGIC: &[u8] = b"redb";

fn classify(path: &Path) -> Result<Kind, PersistError> {
    use std::io::Read;
    let mut head = [0u8; 9];
    let n = match std::fs::File::open(path) {
        Ok(mut f) => {
            let mut n = 0;
            loop {
                match f.read(&mut head[n..]) {
                    Ok(0) => break,
                    Ok(k) => {
                        n += k;
                        if n == head.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(source) => {
                        return Err(PersistError::Io {
                            path: path.to_owned(),
                            source,
                        });
                    }
                }
            }
            n
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Kind::Missing),
        Err(source) => {
            return Err(PersistError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let head = &head[..n];
    if head.is_empty() {
        // redb initialises an empty file; so did a crash before the first write.
        return Ok(Kind::Missing);
    }
    if head.starts_with(REDB_MAGIC) {
        return Ok(Kind::Redb);
    }
    if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Kind::Json);
    }
    Err(PersistError::Unreadable {
        path: path.to_owned(),
        reason: "not an mqtt-workbench persistence file".into(),
    })
}

fn unreadable(path: &Path, e: impl std::fmt::Display) -> PersistError {
    PersistError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Checks, without writing, that a redb file is ours (or has no tables yet). A file that
/// needs redb's repair after a crash cannot be opened read-only; it is repaired by the
/// read-write open and checked there.
fn check_ours(path: &Path) -> Result<(), PersistError> {
    let db = match redb::ReadOnlyDatabase::open(path) {
        Ok(db) => db,
        Err(redb::DatabaseError::RepairAborted) => return Ok(()),
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
            return Err(unreadable(path, "it is in use by another broker"));
        }
        Err(e) => return Err(unreadable(path, e)),
    };
    let r = db.begin_read().map_err(|e| unreadable(path, e))?;
    let tables = r.list_tables().map_err(|e| unreadable(path, e))?.count();
    if tables == 0 {
        return Ok(());
    }
    let format = match r.open_table(META) {
        Ok(meta) => meta
            .get("format")
            .map_err(|e| unreadable(path, e))?
            .map(|v| v.value().to_vec()),
        Err(_) => None,
    };
    match format {
        Some(f) if known_format(&f) => Ok(()),
        Some(f) => Err(unreadable(
            path,
            format!("format '{}'", String::from_utf8_lossy(&f)),
        )),
        None => Err(unreadable(path, "a redb database of another program")),
    }
}

/// Opens a redb database and checks it is ours (creating the tables of a new one).
fn open_db(path: &Path) -> Result<redb::Database, PersistError> {
    // Every page's checksum is verified at open: a file damaged outside redb is refused
    // instead of trusted (a plain open may even panic on one).
    let db = redb::Builder::new()
        .set_check_integrity_on_open(true)
        .create(path)
        .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => {
                unreadable(path, "it is in use by another broker")
            }
            e => unreadable(path, e),
        })?;
    let txn = db.begin_write().map_err(|e| unreadable(path, e))?;
    {
        let mut meta = txn.open_table(META).map_err(|e| unreadable(path, e))?;
        let existing = meta
            .get("format")
            .map_err(|e| unreadable(path, e))?
            .map(|v| v.value().to_vec());
        match existing {
            // A format 1 file keeps its tag until `renumber` rewrites its rows.
            Some(f) if known_format(&f) => {}
            Some(f) => {
                return Err(unreadable(
                    path,
                    format!("format '{}'", String::from_utf8_lossy(&f)),
                ));
            }
            None => {
                // A new database; an existing one of someone else's has other tables.
                let tables = txn.list_tables().map_err(|e| unreadable(path, e))?.count();
                if tables > 1 {
                    return Err(unreadable(path, "a redb database of another program"));
                }
                meta.insert("format", FORMAT.as_bytes())
                    .map_err(|e| unreadable(path, e))?;
            }
        }
        txn.open_table(RETAINED).map_err(|e| unreadable(path, e))?;
        txn.open_table(SESSIONS).map_err(|e| unreadable(path, e))?;
        txn.open_table(SUBSCRIPTIONS)
            .map_err(|e| unreadable(path, e))?;
        txn.open_table(DELIVERIES)
            .map_err(|e| unreadable(path, e))?;
        txn.open_table(AWAITING_PUBREL)
            .map_err(|e| unreadable(path, e))?;
    }
    txn.commit().map_err(|e| unreadable(path, e))?;
    Ok(db)
}

/// Builds a new database from an old JSON snapshot beside `path`, then renames it over.
fn convert(path: &Path, snap: &Snapshot) -> Result<(), PersistError> {
    let io = |source| PersistError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".converting");
    let tmp = PathBuf::from(tmp_name);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    {
        let db = open_db(&tmp)?;
        let txn = db.begin_write().map_err(|e| unreadable(&tmp, e))?;
        writer::write_snapshot(&txn, snap).map_err(|e| unreadable(&tmp, e))?;
        txn.commit().map_err(|e| unreadable(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    sync_dir(path);
    Ok(())
}

/// `fsync` of the directory holding `path`, so a rename survives a crash.
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

fn json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
    bytes: &[u8],
) -> Result<T, PersistError> {
    serde_json::from_slice(bytes).map_err(|e| unreadable(path, format!("{what}: {e}")))
}

/// Reads the whole state as a [`Snapshot`] stamped now; offline time already counted
/// against each session's expiry, and expired sessions left out.
fn read_snapshot(db: &impl ReadableDatabase, path: &Path) -> Result<Snapshot, PersistError> {
    let now = persist::unix_now();
    let r = db.begin_read().map_err(|e| unreadable(path, e))?;
    let e = |e: redb::Error| unreadable(path, e);
    let meta = r.open_table(META).map_err(|x| e(x.into()))?;
    match meta.get("format").map_err(|x| e(x.into()))? {
        Some(f) if known_format(f.value()) => {}
        _ => return Err(unreadable(path, "not an mqtt-workbench store")),
    }
    let alive = match meta.get("alive").map_err(|x| e(x.into()))? {
        Some(v) => v.value().try_into().map(u64::from_be_bytes).unwrap_or(now),
        None => now,
    };
    let mut snap = Snapshot::new();
    snap.saved_at = now;
    let retained = r.open_table(RETAINED).map_err(|x| e(x.into()))?;
    for row in retained.iter().map_err(|x| e(x.into()))? {
        let (_, v) = row.map_err(|x| e(x.into()))?;
        snap.retained
            .push(json(path, "retained message", v.value())?);
    }
    let sessions = r.open_table(SESSIONS).map_err(|x| e(x.into()))?;
    let subs = r.open_table(SUBSCRIPTIONS).map_err(|x| e(x.into()))?;
    let deliveries = r.open_table(DELIVERIES).map_err(|x| e(x.into()))?;
    let awaiting = r.open_table(AWAITING_PUBREL).map_err(|x| e(x.into()))?;
    for row in sessions.iter().map_err(|x| e(x.into()))? {
        let (k, v) = row.map_err(|x| e(x.into()))?;
        let client_id = k.value().to_owned();
        let m: SessionMeta = json(path, "session", v.value())?;
        let since = m.offline_since.unwrap_or(alive);
        let expiry = if m.expiry == u32::MAX {
            u32::MAX
        } else {
            let left = u64::from(m.expiry).saturating_sub(now.saturating_sub(since));
            if left == 0 {
                continue;
            }
            u32::try_from(left).unwrap_or(u32::MAX - 1)
        };
        let mut st = StoredSession {
            client_id: client_id.clone(),
            protocol_level: m.protocol_level,
            expiry,
            subscriptions: Vec::new(),
            inflight: Vec::new(),
            queued: Vec::new(),
            awaiting_pubrel: Vec::new(),
        };
        let cid = client_id.as_str();
        for row in subs.range((cid, "")..).map_err(|x| e(x.into()))? {
            let (k, v) = row.map_err(|x| e(x.into()))?;
            if k.value().0 != cid {
                break;
            }
            st.subscriptions
                .push(json(path, "subscription", v.value())?);
        }
        for row in deliveries
            .range((cid, 0u64)..=(cid, u64::MAX))
            .map_err(|x| e(x.into()))?
        {
            let (_, v) = row.map_err(|x| e(x.into()))?;
            let ds: Vec<StoredDelivery> = codec::decode_row(v.value())
                .map_err(|why| unreadable(path, format!("delivery: {why}")))?;
            for d in ds {
                if d.pkid.is_some() {
                    st.inflight.push(d);
                } else {
                    st.queued.push(d);
                }
            }
        }
        for row in awaiting
            .range((cid, 0u16)..=(cid, u16::MAX))
            .map_err(|x| e(x.into()))?
        {
            let (k, v) = row.map_err(|x| e(x.into()))?;
            st.awaiting_pubrel
                .push((k.value().1, json(path, "QoS 2 message", v.value())?));
        }
        snap.sessions.push(st);
    }
    Ok(snap)
}

/// Numbers each session's deliveries `0..` in snapshot order (in flight, then queued), and
/// drops the sessions the snapshot left out as expired. Every row is rewritten in the current
/// format, so the same transaction sets the format tag (a format 1 file becomes format 2).
fn renumber(db: &redb::Database, snap: &Snapshot, path: &Path) -> Result<(), PersistError> {
    let txn = db.begin_write().map_err(|e| unreadable(path, e))?;
    writer::write_snapshot(&txn, snap).map_err(|e| unreadable(path, e))?;
    {
        let mut meta = txn.open_table(META).map_err(|e| unreadable(path, e))?;
        meta.insert("format", FORMAT.as_bytes())
            .map_err(|e| unreadable(path, e))?;
    }
    txn.commit().map_err(|e| unreadable(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests;
