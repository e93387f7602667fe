//! The router: the single owner of sessions, subscriptions and retained messages.
//!
//! Connection tasks send it [`RouterCmd`]s over one bounded channel; it drains many per wake-up,
//! updates its state and pushes packets into each connection's [`Outbox`] without waiting.
//! Nothing here awaits a socket, so one slow client can never stall the others.

pub mod retained;
pub mod session;
pub mod subscriptions;
pub mod tree;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::retained::RetainedStore;
use self::session::{InFlight, Link, PendingWill, Queued, Session};
use self::subscriptions::{Entry, SessionIdx, Subscriptions, Target};
use super::acl::Access;
use super::config::BrokerConfig;
use super::control::Control;
use super::event::{BrokerEvent, EventBus, PublishFlags};
use super::outbox::{CloseReason, Outbox, PROGRESS_SLACK};
use super::persist::{
    self, Snapshot, StoredDelivery, StoredMessage, StoredSession, StoredSubscription,
};
use super::security::SecurityPolicy;
use super::sys::{self, Stats};
use super::topic;
use crate::protocol::{
    Ack, ConnAck, Connect, Outgoing, Packet, Properties, ProtocolVersion, Publish, QoS, ReasonCode,
    RetainHandling, Subscribe, SubscriptionOptions, Unsubscribe,
};

/// The Receive Maximum announced to MQTT 5 clients, and the most unreleased incoming QoS 2
/// messages any client may have (MQTT 5 §3.2.2.3.3).
pub const RECEIVE_MAXIMUM: u16 = 1024;

/// An application message as the router stores and forwards it.
#[derive(Debug, Clone)]
pub struct Message {
    /// Topic name.
    pub topic: Arc<str>,
    /// Payload, shared by every copy.
    pub payload: Bytes,
    /// QoS it was published with.
    pub qos: QoS,
    /// RETAIN flag as published.
    pub retain: bool,
    /// MQTT 5 properties to pass through unaltered [MQTT-3.3.2-4..-20] (no Topic Alias, no
    /// Message Expiry: that is kept as `expires_at`).
    pub properties: Option<Arc<Properties>>,
    /// When the Message Expiry Interval runs out [MQTT-3.3.2-5].
    pub expires_at: Option<Instant>,
}

impl Message {
    /// True once the Message Expiry Interval has run out (reads the clock only if it has one).
    fn expired(&self) -> bool {
        self.expires_at.is_some_and(|t| t <= Instant::now())
    }

    /// Builds a message from a client's PUBLISH, keeping its properties for onward delivery.
    #[must_use]
    pub fn from_publish(p: Publish) -> Self {
        let (properties, expires_at) = match p.properties {
            Some(mut props) => {
                // An interval of 0 means "no expiry", as in mosquitto.
                let expires_at = props
                    .message_expiry
                    .take()
                    .filter(|&s| s > 0)
                    .map(|s| Instant::now() + Duration::from_secs(u64::from(s)));
                props.topic_alias = None;
                let props = if props.is_empty() {
                    None
                } else {
                    Some(Arc::from(props))
                };
                (props, expires_at)
            }
            None => (None, None),
        };
        Self {
            topic: p.topic,
            payload: p.payload,
            qos: p.qos,
            retain: p.retain,
            properties,
            expires_at,
        }
    }
}

/// Why a connection ended, as the connection task saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseKind {
    /// The client sent DISCONNECT.
    Disconnect {
        /// Its reason code (0 for 3.x).
        reason: ReasonCode,
        /// A new Session Expiry Interval from the DISCONNECT properties.
        session_expiry: Option<u32>,
    },
    /// The socket closed or failed without DISCONNECT.
    PeerClosed,
    /// Nothing arrived within 1.5 times the keep alive [MQTT-3.1.2-24].
    KeepAlive,
    /// The client sent a malformed packet.
    Malformed,
    /// The client broke a protocol rule.
    Protocol,
    /// The client sent a packet above the maximum packet size.
    Oversize,
    /// The router asked the connection to close (takeover, shutdown).
    Server,
}

/// A CONNECT that passed the connection task's checks (authentication, client id).
#[derive(Debug)]
pub struct ConnectRequest {
    /// The connection's id.
    pub conn: u64,
    /// The packet, with the client id filled in if the server assigned one.
    pub connect: Connect,
    /// True if the server assigned the client id.
    pub assigned_id: bool,
    /// Keep alive after `max_keepalive` was applied, if it differs (MQTT 5 Server Keep Alive).
    pub server_keep_alive: Option<u16>,
    /// The peer address.
    pub peer: SocketAddr,
    /// The index of the listener it came in on (its security settings).
    pub listener: usize,
    /// The connection's outgoing queue.
    pub outbox: Arc<Outbox>,
}

/// Everything a connection task can ask of the router.
#[derive(Debug)]
pub enum RouterCmd {
    /// A client completed CONNECT.
    Connect(Box<ConnectRequest>),
    /// Packets after CONNECT (PUBLISH, acks, SUBSCRIBE, UNSUBSCRIBE), in arrival order: all
    /// that one read from the socket held.
    Packets {
        /// The connection's id.
        conn: u64,
        /// The packets.
        packets: Vec<Packet>,
    },
    /// The connection ended.
    Closed {
        /// The connection's id.
        conn: u64,
        /// How.
        how: CloseKind,
    },
    /// An operator request (a signal): new security settings, save now, dump subscriptions.
    Control(Control),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    WillDelay {
        session: SessionIdx,
        generation: u64,
    },
    SessionExpiry {
        session: SessionIdx,
        generation: u64,
    },
}

/// One receiver of one message, after overlapping subscriptions were merged.
#[derive(Debug, Clone)]
struct Delivery {
    session: SessionIdx,
    options: SubscriptionOptions,
    ids: Vec<u32>,
}

