//! The topic tree sub-model: one node per topic level with counts and rates, the visible
//! rows (rebuilt lazily) and the selected row; the `/` filter (an MQTT filter, a substring or
//! a regex, see [`super::filter`]) and the numbers read from payloads (the latest value and a
//! sparkline per topic, the plotted topic's series, see [`super::plot`]).
//!
//! Both stay cheap under a flood: a topic is tested against the filter once, when it first
//! appears (each node counts the matching topics below it), and a payload is read as a number
//! only when it is short or its topic has a JSON path chosen.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use super::cmd::Cmd;
use super::filter::TopicFilter;
use super::plot::{Plot, Source, Values, plain_number, secs};
use super::rate::Rate;

/// Per-topic statistics.
#[derive(Debug, Clone, Default)]
pub struct TopicStats {
    /// Messages received on this exact topic.
    pub count: u64,
    /// Arrival rate.
    pub rate: Rate,
    /// True when the broker holds a retained message here, as far as the workbench saw: a
    /// delivery with RETAIN 1, or (embedded broker) a PUBLISH with Retain in its log. A live
    /// delivery carries RETAIN 0 whatever the sender set ([MQTT311-3.3.1-9], [MQTT5-3.3.1-12]),
    /// so it changes nothing here.
    pub retained: bool,
    /// The numbers read from this topic's payloads, if any was a number.
    pub values: Option<Box<Values>>,
}

/// A node of the topic tree: one topic level.
#[derive(Debug, Clone, Default)]
pub struct TopicNode {
    /// Child levels by name.
    pub children: BTreeMap<String, TopicNode>,
    /// Statistics when a message was received on exactly this topic.
    pub stats: Option<TopicStats>,
    /// Messages in this node and all below it.
    pub subtree_count: u64,
    /// Subtree arrival rate.
    pub subtree_rate: Rate,
    /// Shown expanded.
    pub expanded: bool,
    /// Topics in this node and below it that pass the filter (0 when none is set).
    pub hits: u32,
}

/// One visible row of the topic tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    /// Full topic of the node; `None` for the "all topics" row.
    pub path: Option<String>,
    /// The node's own level name.
    pub name: String,
    /// Indentation depth.
    pub depth: usize,
    /// True when the node has children.
    pub has_children: bool,
    /// True when expanded.
    pub expanded: bool,
}

/// What a tree command did to the selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeOutcome {
    /// The selection stayed.
    Same,
    /// Another row is selected: its topic (`None`: all topics).
    Selected(Option<String>),
}

/// The topic tree and its cursor.
#[derive(Debug, Clone)]
pub struct Topics {
    root: TopicNode,
    count: usize,
    over_cap: u64,
    cap: usize,
    rows: Vec<TreeRow>,
    dirty: bool,
    cursor: usize,
    offset: usize,
    selected: Option<String>,
    filter: Option<TopicFilter>,
    sources: HashMap<String, Source>,
    plot: Option<Plot>,
}

impl Topics {
    /// An empty tree that tracks at most `cap` distinct topics.
    #[must_use]
    pub fn new(cap: usize) -> Self {
        Self {
            root: TopicNode {
                expanded: true,
                ..TopicNode::default()
            },
            count: 0,
            over_cap: 0,
            cap,
            rows: vec![all_row()],
            dirty: true,
            cursor: 0,
            offset: 0,
            selected: None,
            filter: None,
            sources: HashMap::new(),
            plot: None,
        }
    }

    /// Forgets every topic (after switching brokers); the filter, the JSON paths chosen per
    /// topic and the plot (emptied) stay.
    pub fn clear(&mut self) {
        let filter = self.filter.take();
        let sources = std::mem::take(&mut self.sources);
        let plot = self.plot.take();
        *self = Self::new(self.cap);
        self.filter = filter;
        self.sources = sources;
        self.plot = plot.map(|p| Plot::new(p.topic, p.source));
    }

    /// The `/` filter, if one is set.
    #[must_use]
    pub fn filter(&self) -> Option<&TopicFilter> {
        self.filter.as_ref()
    }

    /// Topics that pass the filter (all topics when none is set).
    #[must_use]
    pub fn matched(&self) -> usize {
        if self.filter.is_some() {
            self.root.hits as usize
        } else {
            self.count
        }
    }

