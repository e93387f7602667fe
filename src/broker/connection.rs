//! One task per network connection: the CONNECT handshake, then framing between the socket and
//! the router (the main loop: `connection/main_loop.rs`), and the MQTT 5 topic aliases of this
//! connection (`connection/aliases.rs` for those the broker assigns). Keep-alive is enforced by
//! the broker-wide sweeper ([`super::keepalive`]).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::BrokerConfig;
use super::event::{BrokerEvent, EventBus};
use super::keepalive::KeepAlives;
use super::outbox::{CloseReason, Outbox};
use super::pressure::{BudgetShare, PacketBudget, Pressure};
use super::router::{CloseKind, ConnectRequest, RouterCmd};
use super::security::Security;
use super::sys::Stats;
use crate::protocol::encode::encode;
use crate::protocol::{
    ConnAck, Connect, DecodeError, Decoder, Outgoing, Packet, Properties, ProtocolVersion,
    ReasonCode,
};

/// What every connection task shares.
#[derive(Debug)]
pub struct Shared {
    /// Settings.
    pub cfg: Arc<BrokerConfig>,
    /// The verbose log.
    pub events: EventBus,
    /// The router's command channel.
    pub router: mpsc::Sender<RouterCmd>,
    /// Byte counters.
    pub stats: Arc<Stats>,
    /// Who may connect and what they may do (replaced on SIGHUP).
    pub security: Arc<Security>,
    /// Source of connection ids.
    pub next_conn: AtomicU64,
    /// Cancelled when the broker shuts down.
    pub shutdown: CancellationToken,
    /// Broker-wide flow control.
    pub pressure: Arc<Pressure>,
    /// Raw packet bytes for the workbench's inspector; `None` (the headless broker): nothing.
    pub capture: Option<Arc<super::capture::Capture>>,
    /// The bound on what half-received packets hold together (`incoming_packet_budget`).
    pub packet_budget: Arc<PacketBudget>,
    /// Keep-alive for every connection (one broker-wide sweeper).
    pub keep_alives: Arc<KeepAlives>,
}

mod aliases;
mod gone;
mod main_loop;

pub use self::aliases::OutAliases;
use self::main_loop::RareWaits;

const UNKNOWN: &str = "<unknown>";

/// Serves one connection until it ends. Never panics on network input. `listener` is the
/// index of the listener in the configuration (its security settings with
/// `per_listener_settings`).
///
/// The connection's state is built here, before the task's future: everything the task keeps
/// for its whole life is laid out once (an `async fn` keeps its arguments beside what it
/// moves them into, and every idle connection would pay for both).
pub fn serve<S>(
    stream: S,
    peer: SocketAddr,
    local_port: u16,
    listener: usize,
    shared: Arc<Shared>,
) -> impl Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    serve_counted(stream, peer, (local_port, listener), shared, None)
}

/// A listener's count of open connections (for `max_connections`): one fewer when dropped,
/// that is when the connection's task ends.
#[derive(Debug)]
pub struct Counted(pub Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// [`serve`], counted in a listener's open connections until it ends. The count lives in the
/// connection itself: a wrapping future would hold the whole connection future twice (an
/// awaited future is moved into the awaiting one's state).
pub fn serve_counted<S>(
    stream: S,
    peer: SocketAddr,
    (local_port, listener): (u16, usize),
    shared: Arc<Shared>,
    counted: Option<Counted>,
) -> impl Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    shared.events.emit(BrokerEvent::NewConnection {
        peer,
        port: local_port,
    });
    // The block below owns the connection and only borrows it: it is laid out once. (An
    // `async fn` taking it by value would move it into a local beside its argument, twice the
    // size.)
    let mut conn = Connection {
        stream,
        hello: Some(Box::new(Hello { peer, listener })),
        rbuf: BytesMut::new(),
        wbuf: BytesMut::new(),
        decoder: Decoder::new(shared.cfg.max_packet_size),
        id: Arc::from(UNKNOWN),
        version: ProtocolVersion::V311,
        conn: shared.next_conn.fetch_add(1, Ordering::Relaxed),
        aliases: None,
        connect_expiry_zero: true,
        read_hint: MIN_READ as u16,
        linger: false,
        out_aliases: None,
        share: BudgetShare::new(shared.packet_budget.clone()),
        waits: None,
        _counted: counted,
        shared,
    };
    async move { conn.serve().await }
}

