//! Session state (MQTT311 §4.1, MQTT5 §4.1): what the broker keeps for one client id,
//! connected or not.
//!
//! Every field of [`Session`] is private; the router changes a session only through the
//! methods below, which keep these invariants in one place:
//!
//! * **Packet identifiers mirror the in-flight list.** Every entry of the outgoing in-flight
//!   list holds a packet identifier that is in the in-use set, and no other identifier is in
//!   it. Only [`Session::push_inflight`] adds, and only `remove_inflight` (behind the ack
//!   methods) removes, so an identifier is never handed out twice [MQTT311-2.3.1-2] and never
//!   leaks.
//! * **The re-send count mirrors the flags.** `resend_pending` equals the number of in-flight
//!   entries whose `resend_pending` flag is set: [`Session::begin_resend`] sets them all,
//!   [`Session::next_resend`] and `remove_inflight` clear one each.
//! * **Queued bytes mirror the queue.** `queued_bytes` is the payload total of the queue; only
//!   [`Session::enqueue`], [`Session::requeue_front`], [`Session::dequeue`] and
//!   [`Session::evict_qos0`] touch either.
//! * **Inbound QoS 2 state is bounded**: [`Session::accept_qos2`] refuses a new packet
//!   identifier beyond the limit the router gives it (CVE-2023-28366).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::message::Message;
use crate::broker::outbox::Outbox;
use crate::protocol::{ProtocolVersion, Publish, QoS, SubscriptionOptions, Will};

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
    /// The PUBLISH as sent (re-sent with DUP=1 on reconnect [MQTT311-4.4.0-1]).
    pub publish: Publish,
    /// QoS 2: PUBREC arrived and PUBREL was sent; waiting for PUBCOMP.
    pub released: bool,
    /// Not re-sent yet after a reconnect: the client's Receive Maximum had no room.
    resend_pending: bool,
    /// The delivery's sequence number in the session (the persistence store's key).
    pub seq: u64,
    /// The broker-wide message number, for the workbench's journeys (0: unknown).
    pub no: crate::broker::event::MessageNo,
}

impl InFlight {
    /// A PUBLISH just sent (or restored from the persistence file), with its delivery's
    /// sequence number.
    #[must_use]
    pub fn new(publish: Publish, released: bool, seq: u64) -> Self {
        Self {
            publish,
            released,
            resend_pending: false,
            seq,
            no: 0,
        }
    }
}

/// What to re-send for one in-flight message after a reconnect.
#[derive(Debug)]
pub enum Resend {
    /// PUBREL with this packet identifier (QoS 2, already released) [MQTT311-4.4.0-1].
    PubRel(u16),
    /// The PUBLISH again, with DUP=1 and its original packet identifier [MQTT311-3.3.1-1].
    Publish(Publish),
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
    /// The delivery's sequence number in the session ([`Session::take_seq`]).
    pub seq: u64,
}

/// A will and the client that set it: a will is published as that client [MQTT311-3.1.2-8], so
/// the ACL's `write` check uses its user name and client id.
#[derive(Debug, Clone)]
pub struct PendingWill {
    /// The will message.
    pub will: Will,
    /// Client id of the connection that set it.
    pub client_id: Arc<str>,
    /// User name of that connection.
    pub username: Option<Arc<str>>,
    /// The listener that connection came in on (whose ACL applies).
    pub listener: usize,
}

/// A session's messages in flight and queued: empty for an idle client, so kept in a box that
/// exists only while one of them holds something (an idle session then costs a pointer, not
/// six empty collections: see docs/benchmarks.md, issue 10). Created by the first message,
/// dropped when the last one is gone ([`Session::tidy`]).
#[derive(Debug, Default)]
struct Flows {
    /// Outgoing QoS 1/2 messages in flight, in the order they were sent.
    outflight: VecDeque<InFlight>,
    /// Packet identifiers in use by `outflight`.
    pkids: HashSet<u16>,
    /// How many `outflight` entries wait to be re-sent.
    resend_pending: usize,
    /// Messages waiting for the window or for the client.
    queue: VecDeque<Queued>,
    /// Payload bytes in `queue`.
    queued_bytes: usize,
    /// Incoming QoS 2 messages received but not yet released by PUBREL [MQTT311-4.3.3-2].
    inbound_qos2: HashMap<u16, Message>,
}