    /// Sets or removes the filter: every known topic is tested once, new topics as they come.
    pub fn set_filter(&mut self, filter: Option<TopicFilter>) {
        self.filter = filter;
        let mut prefix = String::new();
        recount(&mut self.root, &mut prefix, 0, self.filter.as_ref());
        self.dirty = true;
    }

    /// After a filter is settled (Enter or Esc on its prompt): the selection stays when its
    /// row is still shown; otherwise it moves to the first topic that passes (or the first
    /// row left), and the outcome says so, for the message list to follow.
    pub fn settle_selection(&mut self) -> TreeOutcome {
        self.rebuild_rows();
        if self.rows.iter().any(|r| r.path == self.selected) {
            return TreeOutcome::Same;
        }
        let passes = |r: &TreeRow| {
            r.path.as_deref().is_some_and(|p| {
                node_ref(&self.root, p).is_some_and(|n| n.stats.is_some())
                    && self.filter.as_ref().is_none_or(|f| f.matches(p))
            })
        };
        self.cursor = self
            .rows
            .iter()
            .position(passes)
            .unwrap_or(usize::from(self.rows.len() > 1));
        self.select_cursor_row()
    }

    /// Reads a number from a message's payload (the topic's JSON path, or the whole payload)
    /// for the tree's latest value and sparkline and, for the plotted topic, the plot.
    pub fn observe(&mut self, topic: &str, time: SystemTime, payload: &[u8]) {
        let v = match self.sources.get(topic) {
            Some(s) => s.read(payload),
            None => plain_number(payload),
        };
        let Some(v) = v else {
            return;
        };
        if let Some(n) = node_mut(&mut self.root, topic)
            && let Some(s) = &mut n.stats
        {
            s.values.get_or_insert_with(Box::default).push(v);
        }
        if let Some(p) = &mut self.plot
            && p.topic == topic
        {
            p.push(secs(time), v);
        }
    }

    /// Plots `topic` from `source` (remembered for the topic), seeded with `history`: the
    /// topic's kept messages, oldest first. Plotting the same topic and source again keeps
    /// the series collected so far (it outlives a message history that a flood turns over)
    /// and adds only newer messages.
    pub fn open_plot<'a>(
        &mut self,
        topic: &str,
        source: Source,
        history: impl IntoIterator<Item = (SystemTime, &'a [u8])>,
    ) {
        let mut plot = match self.plot.take() {
            Some(p) if p.topic == topic && p.source == source => p,
            _ => Plot::new(topic.to_owned(), source.clone()),
        };
        let last = plot.points.back().map_or(f64::NEG_INFINITY, |p| p.0);
        for (t, payload) in history {
            if secs(t) > last
                && let Some(v) = source.read(payload)
            {
                plot.push(secs(t), v);
            }
        }
        if source == Source::Plain {
            self.sources.remove(topic);
        } else {
            self.sources.insert(topic.to_owned(), source);
        }
        if let Some(n) = node_mut(&mut self.root, topic)
            && let Some(s) = &mut n.stats
        {
            let mut values = Values::default();
            for &(_, v) in plot
                .points
                .iter()
                .rev()
                .take(super::plot::SPARK_POINTS)
                .rev()
            {
                values.push(v);
            }
            s.values = (!values.recent.is_empty()).then(|| Box::new(values));
        }
        self.plot = Some(plot);
    }

    /// The plotted topic's series: the last one plotted, still fed after its view closes
    /// (so that plotting it again shows everything since), until another topic is plotted.
    #[must_use]
    pub fn plot(&self) -> Option<&Plot> {
        self.plot.as_ref()
    }

    /// The topics at or under `path` (`None`: all) that hold a retained message, as far as
    /// the tree knows.
    #[must_use]
    pub fn retained_under(&self, path: Option<&str>) -> Vec<String> {
        let node = match path {
            None => Some(&self.root),
            Some(p) => node_ref(&self.root, p),
        };
        let mut out = Vec::new();
        if let Some(n) = node {
            let mut prefix = path.unwrap_or_default().to_owned();
            collect_retained(n, &mut prefix, path.is_none(), &mut out);
        }
        out
    }

    /// The root node (its children are the first levels).
    #[must_use]
    pub fn tree(&self) -> &TopicNode {
        &self.root
    }

