//! The window sets of the pattern rules in one instance's memory (the function without a shared
//! table): failures by account and by address, the last firing of each, and the callers seen.
//! Bounded: at most `capacity` sets, the least recently touched forgotten first; entries past
//! their expiry are dropped when their set is touched.

use crate::aws::store::Window;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default)]
struct Set {
    /// eventID → (time, value).
    entries: BTreeMap<String, (i64, String)>,
    fired: Option<i64>,
    /// The latest time seen (`first`) or the set's expiry (`note`).
    last: i64,
    expires: i64,
    touched: u64,
}

#[derive(Debug, Default)]
pub struct Windows {
    sets: HashMap<String, Set>,
    capacity: usize,
    clock: u64,
}

impl Windows {
    pub fn new(capacity: usize) -> Self {
        Windows {
            capacity,
            ..Default::default()
        }
    }

    fn set(&mut self, key: &str) -> &mut Set {
        self.clock += 1;
        if !self.sets.contains_key(key) && self.sets.len() >= self.capacity {
            if let Some(old) = self
                .sets
                .iter()
                .min_by_key(|(_, s)| s.touched)
                .map(|(k, _)| k.clone())
            {
                self.sets.remove(&old);
            }
        }
        let clock = self.clock;
        let s = self.sets.entry(key.to_owned()).or_default();
        s.touched = clock;
        s
    }

    pub fn note(
        &mut self,
        key: &str,
        event_id: &str,
        time: i64,
        value: &str,
        expires: i64,
    ) -> Window {
        let s = self.set(key);
        s.entries
            .entry(event_id.to_owned())
            .or_insert_with(|| (time, value.to_owned()));
        s.expires = s.expires.max(expires);
        // Entries whose own window has passed by the newest entry cannot count any more.
        let newest = s.entries.values().map(|(t, _)| *t).max().unwrap_or(time);
        let keep_from = newest - (expires - time).max(0);
        s.entries.retain(|_, (t, _)| *t >= keep_from);
        Window {
            entries: s.entries.values().cloned().collect(),
            fired: s.fired,
        }
    }

    pub fn fire(&mut self, key: &str, t: i64, window: i64) -> bool {
        let s = self.set(key);
        if s.fired.is_some_and(|f| (t - f).abs() < window) {
            return false;
        }
        s.fired = Some(t);
        true
    }

    pub fn first(&mut self, key: &str, t: i64, memory: i64) -> bool {
        let fresh = !self.sets.contains_key(key);
        let s = self.set(key);
        let first = fresh || t - s.last > memory;
        s.last = s.last.max(t);
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_idempotent_and_windows_fire_once() {
        let mut w = Windows::new(10);
        w.note("a", "e1", 100, "ip1", 1000);
        let got = w.note("a", "e1", 100, "ip1", 1000);
        assert_eq!(got.entries, [(100, "ip1".to_owned())]);
        assert!(w.fire("a", 100, 900));
        assert!(!w.fire("a", 500, 900));
        assert!(w.fire("a", 1000, 900));
        assert!(w.first("c", 0, 10));
        assert!(!w.first("c", 5, 10));
        assert!(w.first("c", 100, 10));
    }

    #[test]
    fn sets_are_bounded() {
        let mut w = Windows::new(2);
        w.note("a", "e", 1, "x", 10);
        w.note("b", "e", 1, "x", 10);
        w.note("c", "e", 1, "x", 10);
        assert_eq!(w.sets.len(), 2);
        assert!(!w.sets.contains_key("a"));
    }
}