/// How long a lingering close waits for the peer to close its side.
const LINGER_TIME: Duration = Duration::from_secs(2);
/// How many bytes a lingering close reads (and discards) at most.
const LINGER_BYTES: usize = 256 * 1024;

/// What only the CONNECT handshake needs: boxed, and dropped once the client is admitted.
struct Hello {
    peer: SocketAddr,
    /// The index of the listener in the configuration.
    listener: usize,
}

struct Connection<S> {
    stream: S,
    /// Until the client is admitted: where it came from (see [`Hello`]).
    hello: Option<Box<Hello>>,
    shared: Arc<Shared>,
    rbuf: BytesMut,
    wbuf: BytesMut,
    decoder: Decoder,
    id: Arc<str>,
    version: ProtocolVersion,
    conn: u64,
    /// The client's Topic Aliases (MQTT 5), boxed on first use: most connections never set
    /// one, and an empty map inline would cost every idle connection 48 bytes.
    #[expect(
        clippy::box_collection,
        reason = "the box is the point: 8 bytes per connection instead of an empty map's 48"
    )]
    aliases: Option<Box<HashMap<u16, Arc<str>>>>,
    connect_expiry_zero: bool,
    /// Bytes the next read asks for (`MIN_READ` to `MAX_READ`; see [`Connection::hint`]).
    read_hint: u16,
    /// A CONNACK or DISCONNECT with an error was sent: close with [`Connection::linger`].
    linger: bool,
    /// Topic Aliases this broker assigns to the messages it sends (MQTT 5 only).
    out_aliases: Option<Box<OutAliases>>,
    /// The share of the broker's `incoming_packet_budget` the packet being received holds.
    share: BudgetShare,
    /// The rare waits of the idle loop (budget, back-pressure), built on first use.
    waits: Option<Box<RareWaits>>,
    /// The listener's count of open connections, decremented when this one ends.
    _counted: Option<Counted>,
}

/// Most packets handed to the router in one command.
const ROUTER_BATCH: usize = 64;
/// Outgoing bytes encoded before a write: bounds the write buffer under a burst.
const WRITE_CHUNK: usize = 64 * 1024;
/// Smallest read buffer: what an idle connection holds.
const MIN_READ: usize = 64;
/// Largest read buffer: what a flooding publisher gets.
const MAX_READ: usize = 16 * 1024;

/// A close decided by this connection: how the router should see it, and the MQTT 5 reason.
struct Fail {
    how: CloseKind,
    reason: ReasonCode,
    detail: String,
}

impl Fail {
    fn from_decode(e: &DecodeError) -> Self {
        let how = match e {
            DecodeError::Malformed(_) => CloseKind::Malformed,
            DecodeError::TooLarge { .. } => CloseKind::Oversize,
            _ => CloseKind::Protocol,
        };
        Self {
            how,
            reason: e.reason(),
            detail: e.to_string(),
        }
    }

