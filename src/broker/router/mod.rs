//! The router: the single owner of sessions, subscriptions and retained messages.
//!
//! Connection tasks send it [`RouterCmd`]s over one bounded channel; it drains many per wake-up,
//! updates its state and pushes packets into each connection's [`Outbox`] without waiting.
//! Nothing here awaits a socket, so one slow client can never stall the others.
//!
//! # Layout
//!
//! The [`Router`] struct and its command loop live here; its methods are spread over files
//! named after what they handle (each is an `impl Router` block):
//!
//! * [`lifecycle`]: CONNECT, client-id takeover, disconnect, wills (with Will Delay), session
//!   expiry and the timers that drive the last two; re-sending in-flight messages on resume.
//! * [`inbound`]: PUBLISH from a client at QoS 0, 1 and 2, PUBREL, and refused (ACL) publishes.
//! * [`delivery`]: fan-out of one message to its subscribers, shared-subscription picks,
//!   the in-flight window, offline queues, and the acknowledgements of outgoing messages.
//! * [`subscribe`]: SUBSCRIBE and UNSUBSCRIBE, and retained messages sent on subscribe.
//! * [`snapshot`]: the router's state to and from a [`crate::broker::persist::Snapshot`]
//!   (restored at start from the durable store).
//! * [`durable`]: the records appended to the durable store ([`crate::broker::store`]) as
//!   state changes, one commit per batch, and acknowledgements held until durable.
//! * [`sys_topics`]: the periodic `$SYS` topics.
//!
//! Leaf modules hold the state those files work on and import nothing from them:
//! [`command`] (what connections send), [`message`] (the stored message and the PUBLISH built
//! from it), [`session`] (one client's state, fields private, invariants behind methods),
//! [`subscriptions`] and [`tree`] (the subscription trie), [`retained`] (the retained store)
//! and [`timers`].
//!
//! # Invariants
//!
//! * `by_id` maps every live session's client id to its slot, and `by_conn` maps a
//!   connection id to a slot exactly while that session's [`session::Link`] has that id.
//! * A session's subscriptions are recorded twice: in the trie ([`Subscriptions`], for
//!   matching) and in the session (by full filter, for persistence and clean-up). Both are
//!   changed together in [`subscribe`] and [`lifecycle`] (`end_session`).
//! * Time comes from tokio's clock ([`tokio::time::Instant`]) only, so tests run the router
//!   with paused time (`#[tokio::test(start_paused = true)]`); see `tests/`.
//! * Every outbox that got packets during one batch is woken once, at the end of the batch
//!   (`wakes`), not once per packet.

pub mod command;
pub mod control;
pub mod delivery;
pub mod durable;
pub mod inbound;
pub mod lifecycle;
pub mod message;
pub mod retained;
pub mod session;
pub mod snapshot;
pub mod state;
pub mod subscribe;
pub mod subscriptions;
pub mod sys_topics;
pub mod timers;
pub mod tree;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use self::command::{CloseKind, ConnectRequest, RouterCmd};
pub use self::message::{Message, RECEIVE_MAXIMUM};
use self::retained::RetainedStore;
use self::session::Session;
use self::subscriptions::{Delivery, Entry, SessionIdx, Subscriptions};
use self::timers::Timers;
use super::acl::Access;
use super::config::BrokerConfig;
use super::event::{BrokerEvent, EventBus, MessageNo, Tag};
use super::outbox::{CloseReason, Outbox};
use super::security::SecurityPolicy;
use super::sys::{self, Stats};
use crate::protocol::{Outgoing, Packet};

