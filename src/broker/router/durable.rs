//! The router's side of the durable store ([`crate::broker::store`]): the records it appends
//! as its state changes, and the acknowledgements it holds until those records are on disk.
//!
//! # Invariants
//!
//! * Only what outlives a connection is recorded: retained messages except `$SYS`, and
//!   sessions marked stored ([`Session::is_stored`]: Session Expiry Interval > 0 while
//!   persistence is on), with their subscriptions, kept messages and incoming QoS 2 state.
//! * An acknowledgement (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK) leaves the broker only
//!   when the records it may depend on are durable: every record of its own batch, and for
//!   a stored session every earlier one too. It carries the ticket that covers them
//!   ([`Store::covering`]) and waits in its connection's queue while that ticket is not
//!   durable or an earlier acknowledgement of the same connection still waits, so each
//!   connection's acknowledgements keep their order [MQTT311-4.6.0-2]. Retained messages
//!   for a new subscription may then reach the client before its SUBACK, which MQTT allows
//!   (MQTT311 §3.8.4).
//! * Each router batch ends with one [`Store::commit`] (group commit); the run loop's
//!   progress arm releases what became durable.
//! * After a store failure (logged once) an acknowledgement whose batch made records is
//!   withheld for good: "an acknowledged message is never lost" wins over availability. The
//!   client re-sends the message when it reconnects; messages that need no storing are still
//!   acknowledged, and delivery to connected clients goes on (as mosquitto keeps running).

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::watch;

use super::Router;
use super::session::{Link, Queued, Session};
use super::snapshot::stored_message;
use super::subscriptions::SessionIdx;
use crate::broker::event::BrokerEvent;
use crate::broker::outbox::Outbox;
use crate::broker::persist::{self, StoredDelivery};
use crate::broker::store::{Progress, Record, Store, Ticket};
use crate::protocol::Outgoing;

/// An acknowledgement waiting for its records to be durable.
#[derive(Debug)]
pub struct HeldAck {
    ticket: Ticket,
    outbox: Arc<Outbox>,
    packet: Outgoing,
}

/// Appends a record for session `s` when persistence is on and the store holds `s`; `make`
/// gets the client id. A free function so callers may hold other fields of the router.
pub(super) fn record(store: &mut Option<Store>, s: &Session, make: impl FnOnce(String) -> Record) {
    if let Some(store) = store
        && s.is_stored()
    {
        store.append(make(s.id().to_string()));
    }
}

/// Records a message kept for `s`: queued (`pkid` `None`) or sent at once.
pub(super) fn record_kept(store: &mut Option<Store>, s: &Session, q: &Queued, pkid: Option<u16>) {
    record(store, s, |client_id| Record::Enqueue {
        client_id,
        seq: q.seq,
        delivery: StoredDelivery {
            message: stored_message(&q.msg),
            qos: q.qos.as_u8(),
            retain: q.retain,
            sub_ids: q.sub_ids.clone(),
            pkid,
            released: false,
        },
    });
}

impl Router {
    /// Keeps state in `store` from now on: records changes, holds acknowledgements until
    /// durable. Call before [`Router::restore`] with the snapshot the store returned.
    pub fn set_store(&mut self, store: Store) {
        self.durable = store.progress().borrow().durable;
        self.store = Some(store);
    }

    /// Appends a record that belongs to no session (retained messages).
    pub(super) fn record(&mut self, make: impl FnOnce() -> Record) {
        if let Some(store) = &mut self.store {
            store.append(make());
        }
    }

    /// Appends a record for the session in slot `idx`, if the store holds it.
    pub(super) fn record_for(&mut self, idx: SessionIdx, make: impl FnOnce(String) -> Record) {
        if let Some(s) = self.sessions.get(idx as usize).and_then(|o| o.as_deref()) {
            record(&mut self.store, s, make);
        }
    }

    /// A retained message was set or cleared (`$SYS` topics are not kept).
    pub(super) fn record_retained(&mut self, msg: &super::Message) {
        if self.store.is_none() || msg.topic.starts_with("$SYS/") {
            return;
        }
        if msg.payload.is_empty() {
            self.record(|| Record::RetainClear {
                topic: msg.topic.to_string(),
            });
        } else {
            self.record(|| Record::RetainSet(stored_message(msg)));
        }
    }

    /// After CONNECT attached a connection: a session that outlives it is stored (created or
    /// taken over); one that no longer does (expiry now 0) leaves the store.
    pub(super) fn record_session_open(&mut self, idx: SessionIdx) {
        let Some(store) = &mut self.store else {
            return;
        };
        let Some(s) = self
            .sessions
            .get_mut(idx as usize)
            .and_then(Option::as_deref_mut)
        else {
            return;
        };
        if s.expiry() > 0 {
            store.append(Record::SessionOpen {
                client_id: s.id().to_string(),
                protocol_level: super::snapshot::protocol_level(s.version()),
                expiry: s.expiry(),
            });
            s.set_stored(true);
        } else if s.is_stored() {
            store.append(Record::SessionRemove {
                client_id: s.id().to_string(),
            });
            s.set_stored(false);
        }
    }

