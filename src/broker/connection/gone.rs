//! The end of a connection whose peer went away while the broker was writing to it.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::Connection;
use crate::broker::router::CloseKind;

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// A write failed: the peer reset or closed the connection. What it sent just before may
    /// still wait unread in the socket, above all a DISCONNECT: a client that sends DISCONNECT
    /// and closes at once while a message to it is on the way resets the connection, and the
    /// broker's next write fails before it reads the DISCONNECT. So what is already there is
    /// read, without waiting, and handled, and a DISCONNECT among it still discards the Will
    /// [MQTT311-3.14.4-3] [MQTT5-3.14.4-3]. At most a few reads: the peer is gone.
    pub(super) async fn peer_gone(&mut self) -> CloseKind {
        for _ in 0..4 {
            match Box::pin(self.on_bytes()).await {
                Ok(Some(how)) => return how,
                Ok(None) => {}
                Err(_) => break,
            }
            let read = tokio::time::timeout(Duration::ZERO, self.stream.read_buf(&mut self.rbuf));
            match read.await {
                Ok(Ok(n)) if n > 0 => self.shared.stats.add_received(n),
                _ => break,
            }
        }
        CloseKind::PeerClosed
    }
}
