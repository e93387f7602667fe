//! Persistence (`persistence true`): the values the durable store
//! ([`crate::broker::store`]) keeps (retained messages, persistent sessions with their
//! subscriptions, queued and in-flight messages) and the [`Snapshot`] the router restores
//! from. [`load`] reads the whole-file JSON format of earlier versions, which the store
//! converts on open; [`save`] writes that format crash-safely (a temporary file beside it,
//! `fsync`, `rename`, `fsync` of the directory). A file that cannot be read is never
//! overwritten: the broker refuses to start and names it. Wills are not persisted (mosquitto
//! 2.0 does not either); `$SYS` topics are not.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// The tag in every file this module writes.
const FORMAT: &str = "mqtt-workbench persistence";
/// The layout version.
const VERSION: u32 = 1;

/// Why the persistence file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// Reading or writing failed.
    #[error("persistence file '{path}'")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not ours, or is damaged. It is left as it is.
    #[error(
        "persistence file '{path}' cannot be read ({reason}); it was left untouched: move it away or set persistence_file"
    )]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// An application message on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// Topic name.
    pub topic: String,
    /// Payload, base64.
    pub payload: String,
    /// QoS 0..=2.
    pub qos: u8,
    /// RETAIN as published.
    pub retain: bool,
    /// Unix seconds when the Message Expiry Interval runs out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// MQTT 5 Payload Format Indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_format: Option<u8>,
    /// MQTT 5 Content Type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// MQTT 5 Response Topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_topic: Option<String>,
    /// MQTT 5 Correlation Data, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_data: Option<String>,
    /// MQTT 5 User Properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_properties: Vec<(String, String)>,
}

/// One subscription of a persistent session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSubscription {
    /// The full filter, with any `$share/group/` prefix.
    pub filter: String,
    /// Maximum QoS.
    pub qos: u8,
    /// No Local.
    #[serde(default)]
    pub no_local: bool,
    /// Retain As Published.
    #[serde(default)]
    pub retain_as_published: bool,
    /// Retain Handling 0..=2.
    #[serde(default)]
    pub retain_handling: u8,
}

/// A message waiting for a session, or in flight to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDelivery {
    /// The message.
    pub message: StoredMessage,
    /// QoS of the delivery.
    pub qos: u8,
    /// RETAIN flag of the delivery.
    pub retain: bool,
    /// Subscription Identifiers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_ids: Vec<u32>,
    /// Packet id, for messages in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkid: Option<u16>,
    /// QoS 2 in flight: PUBREC received, PUBREL sent.
    #[serde(default)]
    pub released: bool,
}

/// A persistent session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    /// Client identifier.
    pub client_id: String,
    /// Protocol level of its last connection: 3, 4 or 5.
    pub protocol_level: u8,
    /// Session Expiry Interval in seconds (`u32::MAX` = never).
    pub expiry: u32,
    /// Subscriptions.
    pub subscriptions: Vec<StoredSubscription>,
    /// Outgoing messages in flight, in order.
    #[serde(default)]
    pub inflight: Vec<StoredDelivery>,
    /// Queued messages, in order.
    #[serde(default)]
    pub queued: Vec<StoredDelivery>,
    /// Incoming QoS 2 messages awaiting PUBREL, by packet id.
    #[serde(default)]
    pub awaiting_pubrel: Vec<(u16, StoredMessage)>,
}

/// Everything persisted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// Unix seconds when it was written: offline time counts against session expiry.
    pub saved_at: u64,
    /// Retained messages.
    pub retained: Vec<StoredMessage>,
    /// Persistent sessions.
    pub sessions: Vec<StoredSession>,
}

impl Snapshot {
    /// An empty snapshot stamped now.
    #[must_use]
    pub fn new() -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            saved_at: unix_now(),
            retained: Vec::new(),
            sessions: Vec::new(),
        }
    }

    /// Serialises it.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl Default for Snapshot {
    fn default() -> Self {
        Self::new()
    }
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Base64 for payloads and binary properties.
#[must_use]
pub fn encode_binary(b: &[u8]) -> String {
    STANDARD.encode(b)
}

/// Decodes base64 written by [`encode_binary`].
pub fn decode_binary(s: &str) -> Result<Vec<u8>, String> {
    STANDARD.decode(s).map_err(|e| format!("bad base64: {e}"))
}

/// Loads the snapshot at `path`; a missing file is an empty start (`None`).
pub fn load(path: &Path) -> Result<Option<Snapshot>, PersistError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let snap: Snapshot = serde_json::from_slice(&bytes).map_err(|e| PersistError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if snap.format != FORMAT || snap.version != VERSION {
        return Err(PersistError::Unreadable {
            path: path.to_owned(),
            reason: format!("format '{}' version {}", snap.format, snap.version),
        });
    }
    Ok(Some(snap))
}

/// Writes `bytes` to `path` crash-safely: temporary file, fsync, rename, fsync of the directory.
pub fn save(path: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    let io = |source| PersistError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
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
    Ok(())
}

/// How long from now until a Unix-seconds deadline (zero if it passed).
#[must_use]
pub fn until(unix_secs: u64) -> Duration {
    Duration::from_secs(unix_secs.saturating_sub(unix_now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        assert!(load(&path).expect("missing is fine").is_none());
        let mut snap = Snapshot::new();
        snap.retained.push(StoredMessage {
            topic: "a/b".into(),
            payload: encode_binary(b"\x00\xffhi"),
            qos: 1,
            retain: true,
            expires_at: None,
            payload_format: None,
            content_type: Some("text/plain".into()),
            response_topic: None,
            correlation_data: None,
            user_properties: vec![("k".into(), "v".into())],
        });
        save(&path, &snap.to_bytes()).expect("save");
        assert_eq!(load(&path).expect("load"), Some(snap));
        // A file that is not ours is refused and left untouched.
        std::fs::write(&path, b"\x00\x01mosquitto db").expect("write");
        assert!(matches!(load(&path), Err(PersistError::Unreadable { .. })));
        assert_eq!(std::fs::read(&path).expect("read"), b"\x00\x01mosquitto db");
    }
}
