//! Bridges (`connection` blocks): this broker connects to another one as a client and
//! forwards messages both ways, with mosquitto's configuration and log wording.
//!
//! A bridge has two sides, outside the router's hot path:
//! * the **local side**, an in-process session of this broker's router (no socket): it
//!   subscribes to the `out` topics and publishes what comes `in`, like any client, except that
//!   no ACL applies to it (as in mosquitto). Its subscriptions use No Local, so a message it
//!   brings in is never sent back out.
//! * the **remote side**, a rumqttc client (MQTT 3.1.1, TCP or TLS) to the remote broker, which
//!   reconnects with `restart_timeout`'s back-off and subscribes to the `in` topics.
//!
//! With `notifications` (the default) the bridge publishes retained `1` on
//! `$SYS/broker/connection/<remote_clientid>/state` locally and on the remote broker when it
//! connects, and `0` when the connection is lost (on the remote broker as its will).
//!
//! `try_private`: rumqttc cannot send mosquitto's private protocol level (0x84), so the remote
//! sees an ordinary client. The one thing it would change, that the remote does not echo a
//! `both` topic back to the bridge, is done here instead: a message the bridge sent to the
//! remote is not brought back when the remote echoes it.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions};

use super::config::{BridgeConfig, BridgeDirection, BridgeTopic};
use super::connection::Shared;
use super::event::BrokerEvent;
use super::outbox::Outbox;
use super::router::{CloseKind, ConnectRequest, RouterCmd};
use super::security::INTERNAL;
use super::topic;
use crate::protocol::{
    Ack, Connect, Outgoing, Packet, Properties, ProtocolVersion, Publish, QoS, ReasonCode,
    RetainHandling, Subscribe, SubscriptionOptions,
};

/// Checks what the configuration parser cannot check line by line.
pub fn validate(b: &BridgeConfig) -> Result<(), String> {
    if b.addresses.is_empty() {
        return Err(format!("bridge '{}' has no 'address'", b.name));
    }
    if b.topics.is_empty() {
        return Err(format!("bridge '{}' has no 'topic'", b.name));
    }
    if b.certfile.is_some() != b.keyfile.is_some() {
        return Err(format!(
            "bridge '{}' needs both 'bridge_certfile' and 'bridge_keyfile'",
            b.name
        ));
    }
    if (b.certfile.is_some() || b.insecure || b.alpn.is_some()) && b.cafile.is_none() {
        return Err(format!(
            "bridge '{}': TLS options need 'bridge_cafile' (which turns TLS on)",
            b.name
        ));
    }
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// mosquitto's `restart_timeout`: constant with one value, else doubling from base to cap.
#[must_use]
pub fn backoff(restart_timeout: (u64, Option<u64>), failures: u32) -> Duration {
    let (base, cap) = restart_timeout;
    let secs = match cap {
        None => base,
        Some(cap) => base.saturating_mul(1u64 << failures.min(20)).min(cap),
    };
    Duration::from_secs(secs)
}

fn qos_of(q: u8) -> QoS {
    QoS::from_u8(q).unwrap_or_default()
}

fn rqos(q: QoS) -> rumqttc::QoS {
    match q {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::QoS::ExactlyOnce,
    }
}

impl BridgeTopic {
    fn local_filter(&self) -> String {
        format!("{}{}", self.local_prefix, self.pattern)
    }

    fn remote_filter(&self) -> String {
        format!("{}{}", self.remote_prefix, self.pattern)
    }

    fn goes_out(&self) -> bool {
        self.direction != BridgeDirection::In
    }

    fn comes_in(&self) -> bool {
        self.direction != BridgeDirection::Out
    }
}

/// Messages sent to the remote on topics the bridge also subscribes to there, so that their
/// echo is not brought back (see the module notes on `try_private`).
#[derive(Default)]
struct Echoes {
    sent: HashMap<(String, u64), (usize, Instant)>,
}

impl Echoes {
    fn key(topic: &str, payload: &[u8]) -> (String, u64) {
        let mut h = foldhash::fast::FixedState::with_seed(0x6272_6964_6765).build_hasher();
        h.write(payload);
        (topic.to_owned(), h.finish())
    }

    fn sent(&mut self, topic: &str, payload: &[u8]) {
        let now = Instant::now();
        self.sent
            .retain(|_, (_, at)| now.duration_since(*at) < Duration::from_secs(60));
        let e = self
            .sent
            .entry(Self::key(topic, payload))
            .or_insert((0, now));
        e.0 += 1;
        e.1 = now;
    }

    /// True (and forgotten) when this message is the echo of one the bridge sent.
    fn is_echo(&mut self, topic: &str, payload: &[u8]) -> bool {
        let key = Self::key(topic, payload);
        match self.sent.get_mut(&key) {
            Some((n, _)) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                self.sent.remove(&key);
                true
            }
            None => false,
        }
    }
}

