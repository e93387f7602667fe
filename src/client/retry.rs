//! A client that tries a lost connection again on the same rumqttc event loop, as
//! libmosquitto's loop does for `mosquitto_sub`, so its Packet Identifiers go on counting.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{
    ClientEvent, ClientHandle, ConnectOptions, EVENT_QUEUE, FailureKind, Inner, Session, Shared,
    build,
};

/// Like [`connect_with_trace`], and once connected, a connection lost to a socket error (or
/// a broker briefly unreachable) is tried again every `delay` on the same client, as
/// libmosquitto's loop does for `mosquitto_sub`: the stream carries
/// [`ClientEvent::Disconnected`] (then [`ClientEvent::ConnectFailed`] for each failed
/// attempt) and [`ClientEvent::Connected`] again. The client keeps its state, so Packet
/// Identifiers go on counting where they were, as mosquitto's do, instead of starting at 1.
#[must_use]
pub fn connect_with_trace_retrying(
    opts: ConnectOptions,
    trace: bool,
    delay: Duration,
) -> (ClientHandle, mpsc::Receiver<ClientEvent>) {
    start(opts, Arc::new(AtomicBool::new(trace)), Some(delay))
}

/// Whether a failure of this kind is worth another attempt on a connection that was up:
/// socket errors and a briefly unreachable broker are; a refusal, a TLS failure or unusable
/// options are not (libmosquitto's loop gives up on those too).
#[must_use]
pub fn retryable(kind: Option<FailureKind>) -> bool {
    matches!(
        kind,
        Some(FailureKind::Socket | FailureKind::Lookup | FailureKind::Other) | None
    )
}

/// Starts the connection task; with `retry`, a lost connection is tried again after it.
pub(super) fn start(
    opts: ConnectOptions,
    trace: Arc<AtomicBool>,
    retry: Option<Duration>,
) -> (ClientHandle, mpsc::Receiver<ClientEvent>) {
    let (tx, rx) = mpsc::channel(EVENT_QUEUE);
    let shared = Arc::new(Shared::default());
    let mut session = Session::new(&opts, tx, shared.clone(), trace);
    session.retry = retry;
    let inner = match build(&opts) {
        Ok((inner, eventloop)) => {
            tokio::spawn(session.run(eventloop));
            inner
        }
        Err(reason) => {
            shared.set_failure(FailureKind::Options);
            tokio::spawn(async move {
                let _ = session
                    .tx
                    .send(ClientEvent::ConnectFailed { reason, code: None })
                    .await;
            });
            Inner::Failed
        }
    };
    (ClientHandle { inner, shared }, rx)
}