impl Flows {
    /// Nothing in flight, queued or awaiting PUBREL (the counters mirror the collections).
    fn is_empty(&self) -> bool {
        self.outflight.is_empty() && self.queue.is_empty() && self.inbound_qos2.is_empty()
    }
}

/// Everything the broker remembers about one client id. See the module docs for the
/// invariants its methods keep.
#[derive(Debug)]
pub struct Session {
    /// Client identifier.
    id: Arc<str>,
    /// Set at each connection, so timers armed for an earlier one are ignored.
    generation: u64,
    /// The connection, while the client is connected.
    link: Option<Link>,
    /// Protocol version of the last connection.
    version: ProtocolVersion,
    /// Session Expiry Interval in seconds: 0 ends the session at disconnect, `u32::MAX` never.
    expiry: u32,
    /// The client's subscriptions by full filter (including any `$share/group/` prefix);
    /// boxed while there are any: an empty map inline would cost every session that never
    /// subscribes (a publishing device) 48 bytes, the box costs it 8.
    #[expect(
        clippy::box_collection,
        reason = "the box is the point: 8 bytes per session without subscriptions instead of 48"
    )]
    subscriptions: Option<Box<HashMap<Arc<str>, SubscriptionOptions>>>,
    /// Messages in flight or queued, boxed while there are any (see [`Flows`]).
    flows: Option<Box<Flows>>,
    next_pkid: u16,
    /// The will of the current or last connection, with who set it (for the ACL check).
    will: Option<Box<PendingWill>>,
    /// User name of the current or last connection (for the ACL).
    username: Option<Arc<str>>,
    /// The listener of the current or last connection (whose ACL applies).
    listener: usize,
    /// The client's Receive Maximum (MQTT 5), else 65,535.
    receive_maximum: u16,
    /// The client's Maximum Packet Size (MQTT 5).
    max_packet_size: Option<u32>,
    /// True while messages for this client are being dropped (the warning is logged once per
    /// episode, like mosquitto's "Outgoing messages are being dropped").
    dropping: bool,
    /// The sequence number of the next message kept for this session.
    next_seq: u64,
    /// True while the persistence store holds this session (it outlives its connection and
    /// persistence is on): its changes are recorded.
    stored: bool,
}

impl Session {
    /// A new, empty, offline session.
    #[must_use]
    pub fn new(id: Arc<str>, version: ProtocolVersion) -> Self {
        Self {
            id,
            generation: 0,
            link: None,
            version,
            expiry: 0,
            subscriptions: None,
            flows: None,
            next_pkid: 0,
            will: None,
            username: None,
            listener: 0,
            receive_maximum: u16::MAX,
            max_packet_size: None,
            dropping: false,
            next_seq: 0,
            stored: false,
        }
    }

    // ----- flows --------------------------------------------------------------------------

    /// The messages in flight and queued, created on first use.
    fn flows_mut(&mut self) -> &mut Flows {
        self.flows.get_or_insert_with(Box::default)
    }

    /// Drops the flows' box once it holds nothing.
    fn tidy(&mut self) {
        if self.flows.as_ref().is_some_and(|f| f.is_empty()) {
            self.flows = None;
        }
    }

    // ----- persistence ----------------------------------------------------------------------

    /// Hands out the sequence number of the next message kept for this session.
    pub fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Sets the next sequence number (after a restore).
    pub fn set_next_seq(&mut self, seq: u64) {
        self.next_seq = seq;
    }

    /// True while the persistence store holds this session.
    #[inline]
    #[must_use]
    pub fn is_stored(&self) -> bool {
        self.stored
    }

    /// Marks the session as held (or no longer held) by the persistence store.
    pub fn set_stored(&mut self, stored: bool) {
        self.stored = stored;
    }

    // ----- identity and connection ------------------------------------------------------------

    /// The client identifier.
    #[inline]
    #[must_use]
    pub fn id(&self) -> &Arc<str> {
        &self.id
    }

    /// The generation of the current or last connection (see `timers`).
    #[inline]
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Protocol version of the current or last connection.
    #[inline]
    #[must_use]
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// Session Expiry Interval in seconds (0: ends with the connection, `u32::MAX`: never).
    #[inline]
    #[must_use]
    pub fn expiry(&self) -> u32 {
        self.expiry
    }

