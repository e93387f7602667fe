//! The socket-free router harness: commands in, outbox packets and log events out, on tokio's
//! paused clock.
//!
//! Each test starts a real [`Router`] task (the same `run` loop the broker uses, timers and
//! all) and plays connection tasks: it sends [`RouterCmd`]s and reads what the router pushed
//! into each fake connection's [`Outbox`]. Every test runs with
//! `#[tokio::test(start_paused = true)]`, so keep alive, will delays, session and message
//! expiry take no wall-clock time: `tokio::time::sleep` jumps the clock as soon as every task
//! is idle, and the router only ever reads tokio's clock.
//!
//! Keep alive is enforced by the connection task, not the router; [`wire`] drives a real
//! connection task over an in-memory duplex stream for it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod delivery;
mod durable;
mod flows;
mod isolation;
mod lifecycle;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::{CloseKind, ConnectRequest, RECEIVE_MAXIMUM, Router, RouterCmd};
use crate::broker::config::BrokerConfig;
use crate::broker::event::{BrokerEvent, EventBus, LogEntry};
use crate::broker::outbox::{CloseReason, Outbox};
use crate::broker::pressure::Pressure;
use crate::broker::sys::Stats;
use crate::protocol::{
    Ack, ConnAck, Connect, Outgoing, Packet, Properties, ProtocolVersion, Publish, QoS, ReasonCode,
    RetainHandling, Subscribe, SubscriptionOptions, Unsubscribe, Will,
};

/// A running router and the means to talk to it like connection tasks do.
pub struct Harness {
    tx: mpsc::Sender<RouterCmd>,
    events: EventBus,
    cfg: Arc<BrokerConfig>,
    log: broadcast::Receiver<LogEntry>,
    pressure: Arc<Pressure>,
    shutdown: CancellationToken,
    next_conn: u64,
}

/// One fake connection: its id and the outbox the router writes to.
pub struct Conn {
    /// The connection id the router knows it by.
    pub conn: u64,
    outbox: Arc<Outbox>,
    tx: mpsc::Sender<RouterCmd>,
    /// Packets that came with the CONNACK (re-sent ones on resume), not read yet.
    pending: std::cell::RefCell<Vec<Outgoing>>,
}

/// Lets the router task run until it waits again (the clock moves by 1 ms, which no test
/// timer notices).
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

impl Harness {
    /// A router with the default configuration.
    pub fn new() -> Self {
        Self::with(BrokerConfig::default())
    }

    /// A router with this configuration.
    pub fn with(cfg: BrokerConfig) -> Self {
        Self::build(cfg, None)
    }

    /// A router that keeps its state in `store` (the router's `durable` glue).
    pub fn with_store(cfg: BrokerConfig, store: crate::broker::store::Store) -> Self {
        Self::build(cfg, Some(store))
    }

    fn build(cfg: BrokerConfig, store: Option<crate::broker::store::Store>) -> Self {
        let events = EventBus::new(4096);
        let log = events.subscribe();
        let cfg = Arc::new(cfg);
        let mut router = Router::new(cfg.clone(), events.clone(), Arc::new(Stats::default()));
        if let Some(store) = store {
            router.set_store(store);
        }
        let (tx, rx) = mpsc::channel(64);
        let shutdown = CancellationToken::new();
        tokio::spawn(router.run(rx, shutdown.clone()));
        Self {
            tx,
            events,
            cfg,
            log,
            pressure: Arc::new(Pressure::default()),
            shutdown,
            next_conn: 1,
        }
    }

    /// Connects with this CONNECT and returns the connection and its CONNACK.
    pub async fn connect(&mut self, connect: Connect) -> (Conn, ConnAck) {
        let conn = self.next_conn;
        self.next_conn += 1;
        let outbox = Arc::new(Outbox::new(self.pressure.clone(), 1000));
        let req = ConnectRequest {
            conn,
            connect,
            assigned_id: false,
            server_keep_alive: None,
            peer: SocketAddr::from(([127, 0, 0, 1], 40000)),
            listener: 0,
            outbox: outbox.clone(),
        };
        self.tx
            .send(RouterCmd::Connect(Box::new(req)))
            .await
            .unwrap();
        settle().await;
        let c = Conn {
            conn,
            outbox,
            tx: self.tx.clone(),
            pending: std::cell::RefCell::default(),
        };
        let mut got = c.take();
        assert!(!got.is_empty(), "no CONNACK");
        let Outgoing::ConnAck(ack) = got.remove(0) else {
            panic!("first packet is not CONNACK: {got:?}");
        };
        *c.pending.borrow_mut() = got;
        (c, *ack)
    }

    /// Connects with Clean Session / Clean Start 1 (3.1.1) and asserts Session Present 0.
    pub async fn client(&mut self, id: &str) -> Conn {
        let (c, ack) = self.connect(v311(id, true)).await;
        assert!(!ack.session_present);
        c
    }

    /// Connects a client subscribed to `filter` at `qos`.
    pub async fn subscriber(&mut self, id: &str, filter: &str, qos: QoS) -> Conn {
        let c = self.client(id).await;
        c.subscribe(1, filter, qos).await;
        c
    }

    /// The broker-wide flow control the harness's outboxes share.
    pub fn pressure(&self) -> &Arc<Pressure> {
        &self.pressure
    }