    /// Distinct topics in the tree.
    #[must_use]
    pub fn count(&self) -> usize {
        self.count
    }

    /// Messages whose topic was not added because of the topic cap.
    #[must_use]
    pub fn over_cap(&self) -> u64 {
        self.over_cap
    }

    /// The visible rows as of the last [`Topics::prepare`] or tree command.
    #[must_use]
    pub fn rows(&self) -> &[TreeRow] {
        &self.rows
    }

    /// The selected row.
    #[must_use]
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The first visible row.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The topic of the selected row (`None`: all topics).
    #[must_use]
    pub fn selected(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    /// Counts one message on `topic` at second `sec`.
    pub fn insert(&mut self, topic: &str, sec: u64, retained: bool) {
        let is_new = node_ref(&self.root, topic).is_none_or(|n| n.stats.is_none());
        if is_new && self.count >= self.cap {
            self.over_cap += 1;
            return;
        }
        let hit = u32::from(is_new && self.filter.as_ref().is_some_and(|f| f.matches(topic)));
        let mut node = &mut self.root;
        node.hits += hit;
        node.subtree_count += 1;
        node.subtree_rate.add(sec, 1);
        for level in topic.split('/') {
            if !node.children.contains_key(level) {
                self.dirty = true;
                node.children.insert(
                    level.to_owned(),
                    TopicNode {
                        expanded: true,
                        ..TopicNode::default()
                    },
                );
            }
            let Some(next) = node.children.get_mut(level) else {
                return;
            };
            node = next;
            node.hits += hit;
            node.subtree_count += 1;
            node.subtree_rate.add(sec, 1);
        }
        let stats = node.stats.get_or_insert_with(TopicStats::default);
        stats.count += 1;
        stats.rate.add(sec, 1);
        stats.retained |= retained;
        if is_new {
            self.count += 1;
            self.dirty = true;
        }
    }

    /// Marks `topic` as having no retained message (after clearing it).
    pub fn clear_retained(&mut self, topic: &str) {
        self.set_retained(topic, false);
    }

    /// Marks whether the broker holds a retained message on `topic` (a topic not in the tree
    /// yet is left alone: it appears with its first delivery).
    pub fn set_retained(&mut self, topic: &str, on: bool) {
        if let Some(n) = node_mut(&mut self.root, topic)
            && let Some(s) = &mut n.stats
        {
            s.retained = on;
        }
    }

    /// Brings the rows up to date and scrolls the cursor into a pane `height` rows high.
    pub fn prepare(&mut self, height: usize) {
        if self.dirty {
            self.rebuild_rows();
        }
        let h = height.max(1);
        // Never scrolled past the last row while rows above would fit (after a filter the
        // rows shrink under the offset).
        self.offset = self.offset.min(self.rows.len().saturating_sub(h));
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + h {
            self.offset = self.cursor + 1 - h;
        }
    }

    /// Moves the cursor or expands / collapses a node; `page` rows a page.
    pub fn update(&mut self, cmd: Cmd, page: usize) -> TreeOutcome {
        if self.dirty {
            self.rebuild_rows();
        }
        let last = self.rows.len().saturating_sub(1);
        let before = self.cursor;
        match cmd {
            Cmd::Up => self.cursor = self.cursor.saturating_sub(1),
            Cmd::Down => self.cursor = (self.cursor + 1).min(last),
            Cmd::PageUp => self.cursor = self.cursor.saturating_sub(page),
            Cmd::PageDown => self.cursor = (self.cursor + page).min(last),
            Cmd::Top => self.cursor = 0,
            Cmd::Bottom => self.cursor = last,
            Cmd::Expand | Cmd::Collapse | Cmd::Toggle => {
                let Some(row) = self.rows.get(self.cursor).cloned() else {
                    return TreeOutcome::Same;
                };
                let Some(path) = row.path else {
                    return TreeOutcome::Same;
                };
                if cmd == Cmd::Collapse && (!row.has_children || !row.expanded) {
                    // Go to the parent row.
                    if let Some(i) = (0..self.cursor)
                        .rev()
                        .find(|&i| self.rows[i].depth < row.depth)
                    {
                        self.cursor = i;
                    }
                } else if row.has_children
                    && let Some(node) = node_mut(&mut self.root, &path)
                {
                    node.expanded = match cmd {
                        Cmd::Expand => true,
                        Cmd::Collapse => false,
                        _ => !node.expanded,
                    };
                    self.rebuild_rows();
                }
            }
            _ => {}
        }
        if self.cursor == before {
            return TreeOutcome::Same;
        }
        self.select_cursor_row()
    }

    /// A click on visible row `i` (counted from the first shown): selects it, or toggles it
    /// when it is selected already.
    pub fn click(&mut self, i: usize) -> TreeOutcome {
        let i = self.offset + i;
        if i >= self.rows.len() {
            return TreeOutcome::Same;
        }
        if i == self.cursor {
            return self.update(Cmd::Toggle, 1);
        }
        self.cursor = i;
        self.select_cursor_row()
    }

    fn select_cursor_row(&mut self) -> TreeOutcome {
        let path = self.rows.get(self.cursor).and_then(|r| r.path.clone());
        if path == self.selected {
            return TreeOutcome::Same;
        }
        self.selected.clone_from(&path);
        TreeOutcome::Selected(path)
    }

    fn rebuild_rows(&mut self) {
        let mut rows = vec![all_row()];
        let mut prefix = String::new();
        flatten(&self.root, &mut prefix, 0, self.filter.is_some(), &mut rows);
        self.rows = rows;
        self.dirty = false;
        // Keep the cursor on the selected topic.
        self.cursor = self
            .rows
            .iter()
            .position(|r| r.path == self.selected)
            .unwrap_or_else(|| self.cursor.min(self.rows.len().saturating_sub(1)));
    }
}

fn all_row() -> TreeRow {
    TreeRow {
        path: None,
        name: "(all topics)".into(),
        depth: 0,
        has_children: false,
        expanded: true,
    }
}

fn flatten(
    node: &TopicNode,
    prefix: &mut String,
    depth: usize,
    filtered: bool,
    rows: &mut Vec<TreeRow>,
) {
    let mut children: Vec<(&String, &TopicNode)> = node.children.iter().collect();
    children.sort_by(|a, b| natural_cmp(a.0, b.0));
    for (name, child) in children {
        if filtered && child.hits == 0 {
            continue;
        }
        let len = prefix.len();
        if depth > 0 {
            prefix.push('/');
        }
        prefix.push_str(name);
        rows.push(TreeRow {
            path: Some(prefix.clone()),
            name: name.clone(),
            depth,
            has_children: !child.children.is_empty(),
            expanded: child.expanded,
        });
        if child.expanded {
            flatten(child, prefix, depth + 1, filtered, rows);
        }
        prefix.truncate(len);
    }
}

/// Orders topic levels the way people count: a run of digits compares by its number, so
/// `1, 2, 10` (not `1, 10, 2`); otherwise by character. Levels equal that way (`01`, `1`)
/// fall back to plain order, so the order is total.
#[must_use]
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (nx, rx) = split_digits(x);
                let (ny, ry) = split_digits(y);
                let (tx, ty) = (trim_zeros(nx), trim_zeros(ny));
                // Without leading zeros, the longer run is the bigger number.
                let ord = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
                if ord != Ordering::Equal {
                    return ord;
                }
                (x, y) = (rx, ry);
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s.split_at(n)
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b'0').count();
    &s[n..]
}

