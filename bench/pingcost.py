"""Where a Ping's CPU goes inside the hub's WSGI application, against a bare spyne Ping.

Run: ``.venv/bin/python bench/pingcost.py [--calls 1000] [--rounds 5]`` (about 30 s; needs
PostgreSQL on 127.0.0.1; ``--smoke``: a few calls, that it runs). In this process, one
thread, no server and no TLS: the whole ``HubApp`` Ping, the bare spyne application of
bench/spyneping.py, and each part skp adds (the caller's identity lookup, kept as a server
process keeps it, and in the database on one pooled connection; reading the request; spyne
with skp's Ping answer; the request log line as JSON; the metrics; the turn), each timed
alone. Prints the CPU time per call (``time.process_time``), the median and the least of the
rounds. The parts add up to only about half the whole: each alone, in a tight loop, runs
from warm CPU caches, which a whole request, many times their code, does not; their
proportions hold. docs/performance.md reads them.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import spyneping
import traffic
from envelopes import Envelopes
from harness import (
    bench_settings,
    build_hub,
    cpu_per_call,
    keeping,
    make_pki,
    out,
    postgres_schema,
    wsgi_environ,
)

from skp import logs
from skp.domain.roles import Module
from skp.server import HubApp
from skp.store.session import one_connection

PATH = "/schuldregeling"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="20 calls, 1 round")
    args = parser.parse_args()
    if args.smoke:
        args.calls, args.rounds = 20, 1
    with tempfile.TemporaryDirectory() as name, postgres_schema("pingcost") as url, \
            Path(os.devnull).open("w") as devnull:
        directory = Path(name)
        pki = make_pki(directory / "pki", traffic.NAMES)
        settings = bench_settings(url, directory, pki)
        hub = build_hub(settings)
        traffic.register(hub, pki)
        logs.configure("production", stream=devnull)  # the JSON line a production hub writes
        app, bare = HubApp(hub), spyneping.application()
        pem = pki.pem("shv").decode()
        fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
        envelope = Envelopes(Module.SCHULDREGELING).ping()

        def environ() -> dict[str, Any]:
            return wsgi_environ(pem, PATH, "Ping", envelope)

        def whole(application: Callable[..., Any]) -> Callable[[], object]:
            return lambda: b"".join(application(environ(), lambda *_: None))

        for application, answer in ((app, b"PingAntwoord"), (bare, b"PingResponse")):
            body = b"".join(application(environ(), lambda *_: None))
            if answer not in body:
                raise SystemExit(f"the Ping was not answered: {body[:300]!r}")

        def identify() -> None:
            with one_connection(hub.engine):
                hub.participants.identify(fingerprint)

        read = environ()
        app._read(read, PATH.strip("/"))
        read.update({"skp.participant": hub.participants.identify(fingerprint),
                     "skp.request_id": "0" * 32, "skp.hub": hub})

        def spyne_skp() -> None:
            b"".join(app.soap[PATH.strip("/")]({**read, "wsgi.input": io.BytesIO()},
                                               lambda *_: None))

        def turn() -> None:
            with app._turns:
                pass

        request_log = logging.getLogger("skp.request")
        parts: dict[str, Callable[[], object]] = {
            "skp Ping, whole HubApp": whole(app),
            "bare spyne Ping (bench/spyneping.py)": whole(bare),
            "  identity lookup, kept (skp.identities)": identify,
            "  reading the request (xmlsafe.read into a Spool)":
                lambda: app._read(environ(), PATH.strip("/")),
            "  spyne with skp's Ping answer (request already read)": spyne_skp,
            "  request log line (JSON)": lambda: request_log.info("request", extra={
                "request_id": "0" * 32, "participant": "p", "path": PATH, "operation": "Ping",
                "message_id": None, "outcome": "ok", "status": 200, "duration_ms": 1.0}),
            "  metrics (observe_request)":
                lambda: hub.metrics.observe_request("Ping", 0.001, None),
            "  the turn (semaphore)": turn,
        }
        out(f"CPU per call, in this process (median / least of {args.rounds} rounds of "
            f"{args.calls}):")
        with keeping(hub):  # as a server process does: it keeps its callers' identities
            for label, call in parts.items():
                median, least = cpu_per_call(call, args.calls, args.rounds)
                out(f"  {label}: {median:.3f} / {least:.3f} ms")
        median, least = cpu_per_call(identify, args.calls, args.rounds)
        out(f"  (identity lookup in the database: one_connection + one query: {median:.3f} / "
            f"{least:.3f} ms)")
        hub.engine.dispose()


if __name__ == "__main__":
    main()
