//! The subscription index: a level tree of filters, plus shared subscription groups
//! (`$share/<group>/<filter>`, MQTT 5 §4.8.2).

use std::collections::HashMap;
use std::sync::Arc;

use super::tree::{LevelHasher, Node};
use crate::protocol::SubscriptionOptions;

/// Nodes still to visit while matching, with their depth; on the stack for usual topics.
type WalkStack<'a> = smallvec::SmallVec<[(&'a Node<Vec<Entry>>, usize); 16]>;

/// Index of a session in the router's session table.
pub type SessionIdx = u32;

/// Who receives the messages of one subscription entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One session.
    Session(SessionIdx),
    /// One member of a shared subscription group, chosen per message.
    Group(u32),
}

/// One receiver of one message, after overlapping subscriptions were merged (built by the
/// router's fan-out from the [`Entry`]s a topic matched).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The receiving session.
    pub session: SessionIdx,
    /// The merged options: the highest QoS, Retain As Published if any asked for it.
    pub options: SubscriptionOptions,
    /// Every Subscription Identifier of the merged subscriptions [MQTT5-3.3.4-3].
    pub ids: Vec<u32>,
}

/// One subscription stored at a filter's node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The receiver.
    pub target: Target,
    /// Options (for groups: unused; each member keeps its own).
    pub options: SubscriptionOptions,
    /// Subscription Identifier (MQTT 5 §3.8.2.1.2).
    pub id: Option<u32>,
}

/// A member of a shared subscription group.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    /// The member's session.
    pub session: SessionIdx,
    /// Its options.
    pub options: SubscriptionOptions,
    /// Its Subscription Identifier.
    pub id: Option<u32>,
}

/// A shared subscription group for one filter.
#[derive(Debug)]
pub struct SharedGroup {
    /// `group` of `$share/group/filter`.
    pub name: Arc<str>,
    /// The filter.
    pub filter: Arc<str>,
    /// Members in subscription order.
    pub members: Vec<Member>,
    /// Round-robin position.
    pub next: usize,
}

/// The index of every subscription in the broker.
#[derive(Debug, Default)]
pub struct Subscriptions {
    root: Node<Vec<Entry>>,
    groups: Vec<Option<SharedGroup>>,
    group_index: HashMap<(Arc<str>, Arc<str>), u32, LevelHasher>,
    free_groups: Vec<u32>,
    count: usize,
}

impl Subscriptions {
    /// Number of (non-shared and shared) subscriptions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nobody subscribes to anything.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds or replaces a session's subscription to `filter`. Returns true if it is new.
    pub fn insert(
        &mut self,
        session: SessionIdx,
        filter: &str,
        options: SubscriptionOptions,
        id: Option<u32>,
    ) -> bool {
        let entries = self.root.entry(filter);
        if let Some(e) = entries
            .iter_mut()
            .find(|e| e.target == Target::Session(session))
        {
            e.options = options;
            e.id = id;
            return false;
        }
        entries.push(Entry {
            target: Target::Session(session),
            options,
            id,
        });
        self.count += 1;
        true
    }

    /// Removes a session's subscription. Returns true if it existed.
    pub fn remove(&mut self, session: SessionIdx, filter: &str) -> bool {
        let Some(entries) = self.root.get_mut(filter) else {
            return false;
        };
        let before = entries.len();
        entries.retain(|e| e.target != Target::Session(session));
        let removed = entries.len() != before;
        if removed {
            self.count -= 1;
            if entries.is_empty() {
                self.root.prune(filter, Vec::is_empty);
            }
        }
        removed
    }

    /// Adds or replaces a member of `$share/group/filter`. Returns true if it is new.
    pub fn insert_shared(
        &mut self,
        session: SessionIdx,
        group: &str,
        filter: &str,
        options: SubscriptionOptions,
        id: Option<u32>,
    ) -> bool {
        let key: (Arc<str>, Arc<str>) = (group.into(), filter.into());
        let gidx = if let Some(&g) = self.group_index.get(&key) {
            g
        } else {
            let g = SharedGroup {
                name: key.0.clone(),
                filter: key.1.clone(),
                members: Vec::new(),
                next: 0,
            };
            let gidx = match self.free_groups.pop() {
                Some(i) => {
                    self.groups[i as usize] = Some(g);
                    i
                }
                None => {
                    self.groups.push(Some(g));
                    u32::try_from(self.groups.len() - 1).unwrap_or(u32::MAX)
                }
            };
            self.group_index.insert(key, gidx);
            self.root.entry(filter).push(Entry {
                target: Target::Group(gidx),
                options,
                id: None,
            });
            gidx
        };
        let Some(Some(group)) = self.groups.get_mut(gidx as usize) else {
            return false;
        };
        if let Some(m) = group.members.iter_mut().find(|m| m.session == session) {
            m.options = options;
            m.id = id;
            return false;
        }
        group.members.push(Member {
            session,
            options,
            id,
        });
        self.count += 1;
        true
    }

