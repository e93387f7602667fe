//! Binding listen sockets and accepting connections.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

use super::config::{BrokerConfig, ListenerConfig, ListenerProtocol, SocketDomain};
use super::connection::{self, Shared};
use super::event::{BrokerEvent, EventBus};
use super::websocket;

/// A listen socket, bound and ready to accept.
#[derive(Debug)]
pub struct BoundListener {
    /// The socket.
    pub listener: TcpListener,
    /// Its real address.
    pub local_addr: SocketAddr,
    /// `max_connections` for it.
    pub max_connections: Option<usize>,
    /// MQTT over TCP, or over WebSockets.
    pub protocol: ListenerProtocol,
    /// TLS, when the listener has a certificate (replaced on SIGHUP, for certificate
    /// rotation; connections made before keep their session).
    pub tls: Option<Arc<TlsSlot>>,
    /// The index of its `listener` line in the configuration (0 in local only mode): which
    /// security settings apply with `per_listener_settings`.
    pub index: usize,
}

/// A listener's current TLS configuration, shared by its IPv4 and IPv6 sockets.
#[derive(Debug)]
pub struct TlsSlot(std::sync::RwLock<Arc<rustls::ServerConfig>>);

impl TlsSlot {
    /// Holds `config`.
    #[must_use]
    pub fn new(config: Arc<rustls::ServerConfig>) -> Self {
        Self(std::sync::RwLock::new(config))
    }

    /// The configuration new connections get.
    #[must_use]
    pub fn current(&self) -> Arc<rustls::ServerConfig> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Puts `config` in force for new connections.
    pub fn replace(&self, config: Arc<rustls::ServerConfig>) {
        match self.0.write() {
            Ok(mut g) => *g = config,
            Err(p) => *p.into_inner() = config,
        }
    }
}

/// Why a listener could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The address could not be bound (in use, no permission, ...).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The listener's TLS settings cannot be used.
    #[error("listener on port {port}: {message}")]
    Tls {
        /// The configured port.
        port: u16,
        /// What is wrong, naming the file.
        message: String,
    },
}

impl ListenError {
    /// True when the port is taken by another program.
    #[must_use]
    pub fn is_addr_in_use(&self) -> bool {
        matches!(self, Self::Bind { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse)
    }
}

fn bind_one(addr: SocketAddr) -> Result<TcpListener, ListenError> {
    use socket2::{Domain, Protocol, Socket, Type};
    let err = |source| ListenError::Bind { addr, source };
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(err)?;
    if addr.is_ipv6() {
        // IPv6 only, so that `[::]:port` can sit beside `0.0.0.0:port` as mosquitto's two
        // sockets do (with the kernel's default of dual-stack sockets the second bind fails).
        socket.set_only_v6(true).map_err(err)?;
    }
    socket.set_reuse_address(true).map_err(err)?;
    socket.set_nonblocking(true).map_err(err)?;
    socket.bind(&addr.into()).map_err(err)?;
    // A deep backlog lets thousands of clients connect at once.
    socket.listen(4096).map_err(err)?;
    TcpListener::from_std(socket.into()).map_err(err)
}

/// Opens the listeners the config asks for, or, with none configured, loopback only on
/// `default_port` like mosquitto 2's local only mode (0 picks a free port). Logs mosquitto's
/// `Opening ipv4 listen socket on port N.` for each. Must run inside a tokio runtime.
pub fn bind(
    cfg: &BrokerConfig,
    default_port: u16,
    events: &EventBus,
) -> Result<Vec<BoundListener>, ListenError> {
    let mut out = Vec::new();
    if cfg.listeners.is_empty() {
        events.emit(BrokerEvent::LocalOnlyMode);
        let v4 = bind_one(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            default_port,
        ))?;
        let addr = v4.local_addr().map_err(|source| ListenError::Bind {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), default_port),
            source,
        })?;
        events.emit(BrokerEvent::OpeningListener {
            websockets: false,
            ipv6: false,
            port: addr.port(),
        });
        out.push(BoundListener {
            listener: v4,
            local_addr: addr,
            max_connections: None,
            protocol: ListenerProtocol::Mqtt,
            tls: None,
            index: 0,
        });
        // IPv6 loopback on the same port, when the machine has it.
        if let Ok(v6) = bind_one(SocketAddr::new(
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            addr.port(),
        )) && let Ok(a6) = v6.local_addr()
        {
            events.emit(BrokerEvent::OpeningListener {
                ipv6: true,
                websockets: false,
                port: a6.port(),
            });
            out.push(BoundListener {
                listener: v6,
                local_addr: a6,
                max_connections: None,
                protocol: ListenerProtocol::Mqtt,
                tls: None,
                index: 0,
            });
        }
        return Ok(out);
    }
    for (index, l) in cfg.listeners.iter().enumerate() {
        out.extend(bind_listener(l, index, events)?);
    }
    Ok(out)
}

