"""The hub's figures from one run on this machine (docs/performance.md explains them).

Run: ``.venv/bin/python bench/run.py`` (about 8 minutes; ``--quick`` about 2; ``--smoke``,
seconds and tiny backlogs, only proves that every part still runs). After parts 1 and 2 each
ratio is shown against its goal; ``--rounds N`` runs them N times and shows each ratio's
median: one run moves the ratios by several per cent (docs/performance.md), so judge a goal by
the median of a few.

1. Traffic over mutual TLS against ``skp serve`` in a subprocess, on PostgreSQL and on SQLite,
   from keep-alive clients (threads, one lean ``http.client`` connection each, in
   ``--load-processes`` processes of their own, so the load shares no interpreter lock with
   the server or this process; their own CPU time per operation is printed too): SOAP
   ``Ping`` (the framework ceiling), then send -> list -> fetch -> confirm cycles of a
   Kennisgeving (four operations each), and the ratio of mailbox operations to Pings. On
   PostgreSQL also the mailbox cycles with 2 worker processes (``SKP_WORKERS=2``) against 1,
   and skp's Ping against a bare spyne Ping on the same server and TLS
   (bench/spyneping.py).
2. The server's memory while it takes and hands out one message of about 4 MB.
3. On PostgreSQL, in this process through the Mailbox service: fetch and list latency with
   1 000 and with 1 000 000 messages queued for one recipient (rows sealed one by one and
   written with COPY), then the purge of them all once their deadline has passed, in a fresh
   process whose peak RSS is read.

Traffic goes only to 127.0.0.1; every loop is bounded in count and time. The figures are
printed; nothing is written outside a temporary directory (and, with ``--profile``, the
py-spy output there).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import datetime as dt
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import backlog
import cheroot
import purge
import spy
import traffic
from envelopes import CONVERSATION, KENMERK, MESSAGE_ID, RECIPIENT, Envelopes, message_ids
from harness import (
    PG_URL,
    Clients,
    Connection,
    Load,
    Pki,
    Server,
    bench_settings,
    build_hub,
    cpu_since,
    drive_apart,
    idle_cpu_seconds,
    keeping,
    make_pki,
    ms,
    out,
    postgres_cpu_seconds,
    postgres_schema,
    quantile,
    serving,
    stop_on_sigterm,
    wsgi_environ,
)
from sqlalchemy import event, text

from skp.clock import FrozenClock
from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.mailbox import Mailbox
from skp.server import HubApp
from skp.store.db import make_engine, resting

#: Monday 23 November 2026, 10:00 in Amsterdam: when the backlog's messages arrive.
RECEIVED = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
MB = 1_000_000
PARTS = ("postgresql", "sqlite", "backlog")


# --- 1. traffic -----------------------------------------------------------------------------

def traffic_figures(name: str, url: str, tmp: Path, pki: Pki, args: argparse.Namespace
                    ) -> dict[str, float]:
    """Ping and mailbox cycles against one database; the ratio lines, and their values by
    the names of :data:`GOALS`."""
    directory = tmp / name
    directory.mkdir(parents=True)
    ratios: dict[str, float] = {}
    settings = bench_settings(url, directory, pki)
    hub = build_hub(settings)
    ids = traffic.register(hub, pki)
    app_costs(name, hub, pki, ids, seconds=min(args.seconds, 4.0))
    hub.engine.dispose()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(serving(settings, directory))
        # On PostgreSQL a server with 2 workers is up beside it, and their mailbox loads take
        # turns 1, 2, 2, 1, so that the machine's drift over the minute falls on both alike.
        both = (stack.enter_context(serving(dataclasses.replace(settings, workers=2),
                                            directory)) if name == "postgresql" else None)
        ping = ping_figures(f"[{name}] Ping", server, pki, args)
        one = traffic.Cycle.of(server.url, pki, ids)
        first = ", 1 worker, turn 1" if both else ""
        mail = mailbox_figures(f"[{name}] mailbox{first}", server, one, args)
        ratio = ratios[f"ops/ping ({name})"] = (mail.load.ops_per_second
                                                / ping.load.steps_per_second)
        out(f"ratio ops/ping: {ratio:.2f} ({name})")
        if both is None:
            return ratios
        pair = traffic.Cycle.of(both.url, pki, ids)
        twice = [mailbox_figures(f"[{name}] mailbox, 2 workers, {turn}", both, pair, args)
                 for turn in ("turn 2", "turn 3")]
        again = mailbox_figures(f"[{name}] mailbox, 1 worker, turn 4", server, one, args)
        if args.profile:
            profile(both, pair, tmp, args)
    singles = mail.load.ops + again.load.ops
    doubles = sum(m.load.ops for m in twice)
    ratio = ratios[f"workers 2/1 ({name})"] = doubles / singles if singles else 0.0
    out(f"ratio workers 2/1: {ratio:.2f} ({name}; operations of turns 2 and 3 with 2 workers "
        f"÷ those of turns 1 and 4 with 1: {doubles} / {singles})")
    spyne_ping = Path(__file__).with_name("spyneping.py")
    with serving(settings, directory, command=[sys.executable, str(spyne_ping)]) as bare:
        bare_ping = ping_figures("[spyne] bare Ping", bare, pki, args)
    ratio = ratios["skp/spyne ping"] = (ping.load.steps_per_second
                                        / bare_ping.load.steps_per_second)
    out(f"ratio skp/spyne ping: {ratio:.2f} (1 process each, the same server and TLS)")
    ratios["rss/message"] = big_message(settings, pki, ids, directory)
    return ratios


#: The goals of the traffic ratios (docs/performance.md): at least, or at most, this value.
GOALS = {"ops/ping (postgresql)": (">=", 0.55), "ops/ping (sqlite)": (">=", 0.55),
         "workers 2/1 (postgresql)": (">=", 1.6), "skp/spyne ping": (">=", 0.8),
         "rss/message": ("<=", 1.5)}


def goals(rounds: list[dict[str, float]]) -> None:
    """Each ratio against its goal: its value, or after more than one round its median and
    every round's value (one run moves the ratios by several per cent on a busy machine)."""
    for name, (sense, goal) in GOALS.items():
        values = [r[name] for r in rounds if name in r]
        if not values:
            continue
        median = statistics.median(values)
        met = median >= goal if sense == ">=" else median <= goal
        found = f"{median:.2f}" if len(values) == 1 else (
            f"median {median:.2f} of {len(values)} rounds ("
            + ", ".join(f"{v:.2f}" for v in values) + ")")
        out(f"goal {name} {sense} {goal:g}: {'met' if met else 'not met'}, {found}")


