//! The executor's shared receive buffers: a provided-buffer ring. Each socket keeps one
//! multishot receive armed (Linux 6.0+) that takes a buffer from the ring only when bytes
//! arrive, so an idle connection holds no receive buffer at all, and a busy one needs no new
//! submission per receive; the executor lends the buffer to the owning actor for one callback
//! and puts it back on the ring at once.

use std::alloc::{self, Layout};
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;
use io_uring::IoUring;

/// Alignment the kernel requires of the ring's entries.
const PAGE: usize = 4096;

/// A registered ring of `count` buffers of `size` bytes each.
pub(super) struct BufRing {
    entries: NonNull<BufRingEntry>,
    layout: Layout,
    buffers: Box<[u8]>,
    size: usize,
    count: u16,
    /// Our copy of the tail the kernel reads.
    tail: u16,
    group: u16,
    /// Buffers the kernel may use, as far as we know (it takes them without telling until
    /// their completion arrives): lent buffers are not counted.
    lent: usize,
}

/// A ring buffer lent out with the bytes the kernel put in it; given back with
/// [`BufRing::give_back`]. The kernel does not touch it meanwhile: it is off the ring.
pub(crate) struct ProvidedBuf {
    ptr: *const u8,
    len: usize,
    pub(super) id: u16,
}

impl ProvidedBuf {
    /// The received bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr..ptr+len` lies inside the ring's `buffers` allocation (checked in
        // `BufRing::lend`), which lives as long as the driver, and the buffer is off the ring
        // (the kernel wrote it, completed, and cannot pick it again) until it is given back,
        // which consumes this value.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl BufRing {
    /// Allocates `count` (a power of two, at most 32 768) buffers of `size` bytes and
    /// registers them with `ring` as buffer group `group`.
    pub(super) fn new(ring: &IoUring, count: u16, size: usize, group: u16) -> io::Result<Self> {
        if !kernel_at_least(6, 0) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "multishot receive needs Linux 6.0",
            ));
        }
        if !count.is_power_of_two() || count > 32_768 || size == 0 || size > u32::MAX as usize {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let layout = Layout::from_size_align(
            usize::from(count) * std::mem::size_of::<BufRingEntry>(),
            PAGE,
        )
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: the layout has a non-zero size (count >= 1 entries of 16 bytes).
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let entries = NonNull::new(raw.cast::<BufRingEntry>())
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let mut this = BufRing {
            entries,
            layout,
            buffers: vec![0; usize::from(count) * size].into_boxed_slice(),
            size,
            count,
            tail: 0,
            group,
            lent: 0,
        };
        // SAFETY: `entries` is page aligned, zeroed and `count` entries long, and stays
        // allocated (with `buffers`) until after it is unregistered or the ring is closed (see
        // `Drop` and the driver's field order).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(raw as u64, count, group, 0)?;
        }
        for id in 0..count {
            this.push(id);
        }
        this.publish();
        Ok(this)
    }

    /// The buffer group receives name.
    pub(super) fn group(&self) -> u16 {
        self.group
    }

    /// Whether every buffer is lent out (receives would end with ENOBUFS).
    pub(super) fn all_lent(&self) -> bool {
        self.lent >= usize::from(self.count)
    }

    /// Takes buffer `id`, which the kernel filled with `len` bytes, off the ring's books.
    pub(super) fn lend(&mut self, id: u16, len: usize) -> Option<ProvidedBuf> {
        if id >= self.count {
            return None;
        }
        self.lent += 1;
        let start = usize::from(id) * self.size;
        let slice = &self.buffers[start..start + self.size];
        Some(ProvidedBuf {
            ptr: slice.as_ptr(),
            len: len.min(self.size),
            id,
        })
    }

    /// Puts a buffer back on the ring for the kernel to fill again.
    pub(super) fn give_back(&mut self, id: u16) {
        if id >= self.count {
            return;
        }
        self.lent = self.lent.saturating_sub(1);
        self.push(id);
        self.publish();
    }

    /// Writes the entry for buffer `id` at our tail.
    fn push(&mut self, id: u16) {
        let index = usize::from(self.tail & (self.count - 1));
        let addr = self.buffers[usize::from(id) * self.size..].as_mut_ptr() as u64;
        // SAFETY: `index < count`, inside the entries allocation; the kernel only reads
        // entries between its head and our published tail, and this one is past the tail.
        let entry = unsafe { &mut *self.entries.as_ptr().add(index) };
        entry.set_addr(addr);
        entry.set_len(self.size as u32);
        entry.set_bid(id);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes the entries written so far visible to the kernel.
    fn publish(&mut self) {
        // SAFETY: the tail field overlays the first entry's reserved field, inside the
        // allocation, 2-byte aligned; the kernel reads it concurrently, so it is written
        // atomically with release ordering (after the entries it covers).
        unsafe {
            let tail = BufRingEntry::tail(self.entries.as_ptr()) as *const AtomicU16;
            (*tail).store(self.tail, Ordering::Release);
        }
    }

    /// Unregisters the ring (before the driver frees it on teardown).
    pub(super) fn unregister(&self, ring: &IoUring) {
        if let Err(e) = ring.submitter().unregister_buf_ring(self.group) {
            tracing::debug!(error = %e, "unregistering the receive buffer ring failed");
        }
    }
}

/// Whether the running kernel's release is at least `major.minor` (false if unreadable).
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return false;
    };
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; the driver drops its ring (closing it
        // and so unregistering the buffers) before this field.
        unsafe { alloc::dealloc(self.entries.as_ptr().cast(), self.layout) }
    }
}
