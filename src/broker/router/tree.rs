//! A tree with one node per topic level, shared by the subscription index and the retained
//! message store. Every walk is iterative, and so is dropping, so a topic of 65,535 levels
//! (`////...`) cannot overflow the stack.

use std::collections::HashMap;

/// The hasher for level maps: fast, with a per-process random seed.
pub type LevelHasher = foldhash::fast::RandomState;

/// One topic level and everything below it.
#[derive(Debug, Default)]
pub struct Node<V> {
    /// Child levels by name (`+` and `#` are ordinary keys in the subscription tree).
    pub children: HashMap<Box<str>, Node<V>, LevelHasher>,
    /// What is stored at exactly this path.
    pub value: V,
}

impl<V: Default> Node<V> {
    /// The child for `level`, if any.
    #[must_use]
    pub fn child(&self, level: &str) -> Option<&Node<V>> {
        self.children.get(level)
    }

    /// The value at `path` (levels separated by `/`), created if missing.
    pub fn entry(&mut self, path: &str) -> &mut V {
        let mut node = self;
        for level in path.split('/') {
            node = node.children.entry(level.into()).or_default();
        }
        &mut node.value
    }

    /// The value at `path`, if the path exists.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut V> {
        let mut node = self;
        for level in path.split('/') {
            node = node.children.get_mut(level)?;
        }
        Some(&mut node.value)
    }

    /// Removes the nodes along `path` that hold nothing any more, bottom-up.
    pub fn prune(&mut self, path: &str, is_empty: impl Fn(&V) -> bool) {
        let levels: Vec<&str> = path.split('/').collect();
        // The first depth from which every node on the path is removable.
        let mut cut = None;
        let mut node: &Node<V> = self;
        for (depth, level) in levels.iter().enumerate() {
            let Some(next) = node.children.get(*level) else {
                return;
            };
            let last = depth + 1 == levels.len();
            let removable = is_empty(&next.value) && next.children.len() == usize::from(!last);
            match (removable, cut) {
                (true, None) => cut = Some(depth),
                (false, _) => cut = None,
                (true, Some(_)) => {}
            }
            node = next;
        }
        let Some(cut) = cut else {
            return;
        };
        let mut node: &mut Node<V> = self;
        for level in &levels[..cut] {
            match node.children.get_mut(*level) {
                Some(n) => node = n,
                None => return,
            }
        }
        node.children.remove(levels[cut]);
    }
}

impl<V> Drop for Node<V> {
    fn drop(&mut self) {
        // Flatten the subtree so that no drop recurses more than one level deep.
        let mut stack: Vec<Node<V>> = self.children.drain().map(|(_, n)| n).collect();
        while let Some(mut n) = stack.pop() {
            stack.extend(n.children.drain().map(|(_, c)| c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_removes_only_empty_branches() {
        let mut root: Node<Option<u8>> = Node::default();
        *root.entry("a/b/c") = Some(1);
        *root.entry("a/x") = Some(2);
        *root.get_mut("a/b/c").unwrap_or_else(|| unreachable!()) = None;
        root.prune("a/b/c", Option::is_none);
        assert!(root.get_mut("a/b").is_none());
        assert_eq!(root.get_mut("a/x").copied(), Some(Some(2)));
    }

    #[test]
    fn very_deep_trees_drop_without_overflow() {
        let mut root: Node<Option<u8>> = Node::default();
        let deep = "/".repeat(65_534);
        *root.entry(&deep) = Some(1);
        root.prune(&deep, Option::is_none);
        drop(root);
    }
}