    fn protocol(reason: ReasonCode, detail: &str) -> Self {
        Self {
            how: CloseKind::Protocol,
            reason,
            detail: detail.to_owned(),
        }
    }
}

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// Reads the first packet, which must be CONNECT [MQTT311-3.1.0-1] [MQTT5-3.1.0-1].
    async fn read_connect(&mut self) -> Option<Box<Connect>> {
        loop {
            if let Some(cap) = &self.shared.capture {
                cap.record_in(&self.id, self.version, &self.rbuf);
            }
            match self.decoder.decode(&mut self.rbuf) {
                Ok(Some(Packet::Connect(c))) => return Some(c),
                Ok(Some(_)) => {
                    self.emit_unknown_error(CloseKind::Protocol);
                    return None;
                }
                Ok(None) => {}
                Err(DecodeError::UnsupportedVersion { .. }) => {
                    // [MQTT311-3.1.2-2]: CONNACK "unacceptable protocol version", then close.
                    self.wbuf.extend_from_slice(&[0x20, 0x02, 0x00, 0x01]);
                    self.flush().await;
                    self.linger = true;
                    let ip: Arc<str> = Arc::from(self.peer().ip().to_string().as_str());
                    self.shared.events.trace(|| BrokerEvent::ConnAckSent {
                        client: ip,
                        session_present: false,
                        code: 1,
                    });
                    self.emit_unknown_error(CloseKind::Protocol);
                    return None;
                }
                Err(e) => {
                    self.emit_unknown_error(Fail::from_decode(&e).how);
                    return None;
                }
            }
            match self.stream.read_buf(&mut self.rbuf).await {
                Ok(0) | Err(_) => {
                    self.shared
                        .events
                        .emit(BrokerEvent::ConnectionClosed(Arc::from(UNKNOWN)));
                    return None;
                }
                Ok(n) => self.shared.stats.add_received(n),
            }
        }
    }

    fn emit_unknown_error(&self, how: CloseKind) {
        let c: Arc<str> = Arc::from(UNKNOWN);
        self.shared.events.emit(match how {
            CloseKind::Malformed => BrokerEvent::MalformedPacket(c),
            CloseKind::Oversize => BrokerEvent::OversizePacket(c),
            _ => BrokerEvent::ProtocolError(c),
        });
    }

    /// Checks the client id, keep alive and credentials. Refused clients get a CONNACK with
    /// the reason and are closed; nothing they sent after CONNECT is processed [MQTT311-3.1.4-5] [MQTT5-3.1.4-6].
    async fn admit(&mut self, mut c: Box<Connect>) -> Option<Box<ConnectRequest>> {
        let cfg = self.shared.cfg.clone();
        self.version = c.version;
        let v5 = c.version.is_v5();
        self.connect_expiry_zero = c.properties.session_expiry.unwrap_or(0) == 0;
        if c.properties.auth_method.is_some() {
            // [MQTT5-4.12.0-1]: no enhanced authentication method is supported.
            self.refuse(ReasonCode::BadAuthenticationMethod).await;
            return None;
        }
        let mut assigned = false;
        if c.client_id.is_empty() {
            // [MQTT311-3.1.3-8]: 3.1.1 with Clean Session 0 and no id is refused; 3.1 needs an id.
            let allowed = cfg.allow_zero_length_clientid
                && c.version != ProtocolVersion::V31
                && (v5 || c.clean_start);
            if !allowed {
                self.refuse(ReasonCode::ClientIdentifierNotValid).await;
                return None;
            }
            c.client_id = assign_client_id(&cfg.auto_id_prefix, self.conn);
            assigned = true;
        }
        let mut server_keep_alive = None;
        let mut keep_alive = c.keep_alive;
        if c.keep_alive > cfg.max_keepalive || (c.keep_alive == 0 && cfg.max_keepalive < 65535) {
            if v5 {
                // MQTT 5 §3.2.2.3.14: the server tells the client which keep alive applies.
                server_keep_alive = Some(cfg.max_keepalive);
                keep_alive = cfg.max_keepalive;
            } else if c.keep_alive > cfg.max_keepalive {
                // Like mosquitto: a 3.x client asking for more is refused.
                self.refuse(ReasonCode::ClientIdentifierNotValid).await;
                return None;
            }
        }
        if let Some(code) = self.check_credentials(&c) {
            self.refuse(code).await;
            return None;
        }
        self.id = Arc::from(c.client_id.as_str());
        // [MQTT5-3.3.2-11]: the client's Topic Alias Maximum (MQTT5 §3.1.2.11.5) bounds the
        // aliases we send.
        let alias_max = c
            .properties
            .topic_alias_maximum
            .unwrap_or(0)
            .min(cfg.outgoing_topic_alias_max);
        if v5 && alias_max > 0 {
            self.out_aliases = Some(Box::new(OutAliases::new(alias_max)));
        }
        let high_water = match cfg.max_queued_messages {
            0 => 1024,
            n => (n / 2).clamp(16, 1024),
        };
        let outbox = Outbox::new(self.shared.pressure.clone(), high_water);
        let outbox = Arc::new(outbox.with_keep_alive(keep_alive));
        let req = Box::new(ConnectRequest {
            conn: self.conn,
            connect: *c,
            assigned_id: assigned,
            server_keep_alive,
            peer: self.peer(),
            listener: self.listener(),
            outbox,
        });
        Some(req)
    }

    fn check_credentials(&self, c: &Connect) -> Option<ReasonCode> {
        self.shared
            .security
            .current()
            .check_credentials(
                self.listener(),
                c.username.as_deref(),
                c.password.as_deref(),
            )
            .map(super::security::Refusal::reason_code)
    }

    async fn refuse(&mut self, reason: ReasonCode) {
        let code = if self.version.is_v5() {
            reason.as_u8()
        } else {
            reason.v3_connack_code()
        };
        let ack = Outgoing::ConnAck(Box::new(ConnAck {
            session_present: false,
            reason,
            properties: Properties::default(),
        }));
        encode(&mut self.wbuf, &ack, self.version);
        self.flush_close().await;
        self.linger = true;
        let ip: Arc<str> = Arc::from(self.peer().ip().to_string().as_str());
        self.shared.events.trace(|| BrokerEvent::ConnAckSent {
            client: ip,
            session_present: false,
            code,
        });
        let unknown: Arc<str> = Arc::from(UNKNOWN);
        self.shared.events.emit(match reason {
            ReasonCode::NotAuthorized | ReasonCode::BadUserNameOrPassword => {
                BrokerEvent::NotAuthorised(unknown)
            }
            _ => BrokerEvent::DisconnectedBecause {
                client: unknown,
                reason: reason.description().to_owned(),
            },
        });
    }

    /// Writes a closing packet (a refusing CONNACK, a DISCONNECT with a reason) for at most
    /// [`LINGER_TIME`]: a peer that stopped reading with a full socket must not hold the task
    /// (and its Will) forever.
    async fn flush_close(&mut self) {
        let _ = tokio::time::timeout(LINGER_TIME, self.flush()).await;
    }

    async fn flush(&mut self) -> bool {
        if self.wbuf.is_empty() {
            return true;
        }
        let n = self.wbuf.len();
        let ok = self.stream.write_all(&self.wbuf).await.is_ok();
        self.wbuf.clear();
        if self.wbuf.capacity() > MAX_READ * 4 {
            // Give back what a burst took.
            self.wbuf = BytesMut::new();
        }
        if ok {
            self.shared.stats.add_sent(n);
        }
        ok
    }

    /// The connection's life: the CONNECT handshake, the main loop, the close.
    async fn serve(&mut self) {
        // The handshake is boxed: it holds the whole CONNECT packet, and inlined it would
        // make every connection task that much larger for its whole life.
        let Some(outbox) = Box::pin(self.handshake()).await else {
            return;
        };
        let how = self.run(&outbox).await;
        Box::pin(self.close(how)).await;
    }

    /// CONNECT, the checks and the router's registration; the outbox once admitted (`None`:
    /// the connection is over).
    async fn handshake(&mut self) -> Option<Arc<Outbox>> {
        let limit = self.shared.cfg.connect_timeout;
        let connect = match Box::pin(tokio::time::timeout(limit, self.read_connect())).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                if self.linger {
                    self.linger().await;
                }
                return None;
            }
            Err(_) => {
                let secs = limit.as_secs();
                self.shared.events.emit(BrokerEvent::DisconnectedBecause {
                    client: Arc::from(UNKNOWN),
                    reason: format!("no CONNECT within {secs} seconds"),
                });
                return None;
            }
        };
        let Some(req) = self.admit(connect).await else {
            // Refused: CONNACK with the reason was sent.
            self.linger().await;
            return None;
        };
        self.hello = None;
        let outbox = req.outbox.clone();
        if self
            .shared
            .router
            .send(RouterCmd::Connect(req))
            .await
            .is_err()
        {
            return None;
        }
        self.shared.keep_alives.register(&outbox);
        Some(outbox)
    }

    /// After the main loop: tells the router, then closes the socket (lingering after an
    /// error, see [`Connection::linger`]).
    async fn close(&mut self, how: CloseKind) {
        let closed = RouterCmd::Closed {
            conn: self.conn,
            how,
        };
        let _ = self.shared.router.send(closed).await;
        if self.linger && !self.shared.shutdown.is_cancelled() {
            self.linger().await;
        } else {
            let _ = tokio::time::timeout(Duration::from_secs(1), self.stream.shutdown()).await;
        }
    }

    /// Makes room for the next read: small for idle clients, growing for busy ones, so that
    /// thousands of idle connections cost little and a flood is read in large chunks.
    /// An idle connection (read buffer empty, smallest read size) holds no buffer at all: it
    /// reads into a small one on the stack (see [`Connection::poll_read`]).
    fn prepare_read(&mut self) {
        if self.rbuf.is_empty() && self.hint() <= MIN_READ {
            if self.rbuf.capacity() > 0 {
                self.rbuf = BytesMut::new();
            }
            return;
        }
        if self.rbuf.is_empty() && self.rbuf.capacity() > self.hint() * 4 {
            // A burst is over: give the memory back.
            self.rbuf = BytesMut::with_capacity(self.hint());
            return;
        }
        let spare = self.rbuf.capacity() - self.rbuf.len();
        if spare >= self.hint() / 2 {
            return;
        }
        if self.rbuf.is_empty() {
            self.rbuf = BytesMut::with_capacity(self.hint());
        } else {
            self.rbuf.reserve(self.hint());
        }
    }

    /// Whether the next read may go ahead under the broker's `incoming_packet_budget` (see
    /// [`BudgetShare::admit`]); a packet larger than the whole budget closes the connection.
    fn budget_gate(&mut self) -> Result<bool, Fail> {
        self.share.admit(&mut self.rbuf).map_err(|total| Fail {
            how: CloseKind::Oversize,
            reason: ReasonCode::PacketTooLarge,
            detail: format!("a packet of {total} bytes is larger than incoming_packet_budget"),
        })
    }

    fn adapt_read(&mut self, n: usize) {
        let hint = self.hint();
        let next = if n >= hint / 2 {
            (hint * 2).min(MAX_READ)
        } else if n < hint / 8 {
            (hint / 2).max(MIN_READ)
        } else {
            hint
        };
        self.read_hint = u16::try_from(next).unwrap_or(u16::MAX);
    }

    /// Bytes the next read asks for.
    fn hint(&self) -> usize {
        usize::from(self.read_hint)
    }

    /// The client's address (unspecified once admitted: only the handshake asks).
    fn peer(&self) -> SocketAddr {
        self.hello
            .as_ref()
            .map_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)), |h| h.peer)
    }

    /// The index of the listener in the configuration (only the handshake asks).
    fn listener(&self) -> usize {
        self.hello.as_ref().map_or(0, |h| h.listener)
    }

    /// Writes with a deadline, so a client that stops reading cannot hold the task forever.
    /// Every partial write is reported to the outbox as progress: a consumer is slow only when
    /// no byte at all could be written for a while (see [`Outbox::progress`]).
    async fn flush_with_deadline(&mut self, outbox: &Outbox, limit: Option<Duration>) -> bool {
        let deadline = limit
            .unwrap_or(Duration::from_secs(60))
            .max(Duration::from_secs(10));
        tokio::time::timeout(deadline, self.flush_reporting(outbox))
            .await
            .unwrap_or(false)
    }

    async fn flush_reporting(&mut self, outbox: &Outbox) -> bool {
        let total = self.wbuf.len();
        let mut off = 0;
        while off < total {
            match self.stream.write(&self.wbuf[off..]).await {
                Ok(0) | Err(_) => {
                    self.wbuf.clear();
                    return false;
                }
                Ok(n) => {
                    off += n;
                    if off < total {
                        outbox.progress();
                    }
                }
            }
        }
        let ok = self.stream.flush().await.is_ok();
        self.wbuf.clear();
        if self.wbuf.capacity() > MAX_READ * 4 {
            // Give back what a burst took.
            self.wbuf = BytesMut::new();
        }
        if ok {
            self.shared.stats.add_sent(total);
        }
        ok
    }

    /// A lingering close, after a CONNACK or DISCONNECT with an error: nothing more is
    /// processed; the write side is shut down (FIN after the reason code), and what the peer
    /// still sends is read and discarded until it closes its side, for at most
    /// [`LINGER_TIME`] and [`LINGER_BYTES`]. Closing with unread input would make the kernel
    /// answer with RST, and a peer that gets RST may never read the reason code.
    async fn linger(&mut self) {
        let deadline = Instant::now() + LINGER_TIME;
        if tokio::time::timeout_at(deadline, self.stream.shutdown())
            .await
            .is_err()
        {
            return;
        }
        let mut left = LINGER_BYTES;
        self.rbuf = BytesMut::with_capacity(4096);
        while left > 0 {
            self.rbuf.clear();
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.rbuf)).await {
                Ok(Ok(n)) if n > 0 => left = left.saturating_sub(n),
                _ => return,
            }
        }
    }

    fn write_close(&mut self, reason: CloseReason) {
        let code = match reason {
            CloseReason::TakenOver => ReasonCode::SessionTakenOver,
            CloseReason::Protocol(r) => r,
            CloseReason::ShuttingDown => ReasonCode::ServerShuttingDown,
            CloseReason::KeepAlive => ReasonCode::KeepAliveTimeout,
        };
        // Only MQTT 5 has a server DISCONNECT; `encode` writes nothing for 3.x.
        encode(&mut self.wbuf, &Outgoing::Disconnect(code), self.version);
    }

    async fn fail(&mut self, fail: Fail) -> CloseKind {
        let (id, detail) = (self.id.clone(), fail.detail.clone());
        self.shared
            .events
            .emit_with(|| BrokerEvent::Warning(format!("client {id}: {detail}")));
        if self.version.is_v5() {
            // [MQTT5-4.13.1-1]: tell an MQTT 5 client why before closing.
            encode(
                &mut self.wbuf,
                &Outgoing::Disconnect(fail.reason),
                self.version,
            );
            self.flush_close().await;
        }
        // 3.x gets no reason but the same orderly close: no reset over unread input.
        self.linger = true;
        fail.how
    }

    /// Decodes every complete packet in the read buffer and hands them to the router in one
    /// command (one channel operation per read, not per packet).
    async fn on_bytes(&mut self) -> Result<Option<CloseKind>, Fail> {
        let mut batch = Vec::new();
        let outcome = self.decode_all(&mut batch);
        // Packets before a DISCONNECT or a bad packet are still processed, in order. Chunks
        // of at most ROUTER_BATCH packets keep the router's channel (and so the back-pressure
        // loop) short.
        while !batch.is_empty() {
            let rest = if batch.len() > ROUTER_BATCH {
                batch.split_off(ROUTER_BATCH)
            } else {
                Vec::new()
            };
            self.send(batch).await?;
            batch = rest;
        }
        outcome
    }

    /// Decodes what is buffered: PINGREQ is answered here, DISCONNECT and errors end the
    /// loop, everything else is collected for the router.
    fn decode_all(&mut self, batch: &mut Vec<Packet>) -> Result<Option<CloseKind>, Fail> {
        loop {
            if let Some(cap) = &self.shared.capture {
                cap.record_in(&self.id, self.version, &self.rbuf);
            }
            let packet = match self.decoder.decode(&mut self.rbuf) {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(None),
                Err(e) => return Err(Fail::from_decode(&e)),
            };
            match packet {
                Packet::PingReq => {
                    let c = &self.id;
                    self.shared
                        .events
                        .trace(|| BrokerEvent::PingReqReceived(c.clone()));
                    let at = self.wbuf.len();
                    encode(&mut self.wbuf, &Outgoing::PingResp, self.version);
                    self.captured_out(at);
                    self.shared
                        .events
                        .trace(|| BrokerEvent::PingRespSent(c.clone()));
                }
                Packet::Disconnect(d) => {
                    let expiry = d.properties.session_expiry;
                    if self.connect_expiry_zero && expiry.is_some_and(|e| e != 0) {
                        // [MQTT5 §3.14.2.2.2]: cannot set an expiry after CONNECT had none.
                        return Err(Fail::protocol(
                            ReasonCode::ProtocolError,
                            "session expiry set in DISCONNECT after CONNECT had none",
                        ));
                    }
                    return Ok(Some(CloseKind::Disconnect {
                        reason: d.reason,
                        session_expiry: expiry,
                    }));
                }
                Packet::Auth(_) => {
                    // No authentication method was agreed, so AUTH is a protocol error.
                    return Err(Fail::protocol(
                        ReasonCode::ProtocolError,
                        "unexpected AUTH packet",
                    ));
                }
                Packet::Publish(mut p) => {
                    if self.version.is_v5() {
                        self.resolve_alias(&mut p)?;
                    }
                    batch.push(Packet::Publish(p));
                }
                other => batch.push(other),
            }
        }
    }

    /// Captures what was encoded into the write buffer from `at` on (the inspector's ring).
    fn captured_out(&self, at: usize) {
        if let Some(cap) = &self.shared.capture {
            let id = &self.id;
            cap.record(id, super::capture::Way::Out, self.version, &self.wbuf[at..]);
        }
    }

    /// Hands a packet to the router. The common case (room in the channel) does not await;
    /// when the router is behind, the wait is boxed so that it does not enlarge every
    /// connection task (each idle connection's memory counts, see docs/benchmarks.md).
    async fn send(&mut self, packets: Vec<Packet>) -> Result<(), Fail> {
        use tokio::sync::mpsc::error::TrySendError;
        let stopped = || Fail {
            how: CloseKind::Server,
            reason: ReasonCode::ServerShuttingDown,
            detail: "broker stopped".into(),
        };
        let cmd = RouterCmd::Packets {
            conn: self.conn,
            packets,
        };
        match self.shared.router.try_send(cmd) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(cmd)) => Box::pin(self.shared.router.send(cmd))
                .await
                .map_err(|_| stopped()),
            Err(TrySendError::Closed(_)) => Err(stopped()),
        }
    }

    /// MQTT 5 Topic Alias (§3.3.2.3.4): set or use this connection's alias mapping.
    fn resolve_alias(&mut self, p: &mut crate::protocol::Publish) -> Result<(), Fail> {
        let alias = p.properties.as_ref().and_then(|props| props.topic_alias);
        let Some(alias) = alias else {
            if p.topic.is_empty() {
                return Err(Fail::protocol(
                    ReasonCode::ProtocolError,
                    "empty topic without alias",
                ));
            }
            return Ok(());
        };
        if alias == 0 || alias > self.shared.cfg.max_topic_alias {
            // [MQTT5-3.3.2-8], [MQTT5-3.3.2-9]
            return Err(Fail::protocol(
                ReasonCode::TopicAliasInvalid,
                "topic alias out of range",
            ));
        }
        if p.topic.is_empty() {
            match self.aliases.as_ref().and_then(|a| a.get(&alias)) {
                Some(t) => p.topic = t.clone(),
                None => {
                    return Err(Fail::protocol(
                        ReasonCode::ProtocolError,
                        "unknown topic alias",
                    ));
                }
            }
        } else {
            self.aliases
                .get_or_insert_with(Box::default)
                .insert(alias, p.topic.clone());
        }
        Ok(())
    }
}

/// A client id the broker assigns [MQTT311-3.1.3-6] [MQTT5-3.1.3-6]: the prefix and a random UUID-shaped value,
/// like mosquitto's `auto-A9049815-FC08-A93F-EC6D-8F4C87B4A709`.
fn assign_client_id(prefix: &str, conn: u64) -> String {
    let rs = std::collections::hash_map::RandomState::new();
    let mut h = rs.build_hasher();
    h.write_u64(conn);
    let a = h.finish();
    let mut h = rs.build_hasher();
    h.write_u64(a ^ 0x9E37_79B9_7F4A_7C15);
    let b = h.finish();
    format!(
        "{prefix}{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}