def ping_figures(label: str, server: Server, pki: Pki, args: argparse.Namespace) -> Measured:
    ping = loaded(server, lambda: traffic.ping_clients(server.url, pki, args.clients), args)
    out(f"{label}: {ping.load.steps_per_second:.0f} req/s ({args.clients} clients, "
        f"{args.seconds:g} s), {ping.load.summary('Ping')}, server CPU "
        f"{ping.cpu_per(ping.load.steps)} per request ({ping.busy:.0%} of a core), "
        f"{ping.load.errors} errors{ping.error}")
    out(f"{label}: load generator CPU {ping.load.cpu_per(ping.load.steps) * 1000:.2f} ms per "
        f"request ({ping.load.cpu / ping.load.seconds:.0%} of a core, "
        f"{args.load_processes} processes)")
    return ping


def mailbox_figures(label: str, server: Server, cycle: traffic.Cycle,
                    args: argparse.Namespace) -> Measured:
    mail = loaded(server, lambda: cycle.clients(args.clients), args)
    load = mail.load
    out(f"{label}: {load.steps_per_second:.1f} cycles/s = "
        f"{load.ops_per_second:.0f} operations/s ({args.clients} clients, "
        f"{args.seconds:g} s), server CPU {mail.cpu_per(load.ops)} per operation "
        f"({mail.busy:.0%} of a core), {load.errors} errors{mail.error}")
    out(f"{label}: load generator CPU {load.cpu_per(load.ops) * 1000:.2f} ms per operation "
        f"({load.cpu / load.seconds:.0%} of a core, {args.load_processes} processes); "
        f"PostgreSQL {mail.postgres / max(load.ops, 1) * 1000:.2f} ms per operation "
        f"({mail.postgres / load.seconds:.0%} of a core, every postgres process); machine "
        f"idle {mail.idle / load.seconds / (os.cpu_count() or 1):.0%}")
    if mail.workers:  # each keeps the connections it accepted: how the load fell on them
        out(f"{label}: each worker's CPU " + " / ".join(
            f"{cpu / load.seconds:.0%}" for cpu in mail.workers) + " of a core")
    out(f"{label}:   " + "; ".join(load.summary(op) for op in
                                   ("send", "list", "fetch", "confirm")))
    return mail


