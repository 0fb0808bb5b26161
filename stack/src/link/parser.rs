//! Incremental link frame parser: takes bytes in any chunking, validates every CRC and rule of
//! IEEE 1815-2012, clause 9, and re-synchronises on `05 64` after any error.

use super::crc;
use super::format::{HEADER_SIZE, MAX_FRAME_SIZE, MAX_USER_DATA};
use super::header::{Control, LinkHeader};
use std::fmt;

/// The kinds of link-layer error, each counted by [`LinkStats`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkErrorKind {
    /// Bytes that were not part of any frame candidate were skipped while hunting for `05 64`.
    Garbage,
    /// The header CRC does not match.
    HeaderCrc,
    /// LENGTH is below 5.
    BadLength,
    /// The function code is undefined or not accepted for its PRM value.
    UnknownFunction,
    /// FCV does not match what the function requires.
    BadFcv,
    /// A secondary frame has the reserved bit 5 set.
    ReservedBit,
    /// A data-carrying function without user data.
    MissingData,
    /// A function without data carries user data.
    UnexpectedData,
    /// A data block CRC does not match.
    BodyCrc,
    /// The stream ended inside a frame.
    Truncated,
}

impl LinkErrorKind {
    /// Every kind, in counter order.
    pub const ALL: [LinkErrorKind; 10] = [
        LinkErrorKind::Garbage,
        LinkErrorKind::HeaderCrc,
        LinkErrorKind::BadLength,
        LinkErrorKind::UnknownFunction,
        LinkErrorKind::BadFcv,
        LinkErrorKind::ReservedBit,
        LinkErrorKind::MissingData,
        LinkErrorKind::UnexpectedData,
        LinkErrorKind::BodyCrc,
        LinkErrorKind::Truncated,
    ];

    /// Upper-case name used in logs and the decoder output.
    pub fn name(self) -> &'static str {
        match self {
            LinkErrorKind::Garbage => "GARBAGE",
            LinkErrorKind::HeaderCrc => "HEADER_CRC",
            LinkErrorKind::BadLength => "BAD_LENGTH",
            LinkErrorKind::UnknownFunction => "UNKNOWN_FUNCTION",
            LinkErrorKind::BadFcv => "BAD_FCV",
            LinkErrorKind::ReservedBit => "RESERVED_BIT",
            LinkErrorKind::MissingData => "MISSING_DATA",
            LinkErrorKind::UnexpectedData => "UNEXPECTED_DATA",
            LinkErrorKind::BodyCrc => "BODY_CRC",
            LinkErrorKind::Truncated => "TRUNCATED",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// A link-layer error with the stream offset where the offending bytes start.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LinkError {
    /// What went wrong.
    pub kind: LinkErrorKind,
    /// Offset in the byte stream (counted from the parser's creation) of the frame or garbage.
    pub offset: u64,
    /// For [`LinkErrorKind::Garbage`], how many bytes were skipped; otherwise 0.
    pub skipped: u64,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            LinkErrorKind::Garbage => write!(
                f,
                "{} bytes of garbage skipped at stream offset {}",
                self.skipped, self.offset
            ),
            kind => write!(
                f,
                "link frame error {} at stream offset {}",
                kind.name(),
                self.offset
            ),
        }
    }
}

impl std::error::Error for LinkError {}

/// Counters kept by a [`LinkParser`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkStats {
    /// Bytes given to the parser.
    pub bytes: u64,
    /// Valid frames produced.
    pub frames: u64,
    /// Bytes discarded (garbage and the bytes of rejected frames).
    pub discarded_bytes: u64,
    errors: [u64; LinkErrorKind::ALL.len()],
}

impl LinkStats {
    /// How many errors of `kind` were reported.
    pub fn errors(&self, kind: LinkErrorKind) -> u64 {
        self.errors[kind.slot()]
    }

    /// All errors reported, of every kind.
    pub fn total_errors(&self) -> u64 {
        self.errors.iter().sum()
    }
}

