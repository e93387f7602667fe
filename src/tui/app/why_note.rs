//! The text of a why note the broker attached to a log line ([`Why`]): a leaf shared by the
//! log pane, the journeys and the packet inspector.

use crate::broker::event::Why;
use crate::inspect::WhyKey;

/// The why-note key of a broker note.
#[must_use]
pub fn why_key(why: Why) -> WhyKey {
    match why {
        Why::QosDowngrade { .. } => WhyKey::QosDowngrade,
        Why::RetainLive | Why::RetainOnSubscribe => WhyKey::RetainLiveVsSubscribe,
        Why::WillSent(_) => WhyKey::WillSent,
        Why::WillDiscarded => WhyKey::WillDiscarded,
        Why::DollarTopics => WhyKey::DollarTopics,
        Why::NoSubscriber => WhyKey::NoMatchingSubscription,
        Why::AclDenied => WhyKey::AclDenied,
        Why::NoLocal => WhyKey::NoLocal,
        Why::MaximumPacketSize => WhyKey::MaximumPacketSize,
        Why::Expired => WhyKey::MessageExpired,
        Why::QueueFull => WhyKey::QueueFull,
        Why::SharedGroupOtherMember => WhyKey::SharedGroupOtherMember,
    }
}

/// The why note under a log line: what happened here, the general rule, and its clauses.
#[must_use]
pub fn why_text(why: Why) -> String {
    let note = why_key(why).note();
    let here = match why {
        Why::QosDowngrade { published, granted } => format!(
            "published at QoS {published}, delivered at QoS {granted} because the subscription \
             was granted QoS {granted}."
        ),
        Why::RetainLive => {
            "the publisher set RETAIN, but this live delivery carries RETAIN 0.".into()
        }
        Why::RetainOnSubscribe => {
            "RETAIN 1: sent from the retained store because a subscription was made.".into()
        }
        Why::WillSent(cause) => format!("the will was published: {cause}."),
        Why::WillDiscarded => "the client sent DISCONNECT, so its will is discarded.".into(),
        Why::DollarTopics => {
            "a filter starting with '#' or '+' never matches a topic starting with '$'.".into()
        }
        other => format!("not delivered: {}.", other.short()),
    };
    format!(
        "why ({}): {here} {} {}",
        note.title,
        note.text,
        note.clauses.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::clause::is_known;

    #[test]
    fn every_why_note_names_a_version_tagged_clause() {
        let all = [
            Why::QosDowngrade {
                published: 1,
                granted: 0,
            },
            Why::RetainLive,
            Why::RetainOnSubscribe,
            Why::WillSent("the keep-alive ran out"),
            Why::WillDiscarded,
            Why::DollarTopics,
            Why::NoSubscriber,
            Why::AclDenied,
            Why::NoLocal,
            Why::MaximumPacketSize,
            Why::Expired,
            Why::QueueFull,
            Why::SharedGroupOtherMember,
        ];
        for w in all {
            let text = why_text(w);
            let clauses = why_key(w).note().clauses;
            assert!(!clauses.is_empty(), "{w:?}");
            for c in clauses {
                assert!(is_known(c), "{w:?}: {c}");
                assert!(text.contains(c), "{w:?}: {text}");
                assert!(c.contains("MQTT311") || c.contains("MQTT5"), "{c}");
            }
        }
        assert!(
            why_text(Why::QosDowngrade {
                published: 1,
                granted: 0
            })
            .contains("published at QoS 1, delivered at QoS 0")
        );
    }
}