def app_costs(name: str, hub: Any, pki: Pki, ids: dict[str, str], seconds: float = 4.0
              ) -> None:
    """CPU time per request inside the WSGI app alone (this process, one thread, no server,
    no TLS), with the callers' identities and the parties kept as a server process keeps them:
    Ping and the four operations of the mailbox cycle, medians, and their statements."""
    app, envelopes = HubApp(hub), Envelopes(Module.SCHULDREGELING)
    shv, se = pki.pem("shv").decode(), pki.pem("se0").decode()
    ping, listing, fetch, confirm = (envelopes.ping(), envelopes.listing(), envelopes.fetch(),
                                     envelopes.confirm())
    send = envelopes.send("Kennisgeving", example_body(lookup(Module.SCHULDREGELING,
                                                             "Kennisgeving"))).replace(
        RECIPIENT.encode(), ids["se0"].encode())
    cpu: dict[str, list[float]] = {op: [] for op in ("Ping", "send", "list", "fetch",
                                                     "confirm")}
    statements: Counter[str] = Counter()
    current = ["Ping"]

    mine = threading.get_ident()

    def count(*_: Any) -> None:  # this thread's: not the watch's of the register
        if threading.get_ident() == mine:
            statements[current[0]] += 1

    def call(label: str, pem: str, operation: str, body: bytes) -> bytes:
        current[0] = label
        began = time.process_time()
        answer = b"".join(app(wsgi_environ(pem, "/schuldregeling", operation, body),
                              lambda *_: None))
        cpu[label].append(time.process_time() - began)
        return answer

    deadline, tag = time.monotonic() + seconds, uuid.uuid4().hex[:8]
    with keeping(hub):
        event.listen(resting(hub.engine), "before_cursor_execute", count)
        for n in range(5000):
            if time.monotonic() > deadline and n > 20:
                break
            call("Ping", shv, "Ping", ping)
            sent = message_ids(call("send", shv, "VerstuurKennisgeving", send.replace(
                KENMERK.encode(), f"app-{tag}-{n}".encode())))[0]
            call("list", se, "Berichtenlijst", listing)
            call("fetch", se, "HaalBerichtOp", fetch.replace(MESSAGE_ID.encode(),
                                                              sent.encode()))
            call("confirm", se, "BevestigOntvangst", confirm.replace(MESSAGE_ID.encode(),
                                                                      sent.encode()))
        event.remove(resting(hub.engine), "before_cursor_execute", count)
    median = {op: statistics.median(values[5:]) for op, values in cpu.items()}
    cycle = sum(median.values()) - median["Ping"]
    out(f"[{name}] app CPU per request (this process, 1 thread, no server, no TLS; median of "
        f"{len(cpu['Ping']) - 5}): " + ", ".join(
            f"{op} {v * 1000:.2f} ms ({statements[op] / len(cpu[op]):.0f} SQL)"
            for op, v in median.items())
        + f"; a cycle's 4 operations = {cycle / median['Ping']:.1f} Pings")


class Measured:
    """A load with the server's CPU time (user + system) over it, PostgreSQL's and the time
    the machine's CPUs were idle."""

    def __init__(self, load: Load, user: float, system: float, postgres: float = 0.0,
                 idle: float = 0.0, workers: tuple[float, ...] = ()) -> None:
        self.load, self.cpu, self.system = load, user + system, system
        self.postgres, self.idle, self.workers = postgres, idle, workers

    @property
    def busy(self) -> float:
        return self.cpu / self.load.seconds

    @property
    def error(self) -> str:
        return f" (first: {self.load.first_error})" if self.load.first_error else ""

    def cpu_per(self, count: int) -> str:
        if not count:
            return "-"
        return (f"{self.cpu / count * 1000:.2f} ms ({self.system / self.cpu:.0%} of it in the "
                "kernel)")


