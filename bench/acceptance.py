"""What acceptance costs: a request of a participant under test, and one turn of the runner.

Usage: ``.venv/bin/python bench/acceptance.py [--requests 300] [--burst 50]`` (``--smoke``:
10 requests, a burst of 5).

On SQLite, in this process, through the hub's WSGI application (no TLS):

- ``Berichtenlijst``, ``--requests`` times, for an active participant and for one in
  acceptance (its running run looked up, the request recorded for the judge);
- one turn of the acceptance job that begins the burst step: the test partners send
  ``--burst`` messages; then the turn that judges it once the participant confirmed them all.

It prints the median and p90 wall time per request, and the time of each turn.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from envelopes import Envelopes
from harness import bench_settings, build_hub, make_pki, ms, out, quantile, wsgi_environ

from skp.domain.acceptance import Routine
from skp.domain.roles import Module, Role
from skp.jobs import acceptance_job
from skp.server.app import HubApp


def _listings(app: HubApp, pem: str, body: bytes, count: int) -> list[float]:
    times = []
    status: list[str] = []
    for _ in range(count):
        environ = wsgi_environ(pem, "/schuldinventarisatie", "Berichtenlijst", body)
        status.clear()
        started = time.perf_counter()
        b"".join(app(environ, lambda code, headers, *exc: status.append(code)))
        times.append(time.perf_counter() - started)
        if not status[0].startswith("200"):
            raise RuntimeError(f"Berichtenlijst answered {status[0]}")
    return times


def main(requests: int, burst: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        pki = make_pki(directory / "pki", ["active", "tested"])
        settings = bench_settings(f"sqlite:///{directory / 'skp.sqlite3'}", directory, pki,
                                  acceptance_burst=burst)
        hub = build_hub(settings)
        app = HubApp(hub)
        body = Envelopes(Module.SCHULDINVENTARISATIE).listing()
        people = {}
        for name in ("active", "tested"):
            info = hub.participants.add(name=f"Energie {name}", role=Role.SE,
                                        modules=[Module.SCHULDINVENTARISATIE])
            pem = pki.pem(name)
            hub.participants.add_certificate(info.id, pem)
            people[name] = (info, pem.decode())
        hub.participants.activate(people["active"][0].id, without_acceptance=True)
        run = hub.acceptance.runs.start(people["tested"][0].id, [Routine.RECIPIENT])
        out(f"{'case':<36} {'median':>10} {'p90':>10}")
        for name, label in (("active", "Berichtenlijst, active"),
                            ("tested", "Berichtenlijst, in acceptance")):
            times = _listings(app, people[name][1], body, requests)
            out(f"{label:<36} {ms(quantile(times, 50)):>10} {ms(quantile(times, 90)):>10}")

        tested = people["tested"][0]
        acceptance_job(hub)  # the first step: its messages
        while (d := hub.mailbox.fetch_next(tested.id, Module.SCHULDINVENTARISATIE)) is not None:
            hub.mailbox.confirm(tested.id, d.info.id)
        started = time.perf_counter()
        acceptance_job(hub)  # judges the first step, begins the burst: the partners send
        out(f"{'turn: judge, begin a burst of ' + str(burst):<36} "
            f"{ms(time.perf_counter() - started):>10}")
        while (d := hub.mailbox.fetch_next(tested.id, Module.SCHULDINVENTARISATIE)) is not None:
            hub.mailbox.confirm(tested.id, d.info.id)
        started = time.perf_counter()
        acceptance_job(hub)
        out(f"{'turn: judge the burst, end the run':<36} "
            f"{ms(time.perf_counter() - started):>10}")
        out(f"run {hub.acceptance.runs.get(run.id).state}")
        hub.engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="10 requests, a burst of 5")
    arguments = parser.parse_args()
    if arguments.smoke:
        arguments.requests, arguments.burst = 10, 5
    main(arguments.requests, arguments.burst)
