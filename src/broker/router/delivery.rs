//! Delivery: the fan-out of one message to every matching subscription, the picks of shared
//! subscriptions, the outgoing in-flight window, offline queues, and the acknowledgements of
//! outgoing QoS 1/2 messages (PUBACK, PUBREC, PUBCOMP from a subscriber).
//!
//! # Invariants
//!
//! * One copy per session: overlapping subscriptions are merged into one delivery with the
//!   highest QoS and every Subscription Identifier [MQTT5-3.3.4-2], [MQTT5-3.3.4-3].
//! * Delivered QoS is the lower of the published QoS and the granted one [MQTT311-3.8.4-6].
//! * Per session, QoS 1/2 messages go out in order: a new message goes straight on the wire
//!   only while the queue is empty and the window has room; otherwise it queues behind the
//!   others and `fill_window` moves it when an acknowledgement makes room [MQTT311-4.6.0-6].
//! * The window is the lower of `max_inflight_messages` and the client's Receive Maximum
//!   [MQTT5-3.3.4-9]; messages waiting to be re-sent after a reconnect go first.
//! * An expired message is never delivered [MQTT5-3.3.2-5]; a PUBLISH larger than the
//!   client's Maximum Packet Size is dropped as if sent [MQTT5-3.1.2-25].
//! * Queues are bounded by `max_queued_messages` and `max_queued_bytes`; over the limit new
//!   messages are dropped (and counted), except retained messages sent on subscribe (`force`),
//!   which are all delivered [MQTT311-3.3.1-6]. QoS 0 goes first: a QoS 1 or 2 message that
//!   finds the queue full evicts the oldest queued QoS 0 messages (queued for an offline
//!   session with `queue_qos0_messages`) before it is refused; every eviction is a counted,
//!   logged drop. A consumer that keeps up may overshoot the
//!   count by [`PROGRESS_SLACK`] times: the back-pressure in [`crate::broker::pressure`]
//!   slows its publishers down instead.

use std::sync::Arc;

use super::Router;
use super::command::CloseKind;
use super::durable;
use super::message::{Message, build_publish, flags_of};
use super::session::{InFlight, Queued, Session};
use super::subscriptions::{Delivery, SessionIdx, Target};
use crate::broker::acl::Access;
use crate::broker::event::{BrokerEvent, EventBus, PublishFlags, Tag, Why};
use crate::broker::outbox::PROGRESS_SLACK;
use crate::broker::store::Record;
use crate::broker::sys::Counters;
use crate::protocol::{Ack, Outgoing, Publish, QoS, ReasonCode};

