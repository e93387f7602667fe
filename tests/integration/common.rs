//! Shared helpers: start a broker in-process on a free loopback port, speak raw MQTT bytes,
//! find mosquitto's tools.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mqtt_workbench::broker::{self, BrokerConfig, BrokerHandle, EventBus, LogEntry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;

/// A broker running inside the test process.
pub struct TestBroker {
    pub handle: BrokerHandle,
    pub addr: SocketAddr,
    pub log: broadcast::Receiver<LogEntry>,
}

impl TestBroker {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Waits until a log line containing `needle` appears, returning it.
    pub async fn wait_log(&mut self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.log.recv()).await {
                Ok(Ok(entry)) => {
                    let line = entry.event.to_string();
                    if line.contains(needle) {
                        return line;
                    }
                }
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => {
                    panic!("log line containing {needle:?} did not appear")
                }
            }
        }
    }
}

/// Starts a broker on 127.0.0.1 with a free port.
pub async fn start_broker(cfg: BrokerConfig) -> TestBroker {
    let events = EventBus::new(1 << 16);
    let log = events.subscribe();
    let listeners = broker::bind(&cfg, 0, &events).expect("bind loopback");
    let handle = broker::start(cfg, listeners, events).expect("start broker");
    let addr = handle
        .local_addrs
        .iter()
        .copied()
        .find(SocketAddr::is_ipv4)
        .expect("an ipv4 listener");
    TestBroker { handle, addr, log }
}

/// Starts a broker with default settings.
pub async fn default_broker() -> TestBroker {
    start_broker(BrokerConfig::default()).await
}

/// A client that speaks raw bytes, for malformed-input tests.
pub struct RawClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("tcp connect");
        stream.set_nodelay(true).ok();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads one whole MQTT packet (fixed header included), or `None` on EOF/timeout.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        self.recv_within(Duration::from_secs(5)).await
    }

    pub async fn recv_within(&mut self, limit: Duration) -> Option<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(len) = frame_len(&self.buf)
                && self.buf.len() >= len
            {
                return Some(self.buf.drain(..len).collect());
            }
            let mut tmp = [0u8; 4096];
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.read(&mut tmp)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
                Ok(Ok(n)) => self.buf.extend_from_slice(&tmp[..n]),
            }
        }
    }

    /// True if the server closes the connection within `limit` (packets before EOF are
    /// skipped, e.g. an MQTT 5 DISCONNECT).
    pub async fn closed_within(&mut self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let mut tmp = [0u8; 4096];
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.read(&mut tmp)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(n)) => self.buf.extend_from_slice(&tmp[..n]),
                Err(_) => return false,
            }
        }
    }

    /// Sends a CONNECT and expects a successful CONNACK.
    pub async fn connect_v311(addr: SocketAddr, id: &str) -> Self {
        let mut c = Self::connect(addr).await;
        c.send(&connect_packet(4, id, 0x02, 60)).await;
        let ack = c.recv().await.expect("CONNACK");
        assert_eq!(ack, vec![0x20, 0x02, 0x00, 0x00], "CONNACK for {id}");
        c
    }

    /// MQTT 5 CONNECT (no properties) and a successful CONNACK.
    pub async fn connect_v5(addr: SocketAddr, id: &str) -> Self {
        let mut c = Self::connect(addr).await;
        c.send(&connect_packet(5, id, 0x02, 60)).await;
        let ack = c.recv().await.expect("CONNACK");
        assert_eq!(ack[0], 0x20, "CONNACK for {id}");
        assert_eq!(ack[3], 0x00, "CONNACK reason for {id}");
        c
    }
}

fn frame_len(buf: &[u8]) -> Option<usize> {
    if buf.is_empty() {
        return None;
    }
    let mut value = 0usize;
    for i in 0..4 {
        let b = *buf.get(1 + i)?;
        value |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some(1 + i + 1 + value);
        }
    }
    None
}

/// Encodes a remaining length.
pub fn varint(mut v: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut b = (v & 0x7F) as u8;
        v >>= 7;
        if v > 0 {
            b |= 0x80;
        }
        out.push(b);
        if v == 0 {
            return out;
        }
    }
}

/// A two-byte-length-prefixed string.
pub fn mqtt_str(s: &str) -> Vec<u8> {
    let mut v = (s.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v
}

/// A packet from its first byte and body.
pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![first];
    v.extend(varint(body.len()));
    v.extend_from_slice(body);
    v
}

/// CONNECT for protocol level 3 (`MQIsdp`), 4 or 5 with the given flags and keep alive; no
/// will, no credentials, no properties.
pub fn connect_packet(level: u8, id: &str, flags: u8, keep_alive: u16) -> Vec<u8> {
    let name = if level == 3 { "MQIsdp" } else { "MQTT" };
    let mut body = mqtt_str(name);
    body.push(level);
    body.push(flags);
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if level == 5 {
        body.push(0);
    }
    body.extend(mqtt_str(id));
    packet(0x10, &body)
}

/// SUBSCRIBE (3.1.1) for one filter.
pub fn subscribe_packet(pkid: u16, filter: &str, qos: u8) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    body.extend(mqtt_str(filter));
    body.push(qos);
    packet(0x82, &body)
}

/// PUBLISH (3.1.1).
pub fn publish_packet(topic: &str, payload: &[u8], qos: u8, retain: bool, pkid: u16) -> Vec<u8> {
    let mut body = mqtt_str(topic);
    if qos > 0 {
        body.extend_from_slice(&pkid.to_be_bytes());
    }
    body.extend_from_slice(payload);
    packet(0x30 | (qos << 1) | u8::from(retain), &body)
}

/// True when mosquitto's broker and clients are installed. In CI they must be: a missing
/// tool fails the test instead of skipping it.
pub fn have_mosquitto() -> bool {
    let ok = ["mosquitto", "mosquitto_sub", "mosquitto_pub"]
        .iter()
        .all(|t| {
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {t} || test -x /usr/sbin/{t}"))
                .stdout(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        });
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("mosquitto and mosquitto-clients must be installed in CI (see .ci/run)");
        }
        eprintln!(
            "SKIPPED: mosquitto/mosquitto-clients not installed (apt-get install mosquitto mosquitto-clients)"
        );
    }
    ok
}

/// Path of the mosquitto broker binary (Debian installs it in /usr/sbin).
pub fn mosquitto_bin() -> String {
    if std::path::Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto".into()
    } else {
        "mosquitto".into()
    }
}

/// A child process killed when dropped.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a mosquitto client with a timeout, returning (status success, stdout, stderr).
pub async fn run_tool(args: &[&str], secs: u64) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new("timeout");
    cmd.arg(secs.to_string()).args(args);
    cmd.kill_on_drop(true);
    let out = cmd.output().await.expect("run tool");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
