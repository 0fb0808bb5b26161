#!/usr/bin/env python3
"""An opendnp3 master (TCP client) that checks an outstation serving the interop demo database.

Usage:
    python opendnp3_master.py --connect HOST:PORT [--outstation 1024] [--master 1]
                              [--timeout 30] [--verbose]

Steps, each printing PASS/FAIL lines:
  1. the startup integrity poll (class 1/2/3/0) succeeds and returns every point of the demo
     database (demo_db.py) with the right type, value and flags (ONLINE plus state bits), and
     no other point;
  2. select-before-operate CROB LATCH_ON on index 3 -> SUCCESS;
  3. direct operate analog output (g41v3, float) 7.5 on index 2 -> SUCCESS;
  4. CROB LATCH_ON on index 12, direct operate and select-before-operate -> NOT_SUPPORTED;
  5. a class 1/2/3/0 poll returns binary output status 3 = true, analog output status 2 = 7.5
     and every other point unchanged.
Exit code 0 only if every check passed; 2 on the global timeout. The stack is shut down from
a helper thread (DNP3Manager.Shutdown() can hang on the main thread), then os._exit.
"""

import argparse
import os
import sys
import threading
import time

import opendnp3 as dnp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_db  # noqa: E402

_print_lock = threading.Lock()


def say(*parts, err=False):
    with _print_lock:
        print(*parts, file=sys.stderr if err else sys.stdout, flush=True)


# Measurement classes of the binding -> demo_db type names.
_KINDS = [
    (dnp.Binary, "binary"),
    (dnp.DoubleBitBinary, "double-bit"),
    (dnp.Counter, "counter"),
    (dnp.FrozenCounter, "frozen-counter"),
    (dnp.Analog, "analog"),
    (dnp.BinaryOutputStatus, "binary-output-status"),
    (dnp.AnalogOutputStatus, "analog-output-status"),
]


def _kind_of(meas):
    for cls, name in _KINDS:
        if isinstance(meas, cls):
            return name
    return None


def _plain_value(kind, meas):
    if kind == "double-bit":
        return meas.value.name
    if kind in ("binary", "binary-output-status"):
        return bool(meas.value)
    if kind in ("counter", "frozen-counter"):
        return int(meas.value)
    return float(meas.value)


class Collector(dnp.ISOEHandler):
    """Keeps the last value, flags and object variation of every point, and counts the final
    fragments of responses (one per completed read)."""

    def __init__(self):
        super().__init__()
        self.cond = threading.Condition()
        self.points = {}  # (kind, index) -> (value, flags, gv name)
        self.others = []  # objects that are not demo database measurements
        self.gvs = {}  # gv name -> count
        self.responses = 0

    def clear(self):
        with self.cond:
            self.points.clear()
            self.others.clear()
            self.gvs.clear()

    def BeginFragment(self, info):
        pass

    def EndFragment(self, info):
        if info.fin and not info.unsolicited:
            with self.cond:
                self.responses += 1
                self.cond.notify_all()

    def Process(self, info, values):
        gv = info.gv.name
        with self.cond:
            for item in values:
                meas = getattr(item, "value", None)
                index = getattr(item, "index", None)
                kind = _kind_of(meas) if meas is not None else None
                self.gvs[gv] = self.gvs.get(gv, 0) + 1
                if kind is None or index is None:
                    self.others.append(gv)
                    continue
                self.points[(kind, index)] = (_plain_value(kind, meas), int(meas.flags.value), gv)

    def OnDeviceAttribute(self, info, set, variation, value):
        pass


class MasterApp(dnp.IMasterApplication):
    def __init__(self):
        super().__init__()
        self.cond = threading.Condition()
        self.completed = []  # (MasterTaskType name, TaskCompletion name)

    def OnReceiveIIN(self, iin):
        pass

    def OnTaskStart(self, type, id):
        pass

    def OnTaskComplete(self, info):
        with self.cond:
            self.completed.append((info.type.name, info.result.name))
            self.cond.notify_all()

    def OnOpen(self):
        pass

    def OnClose(self):
        pass

    def AssignClassDuringStartup(self):
        return False

    def Now(self):
        return dnp.UTCTimestamp(int(time.time() * 1000))


class Listener(dnp.IChannelListener):
    def __init__(self, verbose):
        super().__init__()
        self.verbose = verbose

    def OnStateChange(self, state):
        if self.verbose:
            say("channel", state.name, err=True)