impl Router {
    /// Delivers a message to every matching subscription and stores it if retained.
    /// Returns the number of receivers.
    pub fn route(&mut self, msg: &Message, from: Option<SessionIdx>) -> usize {
        if msg.retain {
            // [MQTT311-3.3.1-5]: store it (an empty payload deletes [MQTT311-3.3.1-10]).
            self.retained.set(msg.clone());
            self.record_retained(msg);
        }
        let mut matched = std::mem::take(&mut self.match_buf);
        matched.clear();
        self.subs.matches(&msg.topic, &mut matched);
        if self.events.journeys() {
            self.note_unmatched(msg, from, matched.is_empty());
        }
        if matched.is_empty() {
            self.match_buf = matched;
            return 0;
        }
        let mut deliveries = std::mem::take(&mut self.delivery_buf);
        deliveries.clear();
        for e in &matched {
            match e.target {
                Target::Session(s) => {
                    // [MQTT5-3.8.3-3] No Local: not back to the publisher.
                    if e.options.no_local && from == Some(s) {
                        self.not_delivered(s, msg, Why::NoLocal);
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
                        if self.events.journeys() {
                            self.note_group_others(g, d.session, msg);
                        }
                        deliveries.push(d);
                    }
                }
            }
        }
        self.match_buf = matched;
        if deliveries.len() > 1 {
            // Overlapping subscriptions: one copy with the highest QoS and every
            // Subscription Identifier [MQTT5-3.3.4-2], [MQTT5-3.3.4-3].
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
            // [MQTT311-3.3.1-9] live forwarding clears RETAIN unless Retain As Published.
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
                    s.listener(),
                    s.username().map(|u| &**u),
                    s.id(),
                    topic_name,
                    Access::Read,
                )
            })
        };
        let online = |session: SessionIdx| {
            sessions
                .get(session as usize)
                .and_then(|o| o.as_deref())
                .is_some_and(Session::is_online)
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

    /// Sends or queues one message for one session. `force` (retained messages sent on
    /// subscribe) ignores the queue limits.
    pub(super) fn deliver(
        &mut self,
        idx: SessionIdx,
        msg: &Message,
        qos: QoS,
        retain: bool,
        ids: Vec<u32>,
        force: bool,
    ) {
        if msg.expired() {
            self.not_delivered(idx, msg, Why::Expired);
            return;
        }
        if self.security.has_acl() {
            // `read` is checked at delivery, as mosquitto does (subscribing is always granted).
            let Some(s) = self.sessions.get(idx as usize).and_then(|o| o.as_deref()) else {
                return;
            };
            if !self.acl_allows(
                s.listener(),
                s.username().map(|u| &**u),
                s.id(),
                &msg.topic,
                Access::Read,
            ) {
                self.not_delivered(idx, msg, Why::AclDenied);
                return;
            }
        }
        let now = self.now();
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
        if qos == QoS::AtMostOnce && !s.is_online() && !cfg.queue_qos0_messages {
            // Offline: QoS 0 is queued only with `queue_qos0_messages`, under the limits below.
            return;
        }
        if qos == QoS::AtMostOnce
            && let Some(link) = s.link()
        {
            if !force && link.outbox.is_full() {
                // Its queue is full until its connection writes: drop without building.
                self.counters.publish_dropped += 1;
                warn_dropping(&self.events, s);
                journey_drop(&self.events, s, msg, Why::QueueFull);
                self.after_drop(idx);
                return;
            }
            let publish = build_publish(s.version(), msg, qos, retain, &ids, 0);
            if too_big(s, &publish) {
                journey_drop(&self.events, s, msg, Why::MaximumPacketSize);
                return;
            }
            let sent = Sent::of(&publish, tag_of(msg, qos, retain, force));
            let limits = (cfg.max_queued_messages, cfg.queue_bytes_limit());
            match link
                .outbox
                .push_qos0(publish, limits.0, limits.1, force, now)
            {
                Some(wake) => {
                    if wake {
                        self.wakes.push(link.outbox.clone());
                    }
                    sent.count(&mut self.counters, &self.events, s.id());
                }
                None => {
                    self.counters.publish_dropped += 1;
                    warn_dropping(&self.events, s);
                    journey_drop(&self.events, s, msg, Why::QueueFull);
                    self.after_drop(idx);
                    return;
                }
            }
            s.stop_dropping();
            return;
        }
        let window = s.window(cfg.max_inflight_messages);
        if s.is_online() && s.queue_len() == 0 && s.inflight_len() < window {
            let seq = s.take_seq();
            self.send_inflight(
                idx,
                Queued {
                    msg: msg.clone(),
                    qos,
                    retain,
                    sub_ids: ids,
                    seq,
                },
                true,
            );
            return;
        }
        // An online consumer that keeps up is protected by back-pressure and may overshoot
        // the limit by a burst; an offline or slow one gets it strictly (see `pressure`).
        let slack = match s.link() {
            Some(link) if !link.outbox.is_slow_at(now) => PROGRESS_SLACK,
            _ => 1,
        };
        let max_msgs = cfg.max_queued_messages.saturating_mul(slack);
        let max_bytes = cfg.queue_bytes_limit();
        let full = |s: &Session| {
            (max_msgs > 0 && s.queue_len() >= max_msgs)
                || s.queued_bytes() + msg.payload.len() > max_bytes
        };
        let mut evicted = false;
        if qos != QoS::AtMostOnce && !force {
            // QoS 0 goes first: a full queue drops its oldest queued QoS 0 messages (each
            // counted and logged as a drop) before it refuses a QoS 1 or 2 message, as
            // mosquitto's limits count only QoS 1 and 2 messages against QoS 1 and 2.
            while full(s) {
                let Some(gone) = s.evict_qos0() else { break };
                // The evicted message's stored record goes with it.
                let seq = gone.seq;
                durable::record(&mut self.store, s, |client_id| Record::Delivered {
                    client_id,
                    seq,
                });
                self.counters.publish_dropped += 1;
                warn_dropping(&self.events, s);
                evicted = true;
            }
        }
        if full(s) && !force {
            // Like mosquitto: beyond max_queued_messages, new messages are dropped.
            self.counters.publish_dropped += 1;
            warn_dropping(&self.events, s);
            journey_drop(&self.events, s, msg, Why::QueueFull);
            self.after_drop(idx);
            return;
        }
        if !evicted {
            // Queued without a drop: the episode of drops (if any) is over.
            s.stop_dropping();
        }
        let q = Queued {
            msg: msg.clone(),
            qos,
            retain,
            sub_ids: ids,
            seq: s.take_seq(),
        };
        durable::record_kept(&mut self.store, s, &q, None);
        s.enqueue(q);
        if let Some(link) = s.link() {
            // A growing backlog slows the publishers down (see `pressure`).
            link.outbox.note_backlog(s.queue_len(), now);
        }
    }

    /// Assigns a packet id and sends a queued QoS 1/2 message (or a queued QoS 0 one).
    /// `fresh`: the message comes straight from `deliver` and has no store record yet.
    fn send_inflight(&mut self, idx: SessionIdx, q: Queued, fresh: bool) {
        let now = self.now();
        // Field borrows, as in `deliver`: no clone of the event bus or the link per message.
        let Some(s) = self
            .sessions
            .get_mut(idx as usize)
            .and_then(Option::as_deref_mut)
        else {
            return;
        };
        let store = &mut self.store;
        let seq = q.seq;
        let done = |store: &mut Option<crate::broker::store::Store>, s: &Session| {
            if !fresh {
                durable::record(store, s, |client_id| Record::Delivered { client_id, seq });
            }
        };
        if !s.is_online() {
            if fresh {
                durable::record_kept(store, s, &q, None);
            }
            s.enqueue(q);
            return;
        }
        if q.msg.expired() {
            done(store, s);
            journey_drop(&self.events, s, &q.msg, Why::Expired);
            return;
        }
        let pkid = if q.qos == QoS::AtMostOnce {
            0
        } else {
            match s.next_packet_id() {
                Some(id) => id,
                None => {
                    if fresh {
                        durable::record_kept(store, s, &q, None);
                    }
                    s.requeue_front(q);
                    return;
                }
            }
        };
        let publish = build_publish(s.version(), &q.msg, q.qos, q.retain, &q.sub_ids, pkid);
        // [MQTT5-3.1.2-25]: a packet above the client's Maximum Packet Size is dropped as if
        // it had been sent.
        if too_big(s, &publish) {
            done(store, s);
            journey_drop(&self.events, s, &q.msg, Why::MaximumPacketSize);
            return;
        }
        let sent = Sent::of(&publish, tag_of(&q.msg, q.qos, q.retain, false));
        if pkid == 0 {
            done(store, s);
        } else {
            if fresh {
                durable::record_kept(store, s, &q, Some(pkid));
            } else {
                durable::record(store, s, |client_id| Record::InFlight {
                    client_id,
                    seq,
                    pkid,
                });
            }
            let mut f = InFlight::new(publish.clone(), false, seq);
            f.no = q.msg.no;
            s.push_inflight(f);
        }
        let Some(link) = s.link() else {
            return;
        };
        if link.outbox.push_at(Outgoing::Publish(publish), now) {
            self.wakes.push(link.outbox.clone());
        }
        sent.count(&mut self.counters, &self.events, s.id());
    }

    /// Moves queued messages into the in-flight window while there is room; messages that
    /// wait to be re-sent after a reconnect go first.
    pub(super) fn fill_window(&mut self, idx: SessionIdx) {
        let max_inflight = self.cfg.max_inflight_messages;
        let now = self.now();
        loop {
            let Some(s) = self.session(idx) else {
                return;
            };
            let window = s.window(max_inflight);
            if !s.is_online() || s.on_the_wire() >= window {
                return;
            }
            if s.resend_pending() {
                if !self.resend_next(idx) {
                    return;
                }
                continue;
            }
            if s.inflight_len() >= window {
                return;
            }
            let Some(q) = s.dequeue() else {
                return;
            };
            if let Some(link) = s.link() {
                // Progress on the backlog: may release the publishers.
                link.outbox.note_backlog(s.queue_len(), now);
            }
            self.send_inflight(idx, q, false);
        }
    }

    /// PUBACK from a subscriber: ends a QoS 1 flow and makes room in the window.
    pub(super) fn on_puback(&mut self, idx: SessionIdx, a: &Ack) {
        let tracing = self.events.tracing();
        let Some(s) = self.session(idx) else {
            return;
        };
        let (c, pkid, rc) = (s.id().clone(), a.pkid, a.reason);
        let tag = journey_of(tracing, s, pkid);
        if let Some(seq) = s.on_puback(pkid) {
            self.record_for(idx, |client_id| Record::Delivered { client_id, seq });
        }
        self.trace_tagged(tag, || BrokerEvent::PubAckReceived {
            client: c,
            pkid,
            rc,
        });
        self.fill_window(idx);
    }

    /// PUBREC from a subscriber: answers PUBREL (MQTT 5: 0x92 for an unknown id), or ends
    /// the flow if the PUBREC reports a failure (MQTT5 §4.3.3: no PUBREL after a reason
    /// code of 0x80 or above).
    pub(super) fn on_pubrec(&mut self, idx: SessionIdx, a: &Ack) {
        let tracing = self.events.tracing();
        let Some(s) = self.session(idx) else {
            return;
        };
        let (c, pkid) = (s.id().clone(), a.pkid);
        let v5 = s.version().is_v5();
        let Some(link) = s.link().cloned() else {
            return;
        };
        let failed = a.reason >= 0x80;
        let tag = journey_of(tracing, s, pkid);
        let seq = s.on_pubrec(pkid, failed);
        let known = seq.is_some();
        if let Some(seq) = seq {
            self.record_for(idx, |client_id| match failed {
                true => Record::Delivered { client_id, seq },
                false => Record::Released { client_id, seq },
            });
        }
        {
            let c = c.clone();
            self.trace_tagged(tag, || BrokerEvent::PubRecReceived { client: c, pkid });
        }
        if known && failed {
            self.fill_window(idx);
            return;
        }
        let rc = if !known && v5 {
            ReasonCode::PacketIdentifierNotFound.as_u8()
        } else {
            0
        };
        self.send(&link.outbox, Outgoing::PubRel(Ack::new(pkid, rc)));
        self.trace_tagged(tag, || BrokerEvent::PubRelSent { client: c, pkid });
    }

    /// PUBCOMP from a subscriber: ends a QoS 2 flow and makes room in the window.
    pub(super) fn on_pubcomp(&mut self, idx: SessionIdx, a: &Ack) {
        let tracing = self.events.tracing();
        let Some(s) = self.session(idx) else {
            return;
        };
        let (c, pkid, rc) = (s.id().clone(), a.pkid, a.reason);
        let tag = journey_of(tracing, s, pkid);
        if let Some(seq) = s.on_pubcomp(pkid) {
            self.record_for(idx, |client_id| Record::Delivered { client_id, seq });
        }
        self.trace_tagged(tag, || BrokerEvent::PubCompReceived {
            client: c,
            pkid,
            rc,
        });
        self.fill_window(idx);
    }

    /// With `slow_consumer_disconnect`, a connected client whose queue overflowed is
    /// disconnected (MQTT 5: DISCONNECT 0x97 Quota exceeded, MQTT5 §3.14.2.1); its session
    /// stays as its Clean Start and expiry say.
    fn after_drop(&mut self, idx: SessionIdx) {
        if !self.cfg.slow_consumer_disconnect {
            return;
        }
        let Some(s) = self.session(idx) else {
            return;
        };
        if !s.is_online() {
            return;
        }
        let client = s.id().clone();
        self.emit(|| BrokerEvent::DisconnectedBecause {
            client,
            reason: "its queue is full (slow_consumer_disconnect)".into(),
        });
        self.close_for(idx, ReasonCode::QuotaExceeded, CloseKind::Server);
    }

    /// Messages stored for sessions (queued and in flight), for `$SYS`.
    pub(super) fn stored_in_sessions(&self) -> usize {
        self.sessions
            .iter()
            .flatten()
            .map(|s| s.queue_len() + s.inflight_len())
            .sum()
    }
}

