"""The demo database shared by the interop peers, and helpers for the driver (run.sh).

Every peer of the interop tests (our `outstation` example, tests/interop/opendnp3_outstation.py)
serves the same demo database; all points are class 1 and start ONLINE:

    binary                 0-9  true when the index is odd
    double-bit             0-3  INTERMEDIATE, DETERMINED_OFF, DETERMINED_ON, INDETERMINATE
    counter                0-9  100 x index
    frozen-counter         0-9  0
    analog                 0-9  1.5 x index
    binary-output-status   0-9  false
    analog-output-status   0-9  0.0

A CROB on index i < 10 sets binary-output-status i (LATCH_ON/PULSE_ON true, LATCH_OFF/PULSE_OFF
false), an analog output on index i < 10 sets analog-output-status i; both answer SUCCESS, and
index >= 10 answers NOT_SUPPORTED.

This module only uses the standard library: run.sh calls its sub-commands with any python3.

    python3 demo_db.py check-master-output FILE [--crob I:OP]... [--analog I:V]... [--expect-command I:STATUS]...
        Checks the output of our `master` example (`--once`) against the demo database, with the
        effect of the given earlier controls applied, and the `command` lines it printed.
    python3 demo_db.py check-poll-output FILE NAME
        Checks the JSON lines of `rdnp3 poll` for outstation NAME: it went online, every point
        of the demo database came with its initial value and flags, the configured CROB 3
        LATCH_ON answered SUCCESS, and binary-output-status 3 was true after it.
    python3 demo_db.py wait-listen HOST PORT SECONDS
        Waits until a TCP socket listens on HOST:PORT (read from /proc/net/tcp, so it never
        connects to the peer), exit code 0 when it does, 1 on timeout.
"""

import sys
import time

# Flag bits (IEEE 1815 quality flags).
ONLINE = 0x01
STATE = 0x80  # binary and binary output status: the state bit in the flags octet

DOUBLE_BIT_NAMES = ["INTERMEDIATE", "DETERMINED_OFF", "DETERMINED_ON", "INDETERMINATE"]

TYPES = [
    "binary",
    "double-bit",
    "counter",
    "frozen-counter",
    "analog",
    "binary-output-status",
    "analog-output-status",
]

# Operations a CROB can carry and the binary output status they leave behind.
CROB_STATE = {"LATCH_ON": True, "PULSE_ON": True, "LATCH_OFF": False, "PULSE_OFF": False}

POINTS = 10  # points per type, except double-bit
DOUBLE_BIT_POINTS = 4


def demo_database():
    """{type: {index: value}} with the initial values of the demo database.

    binary/binary-output-status values are bools, double-bit values names from
    DOUBLE_BIT_NAMES, counters ints and analogs floats.
    """
    return {
        "binary": {i: i % 2 == 1 for i in range(POINTS)},
        "double-bit": {i: DOUBLE_BIT_NAMES[i] for i in range(DOUBLE_BIT_POINTS)},
        "counter": {i: 100 * i for i in range(POINTS)},
        "frozen-counter": {i: 0 for i in range(POINTS)},
        "analog": {i: 1.5 * i for i in range(POINTS)},
        "binary-output-status": {i: False for i in range(POINTS)},
        "analog-output-status": {i: 0.0 for i in range(POINTS)},
    }


def expected_flags(kind, value):
    """The exact flags octet a peer reports for a demo point: ONLINE plus the state bits."""
    if kind in ("binary", "binary-output-status"):
        return ONLINE | (STATE if value else 0)
    if kind == "double-bit":
        return ONLINE | (DOUBLE_BIT_NAMES.index(value) << 6)
    return ONLINE


def apply_controls(db, crobs, analogs):
    """Applies controls (lists of (index, op) / (index, value)) as the demo outstation does."""
    for index, op in crobs:
        if index < POINTS:
            db["binary-output-status"][index] = CROB_STATE[op]
    for index, value in analogs:
        if index < POINTS:
            db["analog-output-status"][index] = float(value)


def parse_value(kind, text):
    if kind in ("binary", "binary-output-status"):
        if text not in ("true", "false"):
            raise ValueError(f"bad boolean {text!r}")
        return text == "true"
    if kind == "double-bit":
        if text not in DOUBLE_BIT_NAMES:
            raise ValueError(f"bad double-bit state {text!r}")
        return text
    if kind in ("counter", "frozen-counter"):
        return int(text)
    return float(text)


def same_value(kind, got, want):
    if kind in ("analog", "analog-output-status"):
        return abs(got - want) <= 1e-9 * max(1.0, abs(want))
    return got == want


def check_master_output(lines, db, expect_commands):
    """Checks our master's output lines; returns a list of failure messages (empty = pass).

    Every point of `db` must appear, the LAST line printed for a point (static data follows the
    events in an integrity poll) must carry the expected value and flags, no point outside the
    database may appear, and the `command` lines must equal `expect_commands` (in order).
    """
    failures = []
    last = {}
    commands = []
    for n, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "command":
            if len(parts) != 3:
                failures.append(f"line {n}: malformed command line {line!r}")
                continue
            commands.append((int(parts[1]), parts[2]))
            continue
        if parts[0] not in TYPES:
            continue  # not a measurement line
        kind = parts[0]
        if len(parts) != 4:
            failures.append(f"line {n}: malformed measurement line {line!r}")
            continue
        try:
            index = int(parts[1])
            value = parse_value(kind, parts[2])
            if not parts[3].startswith("0x"):
                raise ValueError(f"flags {parts[3]!r} not as 0xNN")
            flags = int(parts[3], 16)
        except ValueError as e:
            failures.append(f"line {n}: {e}: {line!r}")
            continue
        last[(kind, index)] = (value, flags, n)

    for kind in TYPES:
        missing = []
        for index, want in sorted(db[kind].items()):
            got = last.pop((kind, index), None)
            if got is None:
                missing.append(index)
                continue
            value, flags, n = got
            if not same_value(kind, value, want):
                failures.append(f"{kind} {index}: value {value!r}, want {want!r} (line {n})")
            want_flags = expected_flags(kind, want)
            if flags != want_flags:
                failures.append(
                    f"{kind} {index}: flags 0x{flags:02X}, want 0x{want_flags:02X} (line {n})"
                )
        if missing:
            failures.append(f"{kind}: indices {missing} missing")
    for (kind, index), (value, flags, n) in sorted(last.items()):
        failures.append(f"{kind} {index}: not in the demo database (line {n})")

    if commands != expect_commands:
        failures.append(f"command lines {commands}, want {expect_commands}")
    return failures


