//! "Why didn't I receive it?" (`W`, issue 12): for one topic (the selected one, or typed
//! after `e`), every subscription in the embedded broker, each with match or no match and
//! the reason level by level ([`crate::inspect::topic_match`]), and for those that match,
//! what the broker knows that could still keep the message away: ACL read denial, No Local,
//! the shared group's choice, the session being offline, a full queue, the client's Maximum
//! Packet Size, Message Expiry, and the QoS it would arrive at. Each reason names its why
//! note ([`crate::inspect::why`]) and clauses. The broker is asked again about four times a
//! second while the view is open.

use std::fmt::Write as _;
use std::time::Duration;

use super::cmd::Cmd;
use super::learn_io::LearnRequest;
use super::prompt::{Prompt, PromptOutcome};
use crate::broker::router::state::{BrokerState, ClientState, SubscriptionState};
use crate::inspect::WhyKey;
use crate::inspect::topic_match::{check_topic, explain};

/// The "Why didn't I receive it?" view.
#[derive(Debug, Clone)]
pub struct WhyView {
    you: String,
    topic: String,
    prompt: Option<Prompt>,
    /// The poll id of this view's requests.
    pub poll: u64,
    state: Option<BrokerState>,
    lines: Vec<String>,
    /// First line shown.
    pub scroll: usize,
}

impl WhyView {
    /// The view for `topic` (none selected: the topic field opens at once).
    #[must_use]
    pub fn new(you: &str, topic: Option<&str>, poll: u64) -> Self {
        let mut v = Self {
            you: you.to_owned(),
            topic: topic.unwrap_or_default().to_owned(),
            prompt: None,
            poll,
            state: None,
            lines: Vec::new(),
            scroll: 0,
        };
        if topic.is_none() {
            v.edit();
        }
        v.lines = v.build();
        v
    }

    /// The topic asked about.
    #[must_use]
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The topic field, while open.
    #[must_use]
    pub fn prompt(&self) -> Option<&Prompt> {
        self.prompt.as_ref()
    }

    /// Opens the topic field, empty: what is typed is the new topic, not an addition to the
    /// current one (Enter on the empty field keeps the current topic).
    pub fn edit(&mut self) {
        self.prompt = Some(Prompt::new(""));
    }

    /// A command while the topic field is open; a new topic asks the broker at once.
    pub fn on_prompt(&mut self, cmd: Cmd) -> Option<LearnRequest> {
        let p = self.prompt.as_mut()?;
        match cmd {
            Cmd::Cancel => {
                self.prompt = None;
                None
            }
            _ => match p.update(cmd) {
                PromptOutcome::Submit(t) if t.is_empty() && !self.topic.is_empty() => {
                    self.prompt = None;
                    None
                }
                PromptOutcome::Submit(t) => {
                    if let Err(e) = check_topic(&t) {
                        p.refuse(format!("not a topic name: {e}"));
                        return None;
                    }
                    self.topic = t;
                    self.prompt = None;
                    self.scroll = 0;
                    self.lines = self.build();
                    // A new poll loop for the new topic; the old one's answer is dropped.
                    self.poll = super::learn_io::next_poll();
                    Some(self.request(Duration::ZERO))
                }
                PromptOutcome::Stay => None,
            },
        }
    }

    /// A typed key into the topic field.
    pub fn input(&mut self, input: ratatui_textarea::Input) {
        if let Some(p) = &mut self.prompt {
            p.input(input);
        }
    }

    /// Pasted text into the topic field.
    pub fn paste(&mut self, text: &str) {
        if let Some(p) = &mut self.prompt {
            p.paste(text);
        }
    }

    /// The next state request (with the topic, for the ACL check).
    #[must_use]
    pub fn request(&self, after: Duration) -> LearnRequest {
        LearnRequest::State {
            topic: (!self.topic.is_empty()).then(|| self.topic.clone()),
            after,
            poll: self.poll,
        }
    }

    /// A new snapshot.
    pub fn set_state(&mut self, s: Option<BrokerState>) {
        self.state = s;
        self.lines = self.build();
    }

    /// The text shown.
    #[must_use]
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    fn build(&self) -> Vec<String> {
        if self.topic.is_empty() {
            return vec!["Type a topic name and press Enter.".into()];
        }
        let Some(s) = &self.state else {
            return vec![format!("Topic '{}': asking the broker…", self.topic)];
        };
        why_lines(s, &self.topic, &self.you)
    }
}

fn note(key: WhyKey) -> String {
    let n = key.note();
    format!("[{}: {}]", n.title, n.clauses.join(" "))
}

