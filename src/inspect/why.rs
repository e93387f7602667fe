//! Why notes: short explanations of the behaviours that confuse MQTT users most, each keyed by a
//! small enum and tied to the clauses that rule it. `decode` prints them under its packet note;
//! the workbench shows them under log lines and in the packet inspector.

use std::fmt;

/// What a why note explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WhyKey {
    /// A message arrives at a lower QoS than it was published with.
    QosDowngrade,
    /// RETAIN is 1 only on deliveries made because of a new subscription.
    RetainLiveVsSubscribe,
    /// The Will Message was published.
    WillSent,
    /// The Will Message was discarded.
    WillDiscarded,
    /// Filters starting with a wildcard do not match topics starting with `$`.
    DollarTopics,
    /// Not delivered: no subscription matches the topic.
    NoMatchingSubscription,
    /// Not delivered: the access control list denies the subscriber read access.
    AclDenied,
    /// Not delivered: the subscriber is the publisher and subscribed with No Local.
    NoLocal,
    /// Not delivered: the packet is larger than the subscriber's Maximum Packet Size.
    MaximumPacketSize,
    /// Not delivered: the Message Expiry Interval ran out while the message waited.
    MessageExpired,
    /// Not delivered: the subscriber's queue was full.
    QueueFull,
    /// Not delivered to this client: its shared subscription group gave it to another member.
    SharedGroupOtherMember,
}

/// One why note: a title, a few sentences, and the clauses behind them (3.1.1 and 5.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhyNote {
    /// The key.
    pub key: WhyKey,
    /// A few words, for a list.
    pub title: &'static str,
    /// The explanation, in plain language.
    pub text: &'static str,
    /// Version-tagged clause references.
    pub clauses: &'static [&'static str],
}

