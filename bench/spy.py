"""Sample a running hub with py-spy and say where its CPU time goes.

``record`` attaches py-spy (installed in the venv) to a process for a number of seconds and
writes collapsed stacks (``--format raw``: one line per distinct stack, ``frame;frame;... n``,
outermost first). It samples only the thread that holds the GIL (``--gil``): the hub is one
process whose Python code runs on one core at a time, so those samples are where that core
goes; threads waiting for the database or the network are not in them.
``summarize`` reads them back: the share of the request-handling samples spent in each part
of the hub, and the functions that use the most CPU themselves.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

#: Parts of the hub, each recognised by a frame on the stack (function and file).
PARTS = (
    ("caller identity (participants.identify)", r"identify \(skp/participants\.py"),
    ("reading the request (XML parse, documents sealed)", r"read \(skp/xmlsafe\.py"),
    ("spyne: schema validation (lxml)", r"_validate \(skp/soap/protocol\.py"),
    ("spyne: XML -> objects", r"deserialize|from_element|decompose_incoming"),
    ("spyne: objects -> XML", r"serialize_|create_out_string|to_parent|(?<!de)serialize \("),
    ("mailbox.send", r"\.send \(skp/mailbox/sending\.py"),
    ("mailbox.list_pending", r"list_pending \(skp/mailbox/delivery\.py"),
    ("mailbox.fetch", r"\.fetch \(skp/mailbox/delivery\.py"),
    ("mailbox.confirm", r"\.confirm \(skp/mailbox/delivery\.py"),
    ("  validation of the body (domain)", r"validate_body \(skp/domain/validation\.py"),
    ("  sealing (AES-GCM, key wrap)", r"\(skp/sealing\.py"),
    ("  SQLAlchemy ORM + Core", r"\(sqlalchemy/"),
    ("  psycopg (driver)", r"\(psycopg/"),
    ("  DBAPI execute (psycopg or sqlite3)", r"execute \(sqlalchemy/engine/default\.py"),
    ("  transaction begin/commit", r"commit \(sqlalchemy/orm/session\.py|_begin_impl"),
    ("spyne's gc.collect() (at most once a second)", r"MethodContext\.close \(spyne/"),
    ("request log (logging, JSON)", r"\(logging/__init__\.py"),
    ("metrics (prometheus_client)", r"observe_request \(skp/metrics\.py"),
)
REQUEST = re.compile(r"__call__ \(skp/server/app\.py")
#: The outermost frame of a complete stack: a thread's start, or the main module.
ROOTS = ("Thread._bootstrap", "<module>")


#: py-spy as the venv installs it (not a dependency of skp: `pip install py-spy`).
PY_SPY = Path(sys.executable).with_name("py-spy")


def available() -> bool:
    return PY_SPY.exists()


def record(pid: int, seconds: float, output: Path, *, rate: int = 200
           ) -> subprocess.Popen[bytes]:
    """Start py-spy on ``pid`` and its subprocesses (the workers of ``skp serve``) for
    ``seconds``; it writes collapsed stacks to ``output``."""
    return subprocess.Popen(  # noqa: S603 - a fixed command line of the venv's py-spy
        [str(PY_SPY), "record", "--pid", str(pid), "--duration", str(round(seconds)),
         "--rate", str(rate), "--format", "raw", "--nolineno", "--nonblocking", "--gil",
         "--subprocesses",
         "--output", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stacks(path: Path) -> Counter[tuple[str, ...]]:
    """The collapsed stacks in ``path`` with their sample counts."""
    found: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stack = frames.split(";")
            if stack[0].startswith("process "):  # --subprocesses: which worker, dropped
                stack = stack[1:]
            if stack:  # a sample of a process with no Python frame
                found[tuple(stack)] += int(count)
    return found


def summarize(path: Path, *, top: int = 12) -> list[str]:
    """Lines that say where the samples in ``path`` went."""
    found = stacks(path)
    total = sum(found.values())
    requests = Counter({s: n for s, n in found.items() if any(REQUEST.search(f) for f in s)})
    handled = sum(requests.values())
    if not total or not handled:
        return [f"no request samples among {total}"]
    rooted = sum(n for stack, n in found.items() if stack not in requests
                 and stack[0].startswith(ROOTS))
    lines = [f"{total} samples holding the GIL: {handled / total:.0%} inside HubApp.__call__, "
             f"{rooted / total:.0%} elsewhere (cheroot's HTTP and TLS, the accept loop), "
             f"{(total - handled - rooted) / total:.0%} stacks py-spy could not walk to their "
             "root (--nonblocking); below, shares of HubApp's samples (inclusive)"]
    for label, pattern in PARTS:
        regex = re.compile(pattern)
        n = sum(c for s, c in requests.items() if any(regex.search(f) for f in s))
        if n:
            lines.append(f"  {n / handled:6.1%}  {label}")
    own: Counter[str] = Counter()
    for s, n in found.items():
        own[s[-1]] += n
    lines.append(f"top {top} functions by own time (all samples):")
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    return lines
