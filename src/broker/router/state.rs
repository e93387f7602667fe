//! The broker's state as a plain snapshot, for the workbench's broker state view and "Why
//! didn't I receive it?" ([`RouterCmd::State`](super::RouterCmd)): every session (online or
//! offline) with its subscriptions and their options, its in-flight and queued messages, and
//! the retained messages. Built on the router's task, in order with the commands before it,
//! so it is a consistent picture; lists are capped ([`MESSAGES_LISTED`], [`RETAINED_LISTED`])
//! and the totals say how much more there is.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Router;
use super::message::Message;
use super::subscriptions::{Entry, Target};
use crate::broker::acl::Access;
use crate::protocol::{ProtocolVersion, SubscriptionOptions};

/// In-flight and queued messages listed per client, at most (the counts are exact).
pub const MESSAGES_LISTED: usize = 100;
/// Retained messages listed, at most (the count is exact).
pub const RETAINED_LISTED: usize = 500;

/// Asks the router for [`BrokerState`] snapshots; cheap to clone.
#[derive(Debug, Clone)]
pub struct Probe {
    router: tokio::sync::mpsc::Sender<super::RouterCmd>,
}

impl Probe {
    /// A probe on the router's command channel.
    #[must_use]
    pub fn new(router: tokio::sync::mpsc::Sender<super::RouterCmd>) -> Self {
        Self { router }
    }

    /// A snapshot of the broker's state (sessions, subscriptions, in-flight, queued and
    /// retained messages); `None` when the router has stopped. With a topic, each client's
    /// ACL read access to it is checked too.
    pub async fn state(&self, topic: Option<&str>) -> Option<BrokerState> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let query = StateQuery {
            topic: topic.map(Arc::from),
        };
        let cmd = super::RouterCmd::State { query, reply };
        self.router.send(cmd).await.ok()?;
        answer.await.ok()
    }
}

/// What the state query asks for.
#[derive(Debug, Clone, Default)]
pub struct StateQuery {
    /// A topic to check every client's ACL read access against ("Why didn't I receive it?").
    pub topic: Option<Arc<str>>,
}

/// The broker's state at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerState {
    /// Every session, by client id.
    pub clients: Vec<ClientState>,
    /// Retained messages by topic (the first [`RETAINED_LISTED`]).
    pub retained: Vec<MessageState>,
    /// How many retained messages there are.
    pub retained_count: usize,
    /// `max_queued_messages` (0: no limit).
    pub max_queued_messages: usize,
    /// `max_inflight_messages`.
    pub max_inflight_messages: u16,
    /// The topic the ACL column was checked for.
    pub topic: Option<Arc<str>>,
}

/// One session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientState {
    /// Client identifier.
    pub client_id: Arc<str>,
    /// Connected now (else an offline persistent session).
    pub online: bool,
    /// Protocol version of the last connection.
    pub version: ProtocolVersion,
    /// User name of the last connection.
    pub username: Option<Arc<str>>,
    /// Session Expiry Interval in seconds (`u32::MAX`: never).
    pub session_expiry: u32,
    /// A Will Message is set (or waits for its Will Delay).
    pub will: bool,
    /// The client's Maximum Packet Size (MQTT 5).
    pub max_packet_size: Option<u32>,
    /// Subscriptions, sorted by filter.
    pub subscriptions: Vec<SubscriptionState>,
    /// Outgoing QoS 1/2 messages awaiting acknowledgement (the first [`MESSAGES_LISTED`]).
    pub inflight: Vec<MessageState>,
    /// How many are in flight.
    pub inflight_count: usize,
    /// Messages waiting for the window or for the client (the first [`MESSAGES_LISTED`]).
    pub queued: Vec<MessageState>,
    /// How many are queued.
    pub queued_count: usize,
    /// ACL read access to [`BrokerState::topic`], when a topic was asked for.
    pub may_read: Option<bool>,
}

/// One subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    /// The filter as subscribed (with any `$share/group/` prefix).
    pub filter: Arc<str>,
    /// Granted QoS, No Local, Retain As Published, Retain Handling.
    pub options: SubscriptionOptions,
    /// Subscription Identifier (MQTT 5).
    pub id: Option<u32>,
    /// For a shared subscription: the members of the group, in order.
    pub group: Vec<Arc<str>>,
    /// For a shared subscription: the member that gets the group's next message.
    pub group_next: Option<Arc<str>>,
}

/// One message held by the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageState {
    /// Topic.
    pub topic: Arc<str>,
    /// QoS it is (or will be) sent with.
    pub qos: u8,
    /// Retain flag.
    pub retain: bool,
    /// Payload length.
    pub len: usize,
    /// Packet Identifier (in flight only).
    pub packet_id: Option<u16>,
    /// QoS 2 in flight: PUBREC came, PUBREL sent, waiting for PUBCOMP.
    pub released: bool,
    /// Time left before Message Expiry (MQTT 5).
    pub expires_in: Option<Duration>,
}

