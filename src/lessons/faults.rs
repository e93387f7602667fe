//! The fault menu's faults and the raw-socket helper clients that cause them against the
//! embedded broker (127.0.0.1 only). rumqttc cannot leave without DISCONNECT, stop its
//! PINGREQs or stop reading, so these speak MQTT 3.1.1 directly with the benchmark codec
//! (`bench::wire`) plus a CONNECT that carries a will.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

use crate::bench::wire::{self, Incoming, PublishTemplate, Stamp};
use crate::inspect::why::WhyKey;
use crate::protocol::{MqttVersion, QoS};

/// One fault of the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// A client with a will vanishes without DISCONNECT: the will is published.
    DropWithoutDisconnect,
    /// A client stops sending PINGREQ: the broker closes it after 1.5 x keep-alive.
    StopPings,
    /// A second client connects with the client pane's id: the broker closes the first.
    Takeover,
    /// A subscriber stops reading while messages pour in: its queue fills and the broker drops.
    StopReading,
    /// The embedded broker stops and starts again: persistent sessions resume and their
    /// queued messages arrive. The workbench does this one itself (it owns the broker).
    RestartBroker,
}

/// The topic the dropped client's will goes to.
pub const WILL_TOPIC: &str = "lesson/will/device";
/// The topic the stalled subscriber listens to and the flood goes to.
pub const FLOOD_TOPIC: &str = "lesson/flood";
/// Messages the flood publishes: more than the broker queues for one client with the default
/// limits (20 in flight plus `max_queued_messages` 1000, which a consumer that is not yet
/// flagged slow may overshoot eightfold), so drops must show.
pub const FLOOD_COUNT: u32 = 9000;

impl Fault {
    /// The menu, in order; the menu key is the position plus one.
    pub const ALL: [Fault; 5] = [
        Fault::DropWithoutDisconnect,
        Fault::StopPings,
        Fault::Takeover,
        Fault::StopReading,
        Fault::RestartBroker,
    ];

    /// The menu line.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::DropWithoutDisconnect => "drop a client with a will, without DISCONNECT",
            Self::StopPings => "a client stops sending PINGREQ (keep-alive 2 s)",
            Self::Takeover => "connect a second client with the client pane's id",
            Self::StopReading => "a subscriber stops reading while 9000 messages arrive",
            Self::RestartBroker => "restart the embedded broker (sessions are kept)",
        }
    }

    /// The id of the helper client that causes the fault (`pane` for the takeover).
    #[must_use]
    pub fn client_id(self, pane: &str) -> String {
        let pid = std::process::id();
        match self {
            Self::DropWithoutDisconnect => format!("wb-device-{pid}"),
            Self::StopPings => format!("wb-silent-{pid}"),
            Self::Takeover => pane.to_owned(),
            Self::StopReading => format!("wb-stalled-{pid}"),
            Self::RestartBroker => pane.to_owned(),
        }
    }

    /// What happens and why, for the log: one announcement with the rule behind it.
    #[must_use]
    pub fn announce(self, pane: &str) -> String {
        let id = self.client_id(pane);
        let note = |k: WhyKey| {
            let n = k.note();
            format!("{} ({})", n.text, n.clauses.join(", "))
        };
        match self {
            Self::DropWithoutDisconnect => format!(
                "FAULT: client {id} connects with a will on '{WILL_TOPIC}' and vanishes without \
                 DISCONNECT. Watch for 'closed its connection' and the will's PUBLISH. {}",
                note(WhyKey::WillSent)
            ),
            Self::StopPings => format!(
                "FAULT: client {id} connects with keep-alive 2 s and never sends PINGREQ. The \
                 server must close a connection silent for 1.5 x keep-alive \
                 [MQTT311-3.1.2-24] [MQTT5-3.1.2-22]: look for 'has exceeded timeout' after 3 s."
            ),
            Self::Takeover => format!(
                "FAULT: a second client connects as {id}, the client pane's id. The server \
                 must close the existing connection with that id [MQTT311-3.1.4-2] \
                 [MQTT5-3.1.4-3]: look for 'already connected, closing old connection'; the \
                 pane reconnects and takes its id back."
            ),
            Self::StopReading => format!(
                "FAULT: client {id} subscribes to '{FLOOD_TOPIC}' at QoS 1 and stops reading \
                 (no PUBACK); {FLOOD_COUNT} messages follow. Look for 'Outgoing messages are \
                 being dropped'. {}",
                note(WhyKey::QueueFull)
            ),
            Self::RestartBroker => "FAULT: the embedded broker restarts. Its sessions are saved \
                 to its persistence file and loaded again, so clients that connected with clean \
                 session off (or a Session Expiry Interval) find their subscriptions, and the \
                 QoS 1 and 2 messages queued for them arrive when they reconnect: look for \
                 'Sending CONNACK to ID (1, 0)', session present (MQTT311 §3.2.2.2, \
                 MQTT5 §3.2.2.1.1). The client pane reconnects by itself."
                .to_owned(),
        }
    }
}

