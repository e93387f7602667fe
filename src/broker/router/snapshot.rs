//! Persistence glue: the router's state to and from a [`Snapshot`] (the file format lives in
//! [`crate::broker::persist`]).
//!
//! # Invariants
//!
//! * Only what outlives a connection is stored: retained messages except `$SYS`, and sessions
//!   with a non-zero expiry, with their subscriptions, in-flight and queued messages and the
//!   incoming QoS 2 messages awaiting PUBREL.
//! * Times are stored as wall-clock seconds (the file outlives the process) and turned back
//!   into deadlines on tokio's clock when loaded; what expired while the broker was down is
//!   skipped.
//! * Enum ↔ integer conversions go through one pair of functions each
//!   (`protocol_level`/`version_of`, `retain_handling_code`/`retain_handling_of`), so the
//!   two directions cannot drift.
//! * Restoring numbers each session's deliveries as the store does (in flight, then queued,
//!   from 0) and records the removal of whatever it skips, so the store matches memory.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::Router;
use super::message::{Message, build_publish};
use super::session::{InFlight, Queued};
use super::timers::Timer;
use crate::broker::persist::{
    self, Snapshot, StoredDelivery, StoredMessage, StoredSession, StoredSubscription,
};
use crate::broker::store::Record;
use crate::protocol::topic;
use crate::protocol::{Properties, ProtocolVersion, QoS, RetainHandling, SubscriptionOptions};

impl Router {
    /// Everything `persistence` keeps: retained messages (not `$SYS`) and sessions that
    /// outlive their connection.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let mut snap = Snapshot::new();
        let mut retained = Vec::new();
        self.retained.all(&mut retained);
        retained.retain(|m| !m.topic.starts_with("$SYS/"));
        snap.retained = retained.iter().map(stored_message).collect();
        for s in self.sessions.iter().flatten() {
            if s.expiry() == 0 {
                continue;
            }
            let delivery = |msg: &Message, qos: QoS, retain: bool, ids: &[u32]| StoredDelivery {
                message: stored_message(msg),
                qos: qos.as_u8(),
                retain,
                sub_ids: ids.to_vec(),
                pkid: None,
                released: false,
            };
            snap.sessions.push(StoredSession {
                client_id: s.id().to_string(),
                protocol_level: protocol_level(s.version()),
                expiry: s.expiry(),
                subscriptions: s
                    .subscriptions()
                    .map(|(f, o)| stored_subscription(f, o))
                    .collect(),
                inflight: s
                    .inflight()
                    .map(|f| {
                        let p = &f.publish;
                        let msg = Message::from_publish(p.clone());
                        let ids = p
                            .properties
                            .as_ref()
                            .map(|x| x.subscription_ids.clone())
                            .unwrap_or_default();
                        StoredDelivery {
                            pkid: Some(p.pkid),
                            released: f.released,
                            ..delivery(&msg, p.qos, p.retain, &ids)
                        }
                    })
                    .collect(),
                queued: s
                    .queued()
                    .map(|q| delivery(&q.msg, q.qos, q.retain, &q.sub_ids))
                    .collect(),
                awaiting_pubrel: s
                    .awaiting_pubrel()
                    .map(|(id, m)| (*id, stored_message(m)))
                    .collect(),
            });
        }
        snap
    }

    /// Loads a snapshot into an empty router (at start). Expired messages and sessions are
    /// skipped; sessions are offline until their clients come back. Returns the number of
    /// retained messages and of sessions restored.
    pub fn restore(&mut self, snap: Snapshot) -> (usize, usize) {
        let offline = persist::unix_now().saturating_sub(snap.saved_at);
        for m in &snap.retained {
            match message_from_stored(m) {
                Some(msg) => self.retained.set(msg),
                // Expired (or damaged): the store forgets it too.
                None => self.record(|| Record::RetainClear {
                    topic: m.topic.clone(),
                }),
            }
        }
        let mut sessions = 0;
        for st in snap.sessions {
            let left = u64::from(st.expiry).saturating_sub(offline);
            if st.expiry != u32::MAX && left == 0 {
                self.record(|| Record::SessionRemove {
                    client_id: st.client_id.clone(),
                });
                continue;
            }
            let version = version_of(st.protocol_level);
            let id: Arc<str> = Arc::from(st.client_id.as_str());
            let idx = self.create_session(id, version);
            for sub in &st.subscriptions {
                let opts = SubscriptionOptions {
                    qos: QoS::from_u8(sub.qos).unwrap_or_default(),
                    no_local: sub.no_local,
                    retain_as_published: sub.retain_as_published,
                    retain_handling: retain_handling_of(sub.retain_handling),
                };
                let Ok(parsed) = topic::parse_filter(&sub.filter) else {
                    continue;
                };
                match parsed.share_group {
                    Some(g) => self.subs.insert_shared(idx, g, parsed.filter, opts, None),
                    None => self.subs.insert(idx, parsed.filter, opts, None),
                };
                if let Some(s) = self.session(idx) {
                    s.add_subscription(Arc::from(sub.filter.as_str()), opts);
                }
            }
            self.generation += 1;
            let generation = self.generation;
            let stored = self.store.is_some();
            let Some(s) = self.session(idx) else {
                continue;
            };
            s.set_expiry(st.expiry);
            // The store numbers deliveries in this order (in flight, then queued), from 0.
            s.set_stored(stored);
            let mut forgotten = Vec::new();
            let mut seq = 0u64;
            for d in &st.inflight {
                let this = seq;
                seq += 1;
                let (Some(msg), Some(pkid)) = (message_from_stored(&d.message), d.pkid) else {
                    forgotten.push(Record::Delivered {
                        client_id: st.client_id.clone(),
                        seq: this,
                    });
                    continue;
                };
                let qos = QoS::from_u8(d.qos).unwrap_or_default();
                let publish = build_publish(version, &msg, qos, d.retain, &d.sub_ids, pkid);
                s.push_inflight(InFlight::new(publish, d.released, this));
            }
            for d in &st.queued {
                let this = seq;
                seq += 1;
                match message_from_stored(&d.message) {
                    Some(msg) => {
                        let qos = QoS::from_u8(d.qos).unwrap_or_default();
                        s.enqueue(Queued {
                            msg,
                            qos,
                            retain: d.retain,
                            sub_ids: d.sub_ids.clone(),
                            seq: this,
                        });
                    }
                    None => forgotten.push(Record::Delivered {
                        client_id: st.client_id.clone(),
                        seq: this,
                    }),
                }
            }
            s.set_next_seq(seq);
            for (pkid, m) in &st.awaiting_pubrel {
                match message_from_stored(m) {
                    Some(msg) => s.restore_qos2(*pkid, msg),
                    None => forgotten.push(Record::Pubrel {
                        client_id: st.client_id.clone(),
                        pkid: *pkid,
                    }),
                }
            }
            s.set_generation(generation);
            if st.expiry != u32::MAX {
                self.timers.push(
                    Instant::now() + Duration::from_secs(left),
                    Timer::SessionExpiry {
                        session: idx,
                        generation,
                    },
                );
            }
            sessions += 1;
            for r in forgotten {
                self.record(|| r);
            }
        }
        if let Some(store) = &mut self.store {
            store.commit();
        }
        (self.retained.len(), sessions)
    }
}

