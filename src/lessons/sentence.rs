//! A lesson check as the learner reads it: one plain sentence ("The broker receives a
//! PUBLISH on 'mqtt' of 11 bytes."), never the matcher's own words (`publish_received
//! topic=mqtt len=11`), which stay in the lesson file and the checker.

use super::Check;

/// What an event kind says happened; `{who}` is the client ("a client" when the check names
/// none).
fn phrase(kind: &str) -> &'static str {
    match kind {
        "starting" => "The broker starts",
        "running" => "The broker is running",
        "terminating" => "The broker shuts down",
        "config" => "The broker reads its configuration",
        "local_only_mode" => "The broker starts in local only mode",
        "opening_listener" => "The broker opens a listener",
        "notice" => "The broker logs a notice",
        "warning" => "The broker logs a warning",
        "error" => "The broker logs an error",
        "new_connection" => "A new network connection reaches the broker",
        "client_connected" => "{who} connects",
        "no_will" => "{who} connects without a Will",
        "will_specified" => "{who} connects with a Will",
        "connack_sent" => "The broker answers {who} with a CONNACK",
        "takeover" => "A new connection takes over the Session of {who}",
        "subscribe_received" => "The broker receives a SUBSCRIBE from {who}",
        "suback_sent" => "The broker answers {who} with a SUBACK",
        "unsubscribe_received" => "The broker receives an UNSUBSCRIBE from {who}",
        "unsuback_sent" => "The broker answers {who} with an UNSUBACK",
        "publish_received" => "The broker receives a PUBLISH from {who}",
        "publish_denied" => "The broker refuses a PUBLISH from {who}",
        "publish_sent" => "The broker sends a PUBLISH to {who}",
        "puback_sent" => "The broker sends a PUBACK to {who}",
        "puback_received" => "The broker receives a PUBACK from {who}",
        "pubrec_sent" => "The broker sends a PUBREC to {who}",
        "pubrec_received" => "The broker receives a PUBREC from {who}",
        "pubrel_received" => "The broker receives a PUBREL from {who}",
        "pubrel_sent" => "The broker sends a PUBREL to {who}",
        "pubcomp_sent" => "The broker sends a PUBCOMP to {who}",
        "pubcomp_received" => "The broker receives a PUBCOMP from {who}",
        "pingreq_received" => "The broker receives a PINGREQ from {who}",
        "pingresp_sent" => "The broker answers {who} with a PINGRESP",
        "disconnect_received" => "{who} sends a DISCONNECT",
        "disconnected" => "{who} disconnects",
        "connection_closed" => "The connection of {who} closes",
        "keepalive_timeout" => "The Keep Alive of {who} runs out",
        "malformed_packet" => "The broker closes the connection of {who} for a malformed packet",
        "protocol_error" => "The broker closes the connection of {who} for a protocol error",
        "oversize_packet" => "The broker refuses a packet from {who} over its size limit",
        "not_authorised" => "The broker refuses {who}: not authorised",
        "disconnected_because" => "The broker disconnects {who} and says why",
        "messages_dropped" => "The broker drops messages queued for {who}",
        "session_expired" => "The Session of {who} expires",
        "lagged" => "The log falls behind the broker",
        _ => "The broker logs the expected line",
    }
}

fn protocol(p: u8) -> String {
    match p {
        1 => "MQTT 3.1".into(),
        2 | 4 => "MQTT 3.1.1".into(),
        5 => "MQTT 5.0".into(),
        n => format!("protocol level {n}"),
    }
}

impl Check {
    /// The check as one sentence for the learner, with every field the check compares.
    #[must_use]
    pub fn sentence(&self) -> String {
        let who = match (&self.client, &self.client_prefix) {
            (Some(c), _) => format!("client '{c}'"),
            (None, Some(p)) => format!("a client whose id starts with '{p}'"),
            (None, None) => "a client".to_owned(),
        };
        let mut s = phrase(&self.event).replace("{who}", &who);
        if let Some(first) = s.get(..1).map(str::to_ascii_uppercase) {
            s.replace_range(..1, &first);
        }
        let mut add = |part: String| {
            s.push(' ');
            s.push_str(&part);
        };
        if let Some(t) = &self.topic {
            if t.contains(['+', '#']) {
                add(format!("on a topic matching '{t}'"));
            } else {
                add(format!("on the topic '{t}'"));
            }
        }
        if let Some(f) = &self.filter {
            add(format!("for the filter '{f}'"));
        }
        if let Some(q) = self.qos {
            add(format!("at QoS {q}"));
        }
        if let Some(r) = self.retain {
            add(if r {
                "with RETAIN set"
            } else {
                "with RETAIN clear"
            }
            .into());
        }
        if let Some(n) = self.len {
            add(format!("carrying {n} bytes"));
        }
        if let Some(c) = self.clean {
            add(if c {
                "with a clean session"
            } else {
                "keeping its session"
            }
            .into());
        }
        if let Some(p) = self.protocol {
            add(format!("over {}", protocol(p)));
        }
        if let Some(k) = self.keep_alive_max {
            add(format!("with a Keep Alive of at most {k} s"));
        }
        if let Some(p) = self.session_present {
            add(if p {
                "saying the Session was present"
            } else {
                "saying there was no Session"
            }
            .into());
        }
        if let Some(n) = self.count.filter(|n| *n > 1) {
            add(format!("({n} times)"));
        }
        s.push('.');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lessons::{builtin, events::KINDS};

    #[test]
    fn every_kind_has_its_own_sentence() {
        for kind in KINDS {
            let c = Check {
                event: (*kind).to_owned(),
                ..Check::default()
            };
            let s = c.sentence();
            assert_ne!(phrase(kind), phrase("no such kind"), "{kind}");
            assert!(!s.contains('_') && !s.contains('{'), "{kind}: {s}");
        }
    }

    #[test]
    fn a_check_reads_as_a_sentence_with_every_field() {
        let c = Check {
            event: "publish_received".into(),
            topic: Some("mqtt".into()),
            len: Some(11),
            ..Check::default()
        };
        assert_eq!(
            c.sentence(),
            "The broker receives a PUBLISH from a client on the topic 'mqtt' carrying 11 bytes."
        );
        let c = Check {
            event: "client_connected".into(),
            client: Some("lesson".into()),
            keep_alive_max: Some(5),
            protocol: Some(5),
            ..Check::default()
        };
        assert_eq!(
            c.sentence(),
            "Client 'lesson' connects over MQTT 5.0 with a Keep Alive of at most 5 s."
        );
    }

    /// Item 2 of the review: no step of a built-in lesson shows matcher text.
    #[test]
    fn no_built_in_step_shows_matcher_text() {
        let lessons = builtin().unwrap_or_default();
        assert!(!lessons.is_empty());
        for l in &lessons {
            for step in &l.steps {
                for c in &step.check {
                    let s = c.sentence();
                    for op in ["=", "<=", "^=", "_received", "_sent"] {
                        assert!(!s.contains(op), "{}: {s}", l.title);
                    }
                    assert!(s.ends_with('.') && s.starts_with(char::is_uppercase), "{s}");
                }
            }
        }
    }
}