def _spec(text, what):
    index, sep, rest = text.partition(":")
    if not sep:
        raise SystemExit(f"demo_db: expected INDEX:{what}, got {text!r}")
    return int(index), rest


def main_check(argv):
    if not argv:
        raise SystemExit("usage: demo_db.py check-master-output FILE [options]")
    path, rest = argv[0], argv[1:]
    crobs, analogs, commands = [], [], []
    freeze, clear = False, False
    i = 0
    while i < len(rest):
        opt = rest[i]
        if opt in ("--freeze", "--freeze-clear"):
            # The counters were frozen (and cleared) after the controls.
            freeze = True
            clear = clear or opt == "--freeze-clear"
            i += 1
            continue
        if i + 1 >= len(rest):
            raise SystemExit(f"demo_db: {opt} needs a value")
        val = rest[i + 1]
        if opt == "--crob":
            index, op = _spec(val, "OP")
            if op not in CROB_STATE:
                raise SystemExit(f"demo_db: unknown CROB operation {op!r}")
            crobs.append((index, op))
        elif opt == "--analog":
            index, v = _spec(val, "VALUE")
            analogs.append((index, float(v)))
        elif opt == "--expect-command":
            commands.append(_spec(val, "STATUS"))
        else:
            raise SystemExit(f"demo_db: unknown option {opt}")
        i += 2
    db = demo_database()
    apply_controls(db, crobs, analogs)
    if freeze:
        db["frozen-counter"] = dict(db["counter"])
    if clear:
        db["counter"] = {i: 0 for i in db["counter"]}
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    failures = check_master_output(lines, db, commands)
    for msg in failures:
        print(f"  mismatch: {msg}")
    return 0 if not failures else 1


def listening(host, port):
    """True when /proc/net/tcp has a LISTEN socket on host:port (or on 0.0.0.0:port)."""
    want_port = f"{port:04X}"
    octets = [int(x) for x in host.split(".")]
    want_hosts = {
        "".join(f"{o:02X}" for o in reversed(octets)),  # little-endian as the kernel prints it
        "00000000",
    }
    try:
        with open("/proc/net/tcp", encoding="ascii") as f:
            next(f)
            for line in f:
                fields = line.split()
                local, state = fields[1], fields[3]
                addr, _, p = local.partition(":")
                if state == "0A" and p == want_port and addr in want_hosts:
                    return True
    except OSError:
        pass
    return False


def wait_listen(host, port, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if listening(host, port):
            return True
        time.sleep(0.05)
    return listening(host, port)


def _name(text):
    return str(text).upper().replace("-", "_")


def check_poll_output(path, name):
    """See the module docs; prints one line per problem, returns the number of problems."""
    import json

    lines = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            raw = raw.strip()
            if raw:
                obj = json.loads(raw)
                if obj.get("outstation") == name:
                    lines.append(obj)
    problems = []
    if {"outstation": name, "state": "online"} not in lines:
        problems.append("no online line")
    db = demo_database()
    for kind, points in db.items():
        for index, want in points.items():
            seen = [o for o in lines if o.get("type") == kind and o.get("index") == index]
            if not seen:
                problems.append(f"{kind} {index}: never reported")
                continue
            first = seen[0]
            got = first["value"]
            ok = _name(got) == _name(want) if kind == "double-bit" else same_value(kind, got, want)
            if not ok:
                problems.append(f"{kind} {index}: first value {got!r}, expected {want!r}")
            if first["flags"] != expected_flags(kind, want):
                problems.append(f"{kind} {index}: flags {first['flags']:#04x}")
    commands = [i for i, o in enumerate(lines) if o.get("command") == "crob" and o.get("index") == 3]
    if not commands:
        problems.append("no result line for CROB 3")
    elif lines[commands[0]].get("status") != "SUCCESS":
        problems.append(f"CROB 3: {lines[commands[0]]}")
    else:
        after = [o for o in lines[commands[0]:] if o.get("type") == "binary-output-status" and o.get("index") == 3]
        if not any(o["value"] is True for o in after):
            problems.append("binary-output-status 3 never true after the CROB")
    for p in problems:
        print(f"    poll output: {p}")
    print(f"    poll output: {len(lines)} lines for {name}, {len(problems)} problems")
    return len(problems)


def main(argv):
    if len(argv) == 3 and argv[0] == "check-poll-output":
        return 1 if check_poll_output(argv[1], argv[2]) else 0
    if len(argv) >= 1 and argv[0] == "check-master-output":
        return main_check(argv[1:])
    if len(argv) == 4 and argv[0] == "wait-listen":
        return 0 if wait_listen(argv[1], int(argv[2]), float(argv[3])) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
