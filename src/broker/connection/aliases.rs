//! Topic Aliases this broker assigns to the messages it sends to an MQTT 5 client.

use std::collections::HashMap;
use std::sync::Arc;

/// Broker-assigned Topic Aliases for one MQTT 5 connection (MQTT5 §3.3.2.3.4): the first
/// PUBLISH on a topic carries the topic and a new alias, later ones the alias and an empty
/// topic. When every alias is taken, the least recently used one is given to the new topic
/// (sent with the topic again, which remaps it, MQTT5 §3.3.2.3.4). No alias exceeds the
/// client's Topic Alias Maximum [MQTT5-3.3.2-11].
#[derive(Debug)]
pub struct OutAliases {
    max: u16,
    /// Topic to (alias, last use).
    by_topic: HashMap<Arc<str>, (u16, u64)>,
    clock: u64,
}

impl OutAliases {
    /// Aliases 1..=`max`.
    #[must_use]
    pub fn new(max: u16) -> Self {
        Self {
            max,
            by_topic: HashMap::new(),
            clock: 0,
        }
    }

    /// The alias for `topic`, and whether the topic must be sent with it (first use of the
    /// alias for this topic). `None` if aliases are off.
    pub fn assign(&mut self, topic: &Arc<str>) -> Option<(u16, bool)> {
        if self.max == 0 || topic.is_empty() {
            return None;
        }
        self.clock += 1;
        let now = self.clock;
        if let Some((alias, used)) = self.by_topic.get_mut(topic) {
            *used = now;
            return Some((*alias, false));
        }
        let alias = if self.by_topic.len() < usize::from(self.max) {
            u16::try_from(self.by_topic.len() + 1).ok()?
        } else {
            let (old, alias) = self
                .by_topic
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(t, (a, _))| (t.clone(), *a))?;
            self.by_topic.remove(&old);
            alias
        };
        self.by_topic.insert(topic.clone(), (alias, now));
        Some((alias, true))
    }

    /// Puts the alias into an outgoing PUBLISH (and empties its topic after first use).
    pub fn apply(&mut self, p: &mut crate::protocol::Publish) {
        let Some((alias, first)) = self.assign(&p.topic) else {
            return;
        };
        p.properties
            .get_or_insert_with(Default::default)
            .topic_alias = Some(alias);
        if !first {
            p.topic = Arc::from("");
        }
    }
}
