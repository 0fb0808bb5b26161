//! One fragment buffer per thread, lent to whichever router is writing: a fragment is written
//! and framed within one call, so channels on the same executor thread share the buffer
//! instead of each keeping its own (2 KiB at the usual fragment size).

use std::cell::Cell;

thread_local! {
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Takes the thread's buffer (empty if it is lent already: the caller then grows its own).
pub(super) fn take() -> Vec<u8> {
    SCRATCH.take()
}

/// Gives a buffer back for the next writer on this thread, keeping the larger of the two.
pub(super) fn give_back(buf: Vec<u8>) {
    SCRATCH.with(|cell| {
        let held = cell.take();
        cell.set(if held.capacity() >= buf.capacity() {
            held
        } else {
            buf
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_is_lent_and_comes_back() {
        let mut buf = take();
        buf.resize(2048, 0);
        give_back(buf);
        let again = take();
        assert!(again.len() >= 2048, "the same buffer is lent again");
        let nested = take();
        assert_eq!(nested.capacity(), 0, "a second borrower gets its own");
        give_back(nested);
        give_back(again);
        assert!(take().len() >= 2048);
    }
}