fn bind_listener(
    l: &ListenerConfig,
    index: usize,
    events: &EventBus,
) -> Result<Vec<BoundListener>, ListenError> {
    let tls = match &l.tls {
        Some(t) => Some(Arc::new(TlsSlot::new(
            super::tls::server_config(t).map_err(|message| ListenError::Tls {
                port: l.port,
                message,
            })?,
        ))),
        None => None,
    };
    let addrs: Vec<IpAddr> = match (l.bind, l.socket_domain) {
        (Some(a), _) => vec![a],
        (None, Some(SocketDomain::Ipv4)) => vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)],
        (None, Some(SocketDomain::Ipv6)) => vec![IpAddr::V6(Ipv6Addr::UNSPECIFIED)],
        (None, None) => vec![
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ],
    };
    let mut out = Vec::new();
    let mut port = l.port;
    for (i, ip) in addrs.iter().enumerate() {
        let addr = SocketAddr::new(*ip, port);
        let listener = match bind_one(addr) {
            Ok(x) => x,
            // The IPv6 twin of an all-interfaces listener is optional.
            Err(_) if i > 0 => continue,
            Err(e) => return Err(e),
        };
        let local = listener
            .local_addr()
            .map_err(|source| ListenError::Bind { addr, source })?;
        port = local.port();
        let websockets = l.protocol == ListenerProtocol::WebSockets;
        // mosquitto (libwebsockets) logs a websockets listener once, not per address family.
        if !(websockets && i > 0) {
            events.emit(BrokerEvent::OpeningListener {
                ipv6: local.is_ipv6(),
                websockets,
                port,
            });
        }
        out.push(BoundListener {
            listener,
            local_addr: local,
            max_connections: l.max_connections,
            protocol: l.protocol,
            tls: tls.clone(),
            index,
        });
    }
    Ok(out)
}

/// Accepts connections until the broker shuts down, one task each.
pub async fn accept_loop(l: BoundListener, shared: Arc<Shared>, tracker: TaskTracker) {
    let port = l.local_addr.port();
    let active = Arc::new(AtomicUsize::new(0));
    let shutdown = shared.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            a = l.listener.accept() => a,
            () = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                if let Some(max) = l.max_connections
                    && active.load(Ordering::Relaxed) >= max
                {
                    // Over max_connections: refused before any byte is read.
                    shared.events.emit(BrokerEvent::DisconnectedBecause {
                        client: Arc::from("<unknown>"),
                        reason: format!("max_connections ({max}) reached on port {port}"),
                    });
                    drop(stream);
                    continue;
                }
                let _ = stream.set_nodelay(true);
                active.fetch_add(1, Ordering::Relaxed);
                let (shared, active) = (shared.clone(), active.clone());
                let protocol = l.protocol;
                let tls = l.tls.as_ref().map(|slot| slot.current());
                let index = l.index;
                match (tls, protocol) {
                    (None, ListenerProtocol::Mqtt) => {
                        tracker.spawn(tcp_task(stream, peer, (port, index), shared, active));
                    }
                    (tls, protocol) => {
                        tracker.spawn(async move {
                            if let Some(config) = tls {
                                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                                let at = (port, index);
                                let tls = serve_tls(acceptor, stream, peer, at, protocol, shared);
                                Box::pin(tls).await;
                            } else {
                                let ws = websocket::serve(stream, peer, port, index, shared);
                                Box::pin(ws).await;
                            }
                            active.fetch_sub(1, Ordering::Relaxed);
                        });
                    }
                }
            }
            Err(e) => {
                // Out of file descriptors or a transient error: log, wait, keep serving.
                shared.events.emit(BrokerEvent::Warning(format!(
                    "accept failed on port {port}: {e}"
                )));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The task of one plain MQTT connection: [`connection::serve`], counted for the listener's
/// `max_connections` until it ends. Plain TCP is what most idle connections are, so its task
/// is the one kept small (see docs/benchmarks.md, issue 10).
fn tcp_task(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    at: (u16, usize),
    shared: Arc<Shared>,
    active: Arc<AtomicUsize>,
) -> impl Future<Output = ()> + Send {
    let counted = Some(connection::Counted(active));
    connection::serve_counted(stream, peer, at, shared, counted)
}

/// The TLS handshake (within the CONNECT deadline), then MQTT or WebSockets over it.
async fn serve_tls(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    (port, index): (u16, usize),
    protocol: ListenerProtocol,
    shared: Arc<Shared>,
) {
    let tls = match tokio::time::timeout(shared.cfg.connect_timeout, acceptor.accept(stream)).await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            shared.events.emit(BrokerEvent::DisconnectedBecause {
                client: Arc::from("<unknown>"),
                reason: format!("TLS handshake from {peer} failed: {e}"),
            });
            if e.to_string().contains("UnsupportedCertVersion") {
                shared
                    .events
                    .emit(BrokerEvent::Warning(v1_certificate_advice(peer)));
            }
            return;
        }
        Err(_) => {
            shared.events.emit(BrokerEvent::DisconnectedBecause {
                client: Arc::from("<unknown>"),
                reason: format!("no TLS handshake from {peer} in time"),
            });
            return;
        }
    };
    match protocol {
        ListenerProtocol::Mqtt => connection::serve(tls, peer, port, index, shared).await,
        ListenerProtocol::WebSockets => websocket::serve(tls, peer, port, index, shared).await,
    }
}

