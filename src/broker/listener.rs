//! Binding listen sockets and accepting connections.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
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
    let err = |source| ListenError::Bind { addr, source };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(err)?;
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    // A deep backlog lets thousands of clients connect at once.
    socket.listen(4096).map_err(err)
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
        events.emit(BrokerEvent::OpeningListener {
            ipv6: local.is_ipv6(),
            port,
        });
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
                tracker.spawn(async move {
                    match (tls, protocol) {
                        (None, ListenerProtocol::Mqtt) => {
                            connection::serve(stream, peer, port, index, shared).await;
                        }
                        (None, ListenerProtocol::WebSockets) => {
                            Box::pin(websocket::serve(stream, peer, port, index, shared)).await;
                        }
                        (Some(config), protocol) => {
                            let acceptor = tokio_rustls::TlsAcceptor::from(config);
                            Box::pin(serve_tls(
                                acceptor,
                                stream,
                                peer,
                                (port, index),
                                protocol,
                                shared,
                            ))
                            .await;
                        }
                    }
                    active.fetch_sub(1, Ordering::Relaxed);
                });
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