    /// Sets the Session Expiry Interval (from CONNECT, DISCONNECT or the persistence file).
    pub fn set_expiry(&mut self, expiry: u32) {
        self.expiry = expiry;
    }

    /// User name of the current or last connection.
    #[inline]
    #[must_use]
    pub fn username(&self) -> Option<&Arc<str>> {
        self.username.as_ref()
    }

    /// The listener of the current or last connection (whose security settings apply with
    /// `per_listener_settings`).
    #[inline]
    #[must_use]
    pub fn listener(&self) -> usize {
        self.listener
    }

    /// Sets the listener of the connection being attached.
    pub fn set_listener(&mut self, listener: usize) {
        self.listener = listener;
    }

    /// The client's Maximum Packet Size (MQTT5 §3.1.2.11.4), if it set one.
    #[inline]
    #[must_use]
    pub fn max_packet_size(&self) -> Option<u32> {
        self.max_packet_size
    }

    /// The connection, while the client is connected.
    #[inline]
    #[must_use]
    pub fn link(&self) -> Option<&Link> {
        self.link.as_ref()
    }

    /// True while a connection is attached.
    #[inline]
    #[must_use]
    pub fn is_online(&self) -> bool {
        self.link.is_some()
    }

    /// Attaches a new connection: its generation, protocol version, limits and user name.
    /// The will is set separately ([`Session::set_will`]).
    pub fn attach(
        &mut self,
        link: Link,
        generation: u64,
        version: ProtocolVersion,
        receive_maximum: u16,
        max_packet_size: Option<u32>,
        username: Option<Arc<str>>,
    ) {
        self.link = Some(link);
        self.generation = generation;
        self.version = version;
        self.receive_maximum = receive_maximum;
        self.max_packet_size = max_packet_size;
        self.username = username;
    }

    /// Marks a session restored from the persistence file: offline, with this generation.
    pub fn set_generation(&mut self, generation: u64) {
        self.generation = generation;
    }

    /// Detaches the connection (it closed, or was taken over); returns it.
    pub fn detach(&mut self) -> Option<Link> {
        self.link.take()
    }

    // ----- will ---------------------------------------------------------------------------

    /// Sets (or clears) the will of the current connection.
    pub fn set_will(&mut self, will: Option<Box<PendingWill>>) {
        self.will = will;
    }

    /// Takes the pending will, if any, so it is published at most once.
    pub fn take_will(&mut self) -> Option<Box<PendingWill>> {
        self.will.take()
    }

    /// True while a will is pending.
    #[inline]
    #[must_use]
    pub fn has_will(&self) -> bool {
        self.will.is_some()
    }

    /// The pending will's Will Delay Interval in seconds (0 if none or not set).
    #[must_use]
    pub fn will_delay(&self) -> u32 {
        self.will
            .as_ref()
            .and_then(|w| w.will.properties.will_delay)
            .unwrap_or(0)
    }

    // ----- subscriptions ------------------------------------------------------------------

    /// Records a subscription by its full filter (a repeated filter replaces the options).
    pub fn add_subscription(&mut self, filter: Arc<str>, options: SubscriptionOptions) {
        self.subscriptions
            .get_or_insert_with(Box::default)
            .insert(filter, options);
    }

    /// Forgets a subscription by its full filter.
    pub fn remove_subscription(&mut self, filter: &str) {
        if let Some(subs) = &mut self.subscriptions {
            subs.remove(filter);
            if subs.is_empty() {
                self.subscriptions = None;
            }
        }
    }

    /// Every subscription by full filter.
    pub fn subscriptions(&self) -> impl Iterator<Item = (&Arc<str>, &SubscriptionOptions)> {
        self.subscriptions.iter().flat_map(|subs| subs.iter())
    }

    // ----- outgoing in-flight window ------------------------------------------------------

    /// The next free packet identifier, never 0 [MQTT311-2.3.1-1] and never one still in use
    /// [MQTT311-2.3.1-2]. `None` when all 65,535 are in use.
    pub fn next_packet_id(&mut self) -> Option<u16> {
        let Some(flows) = &self.flows else {
            self.next_pkid = self.next_pkid.wrapping_add(1).max(1);
            return Some(self.next_pkid);
        };
        if flows.pkids.len() >= usize::from(u16::MAX) {
            return None;
        }
        loop {
            self.next_pkid = self.next_pkid.wrapping_add(1);
            if self.next_pkid != 0 && !flows.pkids.contains(&self.next_pkid) {
                return Some(self.next_pkid);
            }
        }
    }