/// Why an X.509 v1 client certificate is refused, and how to make one that is accepted.
///
/// The certificate verifier (webpki, under rustls) accepts only v3 certificates, and no
/// well-kept Rust verifier accepts v1 ones; checking v1 chains with own code would mean own
/// signature and path validation, which is not worth the risk for a format that cannot
/// express key usage or CA constraints. `openssl x509 -req` without extensions makes v1.
#[must_use]
pub fn v1_certificate_advice(peer: SocketAddr) -> String {
    format!(
        "Client certificate from {peer} refused: it is an X.509 v1 certificate, and this broker \
         accepts only v3 (its verifier, webpki, checks CA and key-usage extensions that v1 cannot \
         carry). Sign the request with extensions to get v3: openssl x509 -req -in client.csr \
         -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -out client.crt -extfile client.ext, \
         where client.ext holds 'basicConstraints=CA:FALSE' and 'extendedKeyUsage=clientAuth'."
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;
    use crate::broker::config::BrokerConfig;
    use crate::broker::keepalive::KeepAlives;
    use crate::broker::pressure::{PacketBudget, Pressure};
    use crate::broker::security::{Security, SecurityPolicy};
    use crate::broker::sys::Stats;

    fn shared() -> Arc<Shared> {
        let (router, _) = tokio::sync::mpsc::channel(1);
        Arc::new(Shared {
            cfg: Arc::new(BrokerConfig::default()),
            events: EventBus::new(16),
            router,
            stats: Arc::new(Stats::default()),
            security: Arc::new(Security::new(Arc::new(SecurityPolicy::open()))),
            next_conn: AtomicU64::new(1),
            shutdown: tokio_util::sync::CancellationToken::new(),
            pressure: Arc::new(Pressure::default()),
            capture: None,
            packet_budget: Arc::new(PacketBudget::new(0)),
            keep_alives: Arc::new(KeepAlives::new()),
        })
    }

    /// The task of every idle TCP connection is this large for its whole life (tokio adds a
    /// header and a trailer and rounds the task up to 128 bytes): a layout fact, not a
    /// timing. See docs/benchmarks.md, issue 10.
    #[tokio::test]
    async fn an_idle_connection_task_stays_small() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, peer) = l.accept().await.unwrap();
        let serve = connection::serve(stream, peer, addr.port(), 0, shared());
        let serve_size = std::mem::size_of_val(&serve);
        drop(serve);
        let (stream, peer) = {
            let _c2 = tokio::net::TcpStream::connect(addr).await.unwrap();
            l.accept().await.unwrap()
        };
        let task = tcp_task(stream, peer, (addr.port(), 0), shared(), Arc::default());
        let task_size = std::mem::size_of_val(&task);
        println!("serve future: {serve_size} bytes; TCP connection task: {task_size} bytes");
        // 376 bytes in a release build, 384 in a debug one: with tokio's header and trailer
        // (about 104 bytes) the task takes 512 bytes. Past about 400 it takes 640.
        assert!(task_size <= 400, "{task_size}");
    }
}