impl MessageState {
    fn of(m: &Message, qos: u8, retain: bool, now: Instant) -> Self {
        Self {
            topic: m.topic.clone(),
            qos,
            retain,
            len: m.payload.len(),
            packet_id: None,
            released: false,
            expires_in: m.expires_at.map(|t| t.saturating_duration_since(now)),
        }
    }
}

impl Router {
    /// The state snapshot for the workbench's views.
    pub(super) fn state(&mut self, query: &StateQuery) -> BrokerState {
        let now = Instant::now();
        let mut clients = Vec::new();
        for s in self.sessions.iter().flatten() {
            let mut subscriptions: Vec<SubscriptionState> = s
                .subscriptions()
                .map(|(f, o)| SubscriptionState {
                    filter: f.clone(),
                    options: *o,
                    id: None,
                    group: Vec::new(),
                    group_next: None,
                })
                .collect();
            subscriptions.sort_by(|a, b| a.filter.cmp(&b.filter));
            let inflight = s
                .inflight()
                .take(MESSAGES_LISTED)
                .map(|f| {
                    let p = &f.publish;
                    MessageState {
                        topic: p.topic.clone(),
                        qos: p.qos.as_u8(),
                        retain: p.retain,
                        len: p.payload.len(),
                        packet_id: Some(p.pkid),
                        released: f.released,
                        expires_in: None,
                    }
                })
                .collect();
            let queued = s
                .queued()
                .take(MESSAGES_LISTED)
                .map(|q| MessageState::of(&q.msg, q.qos.as_u8(), q.retain, now))
                .collect();
            let may_read = query.topic.as_deref().map(|t| {
                let user = s.username().map(|u| &**u);
                self.acl_allows(s.listener(), user, s.id(), t, Access::Read)
            });
            clients.push(ClientState {
                client_id: s.id().clone(),
                online: s.is_online(),
                version: s.version(),
                username: s.username().cloned(),
                session_expiry: s.expiry(),
                will: s.has_will(),
                max_packet_size: s.max_packet_size(),
                subscriptions,
                inflight,
                inflight_count: s.inflight_len(),
                queued,
                queued_count: s.queue_len(),
                may_read,
            });
        }
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        self.fill_subscription_details(&mut clients);
        let mut all = Vec::new();
        self.retained.all(&mut all);
        all.sort_by(|a, b| a.topic.cmp(&b.topic));
        let retained = all
            .iter()
            .take(RETAINED_LISTED)
            .map(|m| MessageState::of(m, m.qos.as_u8(), true, now))
            .collect();
        BrokerState {
            clients,
            retained,
            retained_count: all.len(),
            max_queued_messages: self.cfg.max_queued_messages,
            max_inflight_messages: self.cfg.max_inflight_messages,
            topic: query.topic.clone(),
        }
    }

    /// Subscription Identifiers and shared groups live in the subscription tree, not in the
    /// session: look each filter up there.
    fn fill_subscription_details(&mut self, clients: &mut [ClientState]) {
        for c in clients.iter_mut() {
            let Some(&idx) = self.by_id.get(&c.client_id) else {
                continue;
            };
            for sub in &mut c.subscriptions {
                let (group, filter) = split_shared(&sub.filter);
                let entries: Vec<Entry> = entries_at(self.subs.root(), filter);
                for e in entries {
                    match (e.target, group) {
                        (Target::Session(i), None) if i == idx => sub.id = e.id,
                        (Target::Group(g), Some(name)) => {
                            let Some(grp) = self.subs.group_mut(g) else {
                                continue;
                            };
                            if &*grp.name != name {
                                continue;
                            }
                            let ids: Vec<u32> = grp.members.iter().map(|m| m.session).collect();
                            sub.id = grp
                                .members
                                .iter()
                                .find(|m| m.session == idx)
                                .and_then(|m| m.id);
                            let next = grp.next % grp.members.len().max(1);
                            let name_of = |i: u32| {
                                self.sessions
                                    .get(i as usize)
                                    .and_then(Option::as_deref)
                                    .map(|s| s.id().clone())
                            };
                            sub.group = ids.iter().filter_map(|&i| name_of(i)).collect();
                            sub.group_next = ids.get(next).and_then(|&i| name_of(i));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// `$share/group/filter` as (`Some(group)`, `filter`); any other filter as (`None`, itself).
#[must_use]
pub fn split_shared(filter: &str) -> (Option<&str>, &str) {
    if let Some(rest) = filter.strip_prefix("$share/")
        && let Some((group, f)) = rest.split_once('/')
    {
        return (Some(group), f);
    }
    (None, filter)
}

/// The entries stored at exactly `filter`'s node.
fn entries_at(root: &super::tree::Node<Vec<Entry>>, filter: &str) -> Vec<Entry> {
    let mut node = root;
    for level in filter.split('/') {
        match node.child(level) {
            Some(n) => node = n,
            None => return Vec::new(),
        }
    }
    node.value.clone()
}
