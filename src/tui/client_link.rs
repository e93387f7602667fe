//! The client pane's network client: a small adapter over `rumqttc`'s MQTT 5 `AsyncClient`.
//!
//! Private to the workbench and deliberately small, so that it can be swapped for the shared
//! `crate::client` module once that exists. It speaks MQTT 5 over TCP (so the composer can
//! send publish properties), reconnects after a second when the connection drops, and turns
//! rumqttc's events into [`LinkEvent`]s on a bounded channel (a full channel slows the socket
//! down instead of growing memory).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties, SubscribeReasonCode};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use rumqttc::{Outgoing, Transport};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Where and how the client pane connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOptions {
    /// Broker host name or address.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Client identifier.
    pub client_id: String,
    /// User name and password, if any.
    pub credentials: Option<(String, String)>,
    /// Keep alive in seconds.
    pub keep_alive: u16,
}

/// A message the client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// When it arrived.
    pub time: SystemTime,
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// QoS it was delivered with.
    pub qos: u8,
    /// Retain flag (set for retained messages sent on subscribe).
    pub retain: bool,
    /// MQTT 5 properties worth showing, as `name: value` pairs.
    pub properties: Vec<(String, String)>,
}

/// What the client reports to the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// CONNACK received with success.
    Connected,
    /// The connection failed or dropped; a reconnect follows.
    Disconnected(String),
    /// A PUBLISH arrived.
    Message(IncomingMessage),
    /// The broker answered a SUBSCRIBE for `filter`: the granted QoS or a refusal.
    SubAck {
        /// The filter asked for.
        filter: String,
        /// Granted QoS, or why the broker refused.
        result: Result<u8, String>,
    },
    /// The broker acknowledged an UNSUBSCRIBE.
    UnsubAck,
}

/// MQTT 5 publish properties from the composer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishProps {
    /// Content Type.
    pub content_type: Option<String>,
    /// Message Expiry Interval in seconds.
    pub message_expiry: Option<u32>,
    /// Response Topic.
    pub response_topic: Option<String>,
    /// Correlation Data (as text).
    pub correlation_data: Option<String>,
    /// User Properties.
    pub user: Vec<(String, String)>,
}

/// A PUBLISH the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingPublish {
    /// Topic name.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// QoS 0..=2.
    pub qos: u8,
    /// Retain flag.
    pub retain: bool,
    /// MQTT 5 properties.
    pub props: PublishProps,
}

/// Why a request could not be queued.
#[derive(Debug, thiserror::Error)]
#[error("the client cannot take the request: {0}")]
pub struct LinkError(String);

/// The handle the UI uses to send requests.
#[derive(Debug)]
pub struct LinkHandle {
    client: AsyncClient,
    pending_subs: Arc<Mutex<VecDeque<String>>>,
    task: JoinHandle<()>,
}

fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// Starts the client task; it connects in the background and reports on the receiver.
#[must_use]
pub fn connect(opts: &LinkOptions) -> (LinkHandle, mpsc::Receiver<LinkEvent>) {
    let mut mo = MqttOptions::new(opts.client_id.clone(), opts.host.clone(), opts.port);
    mo.set_transport(Transport::tcp());
    mo.set_keep_alive(Duration::from_secs(u64::from(opts.keep_alive.max(5))));
    mo.set_clean_start(true);
    mo.set_request_channel_capacity(1024);
    mo.set_max_packet_size(Some(16 * 1024 * 1024));
    if let Some((u, p)) = &opts.credentials {
        mo.set_credentials(u.clone(), p.clone());
    }
    let (client, eventloop) = AsyncClient::new(mo, 1024);
    let (tx, rx) = mpsc::channel(8192);
    let pending_subs = Arc::new(Mutex::new(VecDeque::new()));
    let task = tokio::spawn(drive(eventloop, tx, pending_subs.clone()));
    (
        LinkHandle {
            client,
            pending_subs,
            task,
        },
        rx,
    )
}

impl LinkHandle {
    /// Queues a SUBSCRIBE.
    pub fn subscribe(&self, filter: &str, q: u8) -> Result<(), LinkError> {
        if let Ok(mut p) = self.pending_subs.lock() {
            p.push_back(filter.to_owned());
        }
        self.client.try_subscribe(filter, qos(q)).map_err(|e| {
            if let Ok(mut p) = self.pending_subs.lock() {
                p.pop_back();
            }
            LinkError(e.to_string())
        })
    }