    /// Every log event emitted since the last call.
    pub fn events(&mut self) -> Vec<BrokerEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.log.try_recv() {
            out.push(e.event);
        }
        out
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Conn {
    /// Sends packets as one socket read would, and lets the router handle them.
    pub async fn send(&self, packets: Vec<Packet>) {
        self.tx
            .send(RouterCmd::Packets {
                conn: self.conn,
                packets,
            })
            .await
            .unwrap();
        settle().await;
    }

    /// Publishes one message.
    pub async fn publish(&self, p: Publish) {
        self.send(vec![Packet::Publish(p)]).await;
    }

    /// Subscribes to one filter and checks the SUBACK grants `qos`.
    pub async fn subscribe(&self, pkid: u16, filter: &str, qos: QoS) {
        self.subscribe_with(pkid, filter, opts(qos), None).await;
        let got = self.take();
        let granted = [qos.as_u8()];
        assert!(
            matches!(&got[..], [Outgoing::SubAck { pkid: p, codes }, ..]
                if *p == pkid && codes[..] == granted),
            "{got:?}"
        );
    }

    /// Subscribes to one filter with these options, leaving the SUBACK in the outbox.
    pub async fn subscribe_with(
        &self,
        pkid: u16,
        filter: &str,
        options: SubscriptionOptions,
        sub_id: Option<u32>,
    ) {
        let mut properties = Properties::default();
        properties.subscription_ids.extend(sub_id);
        self.send(vec![Packet::Subscribe(Box::new(Subscribe {
            pkid,
            filters: vec![(filter.to_string(), options)],
            properties,
        }))])
        .await;
    }

    /// Unsubscribes from filters, leaving the UNSUBACK in the outbox.
    pub async fn unsubscribe(&self, pkid: u16, filters: &[&str]) {
        self.send(vec![Packet::Unsubscribe(Box::new(Unsubscribe {
            pkid,
            filters: filters.iter().map(ToString::to_string).collect(),
            properties: Properties::default(),
        }))])
        .await;
    }

    /// Acknowledges a QoS 1 message.
    pub async fn puback(&self, pkid: u16) {
        self.send(vec![Packet::PubAck(Ack::new(pkid, 0))]).await;
    }

    /// The connection ended this way.
    pub async fn close(self, how: CloseKind) {
        self.tx
            .send(RouterCmd::Closed {
                conn: self.conn,
                how,
            })
            .await
            .unwrap();
        settle().await;
    }

    /// A normal DISCONNECT.
    pub async fn disconnect(self) {
        self.close(CloseKind::Disconnect {
            reason: ReasonCode::Success,
            session_expiry: None,
        })
        .await;
    }

    /// Everything the router queued for this connection since the last call.
    pub fn take(&self) -> Vec<Outgoing> {
        let mut got = std::mem::take(&mut *self.pending.borrow_mut());
        let mut more = Vec::new();
        self.outbox.take(&mut more);
        // A connection that keeps up writes at once.
        self.outbox.written();
        got.append(&mut more);
        got
    }

    /// Takes what is queued like a connection whose write then blocks (a peer that does not
    /// read): [`Outbox::written`] is not called. Returns how many packets were taken.
    pub fn take_and_block(&self) -> usize {
        let mut more = Vec::new();
        self.outbox.take(&mut more);
        more.len()
    }

    /// The close the router asked for, if any (packets queued are discarded).
    pub fn close_requested(&self) -> Option<CloseReason> {
        self.outbox.take(&mut Vec::new())
    }

    /// The PUBLISH packets queued since the last call (anything else is an error).
    pub fn publishes(&self) -> Vec<Publish> {
        self.take()
            .into_iter()
            .map(|o| match o {
                Outgoing::Publish(p) => p,
                other => panic!("expected PUBLISH, got {other:?}"),
            })
            .collect()
    }

    /// Exactly one PUBLISH was queued; returns it.
    pub fn one_publish(&self) -> Publish {
        let mut got = self.publishes();
        assert_eq!(got.len(), 1, "{got:?}");
        got.remove(0)
    }
}

/// A 3.1.1 CONNECT without a will.
pub fn v311(id: &str, clean: bool) -> Connect {
    Connect {
        version: ProtocolVersion::V311,
        clean_start: clean,
        keep_alive: 60,
        client_id: id.to_string(),
        will: None,
        username: None,
        password: None,
        properties: Properties::default(),
    }
}

/// A 5.0 CONNECT with a Session Expiry Interval (`None`: absent, i.e. 0).
pub fn v5(id: &str, clean: bool, session_expiry: Option<u32>) -> Connect {
    let mut c = v311(id, clean);
    c.version = ProtocolVersion::V5;
    c.properties.session_expiry = session_expiry;
    c
}

/// A will with an optional Will Delay Interval.
pub fn will(topic: &str, payload: &'static [u8], delay: Option<u32>) -> Will {
    let properties = Properties {
        will_delay: delay,
        ..Properties::default()
    };
    Will {
        topic: topic.to_string(),
        payload: Bytes::from_static(payload),
        qos: QoS::AtMostOnce,
        retain: false,
        properties,
    }
}

/// A PUBLISH from a client.
pub fn publish(topic: &str, payload: &'static [u8], qos: QoS, retain: bool, pkid: u16) -> Publish {
    Publish {
        dup: false,
        qos,
        retain,
        topic: Arc::from(topic),
        pkid,
        properties: None,
        payload: Bytes::from_static(payload),
    }
}

/// A 5.0 PUBLISH with a Message Expiry Interval.
pub fn publish_expiring(
    topic: &str,
    payload: &'static [u8],
    qos: QoS,
    retain: bool,
    pkid: u16,
    expiry: u32,
) -> Publish {
    let mut p = publish(topic, payload, qos, retain, pkid);
    let props = Properties {
        message_expiry: Some(expiry),
        ..Properties::default()
    };
    p.properties = Some(Box::new(props));
    p
}

/// Subscription options with this maximum QoS and everything else default.
pub fn opts(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        no_local: false,
        retain_as_published: false,
        retain_handling: RetainHandling::SendAtSubscribe,
    }
}
