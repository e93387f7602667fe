//! What a log line carries for the workbench besides its text (issue 12): the broker-wide
//! message number of the message whose journey it belongs to, and a why note. `broker -v`
//! never prints either; [`super::event`] re-exports them.

/// A broker-wide message number: given to every routed message (a client's PUBLISH, a Will
/// Message, each subscribe-time delivery of a retained message), never reused while the broker
/// runs, and unrelated to the Packet Identifier. 0 means "no message".
pub type MessageNo = u64;

/// Why a log line deserves a note, as the router knows it (the workbench turns it into a
/// [`crate::inspect::WhyKey`] note). Carried in [`Tag::why`], never printed by `broker -v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Delivered at a lower QoS than published: the subscription was granted `granted`.
    QosDowngrade {
        /// QoS the publisher used.
        published: u8,
        /// QoS the subscription was granted.
        granted: u8,
    },
    /// A retained message forwarded live with RETAIN 0.
    RetainLive,
    /// A retained message sent with RETAIN 1 (because a subscription was made, or Retain As
    /// Published).
    RetainOnSubscribe,
    /// The Will Message was published, and why.
    WillSent(&'static str),
    /// The Will Message was discarded: the client sent a normal DISCONNECT.
    WillDiscarded,
    /// A filter starting with a wildcard does not match a `$`-topic.
    DollarTopics,
    /// No subscription matched the topic.
    NoSubscriber,
    /// The ACL denied the subscriber read access.
    AclDenied,
    /// No Local: not sent back to its publisher.
    NoLocal,
    /// Larger than the subscriber's Maximum Packet Size.
    MaximumPacketSize,
    /// The Message Expiry Interval ran out before delivery.
    Expired,
    /// The subscriber's queue was full.
    QueueFull,
    /// A shared subscription's group gave the message to another member.
    SharedGroupOtherMember,
}

impl Why {
    /// A few words for the log line of a message that was not delivered.
    #[must_use]
    pub fn short(self) -> &'static str {
        match self {
            Self::QosDowngrade { .. } => "QoS downgraded",
            Self::RetainLive => "RETAIN 0 on a live delivery",
            Self::RetainOnSubscribe => "RETAIN 1 from the retained store",
            Self::WillSent(_) => "will sent",
            Self::WillDiscarded => "will discarded",
            Self::DollarTopics => "a wildcard filter does not match a $-topic",
            Self::NoSubscriber => "no matching subscription",
            Self::AclDenied => "ACL denies read",
            Self::NoLocal => "No Local",
            Self::MaximumPacketSize => "larger than its Maximum Packet Size",
            Self::Expired => "message expired",
            Self::QueueFull => "queue full",
            Self::SharedGroupOtherMember => "its shared group gave it to another member",
        }
    }
}

/// What a log line carries for the workbench besides its text: the message it belongs to and
/// a why note. Both are filled only when events are built at all (a listening bus), so the
/// quiet broker pays nothing; `broker -v` ignores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tag {
    /// The message's journey this line belongs to (0: none).
    pub msg: MessageNo,
    /// A note that explains this line.
    pub why: Option<Why>,
}

impl Tag {
    /// A line of message `msg`'s journey.
    #[must_use]
    pub fn msg(msg: MessageNo) -> Self {
        Self { msg, why: None }
    }

    /// The same tag with a why note.
    #[must_use]
    pub fn why(self, why: Why) -> Self {
        Self {
            why: Some(why),
            ..self
        }
    }
}
