"""Try changes to the hub without editing skp: A/B runs of the mailbox cycle.

Run: ``.venv/bin/python bench/whatif.py [--rounds 3] [--seconds 8]`` (about rounds x
variants x (2 x seconds + 4) s, 5 minutes by default); ``--rss`` for the 4 MB message
under other malloc settings; ``--active 2,4,8`` for those values of ``SKP_ACTIVE_REQUESTS``
instead, ``--db-delay 0.25`` to put that many milliseconds between the server and the
database each way (bench/latency.py), as for a database on another host, and ``--workers 2``
to serve every variant with that many worker processes.

Each variant starts `skp serve` (PostgreSQL, the same database for all) with a few lines of
Python run before the CLI, which patch what the change would be in skp; the variants
take turns, round after round, so that load from other processes on the machine falls on
all of them alike. Prints Ping/s and mailbox operations/s per variant (median of the rounds).
The patches only approximate the changes in docs/performance.md; they are not the change.
The proposals measured here before they were made part of skp (spyne's gc, the purge in index
order, send's participant query, connections in autocommit) are gone from this script; git
history has them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import statistics
import tempfile
from pathlib import Path

import traffic
from harness import (
    bench_settings,
    build_hub,
    make_pki,
    out,
    postgres_schema,
    quantile,
    serving,
    stop_on_sigterm,
)
from latency import delayed
from run import big_message

#: Nothing kept of the register: the caller's identity looked up on every request, a send's
#: parties on every send (skp.identities).
NO_IDENTITY_CACHE = """
from skp.identities import Kept
assert Kept.get  # what this replaces: gone, the variant fails instead of measuring nothing
Kept.get = lambda self, key: None
"""
#: No request log line (to see what the JSON line per request costs).
NO_REQUEST_LOG = """
import logging
_configure = __import__("skp.logs", fromlist=["configure"]).configure
def configure(*args, **kwargs):
    handler = _configure(*args, **kwargs)
    logging.getLogger("skp.request").setLevel(logging.WARNING)
    logging.getLogger("skp.mailbox").setLevel(logging.WARNING)
    return handler