/// A validated frame; `user_data` borrows the parser until the next call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LinkFrame<'a> {
    /// The decoded header.
    pub header: LinkHeader,
    /// User data with the block CRCs removed (empty for link-control frames).
    pub user_data: &'a [u8],
    /// Offset of the frame's first byte in the stream.
    pub offset: u64,
}

/// The incremental FT3 parser. Holds at most one frame (292 bytes); never allocates.
pub struct LinkParser {
    /// The frame buffers, allocated while parsing and given back by [`LinkParser::feed`] when
    /// no partial frame is left, so an idle connection holds none.
    bufs: Option<Box<Buffers>>,
    /// Bytes of a partial frame buffered in `raw`.
    len: usize,
    /// Size of the frame in `raw` once its header validated, else 0.
    frame_size: usize,
    /// Stream offset of `raw[0]` (or of the next input byte when `raw` is empty).
    base: u64,
    /// Reportable garbage not yet reported: (first offset, count).
    garbage: Option<(u64, u64)>,
    /// Set by a rejected frame: the bytes skipped until the next valid header belong to that
    /// error and are not reported again as garbage.
    after_error: bool,
    stats: LinkStats,
}

/// A frame split across reads (`raw`), and the user data of the frame last returned.
struct Buffers {
    raw: [u8; MAX_FRAME_SIZE],
    user: [u8; MAX_USER_DATA],
}

impl Buffers {
    fn new() -> Box<Self> {
        Box::new(Buffers {
            raw: [0; MAX_FRAME_SIZE],
            user: [0; MAX_USER_DATA],
        })
    }
}

impl Default for LinkParser {
    fn default() -> Self {
        Self::new()
    }
}