/// The broker's state and its command loop.
pub struct Router {
    cfg: Arc<BrokerConfig>,
    /// Topic access control (`acl_file`, per listener with `per_listener_settings`).
    security: Arc<SecurityPolicy>,
    events: EventBus,
    stats: Arc<Stats>,
    /// Session slots. Boxed: a growing table then costs a pointer per slot, not a whole
    /// session. A slot is `None` after its session ended, until reused from `free`.
    sessions: Vec<Option<Box<Session>>>,
    free: Vec<SessionIdx>,
    by_id: HashMap<Arc<str>, SessionIdx>,
    by_conn: HashMap<u64, SessionIdx>,
    subs: Subscriptions,
    retained: RetainedStore,
    timers: Timers,
    /// Scratch buffers for `route`, kept to avoid an allocation per message.
    match_buf: Vec<Entry>,
    delivery_buf: Vec<Delivery>,
    /// Outboxes that got packets since the last wake-up round (woken once per batch).
    wakes: Vec<Arc<Outbox>>,
    /// tokio's clock, read at most once per command (see [`Router::now`]).
    clock: Option<Instant>,
    /// Source of session generations (see [`timers`]).
    generation: u64,
    /// The last broker-wide message number given out (see [`MessageNo`]).
    messages: MessageNo,
    started: Instant,
    /// The durable store, with `persistence true`.
    store: Option<super::store::Store>,
    /// The newest store ticket known durable.
    durable: super::store::Ticket,
    /// Acknowledgements waiting for their records to be durable, per connection, in order.
    held: HashMap<u64, std::collections::VecDeque<durable::HeldAck>>,
    /// Set once the store failed (logged once).
    store_failed: bool,
    /// SIGUSR1's sync, until durable (a notice then).
    save_ticket: Option<super::store::Ticket>,
    /// Counters the router owns (the byte counters are atomics shared with connections).
    pub counters: sys::Counters,
}

impl Router {
    /// A router with no sessions.
    #[must_use]
    pub fn new(cfg: Arc<BrokerConfig>, events: EventBus, stats: Arc<Stats>) -> Self {
        Self {
            cfg,
            security: Arc::new(SecurityPolicy::open()),
            events,
            stats,
            sessions: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            by_conn: HashMap::new(),
            subs: Subscriptions::default(),
            retained: RetainedStore::default(),
            timers: Timers::default(),
            match_buf: Vec::new(),
            delivery_buf: Vec::new(),
            wakes: Vec::new(),
            clock: None,
            generation: 0,
            messages: 0,
            started: Instant::now(),
            store: None,
            durable: 0,
            held: HashMap::new(),
            store_failed: false,
            save_ticket: None,
            counters: sys::Counters::default(),
        }
    }

    /// Enforces the ACLs of `security` from now on.
    pub fn set_security(&mut self, security: Arc<SecurityPolicy>) {
        self.security = security;
    }

    /// True when the ACL (if any) of the client's listener lets it `access` the topic.
    fn acl_allows(
        &self,
        listener: usize,
        username: Option<&str>,
        client_id: &str,
        topic: &str,
        access: Access,
    ) -> bool {
        self.security
            .acl_allows(listener, username, client_id, topic, access)
    }

    /// Runs until `shutdown` is cancelled or every sender is gone.
    pub async fn run(mut self, mut rx: mpsc::Receiver<RouterCmd>, shutdown: CancellationToken) {
        let mut batch = Vec::with_capacity(256);
        let sys_every = self.cfg.sys_interval;
        let mut sys_tick = tokio::time::interval(if sys_every == 0 {
            Duration::from_secs(3600)
        } else {
            Duration::from_secs(sys_every)
        });
        sys_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut progress = self.store.as_ref().map(super::store::Store::progress);
        loop {
            let next_timer = self.timers.next_due();
            tokio::select! {
                // Commands from connections: take as many as are ready in one go.
                n = rx.recv_many(&mut batch, 256) => {
                    if n == 0 {
                        break;
                    }
                    for cmd in batch.drain(..) {
                        self.handle(cmd);
                    }
                    self.stats.set_router(self.by_conn.len(), &self.counters);
                    self.end_batch();
                    self.flush_wakes();
                }
                // Will delays and session expiry.
                () = sleep_until_opt(next_timer) => {
                    self.fire_timers(Instant::now());
                    self.end_batch();
                    self.flush_wakes();
                }
                // Periodic `$SYS` topics.
                _ = sys_tick.tick(), if sys_every > 0 => {
                    self.publish_sys();
                    self.end_batch();
                    self.flush_wakes();
                }
                // The store made batches durable: release their acknowledgements.
                alive = durable::progress_changed(&mut progress) => {
                    if let Some(rx) = &mut progress {
                        self.on_progress(rx, alive);
                    }
                    if !alive {
                        progress = None;
                    }
                    self.flush_wakes();
                }
                () = shutdown.cancelled() => break,
            }
        }
        // MQTT 5 clients are told why [MQTT5-4.13.1-1]: DISCONNECT 0x8B.
        for s in self.sessions.iter().flatten() {
            if let Some(link) = s.link() {
                link.outbox.close(CloseReason::ShuttingDown);
            }
        }
        self.close_store().await;
    }

