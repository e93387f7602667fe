//! Opening a benchmark connection: TCP connect, CONNECT/CONNACK, SUBSCRIBE/SUBACK.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wire::{self, Incoming, WireError};
use crate::protocol::{MqttVersion, QoS};

/// How long the handshake packets may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a benchmark client failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// TCP connect, read or write failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The server closed the connection.
    #[error("the server closed the connection {0}")]
    Closed(&'static str),
    /// The server sent something malformed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// CONNACK refused the connection.
    #[error("CONNACK refused the connection with code {0:#04x}")]
    Refused(u8),
    /// SUBACK refused the subscription.
    #[error("SUBACK refused '{filter}' with code {code:#04x}")]
    SubscribeRefused {
        /// The filter.
        filter: String,
        /// The code.
        code: u8,
    },
    /// The server sent a DISCONNECT.
    #[error("the server sent DISCONNECT with reason {0:#04x}")]
    Disconnected(u8),
    /// A packet that makes no sense at this point.
    #[error("unexpected packet type {0} {1}")]
    Unexpected(u8, &'static str),
    /// Something took too long.
    #[error("timed out {0}")]
    Timeout(&'static str),
}

/// Shorthand for an I/O error with context.
pub fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> ClientError {
    move |source| ClientError::Io { what, source }
}

/// A connected MQTT session: the socket, bytes already read past the handshake, and what the
/// server granted.
#[derive(Debug)]
pub struct Session {
    /// The socket.
    pub stream: TcpStream,
    /// Bytes read but not yet parsed.
    pub rbuf: BytesMut,
    /// The version spoken.
    pub version: MqttVersion,
    /// The server's MQTT 5 Receive Maximum (65,535 when it sent none).
    pub receive_maximum: u16,
}

impl Session {
    /// Connects and completes CONNECT/CONNACK within [`HANDSHAKE_TIMEOUT`].
    pub async fn connect(
        addr: SocketAddr,
        version: MqttVersion,
        client_id: &str,
        keep_alive: u16,
    ) -> Result<Self, ClientError> {
        let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout("connecting"))?
            .map_err(io("connect"))?;
        stream.set_nodelay(true).map_err(io("set TCP_NODELAY"))?;
        let mut s = Self {
            stream,
            rbuf: BytesMut::with_capacity(4096),
            version,
            receive_maximum: u16::MAX,
        };
        let mut out = BytesMut::with_capacity(64);
        wire::connect(&mut out, version, client_id, keep_alive);
        s.stream
            .write_all(&out)
            .await
            .map_err(io("write CONNECT"))?;
        let (first, body) = s.read_packet("waiting for CONNACK").await?;
        match wire::parse(version, first, &body)? {
            Incoming::ConnAck {
                code: 0,
                receive_maximum,
            } => {
                s.receive_maximum = receive_maximum.unwrap_or(u16::MAX).max(1);
                Ok(s)
            }
            Incoming::ConnAck { code, .. } => Err(ClientError::Refused(code)),
            _ => Err(ClientError::Unexpected(first >> 4, "instead of CONNACK")),
        }
    }

    /// Subscribes to one filter and waits for a granting SUBACK.
    pub async fn subscribe(&mut self, filter: &str, qos: QoS) -> Result<(), ClientError> {
        let mut out = BytesMut::with_capacity(32 + filter.len());
        wire::subscribe(&mut out, self.version, 1, filter, qos);
        self.stream
            .write_all(&out)
            .await
            .map_err(io("write SUBSCRIBE"))?;
        loop {
            let (first, body) = self.read_packet("waiting for SUBACK").await?;
            match wire::parse(self.version, first, &body)? {
                Incoming::SubAck { codes, .. } => {
                    return match codes.first() {
                        Some(&code) if code < 0x80 => Ok(()),
                        Some(&code) => Err(ClientError::SubscribeRefused {
                            filter: filter.to_owned(),
                            code,
                        }),
                        None => Err(WireError::Malformed("SUBACK").into()),
                    };
                }
                // Retained messages may arrive before the SUBACK is read; skip them.
                Incoming::Publish { .. } | Incoming::PingResp => {}
                Incoming::Disconnect { reason } => return Err(ClientError::Disconnected(reason)),
                _ => return Err(ClientError::Unexpected(first >> 4, "instead of SUBACK")),
            }
        }
    }

    /// Reads one whole packet (slow path, for handshakes): its first byte and body.
    async fn read_packet(&mut self, what: &'static str) -> Result<(u8, BytesMut), ClientError> {
        let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
        loop {
            if let Some((hdr, total)) = wire::frame_len(&self.rbuf)?
                && self.rbuf.len() >= total
            {
                let first = self.rbuf[0];
                let mut frame = self.rbuf.split_to(total);
                frame.advance(hdr);
                return Ok((first, frame));
            }
            let n = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.rbuf))
                .await
                .map_err(|_| ClientError::Timeout(what))?
                .map_err(io("read"))?;
            if n == 0 {
                return Err(ClientError::Closed(what));
            }
        }
    }
}

/// Expands `%i` in a topic pattern to the client index.
#[must_use]
pub fn expand(pattern: &str, index: usize) -> String {
    pattern.replace("%i", &index.to_string())
}
