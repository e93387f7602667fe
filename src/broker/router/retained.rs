//! The retained message store (§3.3.1.3): the last retained message per topic, found by
//! walking a subscription filter over a level tree.

use super::message::Message;
use super::tree::Node;

/// Every retained message, by topic.
#[derive(Debug, Default)]
pub struct RetainedStore {
    root: Node<Option<Message>>,
    count: usize,
    bytes: usize,
}

impl RetainedStore {
    /// Number of retained messages.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nothing is retained.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Total payload bytes retained.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Stores `msg` as the retained message of its topic, or deletes the topic's retained
    /// message when the payload is empty [MQTT311-3.3.1-10], [MQTT311-3.3.1-11] / [MQTT5-3.3.1-6], [MQTT5-3.3.1-7].
    pub fn set(&mut self, msg: Message) {
        let topic = msg.topic.clone();
        if msg.payload.is_empty() {
            if let Some(slot) = self.root.get_mut(&topic)
                && let Some(old) = slot.take()
            {
                self.count -= 1;
                self.bytes -= old.payload.len();
                self.root.prune(&topic, Option::is_none);
            }
            return;
        }
        let slot = self.root.entry(&topic);
        match slot.replace(msg) {
            Some(old) => self.bytes -= old.payload.len(),
            None => self.count += 1,
        }
        if let Some(m) = slot {
            self.bytes += m.payload.len();
        }
    }

    /// Clones every retained message whose topic matches `filter` into `out`.
    pub fn matching(&self, filter: &str, out: &mut Vec<Message>) {
        let levels: Vec<&str> = filter.split('/').collect();
        let mut stack: Vec<(&Node<Option<Message>>, usize)> = vec![(&self.root, 0)];
        while let Some((node, depth)) = stack.pop() {
            let Some(&level) = levels.get(depth) else {
                out.extend(node.value.iter().cloned());
                continue;
            };
            match level {
                "#" => {
                    // `a/#` also matches `a` itself (§4.7.1.2).
                    if depth > 0 {
                        out.extend(node.value.iter().cloned());
                    }
                    let mut sub: Vec<&Node<Option<Message>>> = node
                        .children
                        .iter()
                        // [MQTT311-4.7.2-1] [MQTT5-4.7.2-1]: a first-level wildcard never matches `$` topics.
                        .filter(|(k, _)| !(depth == 0 && k.starts_with('$')))
                        .map(|(_, n)| n)
                        .collect();
                    while let Some(n) = sub.pop() {
                        out.extend(n.value.iter().cloned());
                        sub.extend(n.children.values());
                    }
                }
                "+" => {
                    for (k, n) in &node.children {
                        if !(depth == 0 && k.starts_with('$')) {
                            stack.push((n, depth + 1));
                        }
                    }
                }
                _ => {
                    if let Some(n) = node.child(level) {
                        stack.push((n, depth + 1));
                    }
                }
            }
        }
    }

    /// Clones every retained message, `$` topics included, into `out`.
    pub fn all(&self, out: &mut Vec<Message>) {
        let mut stack = vec![&self.root];
        while let Some(n) = stack.pop() {
            out.extend(n.value.iter().cloned());
            stack.extend(n.children.values());
        }
    }

    /// Drops retained messages whose Message Expiry Interval has passed [MQTT5-3.3.2-5].
    pub fn remove_expired(&mut self, now: tokio::time::Instant) {
        let mut expired = Vec::new();
        let mut stack = vec![&self.root];
        while let Some(n) = stack.pop() {
            if let Some(m) = &n.value
                && m.expires_at.is_some_and(|t| t <= now)
            {
                expired.push(m.topic.clone());
            }
            stack.extend(n.children.values());
        }
        for topic in expired {
            if let Some(slot) = self.root.get_mut(&topic)
                && let Some(old) = slot.take()
            {
                self.count -= 1;
                self.bytes -= old.payload.len();
                self.root.prune(&topic, Option::is_none);
            }
        }
    }
}