/// Counts again, in every node, the topics below it that pass `filter`; returns the count.
fn recount(
    node: &mut TopicNode,
    prefix: &mut String,
    depth: usize,
    filter: Option<&TopicFilter>,
) -> u32 {
    let Some(f) = filter else {
        node.hits = 0;
        for child in node.children.values_mut() {
            recount(child, prefix, depth + 1, None);
        }
        return 0;
    };
    let mut hits = u32::from(depth > 0 && node.stats.is_some() && f.matches(prefix));
    for (name, child) in &mut node.children {
        let len = prefix.len();
        if depth > 0 {
            prefix.push('/');
        }
        prefix.push_str(name);
        hits += recount(child, prefix, depth + 1, filter);
        prefix.truncate(len);
    }
    node.hits = hits;
    hits
}

fn collect_retained(node: &TopicNode, prefix: &mut String, root: bool, out: &mut Vec<String>) {
    if !root && node.stats.as_ref().is_some_and(|s| s.retained) {
        out.push(prefix.clone());
    }
    for (name, child) in &node.children {
        let len = prefix.len();
        if !root {
            prefix.push('/');
        }
        prefix.push_str(name);
        collect_retained(child, prefix, false, out);
        prefix.truncate(len);
    }
}

/// The tree node of a full topic path.
#[must_use]
pub fn node_ref<'a>(root: &'a TopicNode, path: &str) -> Option<&'a TopicNode> {
    let mut node = root;
    for level in path.split('/') {
        node = node.children.get(level)?;
    }
    Some(node)
}