impl LinkParser {
    /// A parser at stream offset 0.
    pub fn new() -> Self {
        LinkParser {
            bufs: None,
            len: 0,
            frame_size: 0,
            base: 0,
            garbage: None,
            after_error: false,
            stats: LinkStats::default(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// Drops any partial frame (e.g. after a reconnect); counters are kept.
    pub fn reset(&mut self) {
        self.skip_raw(self.len);
        self.frame_size = 0;
        self.garbage = None;
    }

    /// Feeds `data` and calls `on_event` for every frame and error, in stream order.
    pub fn feed(
        &mut self,
        mut data: &[u8],
        mut on_event: impl FnMut(Result<LinkFrame<'_>, LinkError>),
    ) {
        while let Some(event) = self.parse(&mut data) {
            on_event(event);
        }
        self.release();
    }

    /// Gives the frame buffers back unless a partial frame waits in them (done by
    /// [`LinkParser::feed`]; for callers of [`LinkParser::parse`]).
    pub fn release(&mut self) {
        if self.len == 0 {
            self.bufs = None;
        }
    }

    /// Whether frame buffers are held.
    pub fn holds_buffers(&self) -> bool {
        self.bufs.is_some()
    }

    /// Consumes bytes from `input` until one frame or error is ready, or `input` is empty
    /// (then `None`; a partial frame stays buffered for the next call).
    pub fn parse(&mut self, input: &mut &[u8]) -> Option<Result<LinkFrame<'_>, LinkError>> {
        loop {
            if self.len > 0 && self.raw()[0] != 0x05 {
                self.drop_front(0);
            }
            if self.len == 0 && self.garbage.is_none() {
                if let Some(size) = self.whole_frame_in(input) {
                    // Fast path: a whole valid frame at the front of the input is checked in
                    // place; only its user data is copied.
                    let frame = &input[..size];
                    let user_len = usize::from(frame[2]) - 5;
                    let bufs = self.bufs.get_or_insert_with(Buffers::new);
                    if unblock(frame, &mut bufs.user, user_len).is_ok() {
                        let header = decode_header(frame);
                        let offset = self.base;
                        self.base += size as u64;
                        self.stats.bytes += size as u64;
                        self.stats.frames += 1;
                        self.after_error = false;
                        *input = &input[size..];
                        return Some(Ok(LinkFrame {
                            header,
                            user_data: self.user(user_len),
                            offset,
                        }));
                    }
                }
            }
            if self.len == 0 {
                // Hunt for START1 straight in the input: garbage is never copied.
                let p = input.iter().position(|&b| b == 0x05).unwrap_or(input.len());
                self.skip_input(input, p);
                if input.is_empty() {
                    return None;
                }
            }
            let target = if self.frame_size == 0 {
                HEADER_SIZE
            } else {
                self.frame_size
            };
            if self.len < 2 || self.frame_size == 0 || self.len < target {
                let want = if self.len < 2 { 2 } else { target };
                let take = want.saturating_sub(self.len).min(input.len());
                let len = self.len;
                self.raw_mut()[len..len + take].copy_from_slice(&input[..take]);
                self.len += take;
                self.stats.bytes += take as u64;
                *input = &input[take..];
                if self.len >= 2 && self.raw()[1] != 0x64 {
                    self.drop_front(1);
                    continue;
                }
                if self.len < want {
                    return None;
                }
                if self.len < target {
                    continue;
                }
            }
            if self.frame_size == 0 {
                match check_header(&self.raw()[..HEADER_SIZE]) {
                    Ok(size) => {
                        self.frame_size = size;
                        self.after_error = false;
                        if let Some((offset, skipped)) = self.garbage.take() {
                            self.count(LinkErrorKind::Garbage);
                            return Some(Err(LinkError {
                                kind: LinkErrorKind::Garbage,
                                offset,
                                skipped,
                            }));
                        }
                        continue;
                    }
                    Err(kind) => return Some(Err(self.reject(kind))),
                }
            }
            // A whole frame is buffered: check the blocks and emit it.
            let size = self.frame_size;
            let len = self.len;
            let bufs = self.bufs.get_or_insert_with(Buffers::new);
            let user_len = usize::from(bufs.raw[2]) - 5;
            if let Err(kind) = unblock(&bufs.raw[..size], &mut bufs.user, user_len) {
                return Some(Err(self.reject(kind)));
            }
            let header = decode_header(&bufs.raw);
            // Bytes after the frame may already be buffered (after a resync): keep them.
            bufs.raw.copy_within(size..len, 0);
            let offset = self.base;
            self.len -= size;
            self.base += size as u64;
            self.frame_size = 0;
            self.stats.frames += 1;
            return Some(Ok(LinkFrame {
                header,
                user_data: self.user(user_len),
                offset,
            }));
        }
    }

    /// Ends the stream: reports pending garbage or a truncated frame, if any.
    pub fn finish(&mut self) -> Option<LinkError> {
        if self.len > 0 {
            let error = LinkError {
                kind: LinkErrorKind::Truncated,
                offset: self.base,
                skipped: 0,
            };
            self.count(LinkErrorKind::Truncated);
            self.skip_raw(self.len);
            self.frame_size = 0;
            self.garbage = None;
            return Some(error);
        }
        let (offset, skipped) = self.garbage.take()?;
        self.count(LinkErrorKind::Garbage);
        Some(LinkError {
            kind: LinkErrorKind::Garbage,
            offset,
            skipped,
        })
    }

    /// The size of the valid frame header at the front of `input`, when the whole frame is
    /// there too.
    fn whole_frame_in(&self, input: &[u8]) -> Option<usize> {
        let h = input.get(..HEADER_SIZE)?;
        if h[0] != 0x05 || h[1] != 0x64 {
            return None;
        }
        let size = check_header(h).ok()?;
        (input.len() >= size).then_some(size)
    }

    /// The partial-frame buffer (allocated on first use).
    fn raw_mut(&mut self) -> &mut [u8; MAX_FRAME_SIZE] {
        &mut self.bufs.get_or_insert_with(Buffers::new).raw
    }

    /// The partial-frame buffer; empty contents when none is held (then `len` is 0).
    fn raw(&self) -> &[u8] {
        match &self.bufs {
            Some(b) => &b.raw,
            None => &[],
        }
    }

    /// The user data of the frame just unblocked.
    fn user(&self, len: usize) -> &[u8] {
        match &self.bufs {
            Some(b) => &b.user[..len.min(MAX_USER_DATA)],
            None => &[],
        }
    }

    fn count(&mut self, kind: LinkErrorKind) {
        self.stats.errors[kind.slot()] += 1;
    }

    /// Reports the buffered candidate as bad, drops its first byte and rescans the rest.
    fn reject(&mut self, kind: LinkErrorKind) -> LinkError {
        self.count(kind);
        let error = LinkError {
            kind,
            offset: self.base,
            skipped: 0,
        };
        self.after_error = true;
        self.frame_size = 0;
        self.drop_front(1);
        error
    }

    /// Drops `n` buffered bytes, then any following bytes up to the next START1 candidate.
    fn drop_front(&mut self, n: usize) {
        let next = self.raw()[n..self.len]
            .iter()
            .position(|&b| b == 0x05)
            .map_or(self.len, |p| p + n);
        self.skip_raw(next);
    }

    /// Removes `n` bytes from the front of `raw`, recording them as skipped.
    fn skip_raw(&mut self, n: usize) {
        self.record_skip(n as u64);
        let len = self.len;
        if len > 0 {
            self.raw_mut().copy_within(n..len, 0);
        }
        self.len -= n;
    }

    /// Skips `n` bytes of the input while `raw` is empty.
    fn skip_input(&mut self, input: &mut &[u8], n: usize) {
        self.stats.bytes += n as u64;
        self.record_skip(n as u64);
        *input = &input[n..];
    }

    fn record_skip(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        self.stats.discarded_bytes += n;
        let start = self.base;
        self.base += n;
        if !self.after_error {
            match &mut self.garbage {
                Some((_, count)) => *count += n,
                None => self.garbage = Some((start, n)),
            }
        }
    }
}

/// Decodes the header of a frame whose header already validated.
fn decode_header(h: &[u8]) -> LinkHeader {
    let control =
        Control::from_byte(h[3]).unwrap_or(Control::new(false, super::LinkFunction::NotSupported));
    LinkHeader {
        control,
        destination: u16::from_le_bytes([h[4], h[5]]),
        source: u16::from_le_bytes([h[6], h[7]]),
    }
}

/// Validates 10 header bytes; returns the whole frame's size.
fn check_header(h: &[u8]) -> Result<usize, LinkErrorKind> {
    if !crc::check(&h[..8], [h[8], h[9]]) {
        return Err(LinkErrorKind::HeaderCrc);
    }
    let length = usize::from(h[2]);
    if length < 5 {
        return Err(LinkErrorKind::BadLength);
    }
    let control = Control::from_byte(h[3]).ok_or(LinkErrorKind::UnknownFunction)?;
    let function = control.function;
    if !function.is_supported() {
        return Err(LinkErrorKind::UnknownFunction);
    }
    if function.is_primary() {
        if control.fcv != function.requires_fcv() {
            return Err(LinkErrorKind::BadFcv);
        }
    } else if h[3] & 0x20 != 0 {
        return Err(LinkErrorKind::ReservedBit);
    }
    match (function.carries_data(), length > 5) {
        (true, false) => return Err(LinkErrorKind::MissingData),
        (false, true) => return Err(LinkErrorKind::UnexpectedData),
        _ => {}
    }
    Ok(super::frame_size(length - 5))
}

/// Checks every block CRC of `frame` (a whole frame) and copies its data into `user`.
fn unblock(frame: &[u8], user: &mut [u8], user_len: usize) -> Result<(), LinkErrorKind> {
    let mut pos = HEADER_SIZE;
    let mut out = 0;
    while out < user_len {
        let n = (user_len - out).min(super::BLOCK_SIZE);
        let block = &frame[pos..pos + n];
        if !crc::check(block, [frame[pos + n], frame[pos + n + 1]]) {
            return Err(LinkErrorKind::BodyCrc);
        }
        user[out..out + n].copy_from_slice(block);
        out += n;
        pos += n + 2;
    }
    Ok(())
}

impl fmt::Debug for LinkParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkParser")
            .field("buffered", &self.len)
            .field("offset", &self.base)
            .field("stats", &self.stats)
            .finish()
    }
}
