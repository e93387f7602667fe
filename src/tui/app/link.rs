//! The client link sub-model: where the client pane connects, its connection state, its
//! subscriptions and what it published.

use std::time::SystemTime;

use crate::profile::{Profile, Secret, options_address};
use crate::tui::client_link::{LinkEvent, OutgoingPublish};

/// A subscription of the client pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Topic filter.
    pub filter: String,
    /// Requested QoS.
    pub qos: u8,
    /// What the broker answered.
    pub state: SubState,
}

/// The broker's answer to a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubState {
    /// Not acknowledged yet.
    Pending,
    /// Granted with this QoS.
    Granted(u8),
    /// Refused, with the reason.
    Refused(String),
}

/// The client pane's connection state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientState {
    /// Connecting (first attempt or reconnecting).
    Connecting,
    /// Connected.
    Connected,
    /// The last attempt failed; retrying.
    Disconnected(String),
}

/// What the client pane is connected to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Target {
    /// The embedded broker.
    #[default]
    Embedded,
    /// A broker named on the command line (`-h`, `-p`, `-L`).
    Remote,
    /// A saved profile.
    Profile(String),
}

/// Where to connect the client pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectTo {
    /// The embedded broker.
    Embedded,
    /// A saved profile, with the password typed into the workbench if it asked for one.
    Profile {
        /// The profile.
        profile: Box<Profile>,
        /// The password entered at the prompt.
        password: Option<Secret>,
    },
}

impl ConnectTo {
    /// True for a profile with a password typed at the prompt.
    #[must_use]
    pub fn has_password(&self) -> bool {
        matches!(
            self,
            Self::Profile {
                password: Some(_),
                ..
            }
        )
    }
}

/// What the link model asks for after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Nothing.
    Nothing,
    /// (Re-)subscribe these filters (after a clean start).
    Subscribe(Vec<(String, u8)>),
    /// The broker refused a subscription.
    Refused {
        /// The filter.
        filter: String,
        /// Why.
        why: String,
    },
}

/// The client pane's connection as the status bar and the dialogs see it.
#[derive(Debug, Clone)]
pub struct Link {
    address: String,
    client_id: String,
    default_client_id: String,
    state: ClientState,
    subscriptions: Vec<Subscription>,
    target: Target,
    retry: Option<(u32, SystemTime)>,
    published: u64,
    history: Vec<OutgoingPublish>,
    history_cap: usize,
    /// A subscription asked for here that overlaps an existing one, and the note for it,
    /// said once its SUBACK comes.
    overlap_note: Option<(String, String)>,
    /// The connection's options as flags for the copied commands (task `polish`, item 3).
    login: crate::lessons::shell::Login,
}

/// Whether some topic matches both filters (`a/#` and `a/+/c`, `+/b` and `a/+`), so a
/// broker may deliver a message once per subscription. Wildcards at the first level do not
/// match topics starting with `$` ([MQTT311-4.7.2-1]).
#[must_use]
pub fn filters_overlap(a: &str, b: &str) -> bool {
    let (mut x, mut y) = (a.split('/'), b.split('/'));
    let mut first = true;
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some("#"), None) | (None, Some("#")) => return true,
            (None, Some(_)) | (Some(_), None) => return false,
            (Some(p), Some(q)) => {
                let wild = |l: &str| l == "#" || l == "+";
                if first && (p.starts_with('$') && wild(q) || q.starts_with('$') && wild(p)) {
                    return false;
                }
                if p == "#" || q == "#" {
                    return true;
                }
                if p != q && p != "+" && q != "+" {
                    return false;
                }
            }
        }
        first = false;
    }
}

impl Link {
    /// The link as it starts: connecting to `address` as `client_id`.
    #[must_use]
    pub fn new(
        address: String,
        client_id: String,
        target: Target,
        subscriptions: &[(String, u8)],
        history_cap: usize,
    ) -> Self {
        let mut link = Self {
            address,
            default_client_id: client_id.clone(),
            client_id,
            state: ClientState::Connecting,
            subscriptions: Vec::new(),
            target,
            retry: None,
            published: 0,
            history: Vec::new(),
            history_cap,
            overlap_note: None,
            login: crate::lessons::shell::Login::default(),
        };
        link.set_subscriptions(subscriptions.iter().cloned());
        link
    }