    /// Applies one command.
    pub fn handle(&mut self, cmd: RouterCmd) {
        self.clock = None;
        match cmd {
            RouterCmd::Connect(req) => self.on_connect(*req),
            RouterCmd::Packets { conn, packets } => {
                for packet in packets {
                    // Refused, replaced or kicked (perhaps by the previous packet): ignore the
                    // rest [MQTT311-3.1.4-5].
                    let Some(&idx) = self.by_conn.get(&conn) else {
                        return;
                    };
                    match packet {
                        Packet::Publish(p) => self.on_publish(idx, p),
                        Packet::PubAck(a) => self.on_puback(idx, &a),
                        Packet::PubRec(a) => self.on_pubrec(idx, &a),
                        Packet::PubRel(a) => self.on_pubrel(idx, &a),
                        Packet::PubComp(a) => self.on_pubcomp(idx, &a),
                        Packet::Subscribe(s) => self.on_subscribe(idx, *s),
                        Packet::Unsubscribe(u) => self.on_unsubscribe(idx, *u),
                        Packet::Connect(_)
                        | Packet::PingReq
                        | Packet::Disconnect(_)
                        | Packet::Auth(_) => {}
                    }
                }
            }
            RouterCmd::Closed { conn, how } => self.on_closed(conn, how),
            RouterCmd::Control(c) => self.on_control(c),
            RouterCmd::State { query, reply } => drop(reply.send(self.state(&query))),
        }
    }

    /// Wakes every connection that got packets during the last batch of work.
    fn flush_wakes(&mut self) {
        self.clock = None;
        for outbox in self.wakes.drain(..) {
            outbox.wake();
        }
    }

    /// Queues a packet for a connection; its task is woken at the end of the batch.
    #[inline]
    fn send(&mut self, outbox: &Arc<Outbox>, packet: Outgoing) {
        let now = self.now();
        if outbox.push_at(packet, now) {
            self.wakes.push(outbox.clone());
        }
    }

    /// tokio's clock as of this command: read once per command (up to 64 packets) or timer
    /// round, not once per delivery, for the outboxes' slow-consumer checks. A command takes
    /// microseconds against their 250 ms grace.
    #[inline]
    fn now(&mut self) -> Instant {
        *self.clock.get_or_insert_with(Instant::now)
    }

    #[inline]
    fn session(&mut self, idx: SessionIdx) -> Option<&mut Session> {
        self.sessions
            .get_mut(idx as usize)
            .and_then(Option::as_deref_mut)
    }

    fn emit(&self, make: impl FnOnce() -> BrokerEvent) {
        self.events.emit_with(make);
    }

    fn trace(&self, make: impl FnOnce() -> BrokerEvent) {
        self.events.trace(make);
    }

    fn trace_tagged(&self, tag: Tag, make: impl FnOnce() -> BrokerEvent) {
        self.events.trace_tagged(tag, make);
    }

    /// The next broker-wide message number.
    fn next_message(&mut self) -> MessageNo {
        self.messages += 1;
        self.messages
    }

    /// Ends a connection from the router's side (the outbox close was already requested).
    fn kick(&mut self, idx: SessionIdx, how: CloseKind) {
        let conn = self.session(idx).and_then(|s| s.link().map(|l| l.conn));
        if let Some(conn) = conn {
            self.on_closed(conn, how);
        }
    }

    /// Closes a connection for a protocol violation from the router's side: the outbox is told
    /// why (MQTT 5 gets DISCONNECT with `reason`), then the session goes offline.
    fn close_for(&mut self, idx: SessionIdx, reason: crate::protocol::ReasonCode, how: CloseKind) {
        if let Some(link) = self.session(idx).and_then(|s| s.link().cloned()) {
            link.outbox.close(CloseReason::Protocol(reason));
        }
        self.kick(idx, how);
    }
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
