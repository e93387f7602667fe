//! The readable export (`mqtt-workbench broker --dump-persistence FILE`): the store's state
//! read without changing the file, as a [`Snapshot`] or as JSON lines.

use std::path::Path;

use serde::Serialize;

use super::{Kind, classify, read_snapshot, unreadable};
use crate::broker::persist::{self, PersistError, Snapshot, StoredMessage};

/// Reads the state at `path` without changing anything there (for `--dump-persistence`):
/// `None` when there is no file. A database left by a crash is read through a repaired copy
/// in the temporary directory.
pub fn read(path: &Path) -> Result<Option<Snapshot>, PersistError> {
    match classify(path)? {
        Kind::Missing => Ok(None),
        Kind::Json => persist::load(path),
        Kind::Redb => {
            let db = redb::ReadOnlyDatabase::open(path).map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => in_use(path),
                e => unreadable(path, e),
            });
            match db {
                Ok(db) => read_snapshot(&db, path).map(Some),
                // Not shut down cleanly: repair a copy, never the file itself.
                Err(PersistError::Unreadable { .. }) if needs_repair(path) => {
                    read_repaired_copy(path).map(Some)
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// The error for a file a running broker holds: what to do to dump it (not the advice for
/// starting a broker on it).
fn in_use(path: &Path) -> PersistError {
    PersistError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(
            "it is in use by a running broker; to dump it, stop that broker \
             or copy the file (cp FILE state-copy.db) and dump the copy",
        ),
    }
}

/// Whether a read-only open of `path` fails only because redb must repair it after a crash.
pub(super) fn needs_repair(path: &Path) -> bool {
    matches!(
        redb::ReadOnlyDatabase::open(path),
        Err(redb::DatabaseError::RepairAborted)
    )
}

/// Reads a file that needs repair through a repaired copy in the temporary directory.
fn read_repaired_copy(path: &Path) -> Result<Snapshot, PersistError> {
    let copy = std::env::temp_dir().join(format!(
        "mqtt-workbench-dump-{}-{}.db",
        std::process::id(),
        persist::unix_now()
    ));
    let result = (|| {
        std::fs::copy(path, &copy).map_err(|source| PersistError::Io {
            path: path.to_owned(),
            source,
        })?;
        let db = redb::Builder::new()
            .set_check_integrity_on_open(true)
            .create(&copy)
            .map_err(|e| unreadable(path, e))?;
        read_snapshot(&db, path)
    })();
    let _ = std::fs::remove_file(&copy);
    result
}

/// The readable export: the state at `path` as pretty JSON (the old persistence format).
pub fn dump(path: &Path) -> Result<String, PersistError> {
    let snap = read(path)?.unwrap_or_default();
    serde_json::to_string_pretty(&snap).map_err(|e| unreadable(path, e))
}

/// The readable export as JSON lines (`mqtt-workbench broker --dump-persistence FILE`): one
/// object per retained message, session, subscription, kept delivery and incoming QoS 2
/// message awaiting PUBREL, each tagged with its `kind` (and `client_id`). Payloads are
/// base64 (`payload`) plus `payload_text` when they are UTF-8. Reads without changing the
/// file; `None` when there is no file.
pub fn dump_lines(path: &Path) -> Result<Option<Vec<String>>, PersistError> {
    let Some(snap) = read(path)? else {
        return Ok(None);
    };
    let mut lines = Vec::new();
    let mut push = |kind: &str, client: Option<&str>, v: serde_json::Value| {
        let mut obj = serde_json::Map::new();
        obj.insert("kind".into(), kind.into());
        if let Some(c) = client {
            obj.insert("client_id".into(), c.into());
        }
        if let serde_json::Value::Object(fields) = v {
            obj.extend(fields);
        }
        lines.push(serde_json::Value::Object(obj).to_string());
    };
    for m in &snap.retained {
        push("retained", None, message_json(m));
    }
    for s in &snap.sessions {
        let cid = Some(s.client_id.as_str());
        push(
            "session",
            cid,
            serde_json::json!({
                "protocol_level": s.protocol_level,
                "expiry": s.expiry,
            }),
        );
        for sub in &s.subscriptions {
            push("subscription", cid, to_json(sub));
        }
        for d in s.inflight.iter().chain(&s.queued) {
            let state = match (d.pkid, d.released) {
                (None, _) => "queued",
                (Some(_), false) => "in_flight",
                (Some(_), true) => "released",
            };
            let mut v = serde_json::json!({ "state": state, "qos": d.qos, "retain": d.retain });
            if let serde_json::Value::Object(o) = &mut v {
                if let Some(pkid) = d.pkid {
                    o.insert("pkid".into(), pkid.into());
                }
                if !d.sub_ids.is_empty() {
                    o.insert("sub_ids".into(), d.sub_ids.clone().into());
                }
                o.insert("message".into(), message_json(&d.message));
            }
            push("delivery", cid, v);
        }
        for (pkid, m) in &s.awaiting_pubrel {
            push(
                "awaiting_pubrel",
                cid,
                serde_json::json!({ "pkid": pkid, "message": message_json(m) }),
            );
        }
    }
    Ok(Some(lines))
}

/// A stored message as JSON, with `payload_text` beside the base64 payload when it is UTF-8.
fn message_json(m: &StoredMessage) -> serde_json::Value {
    let mut v = to_json(m);
    if let serde_json::Value::Object(o) = &mut v
        && let Ok(bytes) = persist::decode_binary(&m.payload)
        && let Ok(text) = String::from_utf8(bytes)
    {
        o.insert("payload_text".into(), text.into());
    }
    v
}

/// A value of ours as JSON (serialising these types cannot fail; a failure would give `null`).
fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}