    /// Where the client pane connects (`host:port` or a URL).
    #[must_use]
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Where and how the copied `mosquitto_sub`/`mosquitto_pub` commands connect: the
    /// link's host and port with its TLS files, protocol version and username.
    #[must_use]
    pub fn command_endpoint(&self) -> crate::lessons::shell::Endpoint {
        let p = super::own_broker::place(&self.address);
        crate::lessons::shell::Endpoint {
            host: p.host,
            port: p.port,
            login: self.login.clone(),
        }
    }

    /// The link with the flags of the copied commands (a connection started from a profile
    /// or with TLS options).
    #[must_use]
    pub fn with_login(self, login: crate::lessons::shell::Login) -> Self {
        Self { login, ..self }
    }

    /// The client pane's client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The connection state.
    #[must_use]
    pub fn state(&self) -> &ClientState {
        &self.state
    }

    /// True when connected.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.state == ClientState::Connected
    }

    /// The subscriptions.
    #[must_use]
    pub fn subscriptions(&self) -> &[Subscription] {
        &self.subscriptions
    }

    /// What the client pane is connected to.
    #[must_use]
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// After a failure: the attempt count and when the next attempt starts.
    #[must_use]
    pub fn retry(&self) -> Option<(u32, SystemTime)> {
        self.retry
    }

    /// Messages published from the composer.
    #[must_use]
    pub fn published(&self) -> u64 {
        self.published
    }

    /// Publish history, newest last.
    #[must_use]
    pub fn history(&self) -> &[OutgoingPublish] {
        &self.history
    }

    /// Applies a connection event at `now` (messages are the message history's business).
    pub fn on_event(&mut self, event: LinkEvent, now: SystemTime) -> LinkOutcome {
        match event {
            LinkEvent::Message(_) | LinkEvent::UnsubAck | LinkEvent::Trace(_) => {
                LinkOutcome::Nothing
            }
            LinkEvent::Connected => {
                self.state = ClientState::Connected;
                self.retry = None;
                // Clean start: (re-)subscribe everything.
                LinkOutcome::Subscribe(
                    self.subscriptions
                        .iter_mut()
                        .map(|s| {
                            s.state = SubState::Pending;
                            (s.filter.clone(), s.qos)
                        })
                        .collect(),
                )
            }
            LinkEvent::Disconnected(why) => {
                self.state = ClientState::Disconnected(why);
                LinkOutcome::Nothing
            }
            LinkEvent::Refused(why) => {
                self.state = ClientState::Disconnected(why);
                self.retry = None;
                LinkOutcome::Nothing
            }
            LinkEvent::Retrying { attempt, delay } => {
                self.retry = Some((attempt, now + delay));
                LinkOutcome::Nothing
            }
            LinkEvent::SubAck { filter, result } => {
                if let Some(s) = self.subscriptions.iter_mut().find(|s| s.filter == filter) {
                    s.state = match &result {
                        Ok(q) => SubState::Granted(*q),
                        Err(e) => SubState::Refused(e.clone()),
                    };
                }
                match result {
                    Ok(_) => LinkOutcome::Nothing,
                    Err(why) => LinkOutcome::Refused { filter, why },
                }
            }
        }
    }

    /// A new connection attempt starts now.
    pub fn reconnecting(&mut self) {
        self.state = ClientState::Connecting;
        self.retry = None;
    }

    /// The run loop could not start the connection.
    pub fn connect_failed(&mut self, why: String) {
        self.state = ClientState::Disconnected(why);
        self.retry = None;
    }

    /// Adds (or replaces) a subscription, pending until the SUBACK.
    pub fn subscribe(&mut self, filter: String, qos: u8) {
        self.subscriptions.retain(|s| s.filter != filter);
        self.overlap_note = self
            .subscriptions
            .iter()
            .find(|s| filters_overlap(&s.filter, &filter))
            .map(|s| {
                let note = format!(
                    "it overlaps '{}': a broker may send one copy of a message per \
                     matching subscription (MQTT311 §3.3.5, MQTT5 §3.3.4), so such messages \
                     can show twice; the list marks a repeat 'copy'",
                    s.filter
                );
                (filter.clone(), note)
            });
        self.subscriptions.push(Subscription {
            filter,
            qos,
            state: SubState::Pending,
        });
    }

    /// How many of the subscriptions match `topic` (more than one: a broker may send copies).
    #[must_use]
    pub fn matching_subscriptions(&self, topic: &str) -> usize {
        self.subscriptions
            .iter()
            .filter(|s| crate::protocol::topic::matches(&s.filter, topic))
            .count()
    }

    /// The notice for `filter`'s SUBACK (QoS `granted`) when it overlaps another
    /// subscription (once).
    pub fn take_overlap_note(&mut self, filter: &str, granted: u8) -> Option<String> {
        match self.overlap_note.take() {
            Some((f, note)) if f == filter => Some(format!(
                "subscribed to '{filter}' (QoS {granted} granted); {note}"
            )),
            other => {
                self.overlap_note = other;
                None
            }
        }
    }

    /// Removes subscription `i`; returns its filter.
    pub fn unsubscribe(&mut self, i: usize) -> Option<String> {
        (i < self.subscriptions.len()).then(|| self.subscriptions.remove(i).filter)
    }

    /// Counts a PUBLISH sent from the composer and keeps it in the history.
    pub fn published_one(&mut self, p: &OutgoingPublish) {
        self.published += 1;
        if self.history.last() != Some(p) {
            self.history.push(p.clone());
            if self.history.len() > self.history_cap {
                self.history.remove(0);
            }
        }
    }

    /// Why `X` in the tree found no retained message, when the link goes to another broker
    /// (not the embedded one at `embedded`, which a profile may name too):
    /// its retained store is known only from RETAIN 1 deliveries, which come when a
    /// subscription is made; live deliveries carry RETAIN 0 ([MQTT311-3.3.1-9]).
    #[must_use]
    pub fn retained_unknown(&self, embedded: Option<&str>) -> Option<String> {
        let own = embedded.is_some_and(|b| super::own_broker::is_own_broker(&self.address, b));
        (self.target != Target::Embedded && !own).then(|| {
            format!(
                "no retained message known here: {} is another broker, whose retained \
                 messages the workbench learns only from RETAIN 1 deliveries when it \
                 subscribes (live ones carry RETAIN 0, [MQTT311-3.3.1-9]). r reconnects and \
                 subscribes again to learn them; X on a message in the list clears its topic",
                self.address
            )
        })
    }

    /// Points the link at the embedded broker at `addr`, subscribed to `#`.
    pub fn point_at_embedded(&mut self, addr: &str) {
        self.target = Target::Embedded;
        addr.clone_into(&mut self.address);
        self.client_id.clone_from(&self.default_client_id);
        self.login = crate::lessons::shell::Login::default();
        self.set_subscriptions([("#".to_owned(), 0)].into_iter());
        self.reconnecting();
    }

    /// Points the link at a saved profile, with its subscriptions (`#` when it has none).
    pub fn point_at_profile(&mut self, profile: &Profile) {
        self.target = Target::Profile(profile.name.clone());
        let options = profile.base_options();
        self.address = options
            .as_ref()
            .map_or_else(|_| profile.address(), options_address);
        let has_password = profile.password.is_some()
            || profile.password_env.is_some()
            || profile.password_file.is_some()
            || profile.ask_password;
        self.login = options
            .map(|o| crate::lessons::shell::Login::of(&o, has_password))
            .unwrap_or_default();
        self.client_id = profile
            .client_id
            .clone()
            .unwrap_or_else(|| self.default_client_id.clone());
        self.set_subscriptions(
            profile
                .subscriptions_or_all()
                .into_iter()
                .map(|(f, q)| (f, q as u8)),
        );
        self.reconnecting();
    }

    fn set_subscriptions(&mut self, subs: impl Iterator<Item = (String, u8)>) {
        self.subscriptions = subs
            .map(|(filter, qos)| Subscription {
                filter,
                qos,
                state: SubState::Pending,
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn link() -> Link {
        Link::new(
            "127.0.0.1:1883".into(),
            "wb".into(),
            Target::Embedded,
            &[("#".into(), 0), ("a/+".into(), 1)],
            2,
        )
    }

    /// Review item 10: which subscriptions can both match one topic.
    #[test]
    fn filters_overlap_when_one_topic_matches_both() {
        let yes = [
            ("#", "mqtt"),
            ("a/#", "a"),
            ("a/#", "a/+/c"),
            ("+/b", "a/+"),
            ("a/b", "a/b"),
            ("$SYS/#", "$SYS/broker"),
        ];
        let no = [
            ("a/b", "a/c"),
            ("a/+", "a/b/c"),
            ("#", "$SYS/broker"),
            ("+/x", "$SYS/x"),
            ("a", "a/b"),
        ];
        for (a, b) in yes {
            assert!(filters_overlap(a, b) && filters_overlap(b, a), "{a} {b}");
        }
        for (a, b) in no {
            assert!(!filters_overlap(a, b) && !filters_overlap(b, a), "{a} {b}");
        }
    }

    #[test]
    fn connection_events_drive_the_state() {
        let t0 = UNIX_EPOCH + Duration::from_secs(100);
        // (events, state, retry)
        type Retry = Option<(u32, SystemTime)>;
        let cases: &[(&[LinkEvent], ClientState, Retry)] = &[
            (&[], ClientState::Connecting, None),
            (&[LinkEvent::Connected], ClientState::Connected, None),
            (
                &[LinkEvent::Disconnected("gone".into())],
                ClientState::Disconnected("gone".into()),
                None,
            ),
            (
                &[
                    LinkEvent::Disconnected("gone".into()),
                    LinkEvent::Retrying {
                        attempt: 2,
                        delay: Duration::from_secs(4),
                    },
                ],
                ClientState::Disconnected("gone".into()),
                Some((2, t0 + Duration::from_secs(4))),
            ),
            (
                &[
                    LinkEvent::Retrying {
                        attempt: 1,
                        delay: Duration::from_secs(1),
                    },
                    LinkEvent::Connected,
                ],
                ClientState::Connected,
                None,
            ),
        ];
        for (events, state, retry) in cases {
            let mut l = link();
            for e in *events {
                l.on_event(e.clone(), t0);
            }
            assert_eq!((l.state(), l.retry()), (state, *retry), "{events:?}");
        }
    }

    #[test]
    fn connected_resubscribes_and_subacks_settle_each_filter() {
        let mut l = link();
        assert_eq!(
            l.on_event(LinkEvent::Connected, UNIX_EPOCH),
            LinkOutcome::Subscribe(vec![("#".into(), 0), ("a/+".into(), 1)])
        );
        let ok = LinkEvent::SubAck {
            filter: "#".into(),
            result: Ok(0),
        };
        assert_eq!(l.on_event(ok, UNIX_EPOCH), LinkOutcome::Nothing);
        let refused = LinkEvent::SubAck {
            filter: "a/+".into(),
            result: Err("not authorised".into()),
        };
        assert_eq!(
            l.on_event(refused, UNIX_EPOCH),
            LinkOutcome::Refused {
                filter: "a/+".into(),
                why: "not authorised".into()
            }
        );
        let states: Vec<_> = l.subscriptions().iter().map(|s| s.state.clone()).collect();
        assert_eq!(
            states,
            [
                SubState::Granted(0),
                SubState::Refused("not authorised".into())
            ]
        );
        assert_eq!(l.unsubscribe(0).as_deref(), Some("#"));
        assert_eq!(l.unsubscribe(5), None);
        l.subscribe("a/+".into(), 2);
        assert_eq!(l.subscriptions().len(), 1, "a filter is subscribed once");
        assert_eq!(l.subscriptions()[0].qos, 2);
    }

    #[test]
    fn publish_history_is_bounded_and_skips_repeats() {
        let mut l = link();
        let p = |t: &str| OutgoingPublish {
            topic: t.into(),
            payload: bytes::Bytes::new(),
            qos: 0,
            retain: false,
            props: crate::tui::client_link::PublishProps::default(),
        };
        for t in ["a", "a", "b", "c"] {
            l.published_one(&p(t));
        }
        assert_eq!(l.published(), 4);
        let topics: Vec<_> = l.history().iter().map(|p| p.topic.as_str()).collect();
        assert_eq!(topics, ["b", "c"]);
    }
}
