"""The attack suite's targets and its table.

``target`` is parametrized over :data:`TARGETS`: each yields a running hub (tests.attack.hub)
with the front door the attacks go through. Today that is the bare hub alone. The edge plugs in
here, as a second entry: nginx with deploy/nginx/ (tests.edge.nginx.running_edge) in front of a
bare hub started in trusted-proxy mode (``SKP_TRUSTED_PROXIES`` = nginx's source address),
yielding a Target whose address is nginx's and whose ``pid`` is the hub's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.attack.hub import Target, bare_hub

#: name -> a context manager that runs the target in a folder.
TARGETS: dict[str, Callable[[Path], AbstractContextManager[Target]]] = {
    "bare": bare_hub,
}

#: The table's rows, as the probes ran: (probe, what, target, result, pings, p99, rss, log).
ROWS: list[tuple[str, ...]] = []
HEADER = ("probe", "target", "result", "legitimate Pings", "p99 / max", "server RSS", "log")


@pytest.fixture(scope="module", params=list(TARGETS))
def target(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with TARGETS[request.param](tmp_path_factory.mktemp(request.param)) as running:
        yield running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The table, as docs/server.md shows it."""
    if not ROWS:
        return
    terminalreporter.section("the front door under attack")
    terminalreporter.write_line("| " + " | ".join(HEADER) + " |")
    terminalreporter.write_line("|" + "---|" * len(HEADER))
    for row in ROWS:
        terminalreporter.write_line("| " + " | ".join(row) + " |")
