"""The attack suite's targets and its table.

``target`` is parametrized over :data:`TARGETS`: each yields a running hub (tests.attack.hub)
with the front door the attacks go through: the bare hub, and nginx with deploy/nginx/
(tests.edge.nginx.running_edge) in front of the same hub started in trusted-proxy mode
(``SKP_TRUSTED_PROXIES`` = nginx's source address), a Target whose address is nginx's, whose
``pid`` is the hub's and whose ``edge`` is nginx's folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.attack.hub import Target, bare_hub, nginx_hub

#: name -> a context manager that runs the target in a folder.
TARGETS: dict[str, Callable[[Path], AbstractContextManager[Target]]] = {
    "bare": bare_hub,
    "nginx": nginx_hub,
}

#: What each probe did to each target: (probe, target, result, pings, p99 / max, RSS, log).
ROWS: list[tuple[str, ...]] = []


@pytest.fixture(scope="module", params=list(TARGETS))
def target(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with TARGETS[request.param](tmp_path_factory.mktemp(request.param)) as running:
        yield running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The table, as docs/server.md shows it: a row per probe, two columns per target."""
    if not ROWS:
        return
    probes = list(dict.fromkeys(row[0] for row in ROWS))
    targets = list(dict.fromkeys(row[1] for row in ROWS))
    cells = {(row[0], row[1]): (row[2], "; ".join(row[3:])) for row in ROWS}
    header = ["probe"] + [f"{target}: {what}" for target in targets for what in (
        "what happened", "legitimate Pings; p99 / max; server RSS; log")]
    terminalreporter.section("the front door under attack")
    terminalreporter.write_line("| " + " | ".join(header) + " |")
    terminalreporter.write_line("|" + "---|" * len(header))
    for probe in probes:
        row = [probe] + [cell for target in targets
                         for cell in cells.get((probe, target), ("not run", ""))]
        terminalreporter.write_line("| " + " | ".join(row) + " |")