/// What the log says of a PUBLISH handed to a connection (taken before the packet moves into
/// the outbox).
struct Sent {
    flags: PublishFlags,
    topic: Arc<str>,
    len: usize,
    tag: Tag,
}

impl Sent {
    fn of(p: &Publish, tag: Tag) -> Self {
        Self {
            flags: flags_of(p),
            topic: p.topic.clone(),
            len: p.payload.len(),
            tag,
        }
    }

    /// Counts the PUBLISH and logs `Sending PUBLISH to …` (built only when a verbose reader
    /// listens): the one place both QoS 0 and in-flight deliveries are accounted.
    fn count(self, counters: &mut Counters, events: &EventBus, client: &Arc<str>) {
        counters.publish_sent += 1;
        counters.publish_bytes_sent += self.len as u64;
        events.trace_tagged(self.tag, || BrokerEvent::PublishSent {
            client: client.clone(),
            flags: self.flags,
            topic: self.topic,
            len: self.len,
        });
    }
}

/// The journey tag of one delivery: its message number and the note its flags deserve (a
/// lower QoS than published [MQTT311-3.8.4-6], RETAIN 0 live or 1 from the store
/// [MQTT311-3.3.1-8], [MQTT311-3.3.1-9]).
fn tag_of(msg: &Message, qos: QoS, retain: bool, force: bool) -> Tag {
    let tag = Tag::msg(msg.no);
    if qos < msg.qos {
        tag.why(Why::QosDowngrade {
            published: msg.qos.as_u8(),
            granted: qos.as_u8(),
        })
    } else if msg.retain && !retain {
        tag.why(Why::RetainLive)
    } else if retain && (force || msg.retain) {
        tag.why(Why::RetainOnSubscribe)
    } else {
        tag
    }
}

