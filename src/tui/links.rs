//! The run loop's client links: one [`LinkHandle`] per connection of the model
//! ([`crate::tui::app::conns`]), their events merged into one stream tagged with the
//! connection they belong to. A replaced link's late events are dropped, never credited to
//! its successor.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{BoxStream, SelectAll};
use futures::{FutureExt as _, StreamExt as _};
use tokio::sync::mpsc;

use super::app::conns::ConnId;
use super::app::{Action, ConnectTo};
use super::client_link::{LinkEvent, LinkHandle};
use super::decode::Decoders;

/// Every live link, by connection.
pub(super) struct Links {
    links: Vec<(ConnId, u64, LinkHandle)>,
    events: SelectAll<BoxStream<'static, (u64, LinkEvent)>>,
    next_key: u64,
}

impl Links {
    pub(super) fn new() -> Self {
        Self {
            links: Vec::new(),
            events: SelectAll::new(),
            next_key: 0,
        }
    }

    /// Connection `conn`'s link, if it has one.
    pub(super) fn get(&self, conn: ConnId) -> Option<&LinkHandle> {
        self.links
            .iter()
            .find(|(c, _, _)| *c == conn)
            .map(|(_, _, l)| l)
    }

    /// Gives `conn` a new link (or none); the old one disconnects in the background.
    pub(super) fn replace(
        &mut self,
        conn: ConnId,
        next: Option<(LinkHandle, mpsc::Receiver<LinkEvent>)>,
    ) {
        self.close(conn);
        if let Some((link, rx)) = next {
            let key = self.next_key;
            self.next_key += 1;
            let events = futures::stream::unfold(rx, move |mut rx| async move {
                rx.recv().await.map(|ev| ((key, ev), rx))
            });
            self.events.push(events.boxed());
            self.links.push((conn, key, link));
        }
    }

    /// Stops `conn`'s link, if any (in the background).
    pub(super) fn close(&mut self, conn: ConnId) {
        if let Some(i) = self.links.iter().position(|(c, _, _)| *c == conn) {
            let (_, _, old) = self.links.remove(i);
            tokio::spawn(old.disconnect());
        }
    }

    fn conn_of(&self, key: u64) -> Option<ConnId> {
        self.links
            .iter()
            .find(|(_, k, _)| *k == key)
            .map(|(c, _, _)| *c)
    }

    /// The next event of any live link (never returns while there is none).
    pub(super) async fn recv(&mut self) -> (ConnId, LinkEvent) {
        loop {
            match self.events.next().await {
                Some((key, ev)) => {
                    if let Some(conn) = self.conn_of(key) {
                        return (conn, ev);
                    }
                }
                None => std::future::pending::<()>().await,
            }
        }
    }

    /// An event that is already waiting, if any.
    pub(super) fn try_recv(&mut self) -> Option<(ConnId, LinkEvent)> {
        while let Some(Some((key, ev))) = self.events.next().now_or_never() {
            if let Some(conn) = self.conn_of(key) {
                return Some((conn, ev));
            }
        }
        None
    }

    /// Builds the client trace of `shown` only (when it is `traced`): every other link's
    /// trace is off, so hidden connections format no trace lines.
    pub(super) fn trace_only(&self, shown: ConnId, traced: bool) {
        for (conn, _, link) in &self.links {
            link.set_trace(traced && *conn == shown);
        }
    }

    /// A polite DISCONNECT on every link, together, but never more than `wait`.
    pub(super) async fn disconnect_all(&mut self, wait: Duration) {
        let all = self.links.drain(..).map(|(_, _, l)| l.disconnect());
        let _ = tokio::time::timeout(wait, futures::future::join_all(all)).await;
    }
}

/// The decoders of a profile that names some, loaded (`.proto` files compiled) from the
/// profiles file's directory, as the action that gives them to connection `conn`.
pub(super) fn decoders_for(to: &ConnectTo, conn: ConnId, dir: Option<&Path>) -> Option<Action> {
    let ConnectTo::Profile { profile, .. } = to else {
        return None;
    };
    if profile.decoders.is_empty() {
        return None;
    }
    let base = crate::profile::config_dir(dir).unwrap_or_else(|_| ".".into());
    let (decoders, errors) = Decoders::load(&profile.decoders, &base);
    Some(Action::ConnDecoders(conn, Arc::new(decoders), errors))
}