def loaded(server: Server, clients: Callable[[], Clients[Any]], args: argparse.Namespace
           ) -> Measured:
    """``clients()`` driven for ``args.seconds`` from the load processes, after an untimed
    second that warms up every worker (each does its first requests of a kind slowly); the
    server's CPU over the timed part."""
    drive_apart(clients(), 1.0, processes=args.load_processes)
    before = server.cpu_by_process()
    postgres, idle = postgres_cpu_seconds(), idle_cpu_seconds()
    load = drive_apart(clients(), args.seconds, processes=args.load_processes)
    after = server.cpu_by_process()
    used = {pid: (times[0] - before.get(pid, (0.0, 0.0))[0],
                  times[1] - before.get(pid, (0.0, 0.0))[1]) for pid, times in after.items()}
    workers = tuple(sum(times) for pid, times in used.items() if pid != server.pid)
    return Measured(load, sum(t[0] for t in used.values()), sum(t[1] for t in used.values()),
                    cpu_since(postgres, postgres_cpu_seconds()), idle_cpu_seconds() - idle,
                    workers if len(workers) > 1 else ())


def profile(server: Server, cycle: traffic.Cycle, tmp: Path, args: argparse.Namespace) -> None:
    """Mailbox cycles again with py-spy sampling the server's workers; where their CPU time
    goes."""
    output = tmp / "mailbox-cycle.pyspy.txt"
    sampler = spy.record(server.pid, args.seconds, output)
    load = drive_apart(cycle.clients(args.clients), args.seconds,
                       processes=args.load_processes)
    _, problem = sampler.communicate(timeout=args.seconds + 60)
    out(f"[postgresql] profile (py-spy, 200 Hz, every worker) of the mailbox cycle with "
        f"2 workers: {load.ops_per_second:.0f} operations/s while sampled")
    if not output.exists():
        out(f"  py-spy failed: {problem.decode(errors='replace')[-500:]}")
        return
    for line in spy.summarize(output):
        out(f"  {line}")
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        (args.profile_dir / output.name).write_bytes(output.read_bytes())


# --- 2. a 4 MB message ----------------------------------------------------------------------

def big_message(settings: Settings, pki: Pki, ids: dict[str, str], directory: Path, *,
                label: str = "[postgresql]", **server: Any) -> float:
    """A Saldoverzoek of about 4 MB from the administrator to creditor 0, sent and fetched
    by a fresh server process (warmed up with small ones); its VmRSS and VmHWM. Returns the
    peak RSS growth divided by the message size; ``server`` goes to ``serving``."""
    module = Module.SCHULDINVENTARISATIE
    envelopes = Envelopes(module)
    mt = lookup(module, "Saldoverzoek")
    small = example_body(mt, sender_role=Role.BEWINDVOERDER)
    # 2 925 000 bytes of document are 3 900 000 of base64: the stored message (JSON) stays
    # just under the 4 MiB limit (SKP_MAX_MESSAGE_BYTES).
    document = base64.b64encode(os.urandom(2_925_000)).decode("ascii")
    templates = {"small": envelopes.send("Saldoverzoek", small),
                 "big": envelopes.send("Saldoverzoek", {**small, "Beschikking": document})}
    listing, fetch, confirm = envelopes.listing(), envelopes.fetch(), envelopes.confirm()
    tag = uuid.uuid4().hex[:8]
    with serving(settings, directory, **server) as hub, \
            Connection(hub.url, pki.identity("bewind")) as sender, \
            Connection(hub.url, pki.identity("se0")) as se:
        path = f"/{module.value}"

        def send(kind: str, serial: int) -> str:
            envelope = templates[kind].replace(RECIPIENT.encode(), ids["se0"].encode()).replace(
                CONVERSATION.encode(), str(uuid.uuid4()).encode()).replace(
                KENMERK.encode(), f"big-{tag}-{kind}-{serial}".encode())
            return message_ids(traffic.post(sender, path, "VerstuurSaldoverzoek", envelope))[0]

        def receive(message_id: str, op: str, template: bytes) -> bytes:
            return traffic.post(se, path, op, template.replace(MESSAGE_ID.encode(),
                                                              message_id.encode()))

        for serial in range(3):  # warm up every code path with small messages
            warm = send("small", serial)
            receive(warm, "Berichtenlijst", listing)
            receive(warm, "HaalBerichtOp", fetch)
            receive(warm, "BevestigOntvangst", confirm)
        before = hub.memory()
        message_id = send("big", 0)
        sent = hub.memory()
        size = int(receive(message_id, "Berichtenlijst", listing).split(b"Grootte>")[1]
                   .split(b"<")[0])
        answer = receive(message_id, "HaalBerichtOp", fetch)
        fetched = hub.memory()
        receive(message_id, "BevestigOntvangst", confirm)
    request = len(templates["big"])
    peak = max(sent["VmHWM"], fetched["VmHWM"]) - before["VmRSS"]
    out(f"{label} 4 MB message: stored size {size / MB:.2f} MB (request "
        f"{request / MB:.2f} MB, answer {len(answer) / MB:.2f} MB); server VmRSS before "
        f"{before['VmRSS'] / MB:.0f} MB (VmHWM {before['VmHWM'] / MB:.0f} MB)")
    out(f"{label}   peak growth over VmRSS before: send "
        f"{(sent['VmHWM'] - before['VmRSS']) / MB:.1f} MB, fetch "
        f"{(fetched['VmHWM'] - before['VmRSS']) / MB:.1f} MB (VmHWM after fetch "
        f"{fetched['VmHWM'] / MB:.0f} MB); VmRSS after fetch {fetched['VmRSS'] / MB:.0f} MB")
    out(f"ratio rss/message: {peak / size:.2f} (peak RSS growth / stored message size)")
    return peak / size