/// The why notes, one per key.
pub const NOTES: &[WhyNote] = &[
    WhyNote {
        key: WhyKey::QosDowngrade,
        title: "QoS downgrade",
        text: "A message is delivered at the lower of the QoS it was published with and the \
               QoS the subscription was granted. A QoS 1 publish reaches a subscriber granted \
               QoS 0 as QoS 0; the SUBACK shows what was granted.",
        clauses: &["[MQTT311-3.8.4-6]", "MQTT5 §3.8.4"],
    },
    WhyNote {
        key: WhyKey::RetainLiveVsSubscribe,
        title: "RETAIN on live and subscribe-time delivery",
        text: "RETAIN is 1 on a message sent because a new subscription matched a retained \
               message, and 0 on a live delivery to an existing subscription, even when the \
               publisher set it. In MQTT 5 the subscription option Retain As Published keeps \
               the publisher's flag.",
        clauses: &[
            "[MQTT311-3.3.1-8]",
            "[MQTT311-3.3.1-9]",
            "[MQTT5-3.3.1-9]",
            "[MQTT5-3.3.1-12]",
        ],
    },
    WhyNote {
        key: WhyKey::WillSent,
        title: "Will sent",
        text: "The server publishes the Will Message when the connection ends without a \
               normal DISCONNECT: the keep-alive ran out (1.5 x Keep Alive without a packet), \
               the socket dropped, a protocol error, or another connection took the Client \
               Identifier over. In MQTT 5 a Will Delay Interval postpones it, and DISCONNECT \
               with reason 0x04 asks for it.",
        clauses: &[
            "[MQTT311-3.1.2-8]",
            "[MQTT311-3.1.2-24]",
            "[MQTT5-3.1.2-8]",
            "[MQTT5-3.1.2-22]",
        ],
    },
    WhyNote {
        key: WhyKey::WillDiscarded,
        title: "Will discarded",
        text: "A client that sends DISCONNECT (in MQTT 5 with reason 0x00) leaves cleanly: the \
               server deletes the Will Message without publishing it. In MQTT 5 a reconnect \
               before the Will Delay Interval ends also cancels it.",
        clauses: &["[MQTT311-3.14.4-3]", "[MQTT5-3.14.4-3]", "MQTT5 §3.1.3.2.2"],
    },
    WhyNote {
        key: WhyKey::DollarTopics,
        title: "$-topics and wildcards",
        text: "A filter whose first level is '+' or '#' does not match a topic starting with \
               '$' ($SYS/...). Subscribe to '$SYS/#' to see them.",
        clauses: &["[MQTT311-4.7.2-1]", "[MQTT5-4.7.2-1]"],
    },
    WhyNote {
        key: WhyKey::NoMatchingSubscription,
        title: "No matching subscription",
        text: "The message goes only to sessions with a subscription whose filter matches the \
               topic, level by level and case-sensitively; `mqtt-workbench match` shows why a \
               filter does or does not match. In MQTT 5 a QoS 1 or 2 publish may be answered \
               with reason 0x10.",
        clauses: &["[MQTT311-4.5.0-1]", "[MQTT311-4.7.3-4]", "MQTT5 §4.7"],
    },
    WhyNote {
        key: WhyKey::AclDenied,
        title: "Access control denied read",
        text: "The broker's access control list does not let the subscriber read this topic, \
               so the message is not sent to it, although its filter matches.",
        clauses: &["MQTT311 §5.4.2", "MQTT5 §5.4.2"],
    },
    WhyNote {
        key: WhyKey::NoLocal,
        title: "No Local",
        text: "The subscription was made with No Local (MQTT 5), and the message was published \
               on a connection with the same Client Identifier: it is not sent back.",
        clauses: &["[MQTT5-3.8.3-3]"],
    },
    WhyNote {
        key: WhyKey::MaximumPacketSize,
        title: "Maximum Packet Size",
        text: "The PUBLISH would be larger than the Maximum Packet Size the client announced \
               in CONNECT (MQTT 5): the server discards it for that client as if it had sent it.",
        clauses: &["[MQTT5-3.1.2-24]", "[MQTT5-3.1.2-25]"],
    },
    WhyNote {
        key: WhyKey::MessageExpired,
        title: "Message expiry",
        text: "The Message Expiry Interval (MQTT 5) ran out while the message waited for the \
               subscriber (offline or slow): the server deletes it instead of delivering it.",
        clauses: &["[MQTT5-3.3.2-5]"],
    },
    WhyNote {
        key: WhyKey::QueueFull,
        title: "Queue full",
        text: "The subscriber's session already holds as many queued or in-flight messages as \
               the broker allows (max_queued_messages); further messages for it are dropped \
               until it catches up.",
        clauses: &["MQTT311 §4.1", "MQTT5 §4.1"],
    },
    WhyNote {
        key: WhyKey::SharedGroupOtherMember,
        title: "Shared group chose another member",
        text: "The subscription is shared ($share/group/filter, MQTT 5): each message goes to \
               one member of the group, and this one went to another member.",
        clauses: &["MQTT5 §4.8.2"],
    },
];

impl WhyKey {
    /// Every key, in a fixed order.
    pub const ALL: [Self; 12] = [
        Self::QosDowngrade,
        Self::RetainLiveVsSubscribe,
        Self::WillSent,
        Self::WillDiscarded,
        Self::DollarTopics,
        Self::NoMatchingSubscription,
        Self::AclDenied,
        Self::NoLocal,
        Self::MaximumPacketSize,
        Self::MessageExpired,
        Self::QueueFull,
        Self::SharedGroupOtherMember,
    ];

    /// The note for this key.
    #[must_use]
    pub fn note(self) -> &'static WhyNote {
        // NOTES has one entry per key (checked by a test); the first entry is a safe fallback.
        NOTES.iter().find(|n| n.key == self).unwrap_or(&NOTES[0])
    }
}

impl fmt::Display for WhyNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {}",
            self.title,
            self.text,
            self.clauses.join(" ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::clause::is_known;

    #[test]
    fn every_key_has_text_and_known_clauses() {
        assert_eq!(NOTES.len(), WhyKey::ALL.len(), "one note per key");
        for key in WhyKey::ALL {
            let n = key.note();
            assert_eq!(n.key, key, "{key:?} has no note of its own");
            assert!(
                !n.title.is_empty() && n.text.len() > 40,
                "{key:?}: text too short"
            );
            assert!(!n.clauses.is_empty(), "{key:?}: no clause");
            for c in n.clauses {
                assert!(is_known(c), "{key:?}: unknown clause {c}");
            }
        }
    }
}