class StderrLog(dnp.ILogHandler):
    def log(self, module, id, level, location, message):
        say(f"log {id}: {message}", err=True)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            say(f"PASS {what}")
        else:
            self.failed += 1
            say(f"FAIL {what}" + (f": {detail}" if detail else ""))
        return ok


def wait_until(cond, predicate, seconds):
    deadline = time.monotonic() + seconds
    with cond:
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            cond.wait(left)
        return True


def check_database(checks, collector, db, label):
    """One PASS/FAIL per type: every point present with the right value and flags."""
    with collector.cond:
        points = dict(collector.points)
        others = list(collector.others)
        gvs = dict(collector.gvs)
    say(f"  objects seen ({label}): " + ", ".join(f"{g} x{n}" for g, n in sorted(gvs.items())))
    for kind in demo_db.TYPES:
        problems = []
        for index, want in sorted(db[kind].items()):
            got = points.pop((kind, index), None)
            if got is None:
                problems.append(f"{index} missing")
                continue
            value, flags, gv = got
            if not demo_db.same_value(kind, value, want):
                problems.append(f"{index} = {value!r} ({gv}), want {want!r}")
            want_flags = demo_db.expected_flags(kind, want)
            if flags != want_flags:
                problems.append(f"{index} flags 0x{flags:02X} ({gv}), want 0x{want_flags:02X}")
        extra = sorted(i for (k, i) in points if k == kind)
        if extra:
            problems.append(f"unexpected indices {extra}")
        n = len(db[kind])
        checks.check(not problems, f"{label}: {kind} 0-{n - 1}", "; ".join(problems))
    checks.check(not others, f"{label}: no objects outside the demo database", f"got {sorted(set(others))}")


def run_command(checks, what, start, want_status, seconds=10.0):
    """start(callback) issues the command; checks the single point result's status."""
    done = threading.Event()
    box = {}

    def callback(result):
        box["summary"] = result.summary.name
        box["points"] = [(r.index, r.state.name, r.status.name) for r in result.to_list()]
        done.set()

    start(callback)
    if not done.wait(seconds):
        return checks.check(False, what, f"no result within {seconds:.0f} s")
    points = box["points"]
    statuses = [status for _, _, status in points]
    detail = f"summary {box['summary']}, points {points}"
    ok = statuses == [want_status.name]
    if want_status == dnp.CommandStatus.SUCCESS:
        ok = ok and box["summary"] == "SUCCESS" and points[0][1] == "SUCCESS"
    return checks.check(ok, f"{what} -> {want_status.name}", "" if ok else detail)


def shutdown_and_exit(manager, code):
    t = threading.Thread(target=manager.Shutdown, daemon=True)
    t.start()
    t.join(5.0)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def parse_endpoint(text):
    host, sep, port = text.rpartition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connect", type=parse_endpoint, default=("127.0.0.1", 20000), metavar="HOST:PORT")
    ap.add_argument("--outstation", type=int, default=1024, help="outstation link address")
    ap.add_argument("--master", type=int, default=1, help="master link address")
    ap.add_argument("--timeout", type=float, default=30.0, help="global timeout in seconds")
    ap.add_argument("--verbose", action="store_true", help="opendnp3 protocol log on stderr")
    ap.add_argument("--tls-cert", metavar="PEM", help="TLS: this peer's certificate (needs --tls-key, --tls-ca)")
    ap.add_argument("--tls-key", metavar="PEM", help="TLS: its private key")
    ap.add_argument("--tls-ca", metavar="PEM", help="TLS: the CA the other side's certificate must chain to")
    ap.add_argument("--tls-max", choices=("1.2", "1.3"), default="1.3", help="TLS: newest version allowed")
    args = ap.parse_args()
    host, port = args.connect

    def on_timeout():
        say(f"FAIL global timeout of {args.timeout:.0f} s")
        sys.stdout.flush()
        os._exit(2)

    watchdog = threading.Timer(args.timeout, on_timeout)
    watchdog.daemon = True
    watchdog.start()

    checks = Checks()
    manager = dnp.DNP3Manager(1, StderrLog() if args.verbose else None)
    try:
        run(args, host, port, manager, checks)
    except Exception as e:  # noqa: BLE001 - any error is a failed check
        checks.check(False, "no exception", f"{type(e).__name__}: {e}")
    watchdog.cancel()
    ok = checks.failed == 0 and checks.passed > 0
    say(f"opendnp3_master: {'PASS' if ok else 'FAIL'} ({checks.passed} checks passed, {checks.failed} failed)")
    shutdown_and_exit(manager, 0 if ok else 1)


