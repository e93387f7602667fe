//! Ring buffers capped in entries and in bytes, with stable sequence numbers.
//!
//! The workbench keeps its broker log and its received messages here. Each pushed item gets a
//! sequence number that never changes, so views can keep indexes into the ring (`seq`s) and
//! look items up in O(1) while old items fall off the front.

use std::collections::VecDeque;

/// Something whose memory cost can be estimated.
pub trait Weigh {
    /// Approximate heap plus inline size in bytes.
    fn weight(&self) -> usize;
}

/// A FIFO that drops its oldest items when it holds more than `max_entries` items or more than
/// `max_bytes` bytes (by [`Weigh::weight`]).
#[derive(Debug, Clone)]
pub struct Ring<T> {
    items: VecDeque<T>,
    /// Sequence number of `items[0]`.
    first_seq: u64,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
    dropped: u64,
}

impl<T: Weigh> Ring<T> {
    /// An empty ring with both caps (each at least 1).
    #[must_use]
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            items: VecDeque::new(),
            first_seq: 0,
            bytes: 0,
            max_entries: max_entries.max(1),
            max_bytes: max_bytes.max(1),
            dropped: 0,
        }
    }

    /// Appends an item, evicting the oldest ones past either cap, and returns its sequence
    /// number. An item heavier than the byte cap on its own is still kept (alone).
    pub fn push(&mut self, item: T) -> u64 {
        self.bytes += item.weight();
        self.items.push_back(item);
        while self.items.len() > 1
            && (self.items.len() > self.max_entries || self.bytes > self.max_bytes)
        {
            if let Some(old) = self.items.pop_front() {
                self.bytes = self.bytes.saturating_sub(old.weight());
                self.first_seq += 1;
                self.dropped += 1;
            }
        }
        self.end_seq() - 1
    }

    /// The item with sequence number `seq`, if still held.
    #[must_use]
    pub fn get(&self, seq: u64) -> Option<&T> {
        let idx = seq.checked_sub(self.first_seq)?;
        self.items.get(usize::try_from(idx).ok()?)
    }

    /// The item with sequence number `seq`, if still held, to change it (not its weight).
    pub fn get_mut(&mut self, seq: u64) -> Option<&mut T> {
        let idx = seq.checked_sub(self.first_seq)?;
        self.items.get_mut(usize::try_from(idx).ok()?)
    }

    /// Sequence number of the oldest item held.
    #[must_use]
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// One past the newest item's sequence number.
    #[must_use]
    pub fn end_seq(&self) -> u64 {
        self.first_seq + self.items.len() as u64
    }

    /// Number of items held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes held, by [`Weigh::weight`].
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Items evicted so far.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Items with their sequence numbers, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, &T)> {
        let first = self.first_seq;
        self.items
            .iter()
            .enumerate()
            .map(move |(i, t)| (first + i as u64, t))
    }

    /// Forgets every item (sequence numbers keep counting).
    pub fn clear(&mut self) {
        self.first_seq = self.end_seq();
        self.items.clear();
        self.bytes = 0;
    }
}

/// A list of sequence numbers into a [`Ring`]: the rows of a filtered view. Capped so that it
/// never outgrows the ring it points into.
#[derive(Debug, Clone, Default)]
pub struct SeqView {
    seqs: VecDeque<u64>,
    cap: usize,
}

impl SeqView {
    /// An empty view holding at most `cap` sequence numbers.
    #[must_use]
    pub fn new(cap: usize) -> Self {
        Self {
            seqs: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Appends a sequence number and drops those before `first_live` (evicted from the ring).
    pub fn push(&mut self, seq: u64, first_live: u64) {
        self.seqs.push_back(seq);
        self.prune(first_live);
    }

    /// Drops sequence numbers below `first_live` and past the cap.
    pub fn prune(&mut self, first_live: u64) {
        while self
            .seqs
            .front()
            .is_some_and(|&s| s < first_live || self.seqs.len() > self.cap)
        {
            self.seqs.pop_front();
        }
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// True when there are no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// The sequence number of row `i` counted from the newest (0 = newest).
    #[must_use]
    pub fn from_newest(&self, i: usize) -> Option<u64> {
        let n = self.seqs.len();
        if i >= n {
            return None;
        }
        self.seqs.get(n - 1 - i).copied()
    }

    /// Position (from newest) of `seq`, if present.
    #[must_use]
    pub fn position_from_newest(&self, seq: u64) -> Option<usize> {
        let idx = self.seqs.binary_search(&seq).ok()?;
        Some(self.seqs.len() - 1 - idx)
    }

    /// Forgets every row.
    pub fn clear(&mut self) {
        self.seqs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weigh for String {
        fn weight(&self) -> usize {
            self.len()
        }
    }

    #[test]
    fn entry_cap_evicts_oldest_and_keeps_sequence_numbers() {
        let mut r = Ring::new(3, 1 << 20);
        for i in 0..5 {
            assert_eq!(r.push(format!("m{i}")), i);
        }
        assert_eq!(r.len(), 3);
        assert_eq!(r.first_seq(), 2);
        assert_eq!(r.get(1), None);
        assert_eq!(r.get(4).map(String::as_str), Some("m4"));
        assert_eq!(r.dropped(), 2);
    }

    #[test]
    fn byte_cap_evicts_until_under_cap_but_keeps_one_huge_item() {
        let mut r = Ring::new(100, 10);
        r.push("aaaa".to_string());
        r.push("bbbb".to_string());
        r.push("cccc".to_string());
        assert_eq!(r.len(), 2);
        assert!(r.bytes() <= 10);
        r.push("x".repeat(50));
        assert_eq!(r.len(), 1);
        assert_eq!(r.bytes(), 50);
    }

    #[test]
    fn view_prunes_evicted_rows() {
        let mut v = SeqView::new(10);
        for s in 0..6 {
            v.push(s, 3);
        }
        assert_eq!(v.len(), 3);
        assert_eq!(v.from_newest(0), Some(5));
        assert_eq!(v.from_newest(2), Some(3));
        assert_eq!(v.position_from_newest(4), Some(1));
        let mut capped = SeqView::new(2);
        for s in 0..5 {
            capped.push(s, 0);
        }
        assert_eq!(capped.len(), 2);
    }
}
