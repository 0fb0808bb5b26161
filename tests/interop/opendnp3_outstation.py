#!/usr/bin/env python3
"""An opendnp3 outstation (TCP server) serving the interop demo database (see demo_db.py).

Usage:
    python opendnp3_outstation.py --listen HOST:PORT [--outstation 1024] [--master 1]
                                  [--seconds S] [--verbose]

Prints `READY HOST:PORT` on stdout once the server socket listens, then one line per channel
state change (`channel OPEN`, ...) and per control received
(`control crob|analog INDEX VALUE select|operate STATUS`) and class assignment
(`assign-class TYPE CLASS START STOP`). Runs until SIGTERM/SIGINT or for
--seconds, then shuts the stack down (from a helper thread, bounded; see README).

Needs the `yadnp3` wheel (import name `opendnp3`), pinned to 3.2.1.4: the point configuration
of the database is patched in memory (see configure_database), which depends on that build.
"""

import argparse
import ctypes
import os
import signal
import sys
import threading

import opendnp3 as dnp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_db  # noqa: E402

_print_lock = threading.Lock()


def say(*parts):
    with _print_lock:
        print(*parts, flush=True)


# --------------------------------------------------------------------------------------------
# Database point configuration.
#
# The binding exposes DatabaseConfig's per-type maps (std::map<uint16_t, XConfig>) as
# attributes, but the XConfig structs are not registered with pybind11: reading an attribute
# raises "Unregistered type : opendnp3::BinaryConfig" and only an EMPTY dict can be assigned.
# opendnp3's defaults would make the demo database wrong for the interop test:
#   * analogs / analog output status default to g30v1 / g40v1 (32-bit integers), which
#     truncates 1.5 x index and 7.5;
#   * DatabaseConfig(n) creates n points of every type, the demo database has 4 double-bits.
# So the maps are edited in memory, with ctypes, after checking that the memory looks exactly
# as expected (libstdc++ std::map layout, opendnp3 3.x config structs); any surprise aborts.
# --------------------------------------------------------------------------------------------

# DatabaseConfig field order (opendnp3/outstation/DatabaseConfig.h).
_FIELDS = [
    "binary_input",
    "double_binary",
    "analog_input",
    "counter",
    "frozen_counter",
    "binary_output_status",
    "analog_output_status",
    "time_and_interval",
    "octet_string",
]
_MAP_SIZE = 48  # sizeof(std::map) in libstdc++ (x86_64): compare(8) + header(32) + count(8)
_NODE_VALUE = 32  # offset of the pair<const uint16_t, Config> in an _Rb_tree_node
# Offset of the config struct inside the pair (its alignment: u8 fields only = 1 -> 2,
# uint32 deadband -> 4, double deadband -> 8); the struct starts with svariation, clazz,
# evariation (one byte each).
_CONFIG_OFFSET = {
    "binary_input": 2,
    "double_binary": 2,
    "binary_output_status": 2,
    "counter": 4,
    "frozen_counter": 4,
    "analog_input": 8,
    "analog_output_status": 8,
}
_CLASS1 = int(dnp.PointClass.Class1)


class LayoutError(RuntimeError):
    pass


def _ptr(addr):
    return ctypes.c_void_p.from_address(addr).value or 0


def _cpp_address(obj):
    """Address of the C++ object held by a pybind11 instance (simple layout: value pointer
    right after the PyObject header)."""
    return _ptr(id(obj) + 16)


def _map_address(db_obj, field):
    return _cpp_address(db_obj) + _MAP_SIZE * _FIELDS.index(field)


def _map_nodes(map_addr):
    """[(key, node_address)] of a std::map<uint16_t, ...>, in key order; checks the tree."""
    header = map_addr + 8
    root = _ptr(header + 8)
    count = ctypes.c_size_t.from_address(header + 32).value
    if count > 65536:
        raise LayoutError(f"implausible map size {count}")
    if count == 0:
        if root != 0:
            raise LayoutError("empty map with a root")
        return []
    if _ptr(root + 8) != header:
        raise LayoutError("map root does not point back at its header")
    out = []

    def walk(node, depth):
        if depth > 64:
            raise LayoutError("map tree too deep")
        left, right = _ptr(node + 16), _ptr(node + 24)
        if left:
            walk(left, depth + 1)
        out.append((ctypes.c_uint16.from_address(node + _NODE_VALUE).value, node))
        if right:
            walk(right, depth + 1)

    walk(root, 0)
    if len(out) != count:
        raise LayoutError(f"map walk found {len(out)} nodes, header says {count}")
    if [k for k, _ in out] != sorted(k for k, _ in out):
        raise LayoutError("map keys out of order")
    return out


def _config_bytes(field, node):
    """ctypes array over (svariation, clazz, evariation) of the node's config."""
    return (ctypes.c_uint8 * 3).from_address(node + _NODE_VALUE + _CONFIG_OFFSET[field])


def _swap_maps(a, b):
    """Swaps the trees of two std::maps of the same type (header fields, root back-pointers)."""
    ha, hb = ctypes.string_at(a + 8, 40), ctypes.string_at(b + 8, 40)
    ctypes.memmove(a + 8, hb, 40)
    ctypes.memmove(b + 8, ha, 40)
    for m in (a, b):
        root = _ptr(m + 16)
        if root:
            ctypes.c_void_p.from_address(root + 8).value = m + 8