fn node_mut<'a>(root: &'a mut TopicNode, path: &str) -> Option<&'a mut TopicNode> {
    let mut node = root;
    for level in path.split('/') {
        node = node.children.get_mut(level)?;
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(topics: &[&str]) -> Topics {
        let mut t = Topics::new(100);
        for topic in topics {
            t.insert(topic, 1, false);
        }
        t.prepare(10);
        t
    }

    #[test]
    fn levels_sort_in_natural_order() {
        let t = tree(&[
            "dev/10", "dev/2", "dev/1", "dev/19", "dev/a", "dev/02x", "dev/9b",
        ]);
        let mut t = t;
        t.update(Cmd::Down, 10);
        t.update(Cmd::Expand, 10);
        t.prepare(10);
        let names: Vec<&str> = t.rows().iter().skip(2).map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["1", "2", "02x", "9b", "10", "19", "a"]);
        assert_eq!(natural_cmp("01", "1"), std::cmp::Ordering::Less);
        assert_eq!(natural_cmp("a10b", "a9b"), std::cmp::Ordering::Greater);
    }

    #[test]
    fn tree_commands_move_the_selection() {
        let topics = ["a/x", "a/y", "b"];
        // Rows: (all), a, a/x, a/y, b.
        let cases: &[(&[Cmd], usize, Option<&str>)] = &[
            (&[], 0, None),
            (&[Cmd::Down], 1, Some("a")),
            (&[Cmd::Bottom], 4, Some("b")),
            (&[Cmd::Bottom, Cmd::Top], 0, None),
            (&[Cmd::PageDown], 4, Some("b")),
            (&[Cmd::Down, Cmd::Down, Cmd::Collapse], 1, Some("a")),
            (&[Cmd::Down, Cmd::Collapse, Cmd::Down], 2, Some("b")),
            (
                &[Cmd::Down, Cmd::Toggle, Cmd::Toggle, Cmd::Down],
                2,
                Some("a/x"),
            ),
            (&[Cmd::Up, Cmd::Up], 0, None),
        ];
        for (cmds, cursor, selected) in cases {
            let mut t = tree(&topics);
            for c in *cmds {
                t.update(*c, 5);
            }
            assert_eq!((t.cursor(), t.selected()), (*cursor, *selected), "{cmds:?}");
        }
    }

    #[test]
    fn the_cap_counts_topics_left_out() {
        let mut t = Topics::new(2);
        for topic in ["a", "b", "c", "a", "d"] {
            t.insert(topic, 1, false);
        }
        assert_eq!((t.count(), t.over_cap()), (2, 2));
        assert_eq!(t.tree().subtree_count, 3);
        assert_eq!(node_ref(t.tree(), "a").map(|n| n.subtree_count), Some(2));
    }

    #[test]
    fn a_new_topic_keeps_the_cursor_on_the_selected_row() {
        let mut t = tree(&["m"]);
        assert_eq!(
            t.update(Cmd::Down, 5),
            TreeOutcome::Selected(Some("m".into()))
        );
        t.insert("a", 2, true);
        t.prepare(10);
        assert_eq!((t.cursor(), t.selected()), (2, Some("m")));
        assert!(
            node_ref(t.tree(), "a")
                .and_then(|n| n.stats.as_ref())
                .is_some_and(|s| s.retained)
        );
        // A live delivery (RETAIN 0) says nothing about the retained message.
        t.insert("a", 3, false);
        assert!(
            node_ref(t.tree(), "a")
                .and_then(|n| n.stats.as_ref())
                .is_some_and(|s| s.retained)
        );
        t.clear_retained("a");
        assert!(
            node_ref(t.tree(), "a")
                .and_then(|n| n.stats.as_ref())
                .is_some_and(|s| !s.retained)
        );
    }

    #[test]
    fn the_filter_counts_matches_per_node_and_tests_new_topics_once() {
        let mut t = tree(&[
            "plant/1/temp",
            "plant/1/hum",
            "plant/2/temp",
            "line/1/speed",
        ]);
        t.set_filter(TopicFilter::parse("plant/+/temp").ok().flatten());
        t.prepare(20);
        let shown: Vec<_> = t.rows().iter().filter_map(|r| r.path.clone()).collect();
        assert_eq!(
            shown,
            [
                "plant",
                "plant/1",
                "plant/1/temp",
                "plant/2",
                "plant/2/temp"
            ]
        );
        assert_eq!((t.matched(), t.count()), (2, 4));
        // A known topic again changes no count; a new matching one adds one on its path.
        t.insert("plant/1/temp", 2, false);
        t.insert("plant/3/temp", 2, false);
        t.insert("plant/3/hum", 2, false);
        assert_eq!(t.matched(), 3);
        assert_eq!(node_ref(t.tree(), "plant").map(|n| n.hits), Some(3));
        assert_eq!(node_ref(t.tree(), "line").map(|n| n.hits), Some(0));
        // Removing the filter shows everything again.
        t.set_filter(None);
        t.prepare(20);
        assert_eq!(t.rows().len(), 13);
        assert_eq!(t.matched(), 6);
    }

    #[test]
    fn retained_topics_are_listed_per_subtree() {
        let mut t = Topics::new(100);
        for (topic, retained) in [("a/x", true), ("a/y", false), ("a/y/z", true), ("b", true)] {
            t.insert(topic, 1, retained);
        }
        assert_eq!(t.retained_under(Some("a")), ["a/x", "a/y/z"]);
        assert_eq!(t.retained_under(Some("a/y")), ["a/y/z"]);
        assert_eq!(t.retained_under(None), ["a/x", "a/y/z", "b"]);
        assert!(t.retained_under(Some("nothing")).is_empty());
    }

    #[test]
    fn numbers_feed_the_latest_value_and_the_open_plot() {
        let mut t = tree(&["t", "j"]);
        let at = |s| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s);
        t.observe("t", at(1), b"21.5");
        t.observe("t", at(2), b"not a number");
        t.observe("t", at(3), b"22");
        let latest = |t: &Topics, topic| {
            node_ref(t.tree(), topic)
                .and_then(|n| n.stats.as_ref())
                .and_then(|s| s.values.as_ref())
                .map(|v| (v.latest, v.recent.len()))
        };
        assert_eq!(latest(&t, "t"), Some((22.0, 2)));
        let path = crate::tui::app::plot::numeric_leaves(br#"{"v": 1}"#)
            .into_iter()
            .next()
            .map(|l| l.0)
            .unwrap_or_default();
        let history: [(SystemTime, &[u8]); 2] = [(at(1), br#"{"v": 1}"#), (at(2), b"x")];
        t.open_plot("j", Source::Json(path), history);
        t.observe("j", at(3), br#"{"v": 2.5}"#);
        let points: Vec<_> = t
            .plot()
            .map(|p| p.points.iter().copied().collect())
            .unwrap_or_default();
        assert_eq!(points, [(1.0, 1.0), (3.0, 2.5)]);
        assert_eq!(latest(&t, "j"), Some((2.5, 2)));
        // Plotting it again keeps the series and adds only what is newer.
        let history: [(SystemTime, &[u8]); 2] =
            [(at(3), br#"{"v": 2.5}"#), (at(4), br#"{"v": 3}"#)];
        let path = t.plot().map(|p| p.source.clone()).unwrap_or_default();
        t.open_plot("j", path, history);
        let points: Vec<_> = t
            .plot()
            .map(|p| p.points.iter().copied().collect())
            .unwrap_or_default();
        assert_eq!(points, [(1.0, 1.0), (3.0, 2.5), (4.0, 3.0)]);
        // Another topic starts a new series; the first keeps its path for the tree.
        t.open_plot("t", Source::Plain, []);
        t.observe("j", at(5), br#"{"v": 4}"#);
        assert_eq!(t.plot().map(|p| p.points.len()), Some(0));
        assert_eq!(
            latest(&t, "j"),
            Some((4.0, 4)),
            "the path stays chosen for the tree"
        );
    }
}
