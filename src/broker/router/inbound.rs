//! Inbound QoS flows: a PUBLISH from a client at QoS 0, 1 or 2, its PUBREL, and publishes the
//! ACL refuses.
//!
//! # Invariants
//!
//! * QoS 0 and 1 are routed as they arrive; a QoS 1 PUBLISH is acknowledged after it was
//!   routed (MQTT 5: reason 0x10 when nobody matched), and with persistence only once what it
//!   left in the store is durable (PUBREC and PUBCOMP likewise; see [`super::durable`]).
//! * A QoS 2 PUBLISH is stored in the session until PUBREL and routed then, once: a re-sent
//!   PUBLISH with the same packet id is answered with PUBREC again and not delivered twice
//!   [MQTT5-4.3.3-9]. At most [`RECEIVE_MAXIMUM`] such messages may wait per client
//!   [MQTT5-3.3.4-8], which bounds what a client can make the broker hold (CVE-2023-28366).
//! * A refused PUBLISH completes its QoS flow but is never routed [MQTT311-3.3.5-2].

use std::sync::Arc;

use super::Router;
use super::command::CloseKind;
use super::message::{Message, RECEIVE_MAXIMUM, flags_of};
use super::session::Link;
use super::snapshot::stored_message;
use super::subscriptions::SessionIdx;
use crate::broker::acl::Access;
use crate::broker::event::{BrokerEvent, MessageNo, Tag};
use crate::broker::store::Record;
use crate::protocol::{Ack, Outgoing, ProtocolVersion, Publish, QoS, ReasonCode};

impl Router {
    /// A PUBLISH from a client.
    pub(super) fn on_publish(&mut self, idx: SessionIdx, p: Publish) {
        let Some(s) = self.session(idx) else {
            return;
        };
        let id = s.id().clone();
        let username = s.username().cloned();
        let listener = s.listener();
        let version = s.version();
        let Some(link) = s.link().cloned() else {
            return;
        };
        self.counters.publish_received += 1;
        self.counters.publish_bytes_received += p.payload.len() as u64;
        let allowed = self.acl_allows(listener, username.as_deref(), &id, &p.topic, Access::Write);
        let no = self.next_message();
        let tag = Tag::msg(no);
        {
            let (c, t) = (id.clone(), p.topic.clone());
            let (flags, len) = (flags_of(&p), p.payload.len());
            if allowed {
                self.trace_tagged(tag, || BrokerEvent::PublishReceived {
                    client: c,
                    flags,
                    topic: t,
                    len,
                });
            } else {
                self.trace_tagged(tag, || BrokerEvent::PublishDenied {
                    client: c,
                    flags,
                    topic: t,
                    len,
                });
            }
        }
        if !allowed {
            self.deny_publish(&link, &id, version, (p.qos, p.pkid), no);
            return;
        }
        if p.retain && !self.cfg.retain_available {
            // MQTT5 §3.3.1.3: RETAIN=1 when Retain Available is 0 is a protocol error (0x9A).
            self.close_for(idx, ReasonCode::RetainNotSupported, CloseKind::Protocol);
            return;
        }
        let pkid = p.pkid;
        match p.qos {
            QoS::AtMostOnce => {
                let mut msg = Message::from_publish(p);
                msg.no = no;
                self.route(&msg, Some(idx));
            }
            QoS::AtLeastOnce => {
                let mut msg = Message::from_publish(p);
                msg.no = no;
                let n = self.route(&msg, Some(idx));
                let rc = if version.is_v5() && n == 0 {
                    ReasonCode::NoMatchingSubscribers.as_u8()
                } else {
                    0
                };
                // Held until what the message left in the store is durable (see `durable`).
                self.send_ack(&link, Outgoing::PubAck(Ack::new(pkid, rc)));
                self.trace_tagged(tag, || BrokerEvent::PubAckSent {
                    client: id,
                    pkid,
                    rc,
                });
            }
            QoS::ExactlyOnce => {
                let Some(s) = self.session(idx) else {
                    return;
                };
                let new = !s.has_qos2(pkid);
                let mut msg = Message::from_publish(p);
                msg.no = no;
                let record =
                    (new && s.is_stored() && self.store.is_some()).then(|| Record::AwaitPubrel {
                        client_id: id.to_string(),
                        pkid,
                        message: stored_message(&msg),
                    });
                let Some(s) = self.session(idx) else {
                    return;
                };
                if !s.accept_qos2(pkid, usize::from(RECEIVE_MAXIMUM), || msg) {
                    // More unreleased QoS 2 messages than our Receive Maximum: MQTT 5
                    // DISCONNECT 0x93 [MQTT5-3.3.4-8]; a 3.x client is closed.
                    self.close_for(idx, ReasonCode::ReceiveMaximumExceeded, CloseKind::Protocol);
                    return;
                }
                if let Some(r) = record {
                    self.record(|| r);
                }
                self.send_ack(&link, Outgoing::PubRec(Ack::new(pkid, 0)));
                self.trace_tagged(tag, || BrokerEvent::PubRecSent {
                    client: id,
                    pkid,
                    rc: 0,
                });
            }
        }
    }

    /// Completes the QoS flow of a PUBLISH the ACL refused, without delivering it: MQTT 5 gets
    /// reason 0x87 (Not authorized) (MQTT5 §3.3.4); 3.1.1 cannot say so and gets a plain
    /// acknowledgement [MQTT311-3.3.5-2]. The log shows rc135 either way, like mosquitto.
    fn deny_publish(
        &mut self,
        link: &Link,
        id: &Arc<str>,
        version: ProtocolVersion,
        (qos, pkid): (QoS, u16),
        no: MessageNo,
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
        self.send_ack(link, packet);
        let c = id.clone();
        match qos {
            QoS::AtLeastOnce => self.trace_tagged(Tag::msg(no), || BrokerEvent::PubAckSent {
                client: c,
                pkid,
                rc: logged,
            }),
            _ => self.trace_tagged(Tag::msg(no), || BrokerEvent::PubRecSent {
                client: c,
                pkid,
                rc: logged,
            }),
        }
    }

    /// PUBREL from a client: route the QoS 2 message it releases (once) and answer PUBCOMP.
    pub(super) fn on_pubrel(&mut self, idx: SessionIdx, a: &Ack) {
        let Some(s) = self.session(idx) else {
            return;
        };
        let id = s.id().clone();
        let v5 = s.version().is_v5();
        let msg = s.release_qos2(a.pkid);
        let Some(link) = s.link().cloned() else {
            return;
        };
        let pkid = a.pkid;
        let tag = Tag::msg(msg.as_ref().map_or(0, |m| m.no));
        {
            let c = id.clone();
            self.trace_tagged(tag, || BrokerEvent::PubRelReceived { client: c, pkid });
        }
        let found = msg.is_some();
        if let Some(m) = msg {
            self.record_for(idx, |client_id| Record::Pubrel { client_id, pkid });
            self.route(&m, Some(idx));
        }
        // MQTT 5: an unknown id is answered with 0x92 (Packet Identifier not found)
        // [MQTT5-4.3.3-12].
        let rc = if !found && v5 {
            ReasonCode::PacketIdentifierNotFound.as_u8()
        } else {
            0
        };
        self.send_ack(&link, Outgoing::PubComp(Ack::new(pkid, rc)));
        self.trace_tagged(tag, || BrokerEvent::PubCompSent { client: id, pkid });
    }
}