    /// How many outgoing QoS 1/2 messages may be in flight: the broker's own limit and the
    /// client's Receive Maximum, whichever is lower [MQTT5-3.3.4-9].
    #[inline]
    #[must_use]
    pub fn window(&self, max_inflight: u16) -> usize {
        let ours = if max_inflight == 0 {
            u16::MAX
        } else {
            max_inflight
        };
        usize::from(ours.min(self.receive_maximum))
    }

    /// Number of messages in flight (re-sent or not).
    #[inline]
    #[must_use]
    pub fn inflight_len(&self) -> usize {
        self.flows.as_ref().map_or(0, |f| f.outflight.len())
    }

    /// Number of messages in flight that are on the wire of the current connection (those
    /// still waiting to be re-sent after a reconnect are not).
    #[inline]
    #[must_use]
    pub fn on_the_wire(&self) -> usize {
        self.flows
            .as_ref()
            .map_or(0, |f| f.outflight.len() - f.resend_pending)
    }

    /// True while in-flight messages from an earlier connection wait to be re-sent.
    #[inline]
    #[must_use]
    pub fn resend_pending(&self) -> bool {
        self.flows.as_ref().is_some_and(|f| f.resend_pending > 0)
    }

    /// The in-flight messages, oldest first.
    pub fn inflight(&self) -> impl Iterator<Item = &InFlight> {
        self.flows.iter().flat_map(|f| f.outflight.iter())
    }

    /// Adds a message sent with a packet identifier from [`Session::next_packet_id`], and
    /// marks that identifier in use.
    pub fn push_inflight(&mut self, f: InFlight) {
        let flows = self.flows_mut();
        flows.pkids.insert(f.publish.pkid);
        flows.outflight.push_back(f);
    }

    /// Position of an in-flight message by packet id (acks usually arrive in order, so the
    /// search is short).
    /// The message number of the in-flight message with this packet id (0: none or unknown).
    #[must_use]
    pub fn inflight_no(&self, pkid: u16) -> crate::broker::event::MessageNo {
        self.find_inflight(pkid).map_or(0, |(_, f)| f.no)
    }

    /// The in-flight message with this packet id and its position.
    fn find_inflight(&self, pkid: u16) -> Option<(usize, &InFlight)> {
        let flows = self.flows.as_ref()?;
        let pos = flows
            .outflight
            .iter()
            .position(|f| f.publish.pkid == pkid)?;
        Some((pos, &flows.outflight[pos]))
    }

    /// Removes an in-flight message and frees its packet id.
    fn remove_inflight(&mut self, pos: usize) -> Option<InFlight> {
        let flows = self.flows.as_mut()?;
        let f = flows.outflight.remove(pos)?;
        flows.pkids.remove(&f.publish.pkid);
        if f.resend_pending {
            // Acknowledged before we re-sent it (its ack from the last connection was lost).
            flows.resend_pending -= 1;
        }
        self.tidy();
        Some(f)
    }

    /// PUBACK: ends the QoS 1 flow with this packet id and returns the delivery's sequence
    /// number. `None` if no QoS 1 message waits for it (an unknown or wrong-kind ack changes
    /// nothing).
    pub fn on_puback(&mut self, pkid: u16) -> Option<u64> {
        match self.find_inflight(pkid) {
            Some((pos, f)) if !f.released && f.publish.qos == QoS::AtLeastOnce => {
                self.remove_inflight(pos).map(|f| f.seq)
            }
            _ => None,
        }
    }

    /// PUBREC: a success releases the message (PUBREL goes out next); a failure (reason
    /// ≥ 0x80) ends the flow, no PUBREL (MQTT5 §4.3.3). Returns the delivery's sequence
    /// number, `None` for an unknown id.
    pub fn on_pubrec(&mut self, pkid: u16, failed: bool) -> Option<u64> {
        let (pos, f) = self.find_inflight(pkid)?;
        let seq = f.seq;
        if failed {
            self.remove_inflight(pos);
        } else if let Some(flows) = self.flows.as_mut() {
            flows.outflight[pos].released = true;
        }
        Some(seq)
    }

