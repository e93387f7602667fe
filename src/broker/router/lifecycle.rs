//! Session lifecycle: CONNECT, client-id takeover, the end of a connection, wills (with Will
//! Delay), session expiry, and re-sending in-flight messages when a session resumes.
//!
//! # Invariants
//!
//! * A session is online exactly while it has a [`Link`]; `by_conn` holds that link's
//!   connection id and nothing else for the session.
//! * A will is published at most once: every path takes it out of the session first
//!   ([`Session::take_will`]). It goes out when the connection ends without a normal
//!   DISCONNECT, after its Will Delay Interval, or when the session ends, whichever comes first
//!   [MQTT5-3.1.2-8]; a new connection to the session before then cancels it [MQTT5-3.1.3-9].
//! * Each connection gets a new, broker-wide generation; a timer fires only against the
//!   generation it was armed for, and only while the session is offline (see
//!   [`super::timers`]).
//! * Re-sending after a reconnect never puts more on the wire than the client's Receive
//!   Maximum allows [MQTT5-3.3.4-9]; the rest follows as acknowledgements make room (see
//!   `fill_window` in [`super::delivery`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Router;
use super::command::{CloseKind, ConnectRequest};
use super::durable;
use super::message::{Message, RECEIVE_MAXIMUM, expiry_deadline, flags_of};
use super::session::{Link, PendingWill, Resend, Session};
use super::subscriptions::SessionIdx;
use super::timers::Timer;
use crate::broker::acl::Access;
use crate::broker::event::{BrokerEvent, Tag, Why};
use crate::broker::outbox::CloseReason;
use crate::broker::store::Record;
use crate::protocol::topic;
use crate::protocol::{Ack, ConnAck, Outgoing, Properties, ProtocolVersion, ReasonCode};

impl Router {
    /// A client completed CONNECT: take over an existing connection with the same client id,
    /// resume or replace its session, answer CONNACK and re-send what was in flight.
    pub(super) fn on_connect(&mut self, req: ConnectRequest) {
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
            // [MQTT311-3.1.4-2] client-id takeover: the existing connection is closed.
            // The old session continues only if the new connection asks for it (Clean Start
            // 0) and it outlives its connections (expiry > 0): a clean-session (3.1.1) or
            // expiry-0 (5.0) session ends with its connection [MQTT311-3.1.2-6],
            // [MQTT311-3.2.2-1].
            let old_expiry = self.session(idx).map_or(0, |s| s.expiry());
            let continues = !connect.clean_start && old_expiry != 0;
            let mut old_will = None;
            if let Some(s) = self.session(idx)
                && let Some(link) = s.detach()
            {
                link.outbox.close(CloseReason::TakenOver);
                // The old connection's will goes out only if its session ends now; a
                // resumed session cancels it like a reconnect within the will delay.
                let will = s.take_will();
                if !continues {
                    old_will = will;
                }
                self.by_conn.remove(&link.conn);
                self.drop_held(link.conn);
                let c = id.clone();
                self.emit(|| BrokerEvent::Takeover(c));
            }
            if let Some(w) = old_will {
                self.publish_will(w, "another connection took the Client Identifier over");
            }
            if continues {
                session_present = true;
            } else {
                // Clean Start ends the old session; a will still pending goes out now.
                self.end_session(idx, true);
            }
        }
        let idx = match self.by_id.get(&id).copied().filter(|_| session_present) {
            Some(i) => i,
            None => self.create_session(id.clone(), connect.version),
        };
        // A broker-wide counter: timers armed for an earlier occupant of this slot, or an
        // earlier connection of this session, can never match again.
        self.generation += 1;
        let generation = self.generation;
        let cfg = self.cfg.clone();
        let Some(s) = self.session(idx) else {
            return;
        };
        // A new connection before the will delay passed: the pending will is dropped
        // [MQTT5-3.1.3-9]. (A new session has none.)
        let username: Option<Arc<str>> = connect.username.as_deref().map(Arc::from);
        s.set_will(connect.will.clone().map(|will| {
            Box::new(PendingWill {
                will,
                client_id: id.clone(),
                username: username.clone(),
                listener,
            })
        }));
        s.set_expiry(match connect.version {
            ProtocolVersion::V5 => connect.properties.session_expiry.unwrap_or(0),
            _ if connect.clean_start => 0,
            _ => cfg.persistent_client_expiration.unwrap_or(u32::MAX),
        });
        s.attach(
            Link {
                conn,
                outbox: outbox.clone(),
            },
            generation,
            connect.version,
            connect.properties.receive_maximum.unwrap_or(u16::MAX),
            connect.properties.maximum_packet_size,
            username,
        );
        s.set_listener(listener);
        self.by_conn.insert(conn, idx);
        self.record_session_open(idx);

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
                // [MQTT5-3.2.2-16]
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
        self.send(
            &outbox,
            Outgoing::ConnAck(Box::new(ConnAck {
                session_present,
                reason: ReasonCode::Success,
                properties: props,
            })),
        );
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