def configure_database():
    """A DatabaseConfig for the demo database: class 1 everywhere, float analogs.

    Returns (config, keepalive): keepalive owns the tree swapped out and must not be freed
    before the config (it never is: both live until exit).
    """
    db = dnp.DatabaseConfig(demo_db.POINTS)
    db.time_and_interval = {}
    db.octet_string = {}

    want_defaults = {
        "binary_input": (int(dnp.StaticBinaryVariation.Group1Var2), int(dnp.EventBinaryVariation.Group2Var1)),
        "analog_input": (int(dnp.StaticAnalogVariation.Group30Var1), int(dnp.EventAnalogVariation.Group32Var1)),
        "analog_output_status": (
            int(dnp.StaticAnalogOutputStatusVariation.Group40Var1),
            int(dnp.EventAnalogOutputStatusVariation.Group42Var1),
        ),
    }
    # Verify the layout on every configured type: keys 0..9, class 1, default variations.
    for field in _CONFIG_OFFSET:
        nodes = _map_nodes(_map_address(db, field))
        if [k for k, _ in nodes] != list(range(demo_db.POINTS)):
            raise LayoutError(f"{field}: keys {[k for k, _ in nodes]}")
        for key, node in nodes:
            svar, clazz, evar = _config_bytes(field, node)
            if clazz != _CLASS1:
                raise LayoutError(f"{field}[{key}]: class byte {clazz}, expected Class1")
            if field in want_defaults and (svar, evar) != want_defaults[field]:
                raise LayoutError(f"{field}[{key}]: variations {(svar, evar)}, expected defaults")
    for field in ("time_and_interval", "octet_string"):
        if _map_nodes(_map_address(db, field)):
            raise LayoutError(f"{field} not empty")

    # Float variations for analogs (g30v5 / g32v5) and analog output status (g40v3 / g42v5).
    floats = {
        "analog_input": (int(dnp.StaticAnalogVariation.Group30Var5), int(dnp.EventAnalogVariation.Group32Var5)),
        "analog_output_status": (
            int(dnp.StaticAnalogOutputStatusVariation.Group40Var3),
            int(dnp.EventAnalogOutputStatusVariation.Group42Var5),
        ),
    }
    for field, (svar, evar) in floats.items():
        for _, node in _map_nodes(_map_address(db, field)):
            cfg = _config_bytes(field, node)
            cfg[0], cfg[2] = svar, evar

    # 4 double-bit points: take the map of a DatabaseConfig(4).
    small = dnp.DatabaseConfig(demo_db.DOUBLE_BIT_POINTS)
    small_nodes = _map_nodes(_map_address(small, "double_binary"))
    if [k for k, _ in small_nodes] != list(range(demo_db.DOUBLE_BIT_POINTS)):
        raise LayoutError("DatabaseConfig(4).double_binary has unexpected keys")
    _swap_maps(_map_address(db, "double_binary"), _map_address(small, "double_binary"))

    stack = dnp.OutstationStackConfig(db)  # copies db
    copied = stack.database
    if len(_map_nodes(_map_address(copied, "double_binary"))) != demo_db.DOUBLE_BIT_POINTS:
        raise LayoutError("double-bit map not taken over by OutstationStackConfig")
    for field, (svar, evar) in floats.items():
        for key, node in _map_nodes(_map_address(copied, field)):
            if tuple(_config_bytes(field, node)) != (svar, _CLASS1, evar):
                raise LayoutError(f"{field}[{key}] not taken over by OutstationStackConfig")
    return stack, (db, small)


def initial_updates():
    """The demo database values, ONLINE, applied without events."""
    db = demo_db.demo_database()
    b = dnp.UpdateBuilder()
    quiet = dnp.EventMode.Suppress
    for i, v in db["binary"].items():
        b.Update(dnp.Binary(v), i, quiet)
    for i, v in db["double-bit"].items():
        b.Update(dnp.DoubleBitBinary(getattr(dnp.DoubleBit, v)), i, quiet)
    # The binding has no UpdateBuilder.Update overload for FrozenCounter: set each counter to
    # the frozen value, freeze it (copies value and ONLINE flags), then set the counter.
    for i, v in db["frozen-counter"].items():
        b.Update(dnp.Counter(v), i, quiet)
        b.FreezeCounter(i, False, quiet)
    for i, v in db["counter"].items():
        b.Update(dnp.Counter(v), i, quiet)
    for i, v in db["analog"].items():
        b.Update(dnp.Analog(v), i, quiet)
    for i, v in db["binary-output-status"].items():
        b.Update(dnp.BinaryOutputStatus(v), i, quiet)
    for i, v in db["analog-output-status"].items():
        b.Update(dnp.AnalogOutputStatus(v), i, quiet)
    return b.Build()


# --------------------------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------------------------

_CROB_STATE = {getattr(dnp.OperationType, name): state for name, state in demo_db.CROB_STATE.items()}