/// The local side: an in-process session of the router.
struct Local {
    shared: Arc<Shared>,
    conn: u64,
    outbox: Arc<Outbox>,
    next_pkid: AtomicU16,
}

impl Local {
    async fn connect(
        shared: &Arc<Shared>,
        client_id: &str,
        topics: &[BridgeTopic],
    ) -> Option<Self> {
        let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
        let outbox = Arc::new(Outbox::new(shared.pressure.clone(), 1024));
        let connect = Connect {
            version: ProtocolVersion::V5,
            clean_start: true,
            keep_alive: 0,
            client_id: client_id.to_owned(),
            will: None,
            username: None,
            password: None,
            properties: Properties::default(),
        };
        let req = ConnectRequest {
            conn,
            connect,
            assigned_id: false,
            server_keep_alive: None,
            peer: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            listener: INTERNAL,
            outbox: outbox.clone(),
        };
        shared
            .router
            .send(RouterCmd::Connect(Box::new(req)))
            .await
            .ok()?;
        let local = Self {
            shared: shared.clone(),
            conn,
            outbox,
            next_pkid: AtomicU16::new(0),
        };
        let filters: Vec<(String, SubscriptionOptions)> = topics
            .iter()
            .filter(|t| t.goes_out())
            .map(|t| {
                (
                    t.local_filter(),
                    SubscriptionOptions {
                        qos: qos_of(t.qos),
                        no_local: true,
                        retain_as_published: true,
                        retain_handling: RetainHandling::SendAtSubscribe,
                    },
                )
            })
            .collect();
        if !filters.is_empty() {
            let sub = Subscribe {
                pkid: local.pkid(),
                filters,
                properties: Properties::default(),
            };
            local.send(Packet::Subscribe(Box::new(sub))).await;
        }
        Some(local)
    }

    fn pkid(&self) -> u16 {
        loop {
            let id = self
                .next_pkid
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_add(1);
            if id != 0 {
                return id;
            }
        }
    }

    async fn send(&self, packet: Packet) {
        let _ = self
            .shared
            .router
            .send(RouterCmd::Packets {
                conn: self.conn,
                packets: vec![packet],
            })
            .await;
    }

    /// Publishes into this broker as the bridge.
    async fn publish(&self, topic: &str, payload: Bytes, qos: QoS, retain: bool) {
        let pkid = if qos == QoS::AtMostOnce {
            0
        } else {
            self.pkid()
        };
        self.send(Packet::Publish(Publish {
            dup: false,
            qos,
            retain,
            topic: Arc::from(topic),
            pkid,
            properties: None,
            payload,
        }))
        .await;
    }

    async fn close(&self) {
        let _ = self
            .shared
            .router
            .send(RouterCmd::Closed {
                conn: self.conn,
                how: CloseKind::Disconnect {
                    reason: ReasonCode::Success,
                    session_expiry: None,
                },
            })
            .await;
    }
}