    /// Queues an UNSUBSCRIBE.
    pub fn unsubscribe(&self, filter: &str) -> Result<(), LinkError> {
        self.client
            .try_unsubscribe(filter)
            .map_err(|e| LinkError(e.to_string()))
    }

    /// Queues a PUBLISH.
    pub fn publish(&self, p: &OutgoingPublish) -> Result<(), LinkError> {
        let props = PublishProperties {
            payload_format_indicator: None,
            message_expiry_interval: p.props.message_expiry,
            topic_alias: None,
            response_topic: p.props.response_topic.clone(),
            correlation_data: p
                .props
                .correlation_data
                .as_ref()
                .map(|c| Bytes::from(c.clone().into_bytes())),
            user_properties: p.props.user.clone(),
            subscription_identifiers: Vec::new(),
            content_type: p.props.content_type.clone(),
        };
        let res = if props == PublishProperties::default() {
            self.client
                .try_publish(p.topic.clone(), qos(p.qos), p.retain, p.payload.clone())
        } else {
            self.client.try_publish_with_properties(
                p.topic.clone(),
                qos(p.qos),
                p.retain,
                p.payload.clone(),
                props,
            )
        };
        res.map_err(|e| LinkError(e.to_string()))
    }

    /// Sends DISCONNECT and waits up to half a second for the task to finish.
    pub async fn disconnect(self) {
        let _ = self.client.try_disconnect();
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_millis(500), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

fn describe(code: &SubscribeReasonCode) -> Result<u8, String> {
    match code {
        SubscribeReasonCode::Success(q) => Ok(*q as u8),
        SubscribeReasonCode::TopicFilterInvalid => Err("topic filter invalid".into()),
        SubscribeReasonCode::NotAuthorized => Err("not authorised".into()),
        other => Err(format!("refused ({other:?})")),
    }
}

fn interesting_props(p: Option<&PublishProperties>) -> Vec<(String, String)> {
    let Some(p) = p else { return Vec::new() };
    let mut out = Vec::new();
    if let Some(ct) = &p.content_type {
        out.push(("content-type".into(), ct.clone()));
    }
    if let Some(e) = p.message_expiry_interval {
        out.push(("message-expiry".into(), format!("{e} s")));
    }
    if let Some(r) = &p.response_topic {
        out.push(("response-topic".into(), r.clone()));
    }
    if let Some(c) = &p.correlation_data {
        out.push((
            "correlation-data".into(),
            String::from_utf8_lossy(c).into_owned(),
        ));
    }
    if let Some(f) = p.payload_format_indicator {
        out.push(("payload-format".into(), f.to_string()));
    }
    for (k, v) in &p.user_properties {
        out.push((k.clone(), v.clone()));
    }
    out
}

/// Polls the event loop forever (until the UI drops the receiver or DISCONNECT is sent).
async fn drive(
    mut eventloop: EventLoop,
    tx: mpsc::Sender<LinkEvent>,
    pending_subs: Arc<Mutex<VecDeque<String>>>,
) {
    let mut sub_ids: HashMap<u16, String> = HashMap::new();
    loop {
        let ev = match eventloop.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => LinkEvent::Message(IncomingMessage {
                time: SystemTime::now(),
                topic: String::from_utf8_lossy(&p.topic).into_owned(),
                payload: p.payload.clone(),
                qos: p.qos as u8,
                retain: p.retain,
                properties: interesting_props(p.properties.as_ref()),
            }),
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                sub_ids.clear();
                LinkEvent::Connected
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                let filter = sub_ids.remove(&ack.pkid).unwrap_or_default();
                let result = ack
                    .return_codes
                    .first()
                    .map_or(Err("empty SUBACK".into()), describe);
                LinkEvent::SubAck { filter, result }
            }
            Ok(Event::Incoming(Packet::UnsubAck(_))) => LinkEvent::UnsubAck,
            Ok(Event::Outgoing(Outgoing::Subscribe(pkid))) => {
                if let Some(f) = pending_subs.lock().ok().and_then(|mut p| p.pop_front()) {
                    sub_ids.insert(pkid, f);
                }
                continue;
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                // Let the DISCONNECT reach the socket, then stop.
                let _ = tokio::time::timeout(Duration::from_millis(200), eventloop.poll()).await;
                return;
            }
            Ok(_) => continue,
            Err(e) => {
                if tx
                    .send(LinkEvent::Disconnected(e.to_string()))
                    .await
                    .is_err()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if tx.send(ev).await.is_err() {
            return;
        }
    }
}
