//! What connection tasks tell the router: [`RouterCmd`] and the types it carries.
//!
//! Commands from one connection arrive in the order the connection sent them (one bounded
//! channel, one sender per connection task), so the router sees a client's packets in wire
//! order [MQTT311-4.6.0-6]. The router never answers a connection's command directly: its replies go
//! into the connection's [`Outbox`] (only the workbench's [`RouterCmd::State`] has a reply).

use std::net::SocketAddr;
use std::sync::Arc;

use crate::broker::control::Control;
use crate::broker::outbox::Outbox;
use crate::protocol::{Connect, Packet, ReasonCode};

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
    /// Nothing arrived within 1.5 times the keep alive [MQTT311-3.1.2-24].
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
    /// The workbench asks for a snapshot of the broker's state (its state view).
    State {
        /// What to include.
        query: super::state::StateQuery,
        /// Where the answer goes.
        reply: tokio::sync::oneshot::Sender<super::state::BrokerState>,
    },
}