/// Runs one bridge until the broker shuts down.
pub async fn run(b: BridgeConfig, shared: Arc<Shared>) {
    let host = hostname();
    let remote_id = b
        .remote_clientid
        .clone()
        .unwrap_or_else(|| format!("{host}.{}", b.name));
    let local_id = b
        .local_clientid
        .clone()
        .unwrap_or_else(|| format!("local.{host}.{}", b.name));
    let state_topic = b
        .notification_topic
        .clone()
        .unwrap_or_else(|| format!("$SYS/broker/connection/{remote_id}/state"));
    let Some(local) = Local::connect(&shared, &local_id, &b.topics).await else {
        return;
    };
    let local = Arc::new(local);
    let tls = match b.is_tls().then(|| tls_config(&b)).transpose() {
        Ok(t) => t,
        Err(e) => {
            shared.events.emit(BrokerEvent::Error(format!(
                "bridge '{}': {e}; the bridge is not started",
                b.name
            )));
            local.close().await;
            return;
        }
    };
    let options = |address: usize| {
        let (host_name, port) = b.addresses[address % b.addresses.len()].clone();
        let mut opts = MqttOptions::new(remote_id.clone(), host_name, port);
        opts.set_clean_session(b.cleansession);
        opts.set_keep_alive(Duration::from_secs(u64::from(b.keepalive_interval)));
        if let Some(u) = &b.remote_username {
            opts.set_credentials(u.clone(), b.remote_password.clone().unwrap_or_default());
        }
        if b.notifications {
            opts.set_last_will(rumqttc::LastWill::new(
                state_topic.clone(),
                "0",
                rumqttc::QoS::AtLeastOnce,
                true,
            ));
        }
        if let Some(t) = &tls {
            opts.set_transport(rumqttc::Transport::tls_with_config(t.clone()));
        }
        opts
    };
    // One client for the bridge's life: messages queued while the remote is away, and QoS 1/2
    // in flight (with `cleansession false`), survive a reconnection.
    let (client, mut eventloop) = AsyncClient::new(options(0), 1024);
    let echoes = Arc::new(Mutex::new(Echoes::default()));
    let forward = tokio::spawn(forward_out(
        local.clone(),
        client.clone(),
        b.topics.clone(),
        echoes.clone(),
    ));
    let shutdown = shared.shutdown.clone();
    let mut address = 0;
    let mut failures = 0u32;
    let mut state: Option<bool> = None;
    loop {
        let (host_name, port) = &b.addresses[address % b.addresses.len()];
        shared.events.emit(BrokerEvent::Notice(format!(
            "Connecting bridge {} ({host_name}:{port})",
            b.name
        )));
        shared
            .events
            .trace(|| BrokerEvent::Notice(format!("Bridge {remote_id} sending CONNECT")));
        let outcome = tokio::select! {
            r = remote_loop(&b, &remote_id, &state_topic, &mut eventloop, &client, &local, &echoes, &mut state, &shared) => r,
            () = shutdown.cancelled() => Ok(()),
        };
        let was_connected = match outcome {
            Ok(()) => break,
            Err(c) => c,
        };
        if was_connected {
            failures = 0;
        } else {
            failures = failures.saturating_add(1);
            if b.addresses.len() > 1 {
                address += 1;
                eventloop.mqtt_options = options(address);
            }
        }
        if b.notifications && state != Some(false) {
            local
                .publish(
                    &state_topic,
                    Bytes::from_static(b"0"),
                    QoS::AtLeastOnce,
                    true,
                )
                .await;
            state = Some(false);
        }
        let wait = backoff(b.restart_timeout, failures.saturating_sub(1));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => {
                forward.abort();
                local.close().await;
                return;
            }
        }
    }
    // Shutting down: the state goes to 0 on both sides, then a clean DISCONNECT (so the
    // remote does not publish the will as well).
    forward.abort();
    if b.notifications && state == Some(true) {
        let _ = client
            .publish(&state_topic, rumqttc::QoS::AtLeastOnce, true, "0")
            .await;
    }
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while eventloop.poll().await.is_ok() {}
    })
    .await;
    if b.notifications {
        local
            .publish(
                &state_topic,
                Bytes::from_static(b"0"),
                QoS::AtLeastOnce,
                true,
            )
            .await;
    }
    local.close().await;
}

/// Polls the remote connection. `Err(true)` when a connection that was up is lost,
/// `Err(false)` when connecting failed; never `Ok` (the caller's shutdown ends it).
#[allow(clippy::too_many_arguments)]
async fn remote_loop(
    b: &BridgeConfig,
    remote_id: &str,
    state_topic: &str,
    eventloop: &mut EventLoop,
    client: &AsyncClient,
    local: &Arc<Local>,
    echoes: &Arc<Mutex<Echoes>>,
    state: &mut Option<bool>,
    shared: &Arc<Shared>,
) -> Result<(), bool> {
    let mut connected = false;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(rumqttc::Packet::ConnAck(ack))) => {
                if ack.code != rumqttc::ConnectReturnCode::Success {
                    shared.events.emit(BrokerEvent::Notice(refused(ack.code)));
                    return Err(false);
                }
                connected = true;
                shared.events.trace(|| {
                    BrokerEvent::Notice(format!("Received CONNACK on connection {remote_id}."))
                });
                if !ack.session_present {
                    for t in b.topics.iter().filter(|t| t.comes_in()) {
                        let _ = client.try_subscribe(t.remote_filter(), rqos(qos_of(t.qos)));
                    }
                }
                if b.notifications {
                    let _ = client.try_publish(state_topic, rumqttc::QoS::AtLeastOnce, true, "1");
                    local
                        .publish(
                            state_topic,
                            Bytes::from_static(b"1"),
                            QoS::AtLeastOnce,
                            true,
                        )
                        .await;
                    *state = Some(true);
                }
            }
            Ok(Event::Incoming(rumqttc::Packet::Publish(p))) => {
                if p.topic == state_topic {
                    continue;
                }
                if echoes
                    .lock()
                    .map(|mut e| e.is_echo(&p.topic, &p.payload))
                    .unwrap_or(false)
                {
                    continue;
                }
                let Some(t) = b
                    .topics
                    .iter()
                    .find(|t| t.comes_in() && topic::matches(&t.remote_filter(), &p.topic))
                else {
                    continue;
                };
                let Some(rest) = p.topic.strip_prefix(t.remote_prefix.as_str()) else {
                    continue;
                };
                let local_topic = format!("{}{rest}", t.local_prefix);
                let qos = match p.qos {
                    rumqttc::QoS::AtMostOnce => QoS::AtMostOnce,
                    rumqttc::QoS::AtLeastOnce => QoS::AtLeastOnce,
                    rumqttc::QoS::ExactlyOnce => QoS::ExactlyOnce,
                };
                local.publish(&local_topic, p.payload, qos, p.retain).await;
            }
            Ok(_) => {}
            Err(rumqttc::ConnectionError::ConnectionRefused(code)) => {
                shared.events.emit(BrokerEvent::Notice(refused(code)));
                return Err(false);
            }
            Err(e) => {
                if connected {
                    shared.events.emit(BrokerEvent::Notice(format!(
                        "Bridge {} lost its connection: {e}.",
                        b.name
                    )));
                } else {
                    shared
                        .events
                        .emit(BrokerEvent::Notice(format!("Error creating bridge: {e}.")));
                }
                return Err(connected);
            }
        }
    }
}

