//! The bounded per-source send queue: bytes an actor sent that the kernel has not taken yet.
//!
//! Two buffers: `front` is what the kernel is writing (io_uring may hold a pointer into it, so it
//! is never touched while a write is in flight) and `back` collects new bytes. When `front` is
//! written out the two swap, so after warm-up no send allocates.

use crate::error::SendError;

/// A bounded byte queue with a "room returned" signal for the actor.
pub(crate) struct SendQueue {
    front: Vec<u8>,
    front_pos: usize,
    back: Vec<u8>,
    capacity: usize,
    wants_room: bool,
}

impl SendQueue {
    /// An empty queue that holds at most `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> Self {
        SendQueue {
            front: Vec::new(),
            front_pos: 0,
            back: Vec::new(),
            capacity,
            wants_room: false,
        }
    }

    /// Bytes queued and not yet written.
    pub(crate) fn len(&self) -> usize {
        self.front.len() - self.front_pos + self.back.len()
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free room in bytes.
    pub(crate) fn room(&self) -> usize {
        self.capacity.saturating_sub(self.len())
    }

    /// Checks that `n` more bytes fit; remembers a refusal so room is signalled later.
    pub(crate) fn check_room(&mut self, n: usize) -> Result<(), SendError> {
        if n > self.capacity {
            return Err(SendError::TooLarge);
        }
        if n > self.room() {
            self.wants_room = true;
            return Err(SendError::Full);
        }
        Ok(())
    }

    /// Appends bytes (after [`SendQueue::check_room`] accepted them).
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.back.extend_from_slice(bytes);
    }

    /// The next contiguous bytes to write. Must not be called while a write from the previous
    /// chunk is in flight.
    pub(crate) fn front_chunk(&mut self) -> &[u8] {
        if self.front_pos == self.front.len() {
            self.front.clear();
            self.front_pos = 0;
            std::mem::swap(&mut self.front, &mut self.back);
        }
        &self.front[self.front_pos..]
    }

    /// Marks `n` bytes of the current chunk as written.
    pub(crate) fn consume(&mut self, n: usize) {
        self.front_pos = (self.front_pos + n).min(self.front.len());
        if self.front_pos == self.front.len() && self.back.is_empty() {
            // Drained: an idle connection keeps no buffer (the next send allocates one from
            // the thread's cache, which is cheap next to the system call).
            self.front = Vec::new();
            self.back = Vec::new();
            self.front_pos = 0;
        }
    }

    /// Whether the actor was refused and the queue has drained to half: tell it once.
    pub(crate) fn take_room_signal(&mut self) -> bool {
        if self.wants_room && self.len() <= self.capacity / 2 {
            self.wants_room = false;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_refuses_and_signals_room_once_after_draining() {
        let mut q = SendQueue::new(8);
        assert_eq!(q.check_room(9), Err(SendError::TooLarge));
        q.check_room(6).unwrap();
        q.push(b"abcdef");
        assert_eq!(q.check_room(3), Err(SendError::Full));
        assert!(!q.take_room_signal());
        assert_eq!(q.front_chunk(), b"abcdef");
        q.consume(4);
        assert!(q.take_room_signal());
        assert!(!q.take_room_signal());
        q.push(b"gh");
        assert_eq!(q.front_chunk(), b"ef");
        q.consume(2);
        assert_eq!(q.front_chunk(), b"gh");
        q.consume(2);
        assert!(q.is_empty());
        assert_eq!(q.front_chunk(), b"");
        assert_eq!(
            (q.front.capacity(), q.back.capacity()),
            (0, 0),
            "a drained queue keeps no buffer"
        );
    }
}