    /// PUBCOMP: ends the QoS 2 flow of a released message and returns the delivery's
    /// sequence number. `None` if none waits for it.
    pub fn on_pubcomp(&mut self, pkid: u16) -> Option<u64> {
        match self.find_inflight(pkid) {
            Some((pos, f)) if f.released => self.remove_inflight(pos).map(|f| f.seq),
            _ => None,
        }
    }

    /// After a reconnect: every in-flight message waits to be re-sent [MQTT311-4.4.0-1].
    pub fn begin_resend(&mut self) {
        let Some(flows) = self.flows.as_mut() else {
            return;
        };
        flows.resend_pending = flows.outflight.len();
        for f in &mut flows.outflight {
            f.resend_pending = true;
        }
    }

    /// The oldest in-flight message not yet re-sent since the reconnect, marked re-sent: a
    /// PUBREL if it was released, else the PUBLISH with DUP=1. `None` if none is left.
    pub fn next_resend(&mut self) -> Option<Resend> {
        let flows = self.flows.as_mut()?;
        let f = flows.outflight.iter_mut().find(|f| f.resend_pending)?;
        f.resend_pending = false;
        flows.resend_pending -= 1;
        Some(if f.released {
            Resend::PubRel(f.publish.pkid)
        } else {
            f.publish.dup = true;
            Resend::Publish(f.publish.clone())
        })
    }

    // ----- queue --------------------------------------------------------------------------

    /// Number of queued messages.
    #[inline]
    #[must_use]
    pub fn queue_len(&self) -> usize {
        self.flows.as_ref().map_or(0, |f| f.queue.len())
    }

    /// Payload bytes queued.
    #[inline]
    #[must_use]
    pub fn queued_bytes(&self) -> usize {
        self.flows.as_ref().map_or(0, |f| f.queued_bytes)
    }

    /// The queued messages, oldest first.
    pub fn queued(&self) -> impl Iterator<Item = &Queued> {
        self.flows.iter().flat_map(|f| f.queue.iter())
    }

    /// Queues a message at the back, updating the byte count.
    pub fn enqueue(&mut self, q: Queued) {
        let flows = self.flows_mut();
        flows.queued_bytes += q.msg.payload.len();
        flows.queue.push_back(q);
    }

    /// Puts a message back at the front of the queue (it could not be sent yet).
    pub fn requeue_front(&mut self, q: Queued) {
        let flows = self.flows_mut();
        flows.queued_bytes += q.msg.payload.len();
        flows.queue.push_front(q);
    }

    /// Takes the oldest queued message.
    pub fn dequeue(&mut self) -> Option<Queued> {
        let flows = self.flows.as_mut()?;
        let q = flows.queue.pop_front()?;
        flows.queued_bytes -= q.msg.payload.len();
        self.tidy();
        Some(q)
    }

    /// Removes the oldest queued QoS 0 message, if any, updating the byte count: a full queue
    /// gives up QoS 0 before it refuses a QoS 1 or 2 message (see `Router::deliver`).
    pub fn evict_qos0(&mut self) -> Option<Queued> {
        let flows = self.flows.as_mut()?;
        let at = flows.queue.iter().position(|q| q.qos == QoS::AtMostOnce)?;
        let q = flows.queue.remove(at)?;
        flows.queued_bytes -= q.msg.payload.len();
        self.tidy();
        Some(q)
    }

    /// Starts an episode of dropped messages; true if it is a new one (log the warning once).
    pub fn start_dropping(&mut self) -> bool {
        !std::mem::replace(&mut self.dropping, true)
    }

    /// A message was queued or sent again: the drop episode (if any) is over.
    pub fn stop_dropping(&mut self) {
        self.dropping = false;
    }

    // ----- incoming QoS 2 -----------------------------------------------------------------

    /// An incoming QoS 2 PUBLISH: keeps the message until PUBREL. A re-sent PUBLISH with a
    /// known id keeps the first copy, so it is not delivered twice [MQTT5-4.3.3-9]. False
    /// (nothing stored) when the id is new and `limit` messages already wait.
    pub fn accept_qos2(&mut self, pkid: u16, limit: usize, make: impl FnOnce() -> Message) -> bool {
        if !self.has_qos2(pkid) && self.flows.as_ref().map_or(0, |f| f.inbound_qos2.len()) >= limit
        {
            return false;
        }
        self.flows_mut()
            .inbound_qos2
            .entry(pkid)
            .or_insert_with(make);
        true
    }