__import__("skp.logs").logs.configure = configure
"""
#: No round trip to check a pooled connection, not even one that rested (skp.store.db).
NO_PRE_PING = """
import skp.store.db
skp.store.db.PING_AFTER = float("inf")
"""
#: Serving processes not kept on one CPU each (skp.server.affinity), as before step 28.
NOT_PINNED = """
import os
os.environ["SKP_PIN_CPUS"] = "false"
"""
VARIANTS = {
    "as is": "",
    "CPUs not pinned": NOT_PINNED,
    "no identity cache": NO_IDENTITY_CACHE,
    "no request log": NO_REQUEST_LOG,
    "no pre-ping": NO_PRE_PING,
}
#: glibc malloc: few arenas, and large blocks always from mmap (returned when freed).
MALLOC = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "262144",
          "MALLOC_TRIM_THRESHOLD_": "262144"}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true",
                        help="1 round of 1 s loads, 2 clients, the first two variants")
    parser.add_argument("--seconds", type=float, default=8.0, help="each load")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="SKP_WORKERS of every variant")
    parser.add_argument("--only", help="comma-separated variant names")
    parser.add_argument("--rss", action="store_true",
                        help="instead: the 4 MB message with and without the malloc settings")
    parser.add_argument("--active", help="instead: these values of SKP_ACTIVE_REQUESTS, "
                                         "comma-separated")
    parser.add_argument("--db-delay", type=float, default=0.0,
                        help="milliseconds added between server and database, each way")
    args = parser.parse_args()
    stop_on_sigterm()
    if args.smoke:
        args.rounds, args.seconds, args.clients = 1, 1.0, 2
        args.only = args.only or ",".join(list(VARIANTS)[:2])
    if not 1 <= args.clients <= traffic.CREDITORS:
        parser.error(f"--clients must be 1 to {traffic.CREDITORS}, one creditor each")
    variants = {k: v for k, v in VARIANTS.items()
                if not args.only or k in args.only.split(",")}
    if args.active:
        variants = {f"{n} active": f"import os; os.environ['SKP_ACTIVE_REQUESTS'] = '{n}'"
                    for n in args.active.split(",")}
    with tempfile.TemporaryDirectory(prefix="skp-whatif-") as name, \
            postgres_schema("skp_bench_whatif") as url, contextlib.ExitStack() as stack:
        tmp = Path(name)
        pki = make_pki(tmp / "pki", traffic.NAMES)
        settings = dataclasses.replace(bench_settings(url, tmp, pki), workers=args.workers)
        hub = build_hub(settings)
        ids = traffic.register(hub, pki)
        hub.engine.dispose()
        if args.db_delay:  # the server's connections only; the set-up above went direct
            settings = dataclasses.replace(settings, database_url=stack.enter_context(
                delayed(url, args.db_delay / 1000)))
        if args.rss:
            for _ in range(args.rounds):
                big_message(settings, pki, ids, tmp, label="[as is]")
                big_message(settings, pki, ids, tmp, label="[malloc env]", env=MALLOC,
                            prelude="pass")
            return
        pings: dict[str, list[float]] = {k: [] for k in variants}
        ops: dict[str, list[float]] = {k: [] for k in variants}
        p99: dict[str, list[float]] = {k: [] for k in variants}
        # CPU time per request of the server process: far less disturbed than the rates by
        # other processes competing for the two cores.
        cpu_ping: dict[str, list[float]] = {k: [] for k in variants}
        cpu_op: dict[str, list[float]] = {k: [] for k in variants}
        for round_ in range(args.rounds):
            for variant, prelude in variants.items():
                with serving(settings, tmp, prelude=prelude or "pass") as server:
                    cpu = server.cpu_seconds()
                    ping = traffic.ping_clients(server.url, pki, args.clients).drive(
                        args.seconds)
                    middle = server.cpu_seconds()
                    load = traffic.Cycle.of(server.url, pki, ids).clients(args.clients).drive(
                        args.seconds)
                    cpu_ping[variant].append((middle - cpu) / max(ping.steps, 1))
                    cpu_op[variant].append((server.cpu_seconds() - middle) / max(load.ops, 1))
                pings[variant].append(ping.steps_per_second)
                ops[variant].append(load.ops_per_second)
                p99[variant].append(quantile(
                    [x for v in load.latencies.values() for x in v], 99))
                first = load.first_error or ping.first_error
                out(f"round {round_ + 1} {variant}: Ping {ping.steps_per_second:.0f}/s "
                    f"({cpu_ping[variant][-1] * 1000:.2f} ms CPU), mailbox "
                    f"{load.ops_per_second:.0f} ops/s ({cpu_op[variant][-1] * 1000:.2f} ms CPU)"
                    ", op p99 "
                    f"{p99[variant][-1] * 1000:.0f} ms, errors {ping.errors + load.errors}"
                    + (f" (first: {first})" if first else ""))
        base = statistics.median(ops["as is"]) if "as is" in ops else None
        for variant in variants:
            gain = (f" ({statistics.median(ops[variant]) / base - 1:+.0%} ops)" if base
                    else "")
            ratio = statistics.median(o / p for o, p in zip(ops[variant], pings[variant],
                                                            strict=True))
            ping_cpu, op_cpu = (statistics.median(cpu_ping[variant]),
                                statistics.median(cpu_op[variant]))
            out(f"{variant}: Ping {statistics.median(pings[variant]):.0f}/s, mailbox "
                f"{statistics.median(ops[variant]):.0f} ops/s{gain}, ops/ping {ratio:.2f}; "
                f"server CPU per Ping {ping_cpu * 1000:.2f} ms, per operation "
                f"{op_cpu * 1000:.2f} ms (CPU ratio {ping_cpu / op_cpu:.2f}); op p99 "
                f"{statistics.median(p99[variant]) * 1000:.0f} ms (median of {args.rounds})")


if __name__ == "__main__":
    main()