/// The tag of an acknowledgement from a subscriber: the in-flight message's number, looked up
/// only when the line will be built.
fn journey_of(tracing: bool, s: &Session, pkid: u16) -> Tag {
    if tracing {
        Tag::msg(s.inflight_no(pkid))
    } else {
        Tag::default()
    }
}

/// A journey line (workbench only): `msg` was not delivered to `s` because of `why`.
fn journey_drop(events: &EventBus, s: &Session, msg: &Message, why: Why) {
    events.journey(Tag::msg(msg.no).why(why), || BrokerEvent::NotDelivered {
        client: Some(s.id().clone()),
        topic: msg.topic.clone(),
        reason: why,
    });
}

impl Router {
    /// A journey line for a message session `idx` did not get (workbench only).
    fn not_delivered(&self, idx: SessionIdx, msg: &Message, why: Why) {
        if let Some(s) = self.sessions.get(idx as usize).and_then(|o| o.as_deref()) {
            journey_drop(&self.events, s, msg, why);
        }
    }

    /// Journey lines (workbench only) for the members of a shared group that did not get the
    /// message (MQTT5 §4.8.2).
    fn note_group_others(&mut self, gidx: u32, chosen: SessionIdx, msg: &Message) {
        let others: Vec<SessionIdx> = self.subs.group_mut(gidx).map_or_else(Vec::new, |g| {
            g.members
                .iter()
                .map(|m| m.session)
                .filter(|&s| s != chosen)
                .collect()
        });
        for s in others {
            self.not_delivered(s, msg, Why::SharedGroupOtherMember);
        }
    }