    /// True if an incoming QoS 2 message with this packet id waits for PUBREL.
    #[must_use]
    pub fn has_qos2(&self, pkid: u16) -> bool {
        self.flows
            .as_ref()
            .is_some_and(|f| f.inbound_qos2.contains_key(&pkid))
    }

    /// PUBREL: takes the message released by this packet id, if one waits.
    pub fn release_qos2(&mut self, pkid: u16) -> Option<Message> {
        let msg = self.flows.as_mut()?.inbound_qos2.remove(&pkid);
        self.tidy();
        msg
    }

    /// Restores a received-but-unreleased QoS 2 message (persistence file).
    pub fn restore_qos2(&mut self, pkid: u16, msg: Message) {
        self.flows_mut().inbound_qos2.insert(pkid, msg);
    }

    /// The incoming QoS 2 messages that wait for PUBREL, by packet id.
    pub fn awaiting_pubrel(&self) -> impl Iterator<Item = (&u16, &Message)> {
        self.flows.iter().flat_map(|f| f.inbound_qos2.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Publish;

    fn publish(pkid: u16, qos: QoS) -> Publish {
        Publish {
            dup: false,
            qos,
            retain: false,
            topic: Arc::from("t"),
            pkid,
            properties: None,
            payload: bytes::Bytes::from_static(b"x"),
        }
    }

    fn with_inflight(qos: QoS, n: u16) -> Session {
        let mut s = Session::new(Arc::from("c"), ProtocolVersion::V5);
        for _ in 0..n {
            let pkid = s.next_packet_id().unwrap_or(0);
            s.push_inflight(InFlight::new(publish(pkid, qos), false, u64::from(pkid)));
        }
        s
    }

    #[test]
    fn packet_ids_in_flight_are_never_handed_out_again() {
        let mut s = with_inflight(QoS::AtLeastOnce, 3);
        // Wrap the counter around: ids 1..=3 are in use and must be skipped.
        s.next_pkid = u16::MAX;
        assert_eq!(s.next_packet_id(), Some(4));
        assert_eq!(s.on_puback(2), Some(2), "the delivery's sequence number");
        s.next_pkid = 1;
        assert_eq!(s.next_packet_id(), Some(2), "a freed id is reusable");
    }

    #[test]
    fn acks_of_the_wrong_kind_change_nothing() {
        let mut s = with_inflight(QoS::ExactlyOnce, 1);
        assert!(s.on_puback(1).is_none(), "PUBACK does not end a QoS 2 flow");
        assert!(
            s.on_pubcomp(1).is_none(),
            "PUBCOMP before PUBREC does not end it"
        );
        assert_eq!(s.on_pubrec(1, false), Some(1));
        assert_eq!(s.on_pubcomp(1), Some(1));
        assert_eq!(s.inflight_len(), 0);
        assert!(
            s.flows.is_none(),
            "packet ids mirror the in-flight list; an empty session keeps no flows"
        );
    }

    #[test]
    fn resend_count_follows_acks_that_overtake_the_resend() {
        let mut s = with_inflight(QoS::AtLeastOnce, 3);
        s.begin_resend();
        assert_eq!(s.on_the_wire(), 0);
        assert!(s.on_puback(2).is_some(), "ack of a message not re-sent yet");
        assert_eq!(s.on_the_wire(), 0);
        assert!(matches!(s.next_resend(), Some(Resend::Publish(p)) if p.pkid == 1 && p.dup));
        assert!(matches!(s.next_resend(), Some(Resend::Publish(p)) if p.pkid == 3));
        assert!(s.next_resend().is_none());
        assert!(!s.resend_pending());
        assert_eq!(s.on_the_wire(), 2);
    }

    #[test]
    fn inbound_qos2_state_is_bounded_but_repeats_are_accepted() {
        let mut s = Session::new(Arc::from("c"), ProtocolVersion::V5);
        let msg = || Message::from_publish(publish(1, QoS::ExactlyOnce));
        assert!(s.accept_qos2(1, 2, msg));
        assert!(s.accept_qos2(2, 2, msg));
        assert!(!s.accept_qos2(3, 2, msg), "a third id is over the limit");
        assert!(s.accept_qos2(1, 2, msg), "a repeat of a known id is not");
        assert!(s.release_qos2(1).is_some());
        assert!(s.release_qos2(1).is_none());
    }
}