    /// A new, offline session in a free slot, registered under its client id.
    pub(super) fn create_session(&mut self, id: Arc<str>, version: ProtocolVersion) -> SessionIdx {
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

    /// Re-sends unacknowledged messages after a reconnect [MQTT311-4.4.0-1]: PUBLISH with
    /// DUP=1, PUBREL for those already released, in the original order; then fills the window.
    fn resume(&mut self, idx: SessionIdx) {
        let max_inflight = self.cfg.max_inflight_messages;
        let Some(s) = self.session(idx) else {
            return;
        };
        // Never more in flight than the client's Receive Maximum allows [MQTT5-3.3.4-9]: the
        // rest is re-sent as acknowledgements make room.
        let window = s.window(max_inflight);
        s.begin_resend();
        for _ in 0..window {
            if !self.resend_next(idx) {
                break;
            }
        }
        self.fill_window(idx);
    }

    /// Re-sends the oldest in-flight message not re-sent since the reconnect: PUBREL if it
    /// was released, else the PUBLISH with DUP=1 and its original id. False if none is left.
    pub(super) fn resend_next(&mut self, idx: SessionIdx) -> bool {
        let events = self.events.clone();
        let Some(s) = self.session(idx) else {
            return false;
        };
        let Some(link) = s.link().cloned() else {
            return false;
        };
        let Some(resend) = s.next_resend() else {
            return false;
        };
        let c = s.id().clone();
        let packet = match resend {
            Resend::PubRel(pkid) => {
                let tag = Tag::msg(s.inflight_no(pkid));
                events.trace_tagged(tag, || BrokerEvent::PubRelSent { client: c, pkid });
                Outgoing::PubRel(Ack::new(pkid, 0))
            }
            Resend::Publish(p) => {
                let tag = Tag::msg(s.inflight_no(p.pkid));
                events.trace_tagged(tag, || BrokerEvent::PublishSent {
                    client: c,
                    flags: flags_of(&p),
                    topic: p.topic.clone(),
                    len: p.payload.len(),
                });
                Outgoing::Publish(p)
            }
        };
        self.send(&link.outbox, packet);
        true
    }

    /// A connection ended (as the connection task saw it, or because the router kicked it).
    pub(super) fn on_closed(&mut self, conn: u64, how: CloseKind) {
        self.drop_held(conn);
        let Some(idx) = self.by_conn.remove(&conn) else {
            return;
        };
        let Some(s) = self.session(idx) else {
            return;
        };
        s.detach();
        let id = s.id().clone();
        let mut tag = Tag::default();
        // The closing line, in mosquitto's words for each way a connection ends.
        let closing: fn(Arc<str>) -> BrokerEvent = match how {
            CloseKind::Disconnect {
                reason,
                session_expiry,
            } => {
                if let Some(e) = session_expiry {
                    s.set_expiry(e);
                }
                // [MQTT5-3.14.4-3]: only a normal DISCONNECT (0x00, and every 3.x
                // DISCONNECT) discards the will; 0x04 and error reasons keep it.
                if reason == ReasonCode::Success {
                    if s.has_will() {
                        tag = tag.why(Why::WillDiscarded);
                    }
                    s.set_will(None);
                }
                self.trace(|| BrokerEvent::DisconnectReceived(id.clone()));
                BrokerEvent::Disconnected
            }
            CloseKind::PeerClosed => BrokerEvent::ConnectionClosed,
            CloseKind::KeepAlive => BrokerEvent::KeepAliveTimeout,
            CloseKind::Malformed => BrokerEvent::MalformedPacket,
            CloseKind::Protocol => BrokerEvent::ProtocolError,
            CloseKind::Oversize => BrokerEvent::OversizePacket,
            CloseKind::Server => BrokerEvent::Disconnected,
        };
        self.events.emit_tagged(tag, || closing(id));
        self.went_offline(idx, will_cause(how));
    }

    /// After a connection ended: publish or schedule the will, end or keep the session.
    fn went_offline(&mut self, idx: SessionIdx, cause: &'static str) {
        let now = Instant::now();
        let Some(s) = self.session(idx) else {
            return;
        };
        let expiry = s.expiry();
        let generation = s.generation();
        let delay = s.will_delay();
        let mut will_now = None;
        if s.has_will() {
            if delay == 0 || expiry == 0 {
                // [MQTT5-3.1.2-8]: published when the connection closes, or at the latest
                // when the session ends.
                will_now = s.take_will();
            } else {
                let wait = Duration::from_secs(u64::from(delay.min(expiry)));
                self.timers.push(
                    now + wait,
                    Timer::WillDelay {
                        session: idx,
                        generation,
                    },
                );
            }
        }
        if let Some(w) = will_now {
            self.publish_will(w, cause);
        }
        if expiry == 0 {
            self.end_session(idx, false);
            return;
        }
        self.record_offline(idx);
        if expiry != u32::MAX {
            self.timers.push(
                now + Duration::from_secs(u64::from(expiry)),
                Timer::SessionExpiry {
                    session: idx,
                    generation,
                },
            );
        }
    }

    /// Forgets a session and its subscriptions. A pending will is published first when
    /// `publish_pending_will` is set (the session ends before the will delay ran out).
    pub(super) fn end_session(&mut self, idx: SessionIdx, publish_pending_will: bool) {
        let Some(mut s) = self.sessions.get_mut(idx as usize).and_then(Option::take) else {
            return;
        };
        for (filter, _) in s.subscriptions() {
            if let Ok(p) = topic::parse_filter(filter) {
                match p.share_group {
                    Some(g) => self.subs.remove_shared(idx, g, p.filter),
                    None => self.subs.remove(idx, p.filter),
                };
            }
        }
        self.by_id.remove(s.id());
        durable::record(&mut self.store, &s, |client_id| Record::SessionRemove {
            client_id,
        });
        if let Some(link) = s.detach() {
            self.by_conn.remove(&link.conn);
        }
        self.free.push(idx);
        if publish_pending_will && let Some(w) = s.take_will() {
            self.publish_will(
                w,
                "the session ended before the Will Delay Interval ran out",
            );
        }
    }

    /// Runs every timer due at `now` (will delays, session expiry) and drops expired retained
    /// messages [MQTT5-3.3.2-5].
    pub(super) fn fire_timers(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::WillDelay {
                    session,
                    generation,
                } => {
                    let will = match self.session(session) {
                        Some(s) if s.generation() == generation && !s.is_online() => s.take_will(),
                        _ => None,
                    };
                    if let Some(w) = will {
                        self.publish_will(w, "the Will Delay Interval ran out");
                    }
                }
                Timer::SessionExpiry {
                    session,
                    generation,
                } => {
                    let expired = match self.session(session) {
                        Some(s) if s.generation() == generation && !s.is_online() => {
                            Some(s.id().clone())
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
    /// `cause` says why it goes out, for the workbench's why note.
    pub(super) fn publish_will(&mut self, pending: Box<PendingWill>, cause: &'static str) {
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
        let mut props = w.properties;
        props.will_delay = None;
        let expires_at = expiry_deadline(props.message_expiry.take());
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
            no: self.next_message(),
        };
        let tag = Tag::msg(msg.no).why(Why::WillSent(cause));
        self.events.journey(tag, || BrokerEvent::WillPublished {
            client: client_id,
            topic: msg.topic.clone(),
            qos: msg.qos.as_u8(),
            retain: msg.retain,
            len: msg.payload.len(),
        });
        self.route(&msg, None);
    }
}

/// Why a will goes out when a connection ends this way [MQTT311-3.1.2-8], [MQTT5-3.1.2-8].
fn will_cause(how: CloseKind) -> &'static str {
    match how {
        CloseKind::Disconnect { .. } => "DISCONNECT with a reason code that keeps the will",
        CloseKind::PeerClosed => "the network connection closed without DISCONNECT",
        CloseKind::KeepAlive => "the keep-alive ran out (1.5 x Keep Alive without a packet)",
        CloseKind::Malformed => "a malformed packet closed the connection",
        CloseKind::Protocol => "a protocol error closed the connection",
        CloseKind::Oversize => "an oversize packet closed the connection",
        CloseKind::Server => "the server closed the connection",
    }
}
