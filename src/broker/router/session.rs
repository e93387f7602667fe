//! Session state (§4.1): what the broker keeps for one client id, connected or not.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::Message;
use crate::broker::outbox::Outbox;
use crate::protocol::{LastWill, ProtocolVersion, Publish, QoS, SubscriptionOptions};

/// The live network connection of a session.
#[derive(Debug, Clone)]
pub struct Link {
    /// The connection's id (unique for the broker's lifetime).
    pub conn: u64,
    /// Where packets for it go.
    pub outbox: Arc<Outbox>,
}

/// An outgoing QoS 1 or 2 PUBLISH awaiting acknowledgement.
#[derive(Debug, Clone)]
pub struct InFlight {
    /// The PUBLISH as sent (re-sent with DUP=1 on reconnect [MQTT-4.4.0-1]).
    pub publish: Publish,
    /// QoS 2: PUBREC arrived and PUBREL was sent; waiting for PUBCOMP.
    pub released: bool,
    /// Not re-sent yet after a reconnect: the client's Receive Maximum had no room.
    pub resend_pending: bool,
}

/// A message waiting for room in the in-flight window, or for the client to come back.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The message.
    pub msg: Message,
    /// The QoS it is delivered with.
    pub qos: QoS,
    /// The RETAIN flag it is delivered with.
    pub retain: bool,
    /// Subscription Identifiers of the matching subscriptions.
    pub sub_ids: Vec<u32>,
}

/// A will and the client that set it: a will is published as that client [MQTT-3.1.2-8], so
/// the ACL's `write` check uses its user name and client id.
#[derive(Debug, Clone)]
pub struct PendingWill {
    /// The will message.
    pub will: LastWill,
    /// Client id of the connection that set it.
    pub client_id: Arc<str>,
    /// User name of that connection.
    pub username: Option<Arc<str>>,
    /// The listener that connection came in on (whose ACL applies).
    pub listener: usize,
}

/// Everything the broker remembers about one client id.
#[derive(Debug)]
pub struct Session {
    /// Client identifier.
    pub id: Arc<str>,
    /// Incremented at each connection, so timers armed for an earlier one are ignored.
    pub generation: u64,
    /// The connection, while the client is connected.
    pub link: Option<Link>,
    /// Protocol version of the last connection.
    pub version: ProtocolVersion,
    /// Session Expiry Interval in seconds: 0 ends the session at disconnect, `u32::MAX` never.
    pub expiry: u32,
    /// The client's subscriptions by full filter (including any `$share/group/` prefix).
    pub subscriptions: HashMap<Arc<str>, SubscriptionOptions>,
    /// Outgoing QoS 1/2 messages in flight, in the order they were sent.
    pub outflight: VecDeque<InFlight>,
    /// Packet identifiers in use by `outflight`.
    pub pkids: HashSet<u16>,
    /// How many `outflight` entries wait to be re-sent (see [`InFlight::resend_pending`]).
    pub resend_pending: usize,
    /// Messages waiting for the window or for the client.
    pub queue: VecDeque<Queued>,
    /// Payload bytes in `queue`.
    pub queued_bytes: usize,
    next_pkid: u16,
    /// Incoming QoS 2 messages received but not yet released by PUBREL [MQTT-4.3.3-2].
    pub inbound_qos2: HashMap<u16, Message>,
    /// The will of the current or last connection, with who set it (for the ACL check).
    pub will: Option<Box<PendingWill>>,
    /// User name of the current or last connection (for the ACL).
    pub username: Option<Arc<str>>,
    /// The listener of the current or last connection (whose ACL applies).
    pub listener: usize,
    /// The client's Receive Maximum (MQTT 5), else 65,535.
    pub receive_maximum: u16,
    /// The client's Maximum Packet Size (MQTT 5).
    pub max_packet_size: Option<u32>,
    /// True while messages for this client are being dropped (the warning is logged once per
    /// episode, like mosquitto's "Outgoing messages are being dropped").
    pub dropping: bool,
}

impl Session {
    /// A new, empty session.
    #[must_use]
    pub fn new(id: Arc<str>, version: ProtocolVersion) -> Self {
        Self {
            id,
            generation: 0,
            link: None,
            version,
            expiry: 0,
            subscriptions: HashMap::new(),
            outflight: VecDeque::new(),
            pkids: HashSet::new(),
            resend_pending: 0,
            queue: VecDeque::new(),
            queued_bytes: 0,
            next_pkid: 0,
            inbound_qos2: HashMap::new(),
            will: None,
            username: None,
            listener: 0,
            receive_maximum: u16::MAX,
            max_packet_size: None,
            dropping: false,
        }
    }

    /// The next free packet identifier, never 0 [MQTT-2.3.1-1] and never one still in use
    /// [MQTT-2.3.1-2]. `None` when all 65,535 are in use.
    pub fn next_packet_id(&mut self) -> Option<u16> {
        if self.pkids.len() >= usize::from(u16::MAX) {
            return None;
        }
        loop {
            self.next_pkid = self.next_pkid.wrapping_add(1);
            if self.next_pkid != 0 && !self.pkids.contains(&self.next_pkid) {
                return Some(self.next_pkid);
            }
        }
    }

    /// How many outgoing QoS 1/2 messages may be in flight: the broker's own limit and the
    /// client's Receive Maximum, whichever is lower [MQTT-3.3.4-9].
    #[must_use]
    pub fn window(&self, max_inflight: u16) -> usize {
        let ours = if max_inflight == 0 {
            u16::MAX
        } else {
            max_inflight
        };
        usize::from(ours.min(self.receive_maximum))
    }

    /// Position of an in-flight message by packet id (acks usually arrive in order, so the
    /// search is short).
    #[must_use]
    pub fn find_inflight(&self, pkid: u16) -> Option<usize> {
        self.outflight.iter().position(|f| f.publish.pkid == pkid)
    }

    /// Removes an in-flight message and frees its packet id.
    pub fn remove_inflight(&mut self, pos: usize) -> Option<InFlight> {
        let f = self.outflight.remove(pos)?;
        self.pkids.remove(&f.publish.pkid);
        if f.resend_pending {
            // Acknowledged before we re-sent it (its ack from the last connection was lost).
            self.resend_pending -= 1;
        }
        Some(f)
    }

    /// Queues a message at the back, updating the byte count.
    pub fn enqueue(&mut self, q: Queued) {
        self.queued_bytes += q.msg.payload.len();
        self.queue.push_back(q);
    }

    /// Puts a message back at the front of the queue (it could not be sent yet).
    pub fn requeue_front(&mut self, q: Queued) {
        self.queued_bytes += q.msg.payload.len();
        self.queue.push_front(q);
    }

    /// Takes the oldest queued message.
    pub fn dequeue(&mut self) -> Option<Queued> {
        let q = self.queue.pop_front()?;
        self.queued_bytes -= q.msg.payload.len();
        Some(q)
    }
}
