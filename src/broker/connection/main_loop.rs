//! A connection's main loop after CONNECT: the idle wait, written by hand so that an idle
//! connection's task stays small (see docs/benchmarks.md, issue 10), and what each wake-up
//! leads to (reading and decoding, writing what the router queued, the keep-alive close).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Connection, MIN_READ, WRITE_CHUNK};
use crate::broker::outbox::{CloseReason, Outbox};
use crate::broker::router::CloseKind;
use crate::protocol::encode::encode;
use crate::protocol::{Outgoing, ReasonCode};

/// A boxed wait, built only when needed (see [`RareWaits`]).
type Wait = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The waits an idle connection rarely needs: for bytes given back to the
/// `incoming_packet_budget`, and for congested consumers to catch up. Kept outside the task's
/// future and boxed only while one is in progress: inline they would cost every idle
/// connection their whole state (timers and waiters).
#[derive(Default)]
pub(super) struct RareWaits {
    budget: Option<Wait>,
    pressure: Option<Wait>,
}

impl RareWaits {
    /// Polls the wait in `slot`, building it with `make` first; true (and the slot emptied)
    /// once it is over.
    fn poll(slot: &mut Option<Wait>, make: impl FnOnce() -> Wait, cx: &mut Context<'_>) -> bool {
        let wait = slot.get_or_insert_with(make);
        if wait.as_mut().poll(cx).is_ready() {
            *slot = None;
            true
        } else {
            false
        }
    }
}