    /// Journey lines (workbench only) for a message nobody subscribed to, and for the sessions
    /// whose wildcard filters do not match a `$`-topic [MQTT311-4.7.2-1]. Not for the
    /// broker's own `$SYS` updates (they would fill the log every tick).
    fn note_unmatched(&self, msg: &Message, from: Option<SessionIdx>, none: bool) {
        if from.is_none() && msg.topic.starts_with("$SYS") {
            return;
        }
        if none {
            self.events
                .journey(Tag::msg(msg.no).why(Why::NoSubscriber), || {
                    BrokerEvent::NotDelivered {
                        client: None,
                        topic: msg.topic.clone(),
                        reason: Why::NoSubscriber,
                    }
                });
        }
        if msg.topic.starts_with('$') {
            for s in self.sessions.iter().flatten() {
                if s.subscriptions()
                    .any(|(f, _)| f.starts_with('#') || f.starts_with('+'))
                {
                    journey_drop(&self.events, s, msg, Why::DollarTopics);
                }
            }
        }
    }
}

/// Logs mosquitto's "Outgoing messages are being dropped for client X." once per episode of
/// drops (the episode ends when a message for the client is queued again).
fn warn_dropping(events: &EventBus, s: &mut Session) {
    if s.start_dropping() {
        events.emit(BrokerEvent::MessagesDropped(s.id().clone()));
    }
}

/// True if the PUBLISH is larger than the client's Maximum Packet Size (MQTT5 §3.1.2.11.4).
fn too_big(s: &Session, p: &Publish) -> bool {
    s.max_packet_size()
        .is_some_and(|max| crate::protocol::encode::publish_len(p, s.version()) > max as usize)
}