    /// The session's connection ended and the session stays: its expiry runs from now.
    pub(super) fn record_offline(&mut self, idx: SessionIdx) {
        let since = persist::unix_now();
        if let Some(s) = self.sessions.get(idx as usize).and_then(|o| o.as_deref())
            && s.expiry() != 0
        {
            let expiry = s.expiry();
            record(&mut self.store, s, |client_id| Record::SessionOffline {
                client_id,
                expiry,
                since,
            });
        }
    }

    /// Sends an acknowledgement to `link` once everything recorded before it is durable (see
    /// the module docs); at once when persistence is off or nothing waits.
    pub(super) fn send_ack(&mut self, link: &Link, packet: Outgoing) {
        let Some(store) = &self.store else {
            self.send(&link.outbox, packet);
            return;
        };
        if self.store_failed {
            // Nothing is stored any more: withhold what needed storing.
            if !store.has_pending() {
                self.send(&link.outbox, packet);
            }
            return;
        }
        // Records from this batch: wait for them. Otherwise a stored session waits for what
        // it may have recorded in earlier batches (a re-sent QoS 2 PUBLISH gets PUBREC again);
        // a session the store does not hold has nothing to wait for.
        let stored = self
            .by_conn
            .get(&link.conn)
            .and_then(|&i| self.sessions.get(i as usize))
            .and_then(|o| o.as_deref())
            .is_some_and(Session::is_stored);
        let ticket = if store.has_pending() || stored {
            store.covering()
        } else {
            0
        };
        let queue = self.held.get_mut(&link.conn);
        if ticket <= self.durable && queue.as_ref().is_none_or(|q| q.is_empty()) {
            self.send(&link.outbox, packet);
            return;
        }
        let held = HeldAck {
            ticket,
            outbox: link.outbox.clone(),
            packet,
        };
        match queue {
            Some(q) => q.push_back(held),
            None => {
                self.held.insert(link.conn, VecDeque::from([held]));
            }
        }
    }

    /// The end of a batch of work: its records go to the writer as one commit.
    pub(super) fn end_batch(&mut self) {
        if let Some(store) = &mut self.store
            && store.has_pending()
        {
            store.commit();
        }
    }

    /// The connection is gone: its held acknowledgements go with it (the client re-sends).
    pub(super) fn drop_held(&mut self, conn: u64) {
        self.held.remove(&conn);
    }

    /// The writer made progress (or failed): release every held acknowledgement that is now
    /// durable, in order per connection. `alive` is false when the writer is gone.
    pub(super) fn on_progress(&mut self, progress: &mut watch::Receiver<Progress>, alive: bool) {
        let p = progress.borrow_and_update().clone();
        let failed = p
            .failed
            .or_else(|| (!alive).then(|| Arc::from("the persistence writer stopped")));
        if let Some(e) = failed {
            if !self.store_failed {
                self.store_failed = true;
                let withheld: usize = self.held.values().map(VecDeque::len).sum();
                self.held.clear();
                self.emit(|| {
                    BrokerEvent::Error(format!(
                        "{e}: nothing more is stored; {withheld} held acknowledgements and every \
                         later one that needs storing are withheld (clients re-send on reconnect)"
                    ))
                });
            }
            return;
        }
        self.durable = p.durable;
        let durable = p.durable;
        let mut held = std::mem::take(&mut self.held);
        held.retain(|_, q| {
            while q.front().is_some_and(|h| h.ticket <= durable) {
                if let Some(h) = q.pop_front()
                    && h.outbox.push(h.packet)
                {
                    self.wakes.push(h.outbox);
                }
            }
            !q.is_empty()
        });
        // Acknowledgements held while this ran (none: it is one task) stay in `held`.
        self.held = held;
        if let Some(t) = self.save_ticket
            && t <= durable
        {
            self.save_ticket = None;
            let path = self
                .cfg
                .persistence_path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            self.emit(|| BrokerEvent::Notice(format!("Saved in-memory database to {path}.")));
        }
    }

    /// SIGUSR1: commits what is buffered and has it synced to disk now, in either mode; a
    /// notice follows when it is durable.
    pub(super) fn sync_store(&mut self) {
        if let Some(store) = &mut self.store {
            self.save_ticket = Some(store.sync_now());
        }
    }

    /// Shutdown: the last commit, a sync, and the writer stopped (off the async threads).
    pub(super) async fn close_store(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        self.held.clear();
        match tokio::task::spawn_blocking(move || store.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if self.store_failed => {
                // Already logged once.
                let _ = e;
            }
            Ok(Err(e)) => self.emit(|| BrokerEvent::Error(e.to_string())),
            Err(e) => self.emit(|| BrokerEvent::Error(format!("closing the store failed: {e}"))),
        }
    }
}

/// Waits for the writer's progress; pending forever without a store. `false`: the writer
/// is gone.
pub(super) async fn progress_changed(progress: &mut Option<watch::Receiver<Progress>>) -> bool {
    match progress {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}