/// The broker's state and its command loop.
pub struct Router {
    cfg: Arc<BrokerConfig>,
    /// Topic access control (`acl_file`, per listener with `per_listener_settings`).
    security: Arc<SecurityPolicy>,
    events: EventBus,
    stats: Arc<Stats>,
    /// Boxed: a growing table then costs a pointer per slot, not a whole session.
    sessions: Vec<Option<Box<Session>>>,
    free: Vec<SessionIdx>,
    by_id: HashMap<Arc<str>, SessionIdx>,
    by_conn: HashMap<u64, SessionIdx>,
    subs: Subscriptions,
    retained: RetainedStore,
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    match_buf: Vec<Entry>,
    delivery_buf: Vec<Delivery>,
    /// Outboxes that got packets since the last wake-up round (woken once per batch).
    wakes: Vec<Arc<Outbox>>,
    /// Source of session generations (see `Session::generation`).
    generation: u64,
    started: Instant,
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
            timers: BinaryHeap::new(),
            match_buf: Vec::new(),
            delivery_buf: Vec::new(),
            wakes: Vec::new(),
            generation: 0,
            started: Instant::now(),
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
        let persist_path = self.cfg.persistence_path();
        let autosave_every = Duration::from_secs(self.cfg.autosave_interval.max(1));
        let autosave_on = persist_path.is_some() && self.cfg.autosave_interval > 0;
        let mut autosave =
            tokio::time::interval_at(tokio::time::Instant::now() + autosave_every, autosave_every);
        loop {
            let next_timer = self.timers.peek().map(|Reverse((t, _))| *t);
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
                    self.flush_wakes();
                }
                // Will delays and session expiry.
                () = sleep_until_opt(next_timer) => {
                    self.fire_timers(Instant::now());
                    self.flush_wakes();
                }
                // Periodic `$SYS` topics.
                _ = sys_tick.tick(), if sys_every > 0 => {
                    self.publish_sys();
                    self.flush_wakes();
                }
                // `autosave_interval`.
                _ = autosave.tick(), if autosave_on => {
                    if let Some(path) = &persist_path {
                        self.save(path.clone()).await;
                    }
                }
                () = shutdown.cancelled() => break,
            }
        }
        // MQTT 5 clients are told why [MQTT-4.13.1-1]: DISCONNECT 0x8B.
        for s in self.sessions.iter().flatten() {
            if let Some(link) = &s.link {
                link.outbox.close(CloseReason::ShuttingDown);
            }
        }
        if let Some(path) = persist_path {
            self.save(path).await;
        }
    }

    /// Applies an operator request (a signal).
    fn on_control(&mut self, c: Control) {
        match c {
            Control::Security(policy) => self.security = policy,
            Control::SaveNow => {
                let Some(path) = self.cfg.persistence_path() else {
                    self.emit(|| {
                        BrokerEvent::Notice("Persistence is off: nothing to save.".into())
                    });
                    return;
                };
                self.emit(|| {
                    BrokerEvent::Notice(format!("Saving in-memory database to {}.", path.display()))
                });
                // Rare and operator-driven: written here, in order with every command before
                // it, as mosquitto does in its main loop.
                if let Err(e) = persist::save(&path, &self.snapshot().to_bytes()) {
                    self.emit(|| BrokerEvent::Error(crate::error_chain(&e)));
                }
            }
            Control::DumpSubscriptions => {
                let mut lines: Vec<String> = self
                    .sessions
                    .iter()
                    .flatten()
                    .flat_map(|s| {
                        s.subscriptions.iter().map(|(filter, o)| {
                            format!("\t{filter} {} (QoS {})", s.id, o.qos.as_u8())
                        })
                    })
                    .collect();
                lines.sort();
                let mut all = Vec::new();
                self.retained.all(&mut all);
                let sys = all.iter().filter(|m| m.topic.starts_with("$SYS/")).count();
                let retained = (all.len() - sys, sys);
                self.emit(|| BrokerEvent::SubscriptionTree { lines, retained });
            }
            Control::Publish { topic, payload } => {
                let msg = Message {
                    topic,
                    payload,
                    qos: QoS::AtMostOnce,
                    retain: false,
                    properties: None,
                    expires_at: None,
                };
                self.route(&msg, None);
            }
        }
    }

    /// Writes the persistence file off the async threads; a failure is logged, never fatal,
    /// and never replaces a good file with a partial one.
    async fn save(&self, path: std::path::PathBuf) {
        let bytes = self.snapshot().to_bytes();
        let shown = path.display().to_string();
        let result = tokio::task::spawn_blocking(move || persist::save(&path, &bytes)).await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.emit(|| BrokerEvent::Error(crate::error_chain(&e))),
            Err(e) => self.emit(|| BrokerEvent::Error(format!("saving '{shown}' failed: {e}"))),
        }
    }

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
            if s.expiry == 0 {
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
                client_id: s.id.to_string(),
                protocol_level: match s.version {
                    ProtocolVersion::V31 => 3,
                    ProtocolVersion::V311 => 4,
                    ProtocolVersion::V5 => 5,
                },
                expiry: s.expiry,
                subscriptions: s
                    .subscriptions
                    .iter()
                    .map(|(f, o)| StoredSubscription {
                        filter: f.to_string(),
                        qos: o.qos.as_u8(),
                        no_local: o.no_local,
                        retain_as_published: o.retain_as_published,
                        retain_handling: match o.retain_handling {
                            RetainHandling::SendAtSubscribe => 0,
                            RetainHandling::SendIfNew => 1,
                            RetainHandling::DoNotSend => 2,
                        },
                    })
                    .collect(),
                inflight: s
                    .outflight
                    .iter()
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
                    .queue
                    .iter()
                    .map(|q| delivery(&q.msg, q.qos, q.retain, &q.sub_ids))
                    .collect(),
                awaiting_pubrel: s
                    .inbound_qos2
                    .iter()
                    .map(|(id, m)| (*id, stored_message(m)))
                    .collect(),
            });
        }
        snap
    }

    /// Loads a snapshot into an empty router (at start). Expired messages and sessions are
    /// skipped; sessions are offline until their clients come back.
    pub fn restore(&mut self, snap: Snapshot) -> (usize, usize) {
        let offline = persist::unix_now().saturating_sub(snap.saved_at);
        for m in &snap.retained {
            if let Some(msg) = message_from_stored(m) {
                self.retained.set(msg);
            }
        }
        let mut sessions = 0;
        for st in snap.sessions {
            let left = u64::from(st.expiry).saturating_sub(offline);
            if st.expiry != u32::MAX && left == 0 {
                continue;
            }
            let version = match st.protocol_level {
                3 => ProtocolVersion::V31,
                5 => ProtocolVersion::V5,
                _ => ProtocolVersion::V311,
            };
            let id: Arc<str> = Arc::from(st.client_id.as_str());
            let idx = self.create_session(id, version);
            for sub in &st.subscriptions {
                let opts = SubscriptionOptions {
                    qos: QoS::from_u8(sub.qos).unwrap_or_default(),
                    no_local: sub.no_local,
                    retain_as_published: sub.retain_as_published,
                    retain_handling: match sub.retain_handling {
                        1 => RetainHandling::SendIfNew,
                        2 => RetainHandling::DoNotSend,
                        _ => RetainHandling::SendAtSubscribe,
                    },
                };
                let Ok(parsed) = topic::parse_filter(&sub.filter) else {
                    continue;
                };
                match parsed.share_group {
                    Some(g) => self.subs.insert_shared(idx, g, parsed.filter, opts, None),
                    None => self.subs.insert(idx, parsed.filter, opts, None),
                };
                if let Some(s) = self.session(idx) {
                    s.subscriptions.insert(Arc::from(sub.filter.as_str()), opts);
                }
            }
            self.generation += 1;
            let generation = self.generation;
            let Some(s) = self.session(idx) else {
                continue;
            };
            s.expiry = st.expiry;
            for d in &st.inflight {
                let (Some(msg), Some(pkid)) = (message_from_stored(&d.message), d.pkid) else {
                    continue;
                };
                let qos = QoS::from_u8(d.qos).unwrap_or_default();
                s.pkids.insert(pkid);
                s.outflight.push_back(InFlight {
                    publish: build_publish(version, &msg, qos, d.retain, &d.sub_ids, pkid),
                    released: d.released,
                    resend_pending: false,
                });
            }
            for d in &st.queued {
                if let Some(msg) = message_from_stored(&d.message) {
                    let qos = QoS::from_u8(d.qos).unwrap_or_default();
                    s.enqueue(Queued {
                        msg,
                        qos,
                        retain: d.retain,
                        sub_ids: d.sub_ids.clone(),
                    });
                }
            }
            for (pkid, m) in &st.awaiting_pubrel {
                if let Some(msg) = message_from_stored(m) {
                    s.inbound_qos2.insert(*pkid, msg);
                }
            }
            s.generation = generation;
            if st.expiry != u32::MAX {
                self.timers.push(Reverse((
                    Instant::now() + Duration::from_secs(left),
                    Timer::SessionExpiry {
                        session: idx,
                        generation,
                    },
                )));
            }
            sessions += 1;
        }
        (self.retained.len(), sessions)
    }

    /// Applies one command.
    pub fn handle(&mut self, cmd: RouterCmd) {
        match cmd {
            RouterCmd::Connect(req) => self.on_connect(*req),
            RouterCmd::Packets { conn, packets } => {
                for packet in packets {
                    // Refused, replaced or kicked (perhaps by the previous packet): ignore the
                    // rest [MQTT-3.1.4-5].
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
        }
    }

    /// Wakes every connection that got packets during the last batch of work.
    fn flush_wakes(&mut self) {
        for outbox in self.wakes.drain(..) {
            outbox.wake();
        }
    }

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

    // ----- connection lifecycle -------------------------------------------------------------

    fn on_connect(&mut self, req: ConnectRequest) {
        let ConnectRequest {
            conn,
            connect,
            assigned_id,
            server_keep_alive,
            peer,
            listener,
            outbox,
        } = req;
        let id: Arc<str> = Arc::from(connect.client_id.as_str());
        let mut session_present = false;
        if let Some(&idx) = self.by_id.get(&id) {
            // [MQTT-3.1.4-2] client-id takeover: the existing connection is closed.
            // The old session continues only if the new connection asks for it (Clean Start
            // 0) and it outlives its connections (expiry > 0): a clean-session (3.1.1) or
            // expiry-0 (5.0) session ends with its connection [MQTT-3.1.2-6], [MQTT-3.2.2-2].
            let old_expiry = self.session(idx).map_or(0, |s| s.expiry);
            let continues = !connect.clean_start && old_expiry != 0;
            let mut old_will = None;
            if let Some(s) = self.session(idx)
                && let Some(link) = s.link.take()
            {
                {
                    link.outbox.close(CloseReason::TakenOver);
                    let old_conn = link.conn;
                    let ends = !continues || s.expiry == 0;
                    // The old connection's will goes out only if its session ends now;
                    // a resumed session cancels it like a reconnect within the will delay.
                    old_will = if ends { s.will.take() } else { None };
                    s.will = None;
                    self.by_conn.remove(&old_conn);
                    let c = id.clone();
                    self.emit(|| BrokerEvent::Takeover(c));
                }
            }
            if let Some(w) = old_will {
                self.publish_will(w);
            }
            if continues {
                session_present = true;
            } else {
                // Clean Start ends the old session; a will still pending goes out now.
                self.end_session(idx, true);
            }
        }
        let idx = if session_present {
            self.by_id.get(&id).copied()
        } else {
            None
        };
        let idx = match idx {
            Some(i) => i,
            None => self.create_session(id.clone(), connect.version),
        };
        let cfg = self.cfg.clone();
        let Some(s) = self.session(idx) else {
            return;
        };
        if session_present {
            // A new connection before the will delay passed: the pending will is dropped
            // [MQTT-3.1.3-9].
            s.will = None;
        }
        // A broker-wide counter: timers armed for an earlier occupant of this slot, or an
        // earlier connection of this session, can never match again.
        self.generation += 1;
        let generation = self.generation;
        let Some(s) = self.session(idx) else {
            return;
        };
        s.generation = generation;
        s.version = connect.version;
        s.expiry = match connect.version {
            ProtocolVersion::V5 => connect.properties.session_expiry.unwrap_or(0),
            _ if connect.clean_start => 0,
            _ => cfg.persistent_client_expiration.unwrap_or(u32::MAX),
        };
        s.receive_maximum = connect.properties.receive_maximum.unwrap_or(u16::MAX);
        s.max_packet_size = connect.properties.maximum_packet_size;
        let username: Option<Arc<str>> = connect.username.as_deref().map(Arc::from);
        s.will = connect.will.clone().map(|will| {
            Box::new(PendingWill {
                will,
                client_id: id.clone(),
                username: username.clone(),
                listener,
            })
        });
        s.username = username;
        s.listener = listener;
        s.link = Some(Link {
            conn,
            outbox: outbox.clone(),
        });
        self.by_conn.insert(conn, idx);

        let client = id.clone();
        let username = connect.username.clone();
        self.emit(|| BrokerEvent::ClientConnected {
            peer,
            client,
            protocol: connect.version.log_number(),
            clean: connect.clean_start,
            keep_alive: connect.keep_alive,
            username,
        });
        match &connect.will {
            None => self.trace(|| BrokerEvent::NoWill),
            Some(w) => self.trace(|| BrokerEvent::WillSpecified {
                len: w.payload.len(),
                retain: w.retain,
                qos: w.qos.as_u8(),
                topic: w.topic.clone(),
            }),
        }
        let mut props = Properties::default();
        if connect.version.is_v5() {
            if assigned_id {
                // [MQTT-3.2.2-16]
                props.assigned_client_id = Some(connect.client_id.clone());
            }
            props.topic_alias_maximum = Some(cfg.max_topic_alias);
            props.receive_maximum = Some(RECEIVE_MAXIMUM);
            if !cfg.retain_available {
                props.retain_available = Some(0);
            }
            if cfg.max_packet_size > 0 {
                props.maximum_packet_size = u32::try_from(cfg.max_packet_size).ok();
            }
            props.server_keep_alive = server_keep_alive;
        }
        if outbox.push(Outgoing::ConnAck(Box::new(ConnAck {
            session_present,
            reason: ReasonCode::Success,
            properties: props,
        }))) {
            self.wakes.push(outbox.clone());
        }
        let c = id.clone();
        self.trace(|| BrokerEvent::ConnAckSent {
            client: c,
            session_present,
            code: 0,
        });
        self.counters.connects += 1;
        if session_present {
            self.resume(idx);
        }
    }

    fn create_session(&mut self, id: Arc<str>, version: ProtocolVersion) -> SessionIdx {
        let s = Box::new(Session::new(id.clone(), version));
        let idx = if let Some(i) = self.free.pop() {
            self.sessions[i as usize] = Some(s);
            i
        } else {
            self.sessions.push(Some(s));
            SessionIdx::try_from(self.sessions.len() - 1).unwrap_or(SessionIdx::MAX)
        };
        self.by_id.insert(id, idx);
        idx
    }

    /// Re-sends unacknowledged messages after a reconnect [MQTT-4.4.0-1]: PUBLISH with DUP=1,
    /// PUBREL for those already released, in the original order; then fills the window.
    fn resume(&mut self, idx: SessionIdx) {
        let max_inflight = self.cfg.max_inflight_messages;
        let Some(s) = self.session(idx) else {
            return;
        };
        // Never more in flight than the client's Receive Maximum allows [MQTT-3.3.4-9]: the
        // rest is re-sent as acknowledgements make room.
        let window = s.window(max_inflight);
        s.resend_pending = s.outflight.len();
        for f in &mut s.outflight {
            f.resend_pending = true;
        }
        for _ in 0..window {
            if !self.resend_next(idx) {
                break;
            }
        }
        self.fill_window(idx);
    }

    /// Re-sends the oldest in-flight message not re-sent since the reconnect: PUBREL if it
    /// was released, else the PUBLISH with DUP=1 and its original id. False if none is left.
    fn resend_next(&mut self, idx: SessionIdx) -> bool {
        let events = self.events.clone();
        let Some(s) = self.session(idx) else {
            return false;
        };
        let Some(link) = s.link.clone() else {
            return false;
        };
        let Some(f) = s.outflight.iter_mut().find(|f| f.resend_pending) else {
            return false;
        };
        f.resend_pending = false;
        let packet = if f.released {
            let (c, pkid) = (s.id.clone(), f.publish.pkid);
            events.trace(|| BrokerEvent::PubRelSent { client: c, pkid });
            Outgoing::PubRel(Ack::new(pkid, 0))
        } else {
            f.publish.dup = true;
            let c = s.id.clone();
            let p = &f.publish;
            events.trace(|| BrokerEvent::PublishSent {
                client: c,
                flags: flags_of(p),
                topic: p.topic.clone(),
                len: p.payload.len(),
            });
            Outgoing::Publish(f.publish.clone())
        };
        s.resend_pending -= 1;
        if link.outbox.push(packet) {
            self.wakes.push(link.outbox.clone());
        }
        true
    }

    fn on_closed(&mut self, conn: u64, how: CloseKind) {
        let Some(idx) = self.by_conn.remove(&conn) else {
            return;
        };
        let Some(s) = self.session(idx) else {
            return;
        };
        s.link = None;
        let id = s.id.clone();
        // The closing line, in mosquitto's words for each way a connection ends.
        let closing: fn(Arc<str>) -> BrokerEvent = match how {
            CloseKind::Disconnect {
                reason,
                session_expiry,
            } => {
                if let Some(e) = session_expiry {
                    s.expiry = e;
                }
                self.trace(|| BrokerEvent::DisconnectReceived(id.clone()));
                // [MQTT-3.14.4-3]: only a normal DISCONNECT (0x00, and every 3.x DISCONNECT)
                // discards the will; 0x04 and error reasons keep it.
                if reason == ReasonCode::Success
                    && let Some(s) = self.session(idx)
                {
                    s.will = None;
                }
                BrokerEvent::Disconnected
            }
            CloseKind::PeerClosed => BrokerEvent::ConnectionClosed,
            CloseKind::KeepAlive => BrokerEvent::KeepAliveTimeout,
            CloseKind::Malformed => BrokerEvent::MalformedPacket,
            CloseKind::Protocol => BrokerEvent::ProtocolError,
            CloseKind::Oversize => BrokerEvent::OversizePacket,
            CloseKind::Server => BrokerEvent::Disconnected,
        };
        self.emit(|| closing(id));
        self.went_offline(idx);
    }

    /// After a connection ended: publish or schedule the will, end or keep the session.
    fn went_offline(&mut self, idx: SessionIdx) {
        let now = Instant::now();
        let Some(s) = self.session(idx) else {
            return;
        };
        let expiry = s.expiry;
        let generation = s.generation;
        let delay = s
            .will
            .as_ref()
            .and_then(|w| w.will.properties.will_delay)
            .unwrap_or(0);
        let mut will_now = None;
        if s.will.is_some() {
            if delay == 0 || expiry == 0 {
                // [MQTT-3.1.2-8]: published when the connection closes, or at the latest when
                // the session ends.
                will_now = s.will.take();
            } else {
                let wait = Duration::from_secs(u64::from(delay.min(expiry)));
                self.timers.push(Reverse((
                    now + wait,
                    Timer::WillDelay {
                        session: idx,
                        generation,
                    },
                )));
            }
        }
        if let Some(w) = will_now {
            self.publish_will(w);
        }
        if expiry == 0 {
            self.end_session(idx, false);
        } else if expiry != u32::MAX {
            self.timers.push(Reverse((
                now + Duration::from_secs(u64::from(expiry)),
                Timer::SessionExpiry {
                    session: idx,
                    generation,
                },
            )));
        }
    }

    /// Forgets a session and its subscriptions. A pending will is published first when
    /// `publish_pending_will` is set (the session ends before the will delay ran out).
    fn end_session(&mut self, idx: SessionIdx, publish_pending_will: bool) {
        let Some(mut s) = self.sessions.get_mut(idx as usize).and_then(Option::take) else {
            return;
        };
        for filter in s.subscriptions.keys() {
            if let Ok(p) = topic::parse_filter(filter) {
                match p.share_group {
                    Some(g) => self.subs.remove_shared(idx, g, p.filter),
                    None => self.subs.remove(idx, p.filter),
                };
            }
        }
        self.by_id.remove(&s.id);
        if let Some(link) = s.link.take() {
            self.by_conn.remove(&link.conn);
        }
        self.free.push(idx);
        if publish_pending_will && let Some(w) = s.will.take() {
            self.publish_will(w);
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(Reverse((t, timer))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::WillDelay {
                    session,
                    generation,
                } => {
                    let will = match self.session(session) {
                        Some(s) if s.generation == generation && s.link.is_none() => s.will.take(),
                        _ => None,
                    };
                    if let Some(w) = will {
                        self.publish_will(w);
                    }
                }
                Timer::SessionExpiry {
                    session,
                    generation,
                } => {
                    let expired = match self.session(session) {
                        Some(s) if s.generation == generation && s.link.is_none() => {
                            Some(s.id.clone())
                        }
                        _ => None,
                    };
                    if let Some(id) = expired {
                        self.emit(|| BrokerEvent::SessionExpired(id));
                        self.end_session(session, true);
                        self.counters.expired += 1;
                    }
                }
            }
        }
        self.retained.remove_expired(now);
    }

    /// Publishes a will as the client that set it, if the ACL lets that client write there.
    fn publish_will(&mut self, pending: Box<PendingWill>) {
        let PendingWill {
            will: w,
            client_id,
            username,
            listener,
        } = *pending;
        if !self.acl_allows(
            listener,
            username.as_deref(),
            &client_id,
            &w.topic,
            Access::Write,
        ) {
            return;
        }
        let now = Instant::now();
        let mut props = w.properties;
        props.will_delay = None;
        let expires_at = props
            .message_expiry
            .take()
            .filter(|&s| s > 0)
            .map(|s| now + Duration::from_secs(u64::from(s)));
        let msg = Message {
            topic: Arc::from(w.topic.as_str()),
            payload: w.payload,
            qos: w.qos,
            retain: w.retain,
            properties: if props.is_empty() {
                None
            } else {
                Some(Arc::new(props))
            },
            expires_at,
        };
        self.route(&msg, None);
    }

    // ----- publishing -----------------------------------------------------------------------

    fn on_publish(&mut self, idx: SessionIdx, p: Publish) {
        let Some(s) = self.session(idx) else {
            return;
        };
        let id = s.id.clone();
        let username = s.username.clone();
        let listener = s.listener;
        let version = s.version;
        let Some(link) = s.link.clone() else {
            return;
        };
        self.counters.publish_received += 1;
        self.counters.publish_bytes_received += p.payload.len() as u64;
        let allowed = self.acl_allows(listener, username.as_deref(), &id, &p.topic, Access::Write);
        {
            let (c, t) = (id.clone(), p.topic.clone());
            let (flags, len) = (flags_of(&p), p.payload.len());
            if allowed {
                self.trace(|| BrokerEvent::PublishReceived {
                    client: c,
                    flags,
                    topic: t,
                    len,
                });
            } else {
                self.trace(|| BrokerEvent::PublishDenied {
                    client: c,
                    flags,
                    topic: t,
                    len,
                });
            }
        }
        if !allowed {
            self.deny_publish(&link, &id, version, p.qos, p.pkid);
            return;
        }
        if p.retain && !self.cfg.retain_available {
            // MQTT 5 §3.3.1.3: RETAIN=1 when Retain Available is 0 is a protocol error (0x9A).
            link.outbox
                .close(CloseReason::Protocol(ReasonCode::RetainNotSupported));
            self.kick(idx, CloseKind::Protocol);
            return;
        }
        let pkid = p.pkid;
        let qos = p.qos;
        match qos {
            QoS::AtMostOnce => {
                let msg = Message::from_publish(p);
                self.route(&msg, Some(idx));
            }
            QoS::AtLeastOnce => {
                let msg = Message::from_publish(p);
                let n = self.route(&msg, Some(idx));
                let rc = if version.is_v5() && n == 0 {
                    ReasonCode::NoMatchingSubscribers.as_u8()
                } else {
                    0
                };
                if link.outbox.push(Outgoing::PubAck(Ack::new(pkid, rc))) {
                    self.wakes.push(link.outbox.clone());
                }
                self.trace(|| BrokerEvent::PubAckSent {
                    client: id,
                    pkid,
                    rc,
                });
            }
            QoS::ExactlyOnce => {
                let Some(s) = self.session(idx) else {
                    return;
                };
                if !s.inbound_qos2.contains_key(&pkid)
                    && s.inbound_qos2.len() >= usize::from(RECEIVE_MAXIMUM)
                {
                    // More unreleased QoS 2 messages than our Receive Maximum: MQTT 5
                    // DISCONNECT 0x93 [MQTT-3.3.4-8]; a 3.x client is closed. This bounds the
                    // state a client can make the broker hold (CVE-2023-28366).
                    link.outbox
                        .close(CloseReason::Protocol(ReasonCode::ReceiveMaximumExceeded));
                    self.kick(idx, CloseKind::Protocol);
                    return;
                }
                // [MQTT-4.3.3-9]: a re-sent PUBLISH with a known id is acknowledged again but
                // not delivered twice.
                s.inbound_qos2
                    .entry(pkid)
                    .or_insert_with(|| Message::from_publish(p));
                if link.outbox.push(Outgoing::PubRec(Ack::new(pkid, 0))) {
                    self.wakes.push(link.outbox.clone());
                }
                self.trace(|| BrokerEvent::PubRecSent {
                    client: id,
                    pkid,
                    rc: 0,
                });
            }
        }
    }

    /// Completes the QoS flow of a PUBLISH the ACL refused, without delivering it: MQTT 5 gets
    /// reason 0x87 (Not authorized) [MQTT-3.3.5-2]; 3.1.1 cannot say so and gets a plain
    /// acknowledgement. The log shows rc135 either way, like mosquitto.
    fn deny_publish(
        &mut self,
        link: &Link,
        id: &Arc<str>,
        version: ProtocolVersion,
        qos: QoS,
        pkid: u16,
    ) {
        let rc = if version.is_v5() {
            ReasonCode::NotAuthorized.as_u8()
        } else {
            0
        };
        let logged = ReasonCode::NotAuthorized.as_u8();
        let packet = match qos {
            QoS::AtMostOnce => return,
            QoS::AtLeastOnce => Outgoing::PubAck(Ack::new(pkid, rc)),
            QoS::ExactlyOnce => Outgoing::PubRec(Ack::new(pkid, rc)),
        };
        if link.outbox.push(packet) {
            self.wakes.push(link.outbox.clone());
        }
        let c = id.clone();
        match qos {
            QoS::AtLeastOnce => self.trace(|| BrokerEvent::PubAckSent {
                client: c,
                pkid,
                rc: logged,
            }),
            _ => self.trace(|| BrokerEvent::PubRecSent {
                client: c,
                pkid,
                rc: logged,
            }),
        }
    }

    fn on_pubrel(&mut self, idx: SessionIdx, a: &Ack) {
        let Some(s) = self.session(idx) else {
            return;
        };
        let id = s.id.clone();
        let v5 = s.version.is_v5();
        let msg = s.inbound_qos2.remove(&a.pkid);
        let Some(link) = s.link.clone() else {
            return;
        };
        let pkid = a.pkid;
        {
            let c = id.clone();
            self.trace(|| BrokerEvent::PubRelReceived { client: c, pkid });
        }
        let found = msg.is_some();
        if let Some(m) = msg {
            self.route(&m, Some(idx));
        }
        // MQTT 5: an unknown id is answered with 0x92 (Packet Identifier not found).
        let rc = if !found && v5 {
            ReasonCode::PacketIdentifierNotFound.as_u8()
        } else {
            0
        };
        if link.outbox.push(Outgoing::PubComp(Ack::new(pkid, rc))) {
            self.wakes.push(link.outbox.clone());
        }
        self.trace(|| BrokerEvent::PubCompSent { client: id, pkid });
    }

    /// Delivers a message to every matching subscription and stores it if retained.
    /// Returns the number of receivers.
    pub fn route(&mut self, msg: &Message, from: Option<SessionIdx>) -> usize {
        if msg.retain {
            // [MQTT-3.3.1-5]: store it (an empty payload deletes [MQTT-3.3.1-10]).
            self.retained.set(msg.clone());
        }
        let mut matched = std::mem::take(&mut self.match_buf);
        matched.clear();
        self.subs.matches(&msg.topic, &mut matched);
        if matched.is_empty() {
            self.match_buf = matched;
            return 0;
        }
        let mut deliveries = std::mem::take(&mut self.delivery_buf);
        deliveries.clear();
        for e in &matched {
            match e.target {
                Target::Session(s) => {
                    // [MQTT-3.8.3-3] No Local: not back to the publisher.
                    if e.options.no_local && from == Some(s) {
                        continue;
                    }
                    deliveries.push(Delivery {
                        session: s,
                        options: e.options,
                        ids: e.id.into_iter().collect(),
                    });
                }
                Target::Group(g) => {
                    if let Some(d) = self.pick_group_member(g, &msg.topic) {
                        deliveries.push(d);
                    }
                }
            }
        }
        self.match_buf = matched;
        if deliveries.len() > 1 {
            // Overlapping subscriptions: one copy with the highest QoS and every
            // Subscription Identifier [MQTT-3.3.4-2], [MQTT-3.3.4-3].
            deliveries.sort_by_key(|d| d.session);
            deliveries.dedup_by(|later, first| {
                if later.session != first.session {
                    return false;
                }
                first.options.qos = first.options.qos.max(later.options.qos);
                first.options.retain_as_published |= later.options.retain_as_published;
                first.ids.append(&mut later.ids);
                true
            });
        }
        let n = deliveries.len();
        for d in deliveries.drain(..) {
            let qos = d.options.qos.min(msg.qos);
            // [MQTT-3.3.1-9] live forwarding clears RETAIN unless Retain As Published.
            let retain = msg.retain && d.options.retain_as_published;
            self.deliver(d.session, msg, qos, retain, d.ids, false);
        }
        self.delivery_buf = deliveries;
        n
    }

    /// Picks the member of a shared subscription that gets this message: round robin over
    /// connected members the ACL lets read the topic; if none is connected, the next allowed
    /// one (its session queues it).
    fn pick_group_member(&mut self, gidx: u32, topic_name: &str) -> Option<Delivery> {
        let sessions = &self.sessions;
        let security = &*self.security;
        let g = self.subs.group_mut(gidx)?;
        let n = g.members.len();
        let may_read = |session: SessionIdx| {
            let s = sessions.get(session as usize).and_then(|o| o.as_deref());
            s.is_some_and(|s| {
                security.acl_allows(
                    s.listener,
                    s.username.as_deref(),
                    &s.id,
                    topic_name,
                    Access::Read,
                )
            })
        };
        let online = |session: SessionIdx| {
            sessions
                .get(session as usize)
                .and_then(|o| o.as_deref())
                .is_some_and(|s| s.link.is_some())
        };
        let start = g.next;
        let pick = (0..n)
            .map(|step| (start + step) % n)
            .find(|&i| online(g.members[i].session) && may_read(g.members[i].session))
            .or_else(|| {
                (0..n)
                    .map(|step| (start + step) % n)
                    .find(|&i| may_read(g.members[i].session))
            })?;
        g.next = (pick + 1) % n;
        let m = g.members[pick];
        Some(Delivery {
            session: m.session,
            options: m.options,
            ids: m.id.into_iter().collect(),
        })
    }

    /// Sends or queues one message for one session.
    fn deliver(
        &mut self,
        idx: SessionIdx,
        msg: &Message,
        qos: QoS,
        retain: bool,
        ids: Vec<u32>,
        force: bool,
    ) {
        if msg.expired() {
            return;
        }
        if self.security.has_acl() {
            // `read` is checked at delivery, as mosquitto does (subscribing is always granted).
            let Some(s) = self.sessions.get(idx as usize).and_then(|o| o.as_deref()) else {
                return;
            };
            if !self.acl_allows(
                s.listener,
                s.username.as_deref(),
                &s.id,
                &msg.topic,
                Access::Read,
            ) {
                return;
            }
        }
        // Field borrows, not `self.session()`: this runs once per delivery, and the session,
        // the config, the counters and the event bus are used side by side without clones.
        let cfg = &*self.cfg;
        let Some(s) = self
            .sessions
            .get_mut(idx as usize)
            .and_then(Option::as_deref_mut)
        else {
            return;
        };
        if qos == QoS::AtMostOnce && s.link.is_none() && !cfg.queue_qos0_messages {
            // Offline: QoS 0 is queued only with `queue_qos0_messages`, under the limits below.
            return;
        }
        if qos == QoS::AtMostOnce
            && let Some(link) = &s.link
        {
            let publish = build_publish(s.version, msg, qos, retain, &ids, 0);
            if too_big(s, &publish) {
                return;
            }
            let (flags, topic, len) = (
                flags_of(&publish),
                publish.topic.clone(),
                publish.payload.len(),
            );
            let limits = (cfg.max_queued_messages, cfg.queue_bytes_limit());
            match link.outbox.push_qos0(publish, limits.0, limits.1, force) {
                Some(wake) => {
                    if wake {
                        self.wakes.push(link.outbox.clone());
                    }
                    self.counters.publish_sent += 1;
                    self.counters.publish_bytes_sent += len as u64;
                    let client = &s.id;
                    self.events.trace(|| BrokerEvent::PublishSent {
                        client: client.clone(),
                        flags,
                        topic,
                        len,
                    });
                }
                None => {
                    self.counters.publish_dropped += 1;
                    warn_dropping(&self.events, s);
                    return;
                }
            }
            s.dropping = false;
            return;
        }
        let online = s.link.is_some();
        let window = s.window(cfg.max_inflight_messages);
        if online && s.queue.is_empty() && s.outflight.len() < window {
            self.send_inflight(
                idx,
                Queued {
                    msg: msg.clone(),
                    qos,
                    retain,
                    sub_ids: ids,
                },
            );
            return;
        }
        // An online consumer that keeps up is protected by back-pressure and may overshoot
        // the limit by a burst; an offline or slow one gets it strictly (see `pressure`).
        let slack = match &s.link {
            Some(link) if !link.outbox.is_slow() => PROGRESS_SLACK,
            _ => 1,
        };
        let full = (cfg.max_queued_messages > 0
            && s.queue.len() >= cfg.max_queued_messages * slack)
            || s.queued_bytes + msg.payload.len() > cfg.queue_bytes_limit();
        if full && !force {
            // Like mosquitto: beyond max_queued_messages, new messages are dropped.
            self.counters.publish_dropped += 1;
            warn_dropping(&self.events, s);
            return;
        }
        s.dropping = false;
        s.enqueue(Queued {
            msg: msg.clone(),
            qos,
            retain,
            sub_ids: ids,
        });
        if let Some(link) = &s.link {
            // A growing backlog slows the publishers down (see `pressure`).
            link.outbox.note_backlog(s.queue.len());
        }
    }

    /// Assigns a packet id and sends a queued QoS 1/2 message (or a queued QoS 0 one).
    fn send_inflight(&mut self, idx: SessionIdx, q: Queued) {
        // Field borrows, as in `deliver`: no clone of the event bus or the link per message.
        let Some(s) = self
            .sessions
            .get_mut(idx as usize)
            .and_then(Option::as_deref_mut)
        else {
            return;
        };
        if s.link.is_none() {
            s.enqueue(q);
            return;
        }
        if q.msg.expired() {
            return;
        }
        let pkid = if q.qos == QoS::AtMostOnce {
            0
        } else {
            match s.next_packet_id() {
                Some(id) => id,
                None => {
                    s.requeue_front(q);
                    return;
                }
            }
        };
        let publish = build_publish(s.version, &q.msg, q.qos, q.retain, &q.sub_ids, pkid);
        // [MQTT-3.1.2-25]: a packet above the client's Maximum Packet Size is dropped as if
        // it had been sent.
        if too_big(s, &publish) {
            return;
        }
        let (flags, topic, len) = (
            flags_of(&publish),
            publish.topic.clone(),
            publish.payload.len(),
        );
        if pkid != 0 {
            s.pkids.insert(pkid);
            s.outflight.push_back(InFlight {
                publish: publish.clone(),
                released: false,
                resend_pending: false,
            });
        }
        let Some(link) = &s.link else {
            return;
        };
        if link.outbox.push(Outgoing::Publish(publish)) {
            self.wakes.push(link.outbox.clone());
        }
        self.counters.publish_sent += 1;
        self.counters.publish_bytes_sent += len as u64;
        let client = &s.id;
        self.events.trace(|| BrokerEvent::PublishSent {
            client: client.clone(),
            flags,
            topic,
            len,
        });
    }

    /// Moves queued messages into the in-flight window while there is room.
    fn fill_window(&mut self, idx: SessionIdx) {
        let max_inflight = self.cfg.max_inflight_messages;
        loop {
            let Some(s) = self.session(idx) else {
                return;
            };
            let on_the_wire = s.outflight.len() - s.resend_pending;
            if s.link.is_none() || on_the_wire >= s.window(max_inflight) {
                return;
            }
            if s.resend_pending > 0 {
                if !self.resend_next(idx) {
                    return;
                }
                continue;
            }
            if s.outflight.len() >= s.window(max_inflight) {
                return;
            }
            let Some(q) = s.dequeue() else {
                return;
            };
            if let Some(link) = &s.link {
                // Progress on the backlog: may release the publishers.
                link.outbox.note_backlog(s.queue.len());
            }
            self.send_inflight(idx, q);
        }
    }

    fn on_puback(&mut self, idx: SessionIdx, a: &Ack) {
        let Some(s) = self.session(idx) else {
            return;
        };
        let (c, pkid, rc) = (s.id.clone(), a.pkid, a.reason);
        if let Some(pos) = s.find_inflight(a.pkid)
            && !s.outflight[pos].released
            && s.outflight[pos].publish.qos == QoS::AtLeastOnce
        {
            s.remove_inflight(pos);
        }
        self.trace(|| BrokerEvent::PubAckReceived {
            client: c,
            pkid,
            rc,
        });
        self.fill_window(idx);
    }

    fn on_pubrec(&mut self, idx: SessionIdx, a: &Ack) {
        let Some(s) = self.session(idx) else {
            return;
        };
        let (c, pkid) = (s.id.clone(), a.pkid);
        let Some(link) = s.link.clone() else {
            return;
        };
        let pos = s.find_inflight(pkid);
        let mut send_pubrel = true;
        let mut finished = false;
        if let Some(pos) = pos {
            if a.reason >= 0x80 {
                // [MQTT-4.3.3-6]-style: a failed PUBREC ends the flow; no PUBREL.
                s.remove_inflight(pos);
                send_pubrel = false;
                finished = true;
            } else {
                s.outflight[pos].released = true;
            }
        }
        {
            let c = c.clone();
            self.trace(|| BrokerEvent::PubRecReceived { client: c, pkid });
        }
        if send_pubrel {
            let v5 = self.session(idx).is_some_and(|s| s.version.is_v5());
            let rc = if pos.is_none() && v5 {
                ReasonCode::PacketIdentifierNotFound.as_u8()
            } else {
                0
            };
            if link.outbox.push(Outgoing::PubRel(Ack::new(pkid, rc))) {
                self.wakes.push(link.outbox.clone());
            }
            self.trace(|| BrokerEvent::PubRelSent { client: c, pkid });
        }
        if finished {
            self.fill_window(idx);
        }
    }

    fn on_pubcomp(&mut self, idx: SessionIdx, a: &Ack) {
        let Some(s) = self.session(idx) else {
            return;
        };
        let (c, pkid, rc) = (s.id.clone(), a.pkid, a.reason);
        if let Some(pos) = s.find_inflight(a.pkid)
            && s.outflight[pos].released
        {
            s.remove_inflight(pos);
        }
        self.trace(|| BrokerEvent::PubCompReceived {
            client: c,
            pkid,
            rc,
        });
        self.fill_window(idx);
    }

    // ----- subscriptions --------------------------------------------------------------------

    fn on_subscribe(&mut self, idx: SessionIdx, sub: Subscribe) {
        let Some(s) = self.session(idx) else {
            return;
        };
        let id = s.id.clone();
        let version = s.version;
        let Some(link) = s.link.clone() else {
            return;
        };
        {
            let c = id.clone();
            let filters = sub
                .filters
                .iter()
                .map(|(f, o)| (f.clone(), o.qos.as_u8()))
                .collect();
            self.trace(|| BrokerEvent::SubscribeReceived { client: c, filters });
        }
        let sub_id = sub.properties.subscription_ids.first().copied();
        let mut codes = Vec::with_capacity(sub.filters.len());
        let mut retained_out: Vec<(Message, QoS, Option<u32>)> = Vec::new();
        for (filter, opts) in &sub.filters {
            let parsed = match topic::parse_filter(filter) {
                Ok(p) => p,
                Err(_) if version.is_v5() => {
                    // MQTT 5: SUBACK 0x8F for this filter; the others go on.
                    codes.push(ReasonCode::TopicFilterInvalid.as_u8());
                    continue;
                }
                Err(_) => {
                    // MQTT 3.1.1: a malformed filter is a protocol violation [MQTT-4.8.0-1];
                    // like mosquitto, the connection is closed.
                    link.outbox
                        .close(CloseReason::Protocol(ReasonCode::MalformedPacket));
                    self.kick(idx, CloseKind::Malformed);
                    return;
                }
            };
            if parsed.share_group.is_some() && opts.no_local {
                // [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error.
                link.outbox
                    .close(CloseReason::Protocol(ReasonCode::ProtocolError));
                self.kick(idx, CloseKind::Protocol);
                return;
            }
            let is_new = match parsed.share_group {
                Some(g) => self
                    .subs
                    .insert_shared(idx, g, parsed.filter, *opts, sub_id),
                None => self.subs.insert(idx, parsed.filter, *opts, sub_id),
            };
            if let Some(s) = self.session(idx) {
                s.subscriptions.insert(Arc::from(filter.as_str()), *opts);
            }
            codes.push(opts.qos.as_u8());
            // [MQTT-3.3.1-6] retained messages for a new subscription; none for shared ones.
            let send_retained = parsed.share_group.is_none()
                && match opts.retain_handling {
                    RetainHandling::SendAtSubscribe => true,
                    RetainHandling::SendIfNew => is_new,
                    RetainHandling::DoNotSend => false,
                };
            if send_retained {
                let mut found = Vec::new();
                self.retained.matching(parsed.filter, &mut found);
                retained_out.extend(found.into_iter().map(|m| (m, opts.qos, sub_id)));
            }
        }
        if link.outbox.push(Outgoing::SubAck {
            pkid: sub.pkid,
            codes,
        }) {
            self.wakes.push(link.outbox.clone());
        }
        {
            let c = id.clone();
            self.trace(|| BrokerEvent::SubAckSent(c));
        }
        for (msg, granted, sid) in retained_out {
            let qos = msg.qos.min(granted);
            // Retained messages sent for a subscription carry RETAIN=1 [MQTT-3.3.1-8].
            self.deliver(idx, &msg, qos, true, sid.into_iter().collect(), true);
        }
    }

    fn on_unsubscribe(&mut self, idx: SessionIdx, unsub: Unsubscribe) {
        let Some(s) = self.session(idx) else {
            return;
        };
        let id = s.id.clone();
        let Some(link) = s.link.clone() else {
            return;
        };
        {
            let c = id.clone();
            let filters = unsub.filters.clone();
            self.trace(|| BrokerEvent::UnsubscribeReceived { client: c, filters });
        }
        let mut codes = Vec::with_capacity(unsub.filters.len());
        for filter in &unsub.filters {
            // [MQTT-3.10.4-1]: filters are compared character by character.
            let existed = match topic::parse_filter(filter) {
                Ok(p) => match p.share_group {
                    Some(g) => self.subs.remove_shared(idx, g, p.filter),
                    None => self.subs.remove(idx, p.filter),
                },
                Err(_) => false,
            };
            if let Some(s) = self.session(idx) {
                s.subscriptions.remove(filter.as_str());
            }
            codes.push(if existed {
                0
            } else {
                ReasonCode::NoSubscriptionExisted.as_u8()
            });
        }
        // [MQTT-3.10.4-4], [MQTT-3.10.4-5]: UNSUBACK even when nothing matched.
        if link.outbox.push(Outgoing::UnsubAck {
            pkid: unsub.pkid,
            codes,
        }) {
            self.wakes.push(link.outbox.clone());
        }
        self.trace(|| BrokerEvent::UnsubAckSent(id));
    }

    /// Ends a connection from the router's side (the outbox close was already requested).
    fn kick(&mut self, idx: SessionIdx, how: CloseKind) {
        let conn = self
            .session(idx)
            .and_then(|s| s.link.as_ref().map(|l| l.conn));
        if let Some(conn) = conn {
            self.on_closed(conn, how);
        }
    }

    // ----- $SYS -----------------------------------------------------------------------------

    fn publish_sys(&mut self) {
        let connected = self.by_conn.len();
        let total = self.by_id.len();
        let snapshot = sys::Snapshot {
            uptime: self.started.elapsed().as_secs(),
            clients_connected: connected,
            clients_total: total,
            clients_disconnected: total.saturating_sub(connected),
            clients_expired: self.counters.expired,
            subscriptions: self.subs.len(),
            retained: self.retained.len(),
            stored_messages: self
                .sessions
                .iter()
                .flatten()
                .map(|s| s.queue.len() + s.outflight.len())
                .sum::<usize>()
                + self.retained.len(),
            stored_bytes: self.retained.bytes(),
            counters: self.counters.clone(),
            bytes_received: self.stats.bytes_received(),
            bytes_sent: self.stats.bytes_sent(),
        };
        self.counters.max_connected = self.counters.max_connected.max(connected);
        for (topic, value) in snapshot.topics() {
            let msg = Message {
                topic: Arc::from(topic.as_str()),
                payload: Bytes::from(value),
                qos: QoS::AtMostOnce,
                retain: true,
                properties: None,
                expires_at: None,
            };
            self.route(&msg, None);
        }
    }
}

/// A message as the persistence file stores it.
fn stored_message(m: &Message) -> StoredMessage {
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
    })
}

