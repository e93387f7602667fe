//! What the learning views (issue 12) ask the run loop for and what comes back: a capture
//! lookup ([`CaptureRequest`]: which captured packet goes with a log line) or a broker state
//! snapshot, paced by [`POLL_EVERY`] and tied to the asking view by a poll id. A leaf: the
//! views import it, it imports none of them.
//!
//! A log line and its bytes share no number (the router logs, the connection task sees the
//! bytes). They are matched by client id, direction, packet type and Packet Identifier, and by
//! order: the line's place among the log lines with the same key, counted from the newest,
//! picks the captured packet at the same place ([`crate::broker::capture`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::log::BrokerLog;
use crate::broker::BrokerEvent;
use crate::broker::capture::{Capture, Captured, UNKNOWN, Way};
use crate::broker::router::state::BrokerState;
use crate::protocol::packet_type as pt;

/// How often an open state or why view asks the broker again (about 4 Hz).
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// What a learning view asks the run loop for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LearnRequest {
    /// Find a packet's bytes in the embedded broker's capture.
    Capture(CaptureRequest),
    /// Ask the embedded broker for its state after `after`, checking ACL read access to
    /// `topic` when given. `poll` ties the answer to the view that asked.
    State {
        /// The topic of "Why didn't I receive it?".
        topic: Option<String>,
        /// Wait this long first (0 when a view opens, [`POLL_EVERY`] after).
        after: Duration,
        /// The asking view's poll id.
        poll: u64,
    },
}

/// What comes back for a [`LearnRequest`].
#[derive(Debug, Clone)]
pub enum LearnResult {
    /// The captured packet, or why there is none.
    Captured(Result<Captured, String>),
    /// The broker's state (`None`: no embedded broker, or it stopped), for the poll id.
    State(u64, Option<Box<BrokerState>>),
}

/// Poll ids: each state or why view that opens gets a new one, so that an answer meant for a
/// closed view does not start a second poll loop.
static NEXT_POLL: AtomicU64 = AtomicU64::new(1);

/// A new poll id.
#[must_use]
pub fn next_poll() -> u64 {
    NEXT_POLL.fetch_add(1, Ordering::Relaxed)
}

/// Which packet ids a capture lookup accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdMatch {
    /// Exactly this one (`None`: a packet without a Packet Identifier).
    Exactly(Option<u16>),
    /// Any (the log line does not say, as for SUBSCRIBE).
    Any,
}

/// Which captured packet goes with a log line: its key and its place counted from the newest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRequest {
    /// The client (`<unknown>` for CONNECT, which is read before the id is known).
    pub client: Arc<str>,
    /// Received or sent by the broker.
    pub way: Way,
    /// Packet type.
    pub packet_type: u8,
    /// Packet Identifier.
    pub packet_id: IdMatch,
    /// 0: the newest packet with this key, 1: the one before, ...
    pub newer: usize,
}

impl CaptureRequest {
    /// The key of a log line's packet, if the line is about one packet.
    #[must_use]
    pub fn of(event: &BrokerEvent) -> Option<Self> {
        use BrokerEvent as E;
        let req = |client: &Arc<str>, way, packet_type, id| {
            Some(Self {
                client: client.clone(),
                way,
                packet_type,
                packet_id: id,
                newer: 0,
            })
        };
        let id = |pkid: u16| IdMatch::Exactly(Some(pkid));
        let pub_id = |qos: u8, pkid: u16| IdMatch::Exactly((qos > 0).then_some(pkid));
        match event {
            E::PublishReceived { client, flags, .. } | E::PublishDenied { client, flags, .. } => {
                req(client, Way::In, pt::PUBLISH, pub_id(flags.qos, flags.pkid))
            }
            E::PublishSent { client, flags, .. } => {
                req(client, Way::Out, pt::PUBLISH, pub_id(flags.qos, flags.pkid))
            }
            E::PubAckSent { client, pkid, .. } => req(client, Way::Out, pt::PUBACK, id(*pkid)),
            E::PubAckReceived { client, pkid, .. } => req(client, Way::In, pt::PUBACK, id(*pkid)),
            E::PubRecSent { client, pkid, .. } => req(client, Way::Out, pt::PUBREC, id(*pkid)),
            E::PubRecReceived { client, pkid, .. } => req(client, Way::In, pt::PUBREC, id(*pkid)),
            E::PubRelSent { client, pkid, .. } => req(client, Way::Out, pt::PUBREL, id(*pkid)),
            E::PubRelReceived { client, pkid, .. } => req(client, Way::In, pt::PUBREL, id(*pkid)),
            E::PubCompSent { client, pkid, .. } => req(client, Way::Out, pt::PUBCOMP, id(*pkid)),
            E::PubCompReceived { client, pkid, .. } => req(client, Way::In, pt::PUBCOMP, id(*pkid)),
            E::SubscribeReceived { client, .. } => {
                req(client, Way::In, pt::SUBSCRIBE, IdMatch::Any)
            }
            E::SubAckSent(client) => req(client, Way::Out, pt::SUBACK, IdMatch::Any),
            E::UnsubscribeReceived { client, .. } => {
                req(client, Way::In, pt::UNSUBSCRIBE, IdMatch::Any)
            }
            E::UnsubAckSent(client) => req(client, Way::Out, pt::UNSUBACK, IdMatch::Any),
            E::PingReqReceived(client) => req(client, Way::In, pt::PINGREQ, IdMatch::Any),
            E::PingRespSent(client) => req(client, Way::Out, pt::PINGRESP, IdMatch::Any),
            E::DisconnectReceived(client) => req(client, Way::In, pt::DISCONNECT, IdMatch::Any),
            E::ClientConnected { .. } => {
                req(&Arc::from(UNKNOWN), Way::In, pt::CONNECT, IdMatch::Any)
            }
            E::ConnAckSent { client, .. } => req(client, Way::Out, pt::CONNACK, IdMatch::Any),
            _ => None,
        }
    }

    /// True when a captured packet has this request's key.
    #[must_use]
    pub fn accepts(&self, c: &Captured) -> bool {
        c.key.way == self.way
            && c.key.packet_type == self.packet_type
            && (self.packet_type == pt::CONNECT || c.key.client == self.client)
            && match self.packet_id {
                IdMatch::Any => true,
                IdMatch::Exactly(id) => c.key.packet_id == id,
            }
    }

    /// The captured packet for this request, or why there is none.
    pub fn find(&self, cap: &Capture) -> Result<Captured, String> {
        let kept = cap.packets(self.way);
        kept.iter()
            .rev()
            .filter(|c| self.accepts(c))
            .nth(self.newer)
            .cloned()
            .ok_or_else(|| {
                let l = cap.limits();
                format!(
                    "the raw bytes of this packet are no longer kept: the capture holds the \
                     last {} packets each way (at most {} KiB), and this one is older",
                    l.packets,
                    l.total_bytes / 1024
                )
            })
    }
}

/// The place of log entry `seq` among the log lines with the same packet key, from the newest
/// (the lines of every client count, whatever the filter shows).
pub fn place_from_newest(log: &BrokerLog, seq: u64, req: &CaptureRequest) -> usize {
    log.ring()
        .iter()
        .rev()
        .take_while(|(s, _)| *s > seq)
        .filter(|(_, e)| CaptureRequest::of(&e.event).is_some_and(|r| same_key(&r, req)))
        .count()
}

fn same_key(a: &CaptureRequest, b: &CaptureRequest) -> bool {
    a.way == b.way
        && a.packet_type == b.packet_type
        && a.client == b.client
        && a.packet_id == b.packet_id
}
