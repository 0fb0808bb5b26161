#!/usr/bin/env python3
"""opendnp3 outstations that dial in: each on its own TCP client channel to one master
listener, unsolicited responses allowed (their null unsolicited response after start-up is the
first frame the listener identifies them by), all serving the interop demo database.

Usage:
    python opendnp3_dial_in.py --connect HOST:PORT --outstations 10,11,12 [--master 1]
                               [--seconds S] [--verbose]
                               [--tls-cert PEM --tls-key PEM --tls-ca PEM [--tls-max 1.2|1.3]]

With --tls-cert, every outstation connects over TLS (opendnp3's AddTLSClient), presenting the
certificate and checking the listener's against the CA.

Prints `READY N` once the N outstations are enabled, then one line per channel state change
(`channel ADDRESS OPEN`, ...). Runs until SIGTERM/SIGINT or for --seconds, then shuts the stack
down (from a helper thread, bounded; see README).
"""

import argparse
import os
import signal
import sys
import threading

import opendnp3 as dnp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opendnp3_outstation as station  # noqa: E402


class Listener(dnp.IChannelListener):
    def __init__(self, address):
        super().__init__()
        self.address = address

    def OnStateChange(self, state):
        station.say("channel", self.address, state.name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connect", type=station.parse_endpoint, required=True, metavar="HOST:PORT")
    ap.add_argument("--outstations", required=True, help="outstation link addresses, comma separated")
    ap.add_argument("--master", type=int, default=1, help="master link address")
    ap.add_argument("--seconds", type=float, default=None, help="exit after S seconds")
    ap.add_argument("--verbose", action="store_true", help="opendnp3 protocol log on stderr")
    ap.add_argument("--tls-cert", metavar="PEM", help="TLS: the outstations' certificate (needs --tls-key, --tls-ca)")
    ap.add_argument("--tls-key", metavar="PEM", help="TLS: its private key")
    ap.add_argument("--tls-ca", metavar="PEM", help="TLS: the CA the listener's certificate must chain to")
    ap.add_argument("--tls-max", choices=("1.2", "1.3"), default="1.3", help="TLS: newest version allowed")
    args = ap.parse_args()
    host, port = args.connect
    addresses = [int(a) for a in args.outstations.split(",") if a]

    log = station.StderrLog() if args.verbose else None
    levels = dnp.levels.ALL_COMMS if args.verbose else dnp.levels.NOTHING
    manager = dnp.DNP3Manager(1, log)
    stop = threading.Event()
    keep = []
    code = 1
    try:
        for address in addresses:
            stack_config, keepalive = station.configure_database()
            stack_config.link.LocalAddr = address
            stack_config.link.RemoteAddr = args.master
            stack_config.outstation.params.allowUnsolicited = True
            stack_config.outstation.eventBufferConfig = dnp.EventBufferConfig.AllTypes(100)
            listener = Listener(address)
            endpoints = [dnp.IPEndpoint(host, port)]
            if args.tls_cert:
                tls = dnp.TLSConfig(args.tls_ca, args.tls_cert, args.tls_key, allowTLSv13=args.tls_max == "1.3")
                channel = manager.AddTLSClient(
                    f"rtu-{address}", levels, dnp.ChannelRetry.Default(), endpoints, "0.0.0.0", tls, listener
                )
            else:
                channel = manager.AddTCPClient(
                    f"rtu-{address}", levels, dnp.ChannelRetry.Default(), endpoints, "0.0.0.0", listener
                )
            outstation = channel.AddOutstation(
                f"outstation-{address}", station.DemoCommandHandler(), station.App(), stack_config
            )
            outstation.Apply(station.initial_updates())
            outstation.Enable()
            keep.append((stack_config, keepalive, listener, channel, outstation))
        station.say("READY", len(addresses))
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
    except station.LayoutError as e:
        print(f"error: cannot configure the opendnp3 database ({e}); is yadnp3 3.2.1.4 installed?", file=sys.stderr)
    except Exception as e:  # noqa: BLE001 - report anything, then exit
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
    station.shutdown_and_exit(manager, code)


if __name__ == "__main__":
    main()