/// Logs mosquitto's "Outgoing messages are being dropped for client X." once per episode of
/// drops (the episode ends when a message for the client is queued again).
fn warn_dropping(events: &EventBus, s: &mut Session) {
    if !s.dropping {
        s.dropping = true;
        events.emit(BrokerEvent::MessagesDropped(s.id.clone()));
    }
}

fn flags_of(p: &Publish) -> PublishFlags {
    PublishFlags {
        dup: p.dup,
        qos: p.qos.as_u8(),
        retain: p.retain,
        pkid: p.pkid,
    }
}

fn too_big(s: &Session, p: &Publish) -> bool {
    s.max_packet_size
        .is_some_and(|max| crate::protocol::encode::publish_len(p, s.version) > max as usize)
}

/// The PUBLISH one subscriber receives: its QoS, RETAIN flag and packet id, and for MQTT 5
/// the publisher's properties plus the Subscription Identifiers and the remaining expiry
/// [MQTT-3.3.2-6].
fn build_publish(
    version: ProtocolVersion,
    msg: &Message,
    qos: QoS,
    retain: bool,
    ids: &[u32],
    pkid: u16,
) -> Publish {
    let properties = if version.is_v5()
        && (msg.properties.is_some() || !ids.is_empty() || msg.expires_at.is_some())
    {
        let mut p = msg.properties.as_deref().cloned().unwrap_or_default();
        p.subscription_ids = ids.to_vec();
        if let Some(t) = msg.expires_at {
            let left = t.saturating_duration_since(Instant::now()).as_secs();
            p.message_expiry = Some(u32::try_from(left.max(1)).unwrap_or(u32::MAX));
        }
        Some(Box::new(p))
    } else {
        None
    };
    Publish {
        dup: false,
        qos,
        retain,
        topic: msg.topic.clone(),
        pkid,
        properties,
        payload: msg.payload.clone(),
    }
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}