# --- 3. a large backlog ---------------------------------------------------------------------

def backlog_figures(tmp: Path, pki: Pki, args: argparse.Namespace) -> None:
    """Fetch and list latency at two queue lengths, then the purge, on PostgreSQL."""
    directory = tmp / "backlog"
    directory.mkdir()
    with postgres_schema("skp_bench_backlog") as url:
        settings = bench_settings(url, directory, pki)
        hub = build_hub(settings, clock=FrozenClock(RECEIVED + dt.timedelta(hours=1)))
        ids = {}
        for name, role in (("shv", Role.SHV_FASE2), ("small", Role.SE), ("large", Role.SE)):
            ids[name] = hub.participants.add(standing=Standing.ACTIVE, name=name, role=role,
                                             modules=ROLE_MODULES[role]).id
        results = {}
        for name, count, first in (("small", args.small, RECEIVED + dt.timedelta(seconds=10)),
                                   ("large", args.large, RECEIVED)):
            # The large backlog arrives first: fetch_next's index walk starts at its rows.
            filled = backlog.fill(hub.engine, hub.keyring, sender=ids["shv"],
                                  recipient=ids[name], count=count, first=first, tag=name)
            # What the database does by itself within minutes of so many inserts: measured
            # before that, the first reads of the new rows set their hint bits and the
            # checkpoint of the load competes for the disk, and the latencies show those.
            began = time.perf_counter()
            with hub.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE message"))
                conn.execute(text("CHECKPOINT"))
            out(f"[backlog] {count:,} messages queued for one recipient: sealed in "
                f"{filled.seal_seconds:.1f} s ({filled.seal_seconds / count * 1e6:.0f} us "
                f"per seal), COPY {filled.copy_seconds:.1f} s, VACUUM ANALYZE and CHECKPOINT "
                f"{time.perf_counter() - began:.1f} s")
            results[name] = latencies(hub, ids[name], args)
            out("[backlog]   " + "; ".join(
                f"{op} p50 {ms(quantile(v, 50))}, p99 {ms(quantile(v, 99))} (n={len(v)})"
                for op, v in results[name].items()))
        ratios = ", ".join(
            f"{op} {quantile(results['large'][op], 99) / quantile(results['small'][op], 99):.2f}"
            for op in results["small"])
        out(f"ratio p99 {args.large:,}/{args.small:,} queued: {ratios} (goal <= 1.5 for fetch)")
        hub.engine.dispose()
        purge.purge(url, args)


