//! The broker state view (`B`, issue 12): what the embedded broker holds now, from the
//! router's state query ([`crate::broker::router::state`]), asked again about four times a
//! second while the view is open and never while it is closed. Clients (the client pane's own
//! marked "you") with protocol version, keep-alive, will and session; their subscriptions
//! with granted QoS and options; in-flight and queued messages; retained messages.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use super::learn_io::LearnRequest;
use super::log::BrokerLog;
use crate::broker::BrokerEvent;
use crate::broker::router::state::{BrokerState, ClientState, MessageState, SubscriptionState};
use crate::inspect::version_name;
use crate::protocol::RetainHandling;

/// The broker state view.
#[derive(Debug, Clone)]
pub struct StateView {
    you: String,
    /// The poll id of this view's requests.
    pub poll: u64,
    state: Option<BrokerState>,
    lines: Vec<String>,
    /// First line shown.
    pub scroll: usize,
}

impl StateView {
    /// A view waiting for its first snapshot.
    #[must_use]
    pub fn new(you: &str, poll: u64) -> Self {
        Self {
            you: you.to_owned(),
            poll,
            state: None,
            lines: vec!["Asking the broker…".into()],
            scroll: 0,
        }
    }

    /// The next state request.
    #[must_use]
    pub fn request(&self, after: Duration) -> LearnRequest {
        LearnRequest::State {
            topic: None,
            after,
            poll: self.poll,
        }
    }

    /// The snapshot last received.
    #[must_use]
    pub fn state(&self) -> Option<&BrokerState> {
        self.state.as_ref()
    }

    /// A new snapshot; keep-alives come from the newest CONNECT lines in the log.
    pub fn set_state(&mut self, s: Option<BrokerState>, log: &BrokerLog) {
        self.lines = match &s {
            Some(s) => state_lines(s, &self.you, &keep_alives(log, s)),
            None => vec!["The embedded broker does not answer (stopped or restarting).".into()],
        };
        self.state = s;
    }

    /// The text shown.
    #[must_use]
    pub fn lines(&self) -> &[String] {
        &self.lines
    }
}

/// Each client's keep-alive as its newest `New client connected` log line says. Only the
/// clients in the snapshot count: the lines of clients that have gone since must not end the
/// search before every client in the snapshot is found.
fn keep_alives(log: &BrokerLog, s: &BrokerState) -> HashMap<Arc<str>, u16> {
    let mut out = HashMap::new();
    let wanted = s.clients.len();
    for (_, e) in log.ring().iter().rev() {
        if let BrokerEvent::ClientConnected {
            client, keep_alive, ..
        } = &e.event
            && s.clients.iter().any(|c| c.client_id == *client)
        {
            out.entry(client.clone()).or_insert(*keep_alive);
            if out.len() >= wanted {
                break;
            }
        }
    }
    out
}

/// One subscription's options in MQTT's words.
#[must_use]
pub fn options_text(sub: &SubscriptionState) -> String {
    let o = &sub.options;
    let mut t = format!("QoS {}", o.qos.as_u8());
    if o.no_local {
        t.push_str(", No Local");
    }
    if o.retain_as_published {
        t.push_str(", Retain As Published");
    }
    match o.retain_handling {
        RetainHandling::SendAtSubscribe => {}
        RetainHandling::SendIfNew => t.push_str(", Retain Handling 1 (only if new)"),
        RetainHandling::DoNotSend => t.push_str(", Retain Handling 2 (never)"),
    }
    if let Some(id) = sub.id {
        let _ = write!(t, ", Subscription Identifier {id}");
    }
    t
}

fn message_text(m: &MessageState) -> String {
    let mut t = String::new();
    if let Some(id) = m.packet_id {
        let _ = write!(t, "m{id} ");
    }
    let _ = write!(t, "'{}' QoS {} {} bytes", m.topic, m.qos, m.len);
    if m.retain {
        t.push_str(" retained");
    }
    if m.released {
        t.push_str(" (PUBREL sent, waiting for PUBCOMP)");
    }
    if let Some(e) = m.expires_in {
        let _ = write!(t, " expires in {} s", e.as_secs());
    }
    t
}

fn expiry_text(secs: u32) -> String {
    match secs {
        0 => "ends at disconnect".into(),
        u32::MAX => "never expires".into(),
        s => format!("expires {s} s after disconnect"),
    }
}

fn client_lines(c: &ClientState, you: &str, ka: Option<u16>, out: &mut Vec<String>) {
    let me = if &*c.client_id == you {
        "  ← you"
    } else {
        ""
    };
    let status = if c.online {
        "connected"
    } else {
        "offline, session kept"
    };
    out.push(format!("● {}  {status}{me}", c.client_id));
    let ka = ka.map_or_else(
        || "keep-alive unknown".into(),
        |k| format!("keep-alive {k} s"),
    );
    let will = if c.will { "will set" } else { "no will" };
    let mut facts = format!(
        "  {}, {ka}, {will}, session {}",
        version_name(c.version),
        expiry_text(c.session_expiry)
    );
    if let Some(u) = &c.username {
        let _ = write!(facts, ", user '{u}'");
    }
    if let Some(m) = c.max_packet_size {
        let _ = write!(facts, ", Maximum Packet Size {m}");
    }
    out.push(facts);
    if c.subscriptions.is_empty() {
        out.push("  no subscriptions".into());
    }
    for s in &c.subscriptions {
        let mut line = format!("  sub '{}'  {}", s.filter, options_text(s));
        if !s.group.is_empty() {
            let next = s.group_next.as_deref().unwrap_or("?");
            let _ = write!(line, ", group of {} (next: {next})", s.group.len());
        }
        out.push(line);
    }
    out.push(format!(
        "  in flight {}, queued {}",
        c.inflight_count, c.queued_count
    ));
    for m in &c.inflight {
        out.push(format!("    → {}", message_text(m)));
    }
    for m in &c.queued {
        out.push(format!("    ⋯ {}", message_text(m)));
    }
    let more = c.queued_count.saturating_sub(c.queued.len());
    if more > 0 {
        out.push(format!("    … {more} more queued"));
    }
}

/// The whole view as lines.
#[must_use]
pub fn state_lines(s: &BrokerState, you: &str, ka: &HashMap<Arc<str>, u16>) -> Vec<String> {
    let online = s.clients.iter().filter(|c| c.online).count();
    let mut out = vec![format!(
        "Clients: {} ({online} connected, {} offline sessions) · retained: {} · max in flight \
         {} · max queued {}",
        s.clients.len(),
        s.clients.len() - online,
        s.retained_count,
        s.max_inflight_messages,
        match s.max_queued_messages {
            0 => "unlimited".into(),
            n => n.to_string(),
        }
    )];
    for c in &s.clients {
        out.push(String::new());
        client_lines(c, you, ka.get(&c.client_id).copied(), &mut out);
    }
    out.push(String::new());
    let sys = s
        .retained
        .iter()
        .filter(|m| m.topic.starts_with("$SYS/"))
        .count();
    out.push(format!(
        "Retained messages ({}, of which {sys} $SYS topics, not listed)",
        s.retained_count
    ));
    for m in s.retained.iter().filter(|m| !m.topic.starts_with("$SYS/")) {
        out.push(format!("  {}", message_text(m)));
    }
    let more = s.retained_count.saturating_sub(s.retained.len());
    if more > 0 {
        out.push(format!("  … {more} more"));
    }
    out
}