/// Why a matching subscription may still not get the message, as the broker knows it now:
/// each reason with the why note that explains it.
fn obstacles(
    c: &ClientState,
    sub: &SubscriptionState,
    max_queued: usize,
) -> Vec<(String, Option<WhyKey>)> {
    let mut out = Vec::new();
    if c.may_read == Some(false) {
        out.push((
            format!(
                "ACL: '{}' may not read this topic: nothing is sent to it",
                c.client_id
            ),
            Some(WhyKey::AclDenied),
        ));
    }
    if !sub.group.is_empty() {
        let next = sub.group_next.as_deref().unwrap_or("?");
        let who = if next == &*c.client_id {
            "this client".to_owned()
        } else {
            format!("'{next}'")
        };
        out.push((
            format!(
                "shared: each message goes to one of {} members; the next to {who}",
                sub.group.len()
            ),
            Some(WhyKey::SharedGroupOtherMember),
        ));
    }
    if sub.options.no_local {
        out.push((
            format!(
                "No Local: not sent back when '{}' publishes it itself",
                c.client_id
            ),
            Some(WhyKey::NoLocal),
        ));
    }
    if !c.online {
        out.push((
            format!(
                "offline: QoS 1 and 2 wait in the session's queue ({} queued); QoS 0 does not",
                c.queued_count
            ),
            None,
        ));
    }
    if max_queued > 0 && c.queued_count + c.inflight_count >= max_queued {
        out.push((
            format!(
                "queue full ({} in flight + {} queued, max {max_queued}): new messages dropped",
                c.inflight_count, c.queued_count
            ),
            Some(WhyKey::QueueFull),
        ));
    }
    if let Some(m) = c.max_packet_size {
        out.push((
            format!("Maximum Packet Size {m}: a larger PUBLISH is dropped for this client"),
            Some(WhyKey::MaximumPacketSize),
        ));
    }
    if c.queued.iter().any(|m| m.expires_in.is_some()) {
        out.push((
            "queued messages with a Message Expiry Interval are dropped when it runs out".into(),
            Some(WhyKey::MessageExpired),
        ));
    }
    let q = sub.options.qos.as_u8();
    if q < 2 {
        out.push((
            format!("arrives at QoS {q} at most (the granted QoS), whatever it was published at"),
            Some(WhyKey::QosDowngrade),
        ));
    }
    out
}

/// The whole view as lines.
#[must_use]
pub fn why_lines(s: &BrokerState, topic: &str, you: &str) -> Vec<String> {
    let mut out = vec![format!("Topic '{topic}'")];
    if let Err(e) = check_topic(topic) {
        out.push(format!("  not a valid topic name: {e}"));
        return out;
    }
    let total: usize = s.clients.iter().map(|c| c.subscriptions.len()).sum();
    let mut matching = 0;
    let mut body = Vec::new();
    for c in &s.clients {
        let me = if &*c.client_id == you { " (you)" } else { "" };
        let state = if c.online { "connected" } else { "offline" };
        body.push(String::new());
        body.push(format!("● {}{me}, {state}", c.client_id));
        if c.subscriptions.is_empty() {
            body.push("  no subscriptions: receives nothing".into());
        }
        for sub in &c.subscriptions {
            let e = explain(topic, &sub.filter);
            let verdict = match &e.verdict {
                Ok(true) => {
                    matching += 1;
                    "MATCH"
                }
                Ok(false) => "no match",
                Err(_) => "invalid filter",
            };
            body.push(format!("  {verdict:<8} '{}'", sub.filter));
            if let Err(inv) = &e.verdict {
                body.push(format!("      {inv}"));
            }
            for step in &e.steps {
                body.push(format!("      {step}"));
            }
            if e.verdict == Ok(true) {
                for (o, key) in obstacles(c, sub, s.max_queued_messages) {
                    body.push(format!("      ⚠ {o}"));
                    if let Some(k) = key {
                        body.push(format!("        {}", note(k)));
                    }
                }
            }
        }
    }
    let mut head = String::new();
    let _ = write!(
        head,
        "  {matching} of {total} subscriptions match, in {} sessions",
        s.clients.len()
    );
    out.push(head);
    if matching == 0 {
        out.push(format!(
            "  nobody receives it {}",
            note(WhyKey::NoMatchingSubscription)
        ));
    }
    if topic.starts_with('$') {
        out.push(format!("  {}", note(WhyKey::DollarTopics)));
    }
    out.extend(body);
    out
}
