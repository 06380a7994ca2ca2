//! `Inbox`: records handed from calls to a batching writer (query history, audit log)
//! without one actor message per record.
//!
//! A call pushes its record under a short lock and returns; it wakes the writer (with the
//! writer's `Flush` message) only when its record completes a batch. Otherwise the writer
//! takes what waits on its own timer. At thousands of calls a second this saves a thread
//! wake-up per record on the metadata arbiter. The inbox is bounded: a record offered to a
//! full inbox is refused (the caller counts it as dropped), never blocking a call.

use std::sync::{Mutex, MutexGuard};

pub struct Inbox<T> {
    items: Mutex<Vec<T>>,
    capacity: usize,
    batch: usize,
}

/// What became of an offered record.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// Waiting for the writer's next tick.
    Queued,
    /// Waiting, and a full batch waits now: wake the writer.
    BatchReady,
    /// Refused: `capacity` records wait already.
    Full,
}

impl<T> Inbox<T> {
    pub fn new(capacity: usize, batch: usize) -> Self {
        Self {
            items: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
            batch: batch.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<T>> {
        // Nothing panics while the lock is held (a push or a drain), so a poisoned lock
        // still holds a consistent vector.
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn offer(&self, item: T) -> Offer {
        let mut items = self.lock();
        if items.len() >= self.capacity {
            return Offer::Full;
        }
        items.push(item);
        if items.len() == self.batch {
            Offer::BatchReady
        } else {
            Offer::Queued
        }
    }

    /// Take the oldest `max` records at most.
    pub fn take(&self, max: usize) -> Vec<T> {
        let mut items = self.lock();
        let n = items.len().min(max);
        items.drain(..n).collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_batch_wakes_and_a_full_inbox_refuses() {
        let inbox = Inbox::new(3, 2);
        assert_eq!(inbox.offer(1), Offer::Queued);
        assert_eq!(inbox.offer(2), Offer::BatchReady);
        assert_eq!(inbox.offer(3), Offer::Queued);
        assert_eq!(inbox.offer(4), Offer::Full);
        assert_eq!(inbox.take(2), vec![1, 2]);
        assert_eq!(inbox.len(), 1);
        // Two wait again: a full batch.
        assert_eq!(inbox.offer(5), Offer::BatchReady);
        assert_eq!(inbox.take(10), vec![3, 5]);
        assert!(inbox.is_empty());
    }
}