    /// Removes a member from `$share/group/filter`. Returns true if it was a member.
    pub fn remove_shared(&mut self, session: SessionIdx, group: &str, filter: &str) -> bool {
        let key: (Arc<str>, Arc<str>) = (group.into(), filter.into());
        let Some(&gidx) = self.group_index.get(&key) else {
            return false;
        };
        let Some(Some(g)) = self.groups.get_mut(gidx as usize) else {
            return false;
        };
        let before = g.members.len();
        g.members.retain(|m| m.session != session);
        if g.members.len() == before {
            return false;
        }
        self.count -= 1;
        if g.members.is_empty() {
            self.groups[gidx as usize] = None;
            self.free_groups.push(gidx);
            self.group_index.remove(&key);
            if let Some(entries) = self.root.get_mut(filter) {
                entries.retain(|e| e.target != Target::Group(gidx));
                if entries.is_empty() {
                    self.root.prune(filter, Vec::is_empty);
                }
            }
        }
        true
    }

    /// The root of the filter tree (read-only, for the state snapshot).
    #[must_use]
    pub fn root(&self) -> &Node<Vec<Entry>> {
        &self.root
    }

    /// A shared group by index.
    pub fn group_mut(&mut self, gidx: u32) -> Option<&mut SharedGroup> {
        self.groups.get_mut(gidx as usize).and_then(Option::as_mut)
    }

    /// Appends every entry whose filter matches `topic` to `out` (§4.7), iteratively.
    pub fn matches(&self, topic: &str, out: &mut Vec<Entry>) {
        // On the stack for topics of up to 16 levels: no allocation on the hot path.
        let levels: smallvec::SmallVec<[&str; 16]> = topic.split('/').collect();
        let dollar = topic.starts_with('$');
        let mut stack: WalkStack<'_> = smallvec::smallvec![(&self.root, 0)];
        while let Some((node, depth)) = stack.pop() {
            // [MQTT311-4.7.2-1] [MQTT5-4.7.2-1]: no wildcard at the first level matches a `$` topic.
            let wild_ok = !(depth == 0 && dollar);
            if wild_ok && let Some(h) = node.child("#") {
                out.extend_from_slice(&h.value);
            }
            let Some(&level) = levels.get(depth) else {
                out.extend_from_slice(&node.value);
                continue;
            };
            if let Some(c) = node.child(level) {
                stack.push((c, depth + 1));
            }
            if wild_ok && let Some(p) = node.child("+") {
                stack.push((p, depth + 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(s: &Subscriptions, topic: &str) -> Vec<u32> {
        let mut out = Vec::new();
        s.matches(topic, &mut out);
        let mut v: Vec<u32> = out
            .iter()
            .filter_map(|e| match e.target {
                Target::Session(i) => Some(i),
                Target::Group(_) => None,
            })
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn tree_matches_like_the_reference_matcher() {
        let filters = [
            "#", "+", "a/#", "a/+", "a/b", "+/b", "$SYS/#", "a/+/c", "/+", "+/+",
        ];
        let mut s = Subscriptions::default();
        for (i, f) in filters.iter().enumerate() {
            s.insert(i as u32, f, SubscriptionOptions::default(), None);
        }
        for topic in [
            "a", "a/b", "a/b/c", "$SYS/x", "/x", "b", "x/b", "a/x/c", "$SYS",
        ] {
            let mut expected: Vec<u32> = filters
                .iter()
                .enumerate()
                .filter(|(_, f)| crate::protocol::topic::matches(f, topic))
                .map(|(i, _)| i as u32)
                .collect();
            expected.sort_unstable();
            assert_eq!(sessions(&s, topic), expected, "topic {topic}");
        }
        assert!(s.remove(2, "a/#"));
        assert!(!s.remove(2, "a/#"));
        assert_eq!(s.len(), filters.len() - 1);
    }
}