fn put_str(out: &mut BytesMut, s: &[u8]) {
    out.put_u16(u16::try_from(s.len()).unwrap_or(u16::MAX));
    out.put_slice(&s[..s.len().min(usize::from(u16::MAX))]);
}

/// Writes a 3.1.1 CONNECT with a clean session and a will (topic, payload, QoS 1, no retain).
pub fn connect_with_will(out: &mut BytesMut, client_id: &str, keep_alive: u16, will: (&str, &str)) {
    let mut body = BytesMut::new();
    put_str(&mut body, b"MQTT");
    body.put_u8(4);
    // Clean session, will flag, will QoS 1.
    body.put_u8(0x02 | 0x04 | 0x08);
    body.put_u16(keep_alive);
    put_str(&mut body, client_id.as_bytes());
    put_str(&mut body, will.0.as_bytes());
    put_str(&mut body, will.1.as_bytes());
    out.put_u8(0x10);
    let mut n = body.len();
    loop {
        let mut b = u8::try_from(n % 128).unwrap_or(0);
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.put_u8(b);
        if n == 0 {
            break;
        }
    }
    out.put_slice(&body);
}

/// A helper connection: a socket and its read buffer.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

/// What the next packet was, as far as the helpers care.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    ConnAck(u8),
    SubAck,
    Other,
    Closed,
}

impl Conn {
    async fn open(addr: SocketAddr, connect: &BytesMut) -> Result<Self, String> {
        let mut stream = timeout(Duration::from_secs(5), TcpStream::connect(addr))
            .await
            .map_err(|_| format!("no answer from {addr}"))?
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        stream
            .write_all(connect)
            .await
            .map_err(|e| format!("write failed: {e}"))?;
        let mut c = Self {
            stream,
            buf: BytesMut::new(),
        };
        match timeout(Duration::from_secs(5), c.next()).await {
            Ok(Ok(Got::ConnAck(0))) => Ok(c),
            Ok(Ok(Got::ConnAck(code))) => Err(format!("CONNACK refused the helper ({code})")),
            Ok(Ok(other)) => Err(format!("expected CONNACK, got {other:?}")),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("no CONNACK within 5 s".into()),
        }
    }

    async fn send(&mut self, b: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(b)
            .await
            .map_err(|e| format!("write failed: {e}"))
    }