/// What ended an idle wait of [`Connection::run`], in the order they are looked at.
enum Wake {
    /// The router queued packets for this client, or asks for a close.
    Outbox,
    /// Bytes (or the end) from the client.
    Read(std::io::Result<usize>),
    /// The `incoming_packet_budget` may cover the next packet now.
    BudgetFreed,
    /// Back-pressure eased (or a pause slice passed): read at least once.
    PressureEased,
}

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// The main loop after CONNECT. Returns how the connection ended.
    ///
    /// While idle, the task waits in one hand-written poll ([`Connection::poll_wake`]) that
    /// holds no timer and no waiter of its own: the outbox has a waker slot, the socket is
    /// polled directly, keep-alive is the broker-wide sweeper's ([`super::keepalive`]) and the
    /// rare waits live outside the future ([`RareWaits`]). What a wake-up leads to runs in a
    /// boxed future, so none of its state is laid out in every idle task either (one small
    /// allocation per read or write batch is far cheaper than the syscall it accompanies).
    /// Idle connections must stay small: see docs/benchmarks.md, issue 10.
    pub(super) async fn run(&mut self, outbox: &Arc<Outbox>) -> CloseKind {
        // Packets that arrived in the same read as CONNECT (pipelined SUBSCRIBE, PUBLISH,
        // DISCONNECT) are handled now, not after the next read.
        if !self.rbuf.is_empty()
            && let Some(how) = Box::pin(self.on_bytes_and_flush()).await
        {
            return how;
        }
        let mut read_once = false;
        loop {
            self.prepare_read();
            // A large packet is read only once the broker-wide budget covers it.
            let may_read = match self.budget_gate() {
                Ok(may) => may,
                Err(fail) => return Box::pin(self.fail(fail)).await,
            };
            // While a consumer is congested, read only once per pause slice.
            // The congested consumer itself is never paused: its acknowledgements are what
            // frees everyone else.
            let paused = !read_once && self.shared.pressure.active() && !outbox.is_congested();
            self.drop_waits(may_read, paused);
            let wake =
                std::future::poll_fn(|cx| self.poll_wake(cx, outbox, may_read, paused)).await;
            let ended = match wake {
                Wake::Outbox => Box::pin(self.write_outbox(outbox)).await,
                Wake::Read(read) => {
                    read_once = false;
                    Box::pin(self.on_read(read, outbox)).await
                }
                Wake::BudgetFreed => None,
                Wake::PressureEased => {
                    read_once = true;
                    None
                }
            };
            if let Some(how) = ended {
                return how;
            }
        }
    }

    /// The idle wait: the first of these, looked at in this order, ends it: the outbox
    /// (packets to write or a close), the socket (unless paused or over the packet budget),
    /// bytes given back to the budget, back-pressure easing.
    fn poll_wake(
        &mut self,
        cx: &mut Context<'_>,
        outbox: &Outbox,
        may_read: bool,
        paused: bool,
    ) -> Poll<Wake> {
        if outbox.poll_ready(cx).is_ready() {
            return Poll::Ready(Wake::Outbox);
        }
        if may_read
            && !paused
            && let Poll::Ready(read) = self.poll_read(cx)
        {
            return Poll::Ready(Wake::Read(read));
        }
        if !may_read {
            let budget = self.shared.packet_budget.clone();
            let waits = self.waits.get_or_insert_with(Box::default);
            let make = || -> Wait { Box::pin(async move { budget.wait_freed().await }) };
            if RareWaits::poll(&mut waits.budget, make, cx) {
                return Poll::Ready(Wake::BudgetFreed);
            }
        }
        if paused {
            let pressure = self.shared.pressure.clone();
            let waits = self.waits.get_or_insert_with(Box::default);
            let make = || -> Wait { Box::pin(async move { pressure.wait().await }) };
            if RareWaits::poll(&mut waits.pressure, make, cx) {
                return Poll::Ready(Wake::PressureEased);
            }
        }
        Poll::Pending
    }

    /// Drops the rare waits that no longer apply (a wait that applies still is kept: it is
    /// registered already, and no wake-up is lost).
    fn drop_waits(&mut self, may_read: bool, paused: bool) {
        if let Some(w) = &mut self.waits {
            if may_read {
                w.budget = None;
            }
            if !paused {
                w.pressure = None;
            }
            if w.budget.is_none() && w.pressure.is_none() {
                self.waits = None;
            }
        }
    }

    /// Reads from the socket into the read buffer. An idle connection holds no read buffer
    /// at all: it reads into a small buffer on the stack and keeps only what arrived.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        if self.rbuf.capacity() == 0 {
            let mut small = [0u8; MIN_READ];
            let mut buf = ReadBuf::new(&mut small);
            return match Pin::new(&mut self.stream).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => {
                    self.rbuf.extend_from_slice(buf.filled());
                    Poll::Ready(Ok(buf.filled().len()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            };
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.rbuf)
    }

    /// Bytes (or the end) from the client: every complete packet is decoded and handed on,
    /// and the answers written. `Some` when the connection ends.
    async fn on_read(
        &mut self,
        read: std::io::Result<usize>,
        outbox: &Outbox,
    ) -> Option<CloseKind> {
        match read {
            Ok(0) | Err(_) => return Some(CloseKind::PeerClosed),
            Ok(n) => {
                self.shared.stats.add_received(n);
                self.adapt_read(n);
                self.share.read(n);
            }
        }
        let buffered = self.rbuf.len();
        match self.on_bytes().await {
            Ok(None) => {}
            Ok(Some(how)) => return Some(how),
            Err(fail) => return Some(self.fail(fail).await),
        }
        // Only a whole Control Packet is keep-alive traffic [MQTT311-3.1.2-24]
        // [MQTT5-3.1.2-22]: the bytes of a packet that never completes (a slow-loris trickle)
        // do not hold the connection open. The decoder takes whole packets only, so a shorter
        // buffer means one arrived.
        if self.rbuf.len() < buffered && outbox.keep_alive_limit().is_some() {
            outbox.heard(self.shared.keep_alives.now_ms());
        }
        self.share.decoded();
        if !self.flush().await {
            return Some(self.peer_gone().await);
        }
        None
    }

    /// Decodes and hands on what is buffered, then writes the answers (PINGRESP).
    async fn on_bytes_and_flush(&mut self) -> Option<CloseKind> {
        match self.on_bytes().await {
            Ok(None) => {}
            Ok(Some(how)) => return Some(how),
            Err(fail) => return Some(self.fail(fail).await),
        }
        self.share.decoded();
        if !self.flush().await {
            return Some(self.peer_gone().await);
        }
        None
    }

    /// Writes what the router queued; `Some` when the connection ends (a close was asked
    /// for, or the peer stopped taking bytes).
    async fn write_outbox(&mut self, outbox: &Outbox) -> Option<CloseKind> {
        let limit = outbox.keep_alive_limit();
        // A fresh vector each time: an idle connection then holds no queue memory.
        let mut pending = Vec::new();
        let close = outbox.take(&mut pending);
        if close == Some(CloseReason::KeepAlive) {
            // [MQTT311-3.1.2-24] [MQTT5-3.1.2-22]: silent for 1.5 x Keep Alive. Nothing more
            // is written but MQTT 5's reason [MQTT5-4.13.1-1].
            if self.version.is_v5() {
                let reason = Outgoing::Disconnect(ReasonCode::KeepAliveTimeout);
                encode(&mut self.wbuf, &reason, self.version);
                self.flush_close().await;
            }
            return Some(CloseKind::KeepAlive);
        }
        // Written in chunks of about WRITE_CHUNK: the write buffer never grows to the size of
        // a whole burst, and its memory is given back after it.
        let mut failed = false;
        for mut p in pending.drain(..) {
            if let (Outgoing::Publish(publish), Some(aliases)) =
                (&mut p, self.out_aliases.as_deref_mut())
            {
                aliases.apply(publish);
            }
            let at = self.wbuf.len();
            encode(&mut self.wbuf, &p, self.version);
            self.captured_out(at);
            if self.wbuf.len() >= WRITE_CHUNK && !self.flush_with_deadline(outbox, limit).await {
                failed = true;
                break;
            }
        }
        drop(pending);
        if failed {
            return Some(self.peer_gone().await);
        }
        if let Some(reason) = close {
            self.write_close(reason);
            self.linger = matches!(reason, CloseReason::Protocol(_) | CloseReason::TakenOver);
            self.flush_with_deadline(outbox, limit).await;
            return Some(CloseKind::Server);
        }
        if !self.flush_with_deadline(outbox, limit).await {
            return Some(self.peer_gone().await);
        }
        // Progress: a slow consumer that wrote all it had catches up.
        outbox.written();
        None
    }
}