/// A subscription as the store keeps it.
pub(super) fn stored_subscription(filter: &str, o: &SubscriptionOptions) -> StoredSubscription {
    StoredSubscription {
        filter: filter.to_owned(),
        qos: o.qos.as_u8(),
        no_local: o.no_local,
        retain_as_published: o.retain_as_published,
        retain_handling: retain_handling_code(o.retain_handling),
    }
}

/// The protocol level byte of CONNECT for a version, as the file stores it.
pub(super) fn protocol_level(v: ProtocolVersion) -> u8 {
    match v {
        ProtocolVersion::V31 => 3,
        ProtocolVersion::V311 => 4,
        ProtocolVersion::V5 => 5,
    }
}

/// The version for a stored protocol level (unknown levels load as 3.1.1).
fn version_of(level: u8) -> ProtocolVersion {
    match level {
        3 => ProtocolVersion::V31,
        5 => ProtocolVersion::V5,
        _ => ProtocolVersion::V311,
    }
}

/// Retain Handling as its wire value (MQTT5 §3.8.3.1).
fn retain_handling_code(r: RetainHandling) -> u8 {
    match r {
        RetainHandling::SendAtSubscribe => 0,
        RetainHandling::SendIfNew => 1,
        RetainHandling::DoNotSend => 2,
    }
}

/// Retain Handling from its wire value (unknown values load as 0).
fn retain_handling_of(code: u8) -> RetainHandling {
    match code {
        1 => RetainHandling::SendIfNew,
        2 => RetainHandling::DoNotSend,
        _ => RetainHandling::SendAtSubscribe,
    }
}

/// A message as the persistence file stores it.
pub(super) fn stored_message(m: &Message) -> StoredMessage {
    let props = m.properties.as_deref();
    StoredMessage {
        topic: m.topic.to_string(),
        payload: persist::encode_binary(&m.payload),
        qos: m.qos.as_u8(),
        retain: m.retain,
        expires_at: m
            .expires_at
            .map(|t| persist::unix_now() + t.saturating_duration_since(Instant::now()).as_secs()),
        payload_format: props.and_then(|p| p.payload_format),
        content_type: props.and_then(|p| p.content_type.clone()),
        response_topic: props.and_then(|p| p.response_topic.clone()),
        correlation_data: props
            .and_then(|p| p.correlation_data.as_ref())
            .map(|b| persist::encode_binary(b)),
        user_properties: props.map(|p| p.user_properties.clone()).unwrap_or_default(),
    }
}

/// A stored message back in memory; `None` if it expired or is damaged.
fn message_from_stored(m: &StoredMessage) -> Option<Message> {
    let expires_at = match m.expires_at {
        Some(t) => {
            let left = persist::until(t);
            if left.is_zero() {
                return None;
            }
            Some(Instant::now() + left)
        }
        None => None,
    };
    let props = Properties {
        payload_format: m.payload_format,
        content_type: m.content_type.clone(),
        response_topic: m.response_topic.clone(),
        correlation_data: match &m.correlation_data {
            Some(c) => Some(Bytes::from(persist::decode_binary(c).ok()?)),
            None => None,
        },
        user_properties: m.user_properties.clone(),
        ..Properties::default()
    };
    Some(Message {
        topic: Arc::from(m.topic.as_str()),
        payload: Bytes::from(persist::decode_binary(&m.payload).ok()?),
        qos: QoS::from_u8(m.qos)?,
        retain: m.retain,
        properties: if props.is_empty() {
            None
        } else {
            Some(Arc::new(props))
        },
        expires_at,
        no: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_codes_round_trip() {
        for v in [
            ProtocolVersion::V31,
            ProtocolVersion::V311,
            ProtocolVersion::V5,
        ] {
            assert_eq!(version_of(protocol_level(v)), v);
        }
        for r in [
            RetainHandling::SendAtSubscribe,
            RetainHandling::SendIfNew,
            RetainHandling::DoNotSend,
        ] {
            assert_eq!(retain_handling_of(retain_handling_code(r)), r);
        }
    }
}