class DemoCommandHandler(dnp.ICommandHandler):
    """CROB / analog output on index < 10: SUCCESS and update the output status point;
    anything else NOT_SUPPORTED."""

    def Begin(self):
        pass

    def End(self):
        pass

    @staticmethod
    def _describe(command):
        if isinstance(command, dnp.ControlRelayOutputBlock):
            return "crob", command.opType.name
        return "analog", repr(float(command.value))

    def _status(self, command, index):
        if index >= demo_db.POINTS:
            return dnp.CommandStatus.NOT_SUPPORTED
        if isinstance(command, dnp.ControlRelayOutputBlock) and command.opType not in _CROB_STATE:
            return dnp.CommandStatus.NOT_SUPPORTED
        return dnp.CommandStatus.SUCCESS

    def Select(self, command, index):
        status = self._status(command, index)
        kind, what = self._describe(command)
        say("control", kind, index, what, "select", status.name)
        return status

    def Operate(self, command, index, handler, op_type):
        status = self._status(command, index)
        kind, what = self._describe(command)
        say("control", kind, index, what, "operate", status.name, op_type.name)
        if status == dnp.CommandStatus.SUCCESS:
            if kind == "crob":
                handler.Update(dnp.BinaryOutputStatus(_CROB_STATE[command.opType]), index)
            else:
                handler.Update(dnp.AnalogOutputStatus(float(command.value)), index)
        return status


class App(dnp.IOutstationApplication):
    def SupportsAssignClass(self):
        return True

    def RecordClassAssignment(self, type, clazz, start, stop):
        say("assign-class", type.name, clazz.name, start, stop)


class Listener(dnp.IChannelListener):
    def OnStateChange(self, state):
        say("channel", state.name)


class StderrLog(dnp.ILogHandler):
    def log(self, module, id, level, location, message):
        with _print_lock:
            print(f"log {id}: {message}", file=sys.stderr, flush=True)


def shutdown_and_exit(manager, code):
    """DNP3Manager.Shutdown() can hang when called from the main thread: call it from a helper
    thread, wait a bounded time, then leave with os._exit either way."""
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
    ap.add_argument("--listen", type=parse_endpoint, default=("127.0.0.1", 20000), metavar="HOST:PORT")
    ap.add_argument("--outstation", type=int, default=1024, help="outstation link address")
    ap.add_argument("--master", type=int, default=1, help="master link address")
    ap.add_argument("--seconds", type=float, default=None, help="exit after S seconds")
    ap.add_argument("--verbose", action="store_true", help="opendnp3 protocol log on stderr")
    ap.add_argument("--tls-cert", metavar="PEM", help="TLS: this peer's certificate (needs --tls-key, --tls-ca)")
    ap.add_argument("--tls-key", metavar="PEM", help="TLS: its private key")
    ap.add_argument("--tls-ca", metavar="PEM", help="TLS: the CA the other side's certificate must chain to")
    ap.add_argument("--tls-max", choices=("1.2", "1.3"), default="1.3", help="TLS: newest version allowed")
    args = ap.parse_args()
    host, port = args.listen

    try:
        stack_config, keepalive = configure_database()
    except LayoutError as e:
        print(f"error: cannot configure the opendnp3 database ({e}); is yadnp3 3.2.1.4 installed?", file=sys.stderr)
        os._exit(1)
    stack_config.link.LocalAddr = args.outstation
    stack_config.link.RemoteAddr = args.master
    stack_config.outstation.params.allowUnsolicited = False
    stack_config.outstation.eventBufferConfig = dnp.EventBufferConfig.AllTypes(100)

    log = StderrLog() if args.verbose else None
    levels = dnp.levels.ALL_COMMS if args.verbose else dnp.levels.NOTHING
    manager = dnp.DNP3Manager(1, log)
    stop = threading.Event()
    code = 1
    try:
        if args.tls_cert:
            tls = dnp.TLSConfig(args.tls_ca, args.tls_cert, args.tls_key, allowTLSv13=args.tls_max == "1.3")
            channel = manager.AddTLSServer(
                "server", levels, dnp.ServerAcceptMode.CloseExisting, dnp.IPEndpoint(host, port), tls, Listener()
            )
        else:
            channel = manager.AddTCPServer(
                "server", levels, dnp.ServerAcceptMode.CloseExisting, dnp.IPEndpoint(host, port), Listener()
            )
        outstation = channel.AddOutstation("outstation", DemoCommandHandler(), App(), stack_config)
        outstation.Apply(initial_updates())
        outstation.Enable()
        if not demo_db.wait_listen(host, port, 10.0):
            print(f"error: not listening on {host}:{port} after 10 s", file=sys.stderr)
        else:
            say("READY", f"{host}:{port}")
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            remaining = args.seconds
            while not stop.is_set():
                step = 0.2 if remaining is None else min(0.2, remaining)
                if stop.wait(step):
                    break
                if remaining is not None:
                    remaining -= step
                    if remaining <= 0:
                        break
            code = 0
    except Exception as e:  # noqa: BLE001 - report anything, then exit
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
    shutdown_and_exit(manager, code)


if __name__ == "__main__":
    main()