/// mosquitto's line for a bridge the remote refused (its `mosquitto_connack_string`).
fn refused(code: rumqttc::ConnectReturnCode) -> String {
    use rumqttc::ConnectReturnCode as C;
    let why = match code {
        C::Success => "success",
        C::RefusedProtocolVersion => "unacceptable protocol version",
        C::BadClientId => "identifier rejected",
        C::ServiceUnavailable => "broker unavailable",
        C::BadUserNamePassword => "bad user name or password",
        C::NotAuthorized => "not authorised",
    };
    format!("Connection Refused: {why}.")
}

/// Takes what the router sends the local side and forwards `out` topics to the remote,
/// acknowledging to the router as a client would.
async fn forward_out(
    local: Arc<Local>,
    client: AsyncClient,
    topics: Vec<BridgeTopic>,
    echoes: Arc<Mutex<Echoes>>,
) {
    let mut pending = Vec::new();
    loop {
        local.outbox.ready().await;
        if local.outbox.take(&mut pending).is_some() {
            return;
        }
        for packet in pending.drain(..) {
            match packet {
                Outgoing::Publish(p) => {
                    let ack = match p.qos {
                        QoS::AtMostOnce => None,
                        QoS::AtLeastOnce => Some(Packet::PubAck(Ack::new(p.pkid, 0))),
                        QoS::ExactlyOnce => Some(Packet::PubRec(Ack::new(p.pkid, 0))),
                    };
                    if let Some(t) = topics
                        .iter()
                        .find(|t| t.goes_out() && topic::matches(&t.local_filter(), &p.topic))
                        && let Some(rest) = p.topic.strip_prefix(t.local_prefix.as_str())
                    {
                        let remote_topic = format!("{}{rest}", t.remote_prefix);
                        if topics.iter().any(|t| {
                            t.comes_in() && topic::matches(&t.remote_filter(), &remote_topic)
                        }) && let Ok(mut e) = echoes.lock()
                        {
                            e.sent(&remote_topic, &p.payload);
                        }
                        let _ = client
                            .publish_bytes(remote_topic, rqos(p.qos), p.retain, p.payload)
                            .await;
                    }
                    if let Some(ack) = ack {
                        local.send(ack).await;
                    }
                }
                // Our own QoS 2 publishes into the router: release them.
                Outgoing::PubRec(a) => local.send(Packet::PubRel(Ack::new(a.pkid, 0))).await,
                Outgoing::PubRel(a) => local.send(Packet::PubComp(Ack::new(a.pkid, 0))).await,
                _ => {}
            }
        }
    }
}

fn tls_config(b: &BridgeConfig) -> Result<rumqttc::TlsConfiguration, String> {
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let opts = crate::client::options::TlsOptions {
        ca_file: path(&b.cafile),
        cert_file: path(&b.certfile),
        key_file: path(&b.keyfile),
        insecure: b.insecure,
        alpn: b.alpn.clone(),
        sni: None,
    };
    let config = crate::client::tls::client_config(&opts).map_err(|e| crate::error_chain(&e))?;
    Ok(rumqttc::TlsConfiguration::Rustls(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_timeout_backs_off_like_mosquitto() {
        assert_eq!(backoff((5, None), 7), Duration::from_secs(5));
        let steps: Vec<u64> = (0..5)
            .map(|n| backoff((5, Some(30)), n).as_secs())
            .collect();
        assert_eq!(steps, [5, 10, 20, 30, 30]);
    }

    #[test]
    fn an_echo_is_dropped_once_per_message_sent() {
        let mut e = Echoes::default();
        e.sent("a/b", b"x");
        e.sent("a/b", b"x");
        assert!(!e.is_echo("a/b", b"y"));
        assert!(e.is_echo("a/b", b"x"));
        assert!(e.is_echo("a/b", b"x"));
        assert!(!e.is_echo("a/b", b"x"), "a third, genuine message passes");
    }
}