    /// Reads the next packet.
    async fn next(&mut self) -> Result<Got, String> {
        loop {
            if let Some((hdr, total)) = wire::frame_len(&self.buf).map_err(|e| e.to_string())?
                && self.buf.len() >= total
            {
                let pkt = self.buf.split_to(total);
                let got = match wire::parse(MqttVersion::V311, pkt[0], &pkt[hdr..]) {
                    Ok(Incoming::ConnAck { code, .. }) => Got::ConnAck(code),
                    Ok(Incoming::SubAck { .. }) => Got::SubAck,
                    _ => Got::Other,
                };
                return Ok(got);
            }
            let n = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| format!("read failed: {e}"))?;
            if n == 0 {
                return Ok(Got::Closed);
            }
        }
    }

    /// Reads until the server closes the connection or `limit` passes; true when it closed.
    async fn until_closed(&mut self, limit: Duration) -> bool {
        let closed = async {
            loop {
                match self.next().await {
                    Ok(Got::Closed) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        };
        timeout(limit, closed).await.is_ok()
    }
}

/// Causes `fault` against the broker at `addr`; `pane` is the client pane's id. Returns what
/// the helper saw, for the status bar.
pub async fn run(fault: Fault, addr: SocketAddr, pane: &str) -> Result<String, String> {
    let id = fault.client_id(pane);
    let mut out = BytesMut::new();
    match fault {
        Fault::DropWithoutDisconnect => {
            connect_with_will(&mut out, &id, 60, (WILL_TOPIC, "offline"));
            let c = Conn::open(addr, &out).await?;
            sleep(Duration::from_millis(300)).await;
            // Dropping the socket: no DISCONNECT, so the broker must publish the will.
            drop(c);
            Ok(format!("{id} vanished without DISCONNECT"))
        }
        Fault::StopPings => {
            wire::connect(&mut out, MqttVersion::V311, &id, 2);
            let mut c = Conn::open(addr, &out).await?;
            if c.until_closed(Duration::from_secs(10)).await {
                Ok(format!(
                    "the broker closed {id} after its keep-alive ran out"
                ))
            } else {
                Err(format!(
                    "the broker kept {id} open for 10 s without PINGREQ"
                ))
            }
        }
        Fault::Takeover => {
            wire::connect(&mut out, MqttVersion::V311, &id, 60);
            let mut c = Conn::open(addr, &out).await?;
            // Hold the id a moment, then leave politely (the pane reconnects on its own).
            let taken_back = c.until_closed(Duration::from_secs(2)).await;
            if !taken_back {
                let mut d = BytesMut::new();
                wire::disconnect(&mut d);
                let _ = c.send(&d).await;
            }
            Ok(format!("a second {id} connected and took the id over"))
        }
        Fault::RestartBroker => Err("the workbench restarts its broker itself".into()),
        Fault::StopReading => {
            let mut sub_out = BytesMut::new();
            wire::connect(&mut sub_out, MqttVersion::V311, &id, 60);
            wire::subscribe(
                &mut sub_out,
                MqttVersion::V311,
                1,
                FLOOD_TOPIC,
                QoS::AtLeastOnce,
            );
            // CONNECT and SUBSCRIBE go together; the SUBACK is read, then nothing more.
            let mut stalled = Conn::open(addr, &sub_out).await?;
            timeout(Duration::from_secs(5), stalled.next())
                .await
                .map_err(|_| "no SUBACK within 5 s".to_owned())??;
            let pub_id = format!("wb-flood-{}", std::process::id());
            let mut po = BytesMut::new();
            wire::connect(&mut po, MqttVersion::V311, &pub_id, 60);
            let mut publisher = Conn::open(addr, &po).await?;
            let t = PublishTemplate::new(MqttVersion::V311, FLOOD_TOPIC, QoS::AtLeastOnce, 32);
            let mut b = BytesMut::new();
            for seq in 0..FLOOD_COUNT {
                let stamp = Stamp {
                    sent_ns: 0,
                    publisher: 0,
                    seq,
                };
                t.write(&mut b, u16::try_from(seq % 65_535 + 1).unwrap_or(1), stamp);
            }
            // The PUBACKs (4 bytes each) fit in the socket buffers; they are not read.
            publisher.send(&b).await?;
            sleep(Duration::from_secs(2)).await;
            let mut d = BytesMut::new();
            wire::disconnect(&mut d);
            let _ = publisher.send(&d).await;
            drop(stalled);
            Ok(format!(
                "{id} stopped reading while {FLOOD_COUNT} messages arrived"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::{self, BrokerConfig, EventBus, LogEntry};
    use tokio::sync::broadcast;

    async fn broker() -> (
        broker::BrokerHandle,
        SocketAddr,
        broadcast::Receiver<LogEntry>,
    ) {
        let events = EventBus::new(1 << 16);
        let log = events.subscribe();
        let cfg = BrokerConfig::default();
        let listeners = broker::bind(&cfg, 0, &events).expect("bind loopback");
        let handle = broker::start(cfg, listeners, events).expect("start");
        let addr = handle
            .local_addrs
            .iter()
            .copied()
            .find(SocketAddr::is_ipv4)
            .expect("ipv4 listener");
        (handle, addr, log)
    }

    fn lines(log: &mut broadcast::Receiver<LogEntry>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(e) = log.try_recv() {
            out.push(e.event.to_string());
        }
        out
    }

    /// Every clause an announcement cites exists in the version it names.
    #[test]
    fn announcements_cite_clauses_that_exist() {
        let mut n = 0;
        for f in Fault::ALL {
            let text = f.announce("pane");
            for (at, _) in text.match_indices("[MQTT") {
                let id = text[at..].split(']').next().unwrap_or_default();
                assert!(
                    crate::inspect::clause::is_known(&format!("{id}]")),
                    "{f:?}: {id}"
                );
                n += 1;
            }
            for tag in ["MQTT311 §", "MQTT5 §"] {
                for (at, _) in text.match_indices(tag) {
                    let num: String = text[at + tag.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.')
                        .collect();
                    let lit = format!("{tag}{}", num.trim_end_matches('.'));
                    assert!(crate::inspect::clause::is_known(&lit), "{f:?}: {lit}");
                    n += 1;
                }
            }
        }
        assert!(n >= 8, "only {n} clause references");
    }

    #[tokio::test]
    async fn stop_reading_fills_the_queue_and_the_broker_drops() {
        let (h, addr, mut log) = broker().await;
        let r = run(Fault::StopReading, addr, "pane").await;
        assert!(r.is_ok(), "{r:?}");
        let l = lines(&mut log);
        let stalled = Fault::StopReading.client_id("pane");
        assert!(
            l.iter()
                .any(|x| x.contains("being dropped") && x.contains(&stalled)),
            "{:?}",
            l.iter()
                .filter(|x| x.contains(&stalled))
                .take(20)
                .collect::<Vec<_>>()
        );
        h.shutdown().await;
    }

    async fn client(addr: SocketAddr, id: &str, subscribe: Option<&str>) -> Conn {
        let mut out = BytesMut::new();
        wire::connect(&mut out, MqttVersion::V311, id, 60);
        let mut c = Conn::open(addr, &out).await.expect("connect");
        if let Some(f) = subscribe {
            let mut s = BytesMut::new();
            wire::subscribe(&mut s, MqttVersion::V311, 1, f, QoS::AtLeastOnce);
            c.send(&s).await.expect("subscribe");
            assert_eq!(c.next().await, Ok(Got::SubAck));
        }
        c
    }

    #[tokio::test]
    async fn a_client_dropped_without_disconnect_has_its_will_published() {
        let (h, addr, mut log) = broker().await;
        let _watch = client(addr, "watch", Some("lesson/will/#")).await;
        let r = run(Fault::DropWithoutDisconnect, addr, "pane").await;
        assert!(r.is_ok(), "{r:?}");
        let device = Fault::DropWithoutDisconnect.client_id("pane");
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !seen
            .iter()
            .any(|l: &String| l.starts_with("Sending PUBLISH to watch") && l.contains(WILL_TOPIC))
        {
            assert!(tokio::time::Instant::now() < deadline, "{seen:?}");
            sleep(Duration::from_millis(20)).await;
            seen.extend(lines(&mut log));
        }
        assert!(seen.iter().any(|l| l.starts_with("Will message specified")));
        assert!(seen.contains(&format!("Client {device} closed its connection.")));
        assert!(
            !seen
                .iter()
                .any(|l| l.starts_with(&format!("Received DISCONNECT from {device}")))
        );
        h.shutdown().await;
    }

    #[tokio::test]
    async fn a_client_without_pingreq_is_closed_by_its_keep_alive() {
        let (h, addr, mut log) = broker().await;
        let r = run(Fault::StopPings, addr, "pane").await;
        assert!(r.is_ok(), "{r:?}");
        let silent = Fault::StopPings.client_id("pane");
        let l = lines(&mut log);
        assert!(
            l.contains(&format!(
                "Client {silent} has exceeded timeout, disconnecting."
            )),
            "{l:?}"
        );
        h.shutdown().await;
    }

    #[tokio::test]
    async fn a_second_client_with_the_same_id_takes_over() {
        let (h, addr, mut log) = broker().await;
        let mut pane = client(addr, "pane", None).await;
        let r = run(Fault::Takeover, addr, "pane").await;
        assert!(r.is_ok(), "{r:?}");
        let l = lines(&mut log);
        assert!(
            l.contains(&"Client pane already connected, closing old connection.".to_owned()),
            "{l:?}"
        );
        // The first connection was closed by the broker.
        assert!(pane.until_closed(Duration::from_secs(2)).await);
        h.shutdown().await;
    }
}
