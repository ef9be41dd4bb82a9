//! The geometry queue's order: round robin across users, with at most a few geometries of
//! one user in flight, so that one user's large uploads cannot hold back everyone else's.
//! The same policy as Slurm's fair-share and Kubernetes' priority-and-fairness queues:
//! each tenant gets a turn in rotation, and no tenant gets every worker.

use std::collections::{HashMap, HashSet, VecDeque};

/// Queued work by owner; `pop` hands out the next item in round-robin order.
#[derive(Debug)]
pub struct FairQueue {
    per_owner: usize,
    queues: HashMap<String, VecDeque<String>>,
    /// Owners with queued items, in the order their turn comes.
    ring: VecDeque<String>,
    running: HashMap<String, usize>,
    queued: HashSet<String>,
}

impl FairQueue {
    /// A queue that lets at most `per_owner` items of one owner run at once (at least 1).
    pub fn new(per_owner: usize) -> FairQueue {
        FairQueue {
            per_owner: per_owner.max(1),
            queues: HashMap::new(),
            ring: VecDeque::new(),
            running: HashMap::new(),
            queued: HashSet::new(),
        }
    }

    /// Queues `id` for `owner`; an id already queued is not queued twice.
    pub fn push(&mut self, owner: &str, id: &str) {
        if !self.queued.insert(id.to_string()) {
            return;
        }
        let q = self.queues.entry(owner.to_string()).or_default();
        q.push_back(id.to_string());
        if q.len() == 1 {
            self.ring.push_back(owner.to_string());
        }
    }

    /// The next `(owner, id)` to run: the first owner in rotation below its share. The
    /// caller reports its end with [`FairQueue::done`].
    pub fn pop(&mut self) -> Option<(String, String)> {
        for _ in 0..self.ring.len() {
            let owner = self.ring.pop_front()?;
            if self.running.get(&owner).copied().unwrap_or(0) >= self.per_owner {
                self.ring.push_back(owner);
                continue;
            }
            let q = self.queues.get_mut(&owner).expect("owners in the ring have a queue");
            let id = q.pop_front().expect("queues in the ring are not empty");
            if q.is_empty() {
                self.queues.remove(&owner);
            } else {
                self.ring.push_back(owner.clone());
            }
            self.queued.remove(&id);
            *self.running.entry(owner.clone()).or_default() += 1;
            return Some((owner, id));
        }
        None
    }

    /// Marks one item of `owner` as finished.
    pub fn done(&mut self, owner: &str) {
        if let Some(n) = self.running.get_mut(owner) {
            *n -= 1;
            if *n == 0 {
                self.running.remove(owner);
            }
        }
    }

    /// Items waiting (not running).
    pub fn waiting(&self) -> usize {
        self.queued.len()
    }
}

/// At most `per_user` concurrent operations of one kind per user; a further one is
/// refused at once rather than queued, so that a client cannot pile work up.
#[derive(Debug)]
pub struct PerUserLimit {
    per_user: usize,
    running: std::sync::Mutex<HashMap<String, usize>>,
}

/// A slot of a [`PerUserLimit`], given back when dropped.
#[derive(Debug)]
pub struct Slot<'a> {
    limit: &'a PerUserLimit,
    user: String,
}

impl PerUserLimit {
    /// A limit of `per_user` (at least 1) at once.
    pub fn new(per_user: usize) -> PerUserLimit {
        PerUserLimit { per_user: per_user.max(1), running: Default::default() }
    }

    /// The configured share.
    pub fn per_user(&self) -> usize {
        self.per_user
    }

    /// A slot for `user`, or `None` when they already hold all of theirs.
    pub fn try_acquire(&self, user: &str) -> Option<Slot<'_>> {
        let mut m = self.running.lock().expect("per-user limit");
        let n = m.entry(user.to_string()).or_default();
        if *n >= self.per_user {
            return None;
        }
        *n += 1;
        Some(Slot { limit: self, user: user.to_string() })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut m = self.limit.running.lock().expect("per-user limit");
        if let Some(n) = m.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_with_a_share_per_owner() {
        let mut q = FairQueue::new(1);
        for i in 0..3 {
            q.push("a", &format!("a{i}"));
        }
        q.push("b", "b0");
        q.push("c", "c0");
        q.push("a", "a0"); // already queued
        assert_eq!(q.waiting(), 5);
        // a's first, then a is at its share: b and c go next although a queued first.
        assert_eq!(q.pop(), Some(("a".into(), "a0".into())));
        assert_eq!(q.pop(), Some(("b".into(), "b0".into())));
        assert_eq!(q.pop(), Some(("c".into(), "c0".into())));
        assert_eq!(q.pop(), None, "a holds its one slot");
        q.done("a");
        assert_eq!(q.pop(), Some(("a".into(), "a1".into())));
        q.push("b", "b1");
        q.done("b");
        q.done("a");
        // Turns alternate: a's third, then b's second.
        assert_eq!(q.pop(), Some(("a".into(), "a2".into())));
        assert_eq!(q.pop(), Some(("b".into(), "b1".into())));
        assert_eq!(q.pop(), None);
        assert_eq!(q.waiting(), 0);
    }

    #[test]
    fn per_user_limit_refuses_past_the_share_and_frees_on_drop() {
        let l = PerUserLimit::new(2);
        let a1 = l.try_acquire("a").unwrap();
        let _a2 = l.try_acquire("a").unwrap();
        assert!(l.try_acquire("a").is_none());
        assert!(l.try_acquire("b").is_some());
        drop(a1);
        assert!(l.try_acquire("a").is_some());
    }
}
