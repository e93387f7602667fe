//! SUBSCRIBE and UNSUBSCRIBE, and the retained messages a new subscription receives.
//!
//! # Invariants
//!
//! * Each subscription is recorded in the trie (for matching) and in the session (by full
//!   filter, `$share/group/` prefix included, for persistence and clean-up), always together.
//! * SUBACK carries one code per filter, in order [MQTT311-3.8.4-4]; a repeated filter
//!   replaces the subscription [MQTT311-3.8.4-3]. SUBACK goes out before the retained messages
//!   it triggers.
//! * An invalid filter is SUBACK 0x8F for that filter in MQTT 5; in 3.1.1 it closes the
//!   connection, like mosquitto [MQTT311-4.8.0-1]. No Local on a shared subscription is a
//!   protocol error [MQTT5-3.8.3-4].
//! * Retained messages go to new non-shared subscriptions according to Retain Handling
//!   [MQTT5-3.3.1-9] to [MQTT5-3.3.1-11], with RETAIN=1 [MQTT311-3.3.1-8], all of them,
//!   ignoring queue limits [MQTT311-3.3.1-6].
//! * UNSUBACK is sent even when nothing matched [MQTT311-3.10.4-5].

use std::sync::Arc;

use super::Router;
use super::command::CloseKind;
use super::message::Message;
use super::snapshot::stored_subscription;
use super::subscriptions::SessionIdx;
use crate::broker::event::{BrokerEvent, Tag, Why};
use crate::broker::store::Record;
use crate::protocol::topic;
use crate::protocol::{Outgoing, QoS, ReasonCode, RetainHandling, Subscribe, Unsubscribe};

impl Router {
    /// SUBSCRIBE: add each filter, answer SUBACK, then send matching retained messages.
    pub(super) fn on_subscribe(&mut self, idx: SessionIdx, sub: Subscribe) {
        let Some(s) = self.session(idx) else {
            return;
        };
        let id = s.id().clone();
        let version = s.version();
        let Some(link) = s.link().cloned() else {
            return;
        };
        {
            let c = id.clone();
            let filters = sub
                .filters
                .iter()
                .map(|(f, o)| (f.clone(), o.qos.as_u8()))
                .collect();
            // A filter starting with a wildcard never matches `$SYS/...` [MQTT311-4.7.2-1].
            let wild = sub
                .filters
                .iter()
                .any(|(f, _)| f.starts_with('#') || f.starts_with('+'));
            let tag = if wild {
                Tag::default().why(Why::DollarTopics)
            } else {
                Tag::default()
            };
            self.trace_tagged(tag, || BrokerEvent::SubscribeReceived {
                client: c,
                filters,
            });
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
                    // MQTT 3.1.1: a malformed filter is a protocol violation
                    // [MQTT311-4.8.0-1]; like mosquitto, the connection is closed.
                    self.close_for(idx, ReasonCode::MalformedPacket, CloseKind::Malformed);
                    return;
                }
            };
            if parsed.share_group.is_some() && opts.no_local {
                // [MQTT5-3.8.3-4]: No Local on a shared subscription is a protocol error.
                self.close_for(idx, ReasonCode::ProtocolError, CloseKind::Protocol);
                return;
            }
            let is_new = match parsed.share_group {
                Some(g) => self
                    .subs
                    .insert_shared(idx, g, parsed.filter, *opts, sub_id),
                None => self.subs.insert(idx, parsed.filter, *opts, sub_id),
            };
            if let Some(s) = self.session(idx) {
                s.add_subscription(Arc::from(filter.as_str()), *opts);
            }
            self.record_for(idx, |client_id| Record::Subscribe {
                client_id,
                subscription: stored_subscription(filter, opts),
            });
            codes.push(opts.qos.as_u8());
            // [MQTT311-3.3.1-6] retained messages for a new subscription; none for shared ones.
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
        // Held until the subscription is durable (see `durable`).
        self.send_ack(
            &link,
            Outgoing::SubAck {
                pkid: sub.pkid,
                codes,
            },
        );
        {
            let c = id.clone();
            self.trace(|| BrokerEvent::SubAckSent(c));
        }
        for (mut msg, granted, sid) in retained_out {
            // A subscribe-time delivery is a journey of its own, from the retained store.
            msg.no = self.next_message();
            let qos = msg.qos.min(granted);
            // Retained messages sent for a subscription carry RETAIN=1 [MQTT311-3.3.1-8].
            self.deliver(idx, &msg, qos, true, sid.into_iter().collect(), true);
        }
    }

    /// UNSUBSCRIBE: remove each filter and answer UNSUBACK.
    pub(super) fn on_unsubscribe(&mut self, idx: SessionIdx, unsub: Unsubscribe) {
        let Some(s) = self.session(idx) else {
            return;
        };
        let id = s.id().clone();
        let Some(link) = s.link().cloned() else {
            return;
        };
        {
            let c = id.clone();
            let filters = unsub.filters.clone();
            self.trace(|| BrokerEvent::UnsubscribeReceived { client: c, filters });
        }
        let v5 = self.session(idx).is_some_and(|s| s.version().is_v5());
        let mut codes = Vec::with_capacity(unsub.filters.len());
        for filter in &unsub.filters {
            // [MQTT311-3.10.4-1]: filters are compared character by character.
            let existed = match topic::parse_filter(filter) {
                Ok(p) => match p.share_group {
                    Some(g) => self.subs.remove_shared(idx, g, p.filter),
                    None => self.subs.remove(idx, p.filter),
                },
                // MQTT 5: UNSUBACK 0x8F (Topic Filter invalid) for this filter
                // [MQTT5-3.11.3-2]; the others go on, as in SUBSCRIBE.
                Err(_) if v5 => {
                    codes.push(ReasonCode::TopicFilterInvalid.as_u8());
                    continue;
                }
                // MQTT 3.1.1: the same protocol violation as in SUBSCRIBE [MQTT311-4.8.0-1]:
                // the connection is closed, as mosquitto does.
                Err(_) => {
                    self.close_for(idx, ReasonCode::MalformedPacket, CloseKind::Malformed);
                    return;
                }
            };
            if let Some(s) = self.session(idx) {
                s.remove_subscription(filter.as_str());
            }
            if existed {
                self.record_for(idx, |client_id| Record::Unsubscribe {
                    client_id,
                    filter: filter.clone(),
                });
            }
            codes.push(if existed {
                0
            } else {
                ReasonCode::NoSubscriptionExisted.as_u8()
            });
        }
        // [MQTT311-3.10.4-4], [MQTT311-3.10.4-5]: UNSUBACK even when nothing matched.
        self.send_ack(
            &link,
            Outgoing::UnsubAck {
                pkid: unsub.pkid,
                codes,
            },
        );
        self.trace(|| BrokerEvent::UnsubAckSent(id));
    }
}
