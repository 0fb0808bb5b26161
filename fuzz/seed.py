#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/<target>/seed-* from the known-answer hex vectors in
stack/tests/vectors.rs: link frames for the link parser and the router, their segments for the
transport, their fragments for the application parser and the two sessions (requests to the
outstation, responses to the master), and scripts for the TLS target (handshakes, split,
corrupted and truncated records, close_notify, frames encrypted into the session). Run from
anywhere; rewrites only seed-* files.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent
VECTORS = ROOT.parent / "stack" / "tests" / "vectors.rs"
PER_TARGET = 8


def vectors():
    """Every distinct hex string literal of vectors.rs, as bytes, in file order."""
    seen = []
    for text in re.findall(r'"((?:[0-9A-Fa-f]{2} )+[0-9A-Fa-f]{2})"', VECTORS.read_text()):
        b = bytes.fromhex(text)
        if b not in seen:
            seen.append(b)
    return seen


def user_data(frame):
    """The user data of a frame: its 16-byte blocks without their CRCs."""
    body = frame[10:]
    out = b""
    while body:
        block = body[: min(16, len(body) - 2)]
        out += block
        body = body[len(block) + 2 :]
    return out


def step(data, variant=0):
    """A data step of the fuzz script (see fuzz/src/lib.rs)."""
    return bytes([variant]) + len(data).to_bytes(2, "little") + data


POLL = b"\x04"


# The TLS target's script (see fuzz/fuzz_targets/tls.rs): a version byte, then steps.
TLS13, TLS12 = b"\x00", b"\x01"
CLIENT, SERVER = 0, 8
EXCHANGE = b"\x06"


def u16(n):
    return n.to_bytes(2, "little")


def tls_write(side, data):
    return bytes([0 | side]) + u16(len(data)) + data


def tls_deliver(side, count=0):
    return bytes([1 | side]) + u16(count)


def tls_corrupt(side, offset, xor):
    return bytes([2 | side]) + u16(offset) + bytes([xor])


def tls_truncate(side, keep):
    return bytes([3 | side]) + u16(keep)


def tls_raw(side, data):
    return bytes([4 | side]) + u16(len(data)) + data


def tls_close(side):
    return bytes([5 | side])


def tls_advance(steps):
    return b"\x07" + u16(steps)


def tls_seeds(frames):
    """Handshakes whole, split and deferred, garbage to either side from the start, then
    records of an established session corrupted, truncated and closed."""
    # A record header of each content type with a short body, and plaintext DNP3.
    records = b"".join(bytes([t, 3, 3, 0, 4]) + b"\x01\x00\x00\x00" for t in (20, 21, 22, 23))
    request = frames[0]
    established = EXCHANGE + tls_advance(1000) + EXCHANGE
    return [
        TLS13 + established,
        TLS12 + established,
        TLS13 + tls_raw(SERVER, request) + tls_raw(CLIENT, records),
        # Split anywhere, and more handshake steps than one turn's budget: the rest is held
        # until the clock (and the executor's turn) moves.
        TLS12 + tls_deliver(CLIENT, 5) + b"".join(tls_deliver(CLIENT, 1) for _ in range(10))
        + tls_deliver(CLIENT) + tls_deliver(SERVER, 100) + tls_advance(1) + EXCHANGE,
        TLS13 + EXCHANGE + tls_write(CLIENT, request) + tls_corrupt(CLIENT, 7, 1)
        + tls_deliver(CLIENT) + EXCHANGE,
        TLS12 + EXCHANGE + tls_write(SERVER, request) + tls_write(SERVER, request)
        + tls_truncate(SERVER, 20) + tls_deliver(SERVER) + EXCHANGE,
        TLS13 + EXCHANGE + b"".join(tls_write(CLIENT, f) for f in frames[:6])
        + tls_deliver(CLIENT, 33) + tls_close(CLIENT) + EXCHANGE,
        TLS12 + EXCHANGE + tls_raw(SERVER, records) + tls_close(SERVER) + EXCHANGE,
    ]


def write(target, seeds):
    folder = ROOT / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("seed-*"):
        old.unlink()
    for i, s in enumerate(seeds[:PER_TARGET]):
        (folder / f"seed-{i:02}").write_bytes(s)


def main():
    all_vectors = vectors()
    frames = [v for v in all_vectors if v[:2] == b"\x05\x64" and len(v) >= 10]
    segments = [user_data(f) for f in frames if len(f) > 10]
    fragments = [s[1:] for s in segments if s and s[0] & 0xC0 == 0xC0]
    fragments += [v for v in all_vectors if v[:2] != b"\x05\x64" and len(v) >= 2]
    fragments = list(dict.fromkeys(fragments))
    requests = [f for f in fragments if f[1] < 0x81]
    responses = [f for f in fragments if f[1] >= 0x81]
    # Prefer the larger vectors: they carry more object headers.
    by_size = lambda xs: sorted(xs, key=len, reverse=True)

    write("link_parser", [b"\x00" + f for f in by_size(frames)[:7]]
          + [bytes([3, 1, 7, 13]) + b"".join(frames[:6])])
    write("transport", [step(s) for s in by_size(segments)[:7]]
          + [b"".join(step(s, i % 4) for i, s in enumerate(segments[:6]))])
    write("app_parser", by_size(fragments))
    write("master_session", [step(f) + POLL for f in by_size(responses)[:7]]
          + [b"".join(step(f) + POLL for f in responses[:6])])
    write("outstation_session", [step(f) + POLL for f in by_size(requests)[:7]]
          + [b"".join(step(f) + POLL for f in requests[:6])])
    write("router", [step(f) + POLL for f in by_size(frames)[:6]]
          + [b"".join(step(f, 1) for f in frames[:8]),
             POLL + b"\x05\xff\x00" + POLL + step(b"", 1)])
    write("tls", tls_seeds(frames))


if __name__ == "__main__":
    main()