def run(args, host, port, manager, checks):
    levels = dnp.levels.ALL_COMMS if args.verbose else dnp.levels.NOTHING
    endpoints = [dnp.IPEndpoint(host, port)]
    if args.tls_cert:
        tls = dnp.TLSConfig(args.tls_ca, args.tls_cert, args.tls_key, allowTLSv13=args.tls_max == "1.3")
        channel = manager.AddTLSClient(
            "client", levels, dnp.ChannelRetry.Default(), endpoints, "0.0.0.0", tls, Listener(args.verbose)
        )
    else:
        channel = manager.AddTCPClient(
            "client", levels, dnp.ChannelRetry.Default(), endpoints, "0.0.0.0", Listener(args.verbose)
        )
    collector = Collector()
    app = MasterApp()
    config = dnp.MasterStackConfig()
    config.link.LocalAddr = args.master
    config.link.RemoteAddr = args.outstation
    config.master.disableUnsolOnStartup = True
    config.master.responseTimeout = dnp.TimeDuration.Seconds(5)
    master = channel.AddMaster("master", collector, app, config)
    master.Enable()

    # 1. Startup integrity poll.
    def integrity_done():
        return any(t == "STARTUP_INTEGRITY_POLL" for t, _ in app.completed)

    finished = wait_until(app.cond, integrity_done, 15.0)
    with app.cond:
        tasks = list(app.completed)
    results = [r for t, r in tasks if t == "STARTUP_INTEGRITY_POLL"]
    if not checks.check(
        finished and results[0] == "SUCCESS",
        "startup integrity poll",
        f"tasks completed: {tasks}" if finished else f"not finished within 15 s; tasks completed: {tasks}",
    ):
        return
    check_database(checks, collector, demo_db.demo_database(), "integrity")

    # 2-4. Controls.
    crob = dnp.ControlRelayOutputBlock(dnp.OperationType.LATCH_ON)
    run_command(
        checks,
        "select-before-operate CROB LATCH_ON index 3",
        lambda cb: master.SelectAndOperate(crob, 3, cb),
        dnp.CommandStatus.SUCCESS,
    )
    run_command(
        checks,
        "direct operate analog output g41v3 7.5 index 2",
        lambda cb: master.DirectOperate(dnp.AnalogOutputFloat32(7.5), 2, cb),
        dnp.CommandStatus.SUCCESS,
    )
    run_command(
        checks,
        "direct operate CROB LATCH_ON index 12",
        lambda cb: master.DirectOperate(crob, 12, cb),
        dnp.CommandStatus.NOT_SUPPORTED,
    )
    run_command(
        checks,
        "select-before-operate CROB LATCH_ON index 12",
        lambda cb: master.SelectAndOperate(crob, 12, cb),
        dnp.CommandStatus.NOT_SUPPORTED,
    )

    # 5. Poll again: the controls took effect, nothing else changed.
    collector.clear()
    with collector.cond:
        before = collector.responses
    master.ScanClasses(dnp.ClassField.AllClasses(), collector)
    got = wait_until(collector.cond, lambda: collector.responses > before, 10.0)
    if not checks.check(got, "class 1/2/3/0 poll after the controls", "no response within 10 s"):
        return
    with collector.cond:
        bos3 = collector.points.get(("binary-output-status", 3))
        aos2 = collector.points.get(("analog-output-status", 2))
    checks.check(
        bos3 is not None and bos3[0] is True,
        "binary-output-status 3 = true after CROB",
        f"got {bos3}",
    )
    checks.check(
        aos2 is not None and demo_db.same_value("analog-output-status", aos2[0], 7.5),
        "analog-output-status 2 = 7.5 after analog output",
        f"got {aos2}",
    )
    db = demo_db.demo_database()
    demo_db.apply_controls(db, [(3, "LATCH_ON"), (12, "LATCH_ON")], [(2, 7.5)])
    check_database(checks, collector, db, "after controls")


if __name__ == "__main__":
    main()