def latencies(hub: Any, recipient: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """In this process, through the Mailbox: fetch_next of the oldest, fetch by id (what
    HaalBerichtOp calls) of the next oldest, and list_pending (Berichtenlijst, 100 a page)."""
    mailbox: Mailbox = hub.mailbox
    module = backlog.MODULE
    for _ in range(5):
        mailbox.fetch_next(recipient, module)  # warm up
    found: dict[str, list[float]] = {"fetch_next": [], "fetch": [], "list": []}
    deadline = time.monotonic() + args.latency_seconds
    for _ in range(args.fetches):
        began = time.perf_counter()
        delivery = mailbox.fetch_next(recipient, module)
        found["fetch_next"].append(time.perf_counter() - began)
        assert delivery is not None  # noqa: S101 - the backlog is larger than the loop
    with hub.engine.connect() as conn:
        oldest = list(conn.execute(text(
            "SELECT id FROM message WHERE recipient_id = :r AND state = 'queued' "
            "ORDER BY received_at, id LIMIT :n"), {"r": recipient, "n": args.fetches}).scalars())
    for message_id in oldest:
        began = time.perf_counter()
        mailbox.fetch(recipient, str(message_id))
        found["fetch"].append(time.perf_counter() - began)
    for _ in range(args.fetches):
        if time.monotonic() > deadline and len(found["list"]) >= 20:
            break
        began = time.perf_counter()
        mailbox.list_pending(recipient, module, limit=100)
        found["list"].append(time.perf_counter() - began)
    return found


# --- main -----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="4 s loads and 100 000 queued messages (about 1 minute)")
    parser.add_argument("--seconds", type=float, help="each load (default 10, quick 4)")
    parser.add_argument("--smoke", action="store_true",
                        help="1 s loads and tiny backlogs: that every part runs, no figures")
    parser.add_argument("--clients", type=int, default=8, help="keep-alive client threads")
    parser.add_argument("--load-processes", type=int, default=2,
                        help="processes the client threads are spread over")
    parser.add_argument("--small", type=int, default=1_000, help="the short backlog")
    parser.add_argument("--large", type=int, help="the long backlog (1 000 000; quick 100 000)")
    parser.add_argument("--fetches", type=int, default=300, help="timed fetches per backlog")
    parser.add_argument("--latency-seconds", type=float, default=30,
                        help="bound on the list loop per backlog")
    parser.add_argument("--purge-seconds", type=float,
                        help="stop the purge after this long (default 240, quick 60)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="parts 1 and 2 this many times; each ratio's median against "
                             "its goal")
    parser.add_argument("--only", type=lambda v: set(v.split(",")), default=set(PARTS),
                        help=f"comma-separated parts to run: {','.join(PARTS)} (default all)")
    parser.add_argument("--profile", action="store_true",
                        help="also sample the server with py-spy during mailbox cycles")
    parser.add_argument("--profile-dir", type=Path, help="keep py-spy's output here")
    args = parser.parse_args()
    stop_on_sigterm()
    if args.smoke:
        args.seconds, args.clients = args.seconds or 1.0, min(args.clients, 2)
        args.small, args.large, args.fetches = 30, args.large or 100, 10
        args.latency_seconds, args.purge_seconds = 1.0, args.purge_seconds or 10.0
    args.seconds = args.seconds or (4.0 if args.quick else 10.0)
    args.large = args.large or (100_000 if args.quick else 1_000_000)
    args.purge_seconds = args.purge_seconds or (60.0 if args.quick else 240.0)
    if not 1 <= args.clients <= traffic.CREDITORS:
        parser.error(f"--clients must be 1 to {traffic.CREDITORS}, one creditor each")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.profile and not spy.available():
        parser.error("--profile needs py-spy in the venv: .venv/bin/pip install py-spy")
    if args.small < 2 * args.fetches + 5:
        parser.error("--small must hold 2 x --fetches + 5 messages")

    started = time.perf_counter()
    engine = make_engine(PG_URL)
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    out(f"skp bench/run.py {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, cheroot {cheroot.__version__}, "
        f"PostgreSQL {pg}, SQLite {sqlite3.sqlite_version}; server `skp serve` in a subprocess "
        f"({Settings().server_threads} threads, JSON request log to a file), clients are "
        f"threads of {args.load_processes} processes of their own")
    with tempfile.TemporaryDirectory(prefix="skp-bench-") as name:
        tmp = Path(name)
        pki = make_pki(tmp / "pki", traffic.NAMES)
        rounds: list[dict[str, float]] = []
        for round_ in range(1, args.rounds + 1):
            if args.rounds > 1:
                out(f"round {round_} of {args.rounds}")
            here = tmp / f"round-{round_}"
            ratios: dict[str, float] = {}
            if "postgresql" in args.only:
                with postgres_schema("skp_bench_traffic") as url:
                    ratios |= traffic_figures("postgresql", url, here, pki, args)
            if "sqlite" in args.only:
                ratios |= traffic_figures("sqlite", f"sqlite:///{here / 'skp.sqlite3'}", here,
                                          pki, args)
            rounds.append(ratios)
        goals(rounds)
        if "backlog" in args.only:
            backlog_figures(tmp, pki, args)
    out(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
